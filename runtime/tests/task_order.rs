//! Scheduling order: spawn never polls, FIFO, one batch per turn, yield_now.

mod common;
use common::Log;

#[test]
fn spawned_task_never_runs_inside_spawn() {
    runtime::run(async {
        let log = Log::default();
        let l = log.clone();
        let t = runtime::spawn(async move { l.push("task") });
        log.push("after spawn");
        t.await.unwrap();
        assert_eq!(log.take(), ["after spawn", "task"]);
    });
}

#[test]
fn ready_tasks_run_first_in_first_out() {
    runtime::run(async {
        let log = Log::default();
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let l = log.clone();
                runtime::spawn(async move { l.push(format!("t{i}")) })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(log.take(), ["t0", "t1", "t2", "t3", "t4"]);
    });
}

#[test]
fn yield_now_goes_to_the_back_of_the_queue() {
    runtime::run(async {
        let log = Log::default();
        let tasks: Vec<_> = ["first", "second", "third"]
            .into_iter()
            .map(|name| {
                let l = log.clone();
                runtime::spawn(async move {
                    for round in 1..=3 {
                        l.push(format!("{round}: {name}"));
                        runtime::yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            log.take(),
            [
                "1: first",
                "1: second",
                "1: third",
                "2: first",
                "2: second",
                "2: third",
                "3: first",
                "3: second",
                "3: third"
            ]
        );
    });
}

#[test]
fn task_woken_during_a_turn_runs_in_the_next_batch() {
    // A task that keeps waking itself cannot starve a task spawned after it: each turn
    // runs only the batch that was ready when it started.
    let rt = runtime::Runtime::new().unwrap();
    let log = Log::default();
    let l = log.clone();
    let _spinner = rt.spawn(async move {
        loop {
            l.push("spin");
            runtime::yield_now().await;
        }
    });
    let l = log.clone();
    let _other = rt.spawn(async move { l.push("other") });
    assert_eq!(rt.turn(std::time::Duration::ZERO), 2);
    assert_eq!(log.take(), ["spin", "other"]);
    assert_eq!(rt.turn(std::time::Duration::ZERO), 1);
    assert_eq!(log.take(), ["spin"]);
}

#[test]
fn tasks_example_prints_in_asyncio_order() {
    // The seed's create_task program: main start/end print before either task runs.
    let rt = common::paused();
    let log = Log::default();
    rt.block_on(async {
        let func = |l: Log| async move {
            l.push("1");
            runtime::sleep(std::time::Duration::from_secs(2)).await;
            l.push("2");
            "return value"
        };
        log.push("main start");
        let t1 = runtime::spawn(func(log.clone()));
        let t2 = runtime::spawn(func(log.clone()));
        log.push("main end");
        let r1 = t1.await.unwrap();
        let r2 = t2.await.unwrap();
        log.push(format!("{r1} {r2}"));
    });
    assert_eq!(
        log.take(),
        [
            "main start",
            "main end",
            "1",
            "1",
            "2",
            "2",
            "return value return value"
        ]
    );
}

#[test]
fn current_id_names_the_running_task() {
    runtime::run(async {
        assert_eq!(
            runtime::task::current_id(),
            None,
            "block_on's future is not a task"
        );
        let t = runtime::spawn(async { runtime::task::current_id() });
        let id = t.id();
        assert_eq!(t.await.unwrap(), Some(id));
    });
}

#[test]
fn task_ids_are_unique_and_names_are_kept() {
    runtime::run(async {
        let a = runtime::spawn(async {});
        let b = runtime::task::Builder::new().name("worker").spawn(async {});
        assert_ne!(a.id(), b.id());
        assert_eq!(a.name(), None);
        assert_eq!(b.name().as_deref(), Some("worker"));
        b.await.unwrap();
    });
}

/// L1: the main future is a task in the ready order, as `asyncio.run(main())` wraps main
/// in a Task: woken after W, it resumes after W.
#[test]
fn main_resumes_after_the_tasks_woken_before_it() {
    let log = Log::default();
    runtime::Builder::new()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(async {
            let p = runtime::Promise::<u32>::new();
            let (l, pw) = (log.clone(), p.clone());
            let w = runtime::spawn(async move {
                pw.clone().await.unwrap();
                l.push("W resumed");
            });
            runtime::yield_now().await; // W awaits the promise first
            let (l, ps) = (log.clone(), p.clone());
            let setter = runtime::spawn(async move {
                l.push("setter sets");
                ps.set_result(1).unwrap();
            });
            p.clone().await.unwrap(); // then main awaits it; the setter wakes both
            log.push("main resumed");
            w.await.unwrap();
            setter.await.unwrap();
        });
    assert_eq!(log.take(), ["setter sets", "W resumed", "main resumed"]);
}

/// L1: main woken by a task runs after the other tasks that were ready before that wake,
/// within the same batch, in FIFO order.
#[test]
fn main_takes_its_place_in_the_batch() {
    let log = Log::default();
    runtime::run(async {
        let n = std::rc::Rc::new(runtime::sync::Notify::new());
        let (l, nn) = (log.clone(), n.clone());
        let a = runtime::spawn(async move {
            l.push("a wakes main");
            nn.notify_one();
        });
        let l = log.clone();
        let b = runtime::spawn(async move { l.push("b") });
        n.notified().await;
        log.push("main");
        a.await.unwrap();
        b.await.unwrap();
    });
    assert_eq!(log.take(), ["a wakes main", "b", "main"]);
}

/// L1/L3 with a TaskGroup: cancelling a task that owns a group and then awaiting it
/// returns only after the group's children were dropped.
#[test]
fn awaiting_a_cancelled_group_owner_returns_after_its_children_dropped() {
    let log = Log::default();
    runtime::run(async {
        struct Guard(Log, &'static str);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.push(format!("{} dropped", self.1));
            }
        }
        let l = log.clone();
        let owner = runtime::spawn(async move {
            let group = runtime::TaskGroup::<(), String>::new();
            for name in ["child 1", "child 2"] {
                let g = Guard(l.clone(), name);
                group
                    .spawn(async move {
                        let _g = g;
                        std::future::pending::<Result<(), String>>().await
                    })
                    .unwrap();
            }
            group.join().await.unwrap();
        });
        runtime::yield_now().await; // the owner and its children wait
        runtime::yield_now().await;
        owner.cancel();
        let _ = owner.await;
        log.push("owner awaited");
    });
    assert_eq!(
        log.take(),
        ["child 1 dropped", "child 2 dropped", "owner awaited"]
    );
}
