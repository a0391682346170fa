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
