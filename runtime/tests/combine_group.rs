//! `TaskGroup` and `Promise`, on virtual time.

mod common;
use common::{paused, quiet_panics, Counts, Log, Probe};
use runtime::{ChildError, Promise, PromiseError, SpawnError, TaskGroup};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

async fn after(secs: u64, v: Result<u64, String>) -> Result<u64, String> {
    runtime::sleep(Duration::from_secs(secs)).await;
    v
}

#[runtime::test(start_paused = true)]
async fn group_gives_results_in_spawn_order() {
    let g = TaskGroup::new();
    g.spawn(after(3, Ok(3))).unwrap();
    g.spawn(after(1, Ok(1))).unwrap();
    g.spawn(after(2, Ok(2))).unwrap();
    assert_eq!(g.len(), 3);
    assert_eq!(g.join().await.unwrap(), [3, 1, 2]);
}

#[runtime::test(start_paused = true)]
async fn first_failure_cancels_the_siblings() {
    let counts = Counts::default();
    let g = TaskGroup::<u64, String>::new();
    for _ in 0..3 {
        let mut p = Probe::new(&counts);
        p.park = true;
        g.spawn(async move { Ok(p.await as u64) }).unwrap();
    }
    g.spawn(after(1, Err("first".into()))).unwrap();
    let start = runtime::time::Instant::now();
    let err = g.join().await.unwrap_err();
    assert_eq!(start.elapsed(), S);
    assert!(matches!(err.first, ChildError::Err(ref e) if e == "first"));
    assert!(err.others.is_empty());
    assert_eq!(counts.drops(), 3, "every sibling was cancelled and dropped");
}

#[runtime::test(start_paused = true)]
async fn failures_at_the_same_time_are_all_kept() {
    quiet_panics();
    let g = TaskGroup::<u64, String>::new();
    g.spawn(after(1, Err("a".into()))).unwrap();
    g.spawn(async {
        runtime::sleep(S).await;
        panic!("on purpose: b");
    })
    .unwrap();
    let err = g.join().await.unwrap_err();
    assert!(matches!(err.first, ChildError::Err(ref e) if e == "a"));
    assert_eq!(err.others.len(), 1);
    assert!(matches!(err.others[0], ChildError::Panicked(ref e) if e.is_panic()));
    assert!(err.to_string().contains("and 1 more"));
}

#[runtime::test(start_paused = true)]
async fn dropping_the_group_cancels_its_children() {
    let counts = Counts::default();
    let g = TaskGroup::<u32, ()>::new();
    for _ in 0..2 {
        let mut p = Probe::new(&counts);
        p.park = true;
        g.spawn(async move { Ok(p.await) }).unwrap();
    }
    runtime::yield_now().await;
    drop(g);
    runtime::yield_now().await;
    runtime::yield_now().await;
    assert_eq!(counts.drops(), 2);

    // The same when the join itself is abandoned (e.g. by a timeout).
    let counts = Counts::default();
    let g = TaskGroup::<u32, ()>::new();
    let mut p = Probe::new(&counts);
    p.park = true;
    g.spawn(async move { Ok(p.await) }).unwrap();
    assert!(runtime::timeout(S, g.join()).await.is_err());
    runtime::yield_now().await;
    runtime::yield_now().await;
    assert_eq!(counts.drops(), 1);
}

#[runtime::test(start_paused = true)]
async fn spawning_into_a_failing_or_finished_group_is_an_error() {
    let g = TaskGroup::<u64, String>::new();
    let spawner = g.spawner();
    g.spawn(after(1, Err("x".into()))).unwrap();
    let s2 = spawner.clone();
    let late = Rc::new(RefCell::new(None));
    let l = late.clone();
    g.spawn(async move {
        runtime::sleep(2 * S).await; // cancelled before this returns
        *l.borrow_mut() = Some(s2.spawn(async { Ok(0) }));
        Ok(0)
    })
    .unwrap();
    let l = late.clone();
    let s3 = spawner.clone();
    // A bystander task (not in the group) tries while the group is failing.
    runtime::spawn(async move {
        runtime::sleep(S).await;
        runtime::yield_now().await;
        *l.borrow_mut() = Some(s3.spawn(async { Ok(0) }));
    })
    .detach();
    assert!(g.join().await.is_err());
    assert_eq!(*late.borrow(), Some(Err(SpawnError::Failing)));
    let e = spawner.spawn(async { Ok(1) }).unwrap_err();
    assert_eq!(e, SpawnError::Finished);
    assert!(e.to_string().contains("already finished"));
}

#[runtime::test(start_paused = true)]
async fn children_can_spawn_siblings() {
    let g = TaskGroup::<u64, String>::new();
    let sp = g.spawner();
    g.spawn(async move {
        runtime::sleep(S).await;
        sp.spawn(after(1, Ok(20))).unwrap();
        Ok(10)
    })
    .unwrap();
    let start = runtime::time::Instant::now();
    assert_eq!(g.join().await.unwrap(), [10, 20]);
    assert_eq!(start.elapsed(), 2 * S);
}

#[runtime::test(start_paused = true)]
async fn empty_group_joins_at_once() {
    let g = TaskGroup::<(), ()>::new();
    assert!(g.is_empty());
    assert_eq!(g.join().await.unwrap(), Vec::<()>::new());
}

#[runtime::test(start_paused = true)]
async fn promise_set_after_a_sleep() {
    let fut = Promise::new();
    let setter = fut.clone();
    runtime::spawn(async move {
        runtime::sleep(2 * S).await;
        setter.set_result("done").unwrap();
    })
    .detach();
    let start = runtime::time::Instant::now();
    assert_eq!(fut.await.unwrap(), "done");
    assert_eq!(start.elapsed(), 2 * S);
}

#[runtime::test(start_paused = true)]
async fn promise_has_many_awaiters_and_refuses_a_second_set() {
    let p = Promise::<u32>::new();
    let waiters: Vec<_> = (0..5).map(|_| runtime::spawn(p.clone())).collect();
    runtime::yield_now().await;
    assert!(!p.is_done());
    p.set_result(7).unwrap();
    assert_eq!(p.set_result(8), Err(runtime::InvalidState(8)));
    assert!(p.set_error(std::fmt::Error).is_err());
    assert!(!p.cancel(), "cancel after done reports false");
    for w in waiters {
        assert_eq!(w.await.unwrap().unwrap(), 7);
    }
    assert_eq!(p.result().unwrap().unwrap(), 7);
}

#[runtime::test(start_paused = true)]
async fn promise_error_and_cancel_reach_the_awaiters() {
    let p = Promise::<u32>::new();
    p.set_error(std::fmt::Error).unwrap();
    assert!(matches!(p.clone().await, Err(PromiseError::Failed(_))));
    let p = Promise::<u32>::new();
    assert!(p.cancel());
    assert!(p.is_cancelled());
    assert!(matches!(p.await, Err(PromiseError::Cancelled)));
}

#[runtime::test(start_paused = true)]
async fn done_callbacks_run_later_never_inline_and_in_order() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let p = Promise::<u32>::new();
    for name in ["first", "second"] {
        let l = log.clone();
        p.add_done_callback(move |p| l.borrow_mut().push(format!("{name}:{:?}", p.result())));
    }
    p.set_result(1).unwrap();
    log.borrow_mut().push("after set".into());
    let l = log.clone();
    p.add_done_callback(move |_| l.borrow_mut().push("late".into()));
    log.borrow_mut().push("after late add".into());
    runtime::yield_now().await;
    assert_eq!(
        *log.borrow(),
        [
            "after set",
            "after late add",
            "first:Some(Ok(1))",
            "second:Some(Ok(1))",
            "late"
        ]
    );
}

#[test]
fn a_failing_child_cancels_its_siblings_before_join_is_awaited() {
    quiet_panics();
    for panics in [false, true] {
        let log = Log::default();
        paused().block_on(async {
            let group = TaskGroup::<(), String>::new();
            let l = log.clone();
            group
                .spawn(async move {
                    runtime::sleep(Duration::from_secs(1)).await;
                    l.push("a fails at 1 s");
                    if panics {
                        panic!("on purpose: a");
                    }
                    Err("a".to_string())
                })
                .unwrap();
            let l = log.clone();
            group
                .spawn(async move {
                    runtime::sleep(Duration::from_secs(2)).await;
                    l.push("b ran to 2 s"); // must not happen
                    Ok(())
                })
                .unwrap();
            // The body does other work and joins only at 3 s.
            runtime::sleep(Duration::from_millis(1500)).await;
            log.push("body at 1.5 s");
            assert_eq!(
                group.spawn(async { Ok(()) }).unwrap_err(),
                SpawnError::Failing,
                "spawning into a failing group must be refused before join"
            );
            runtime::sleep(Duration::from_millis(1500)).await;
            let err = group.join().await.unwrap_err();
            assert!(err.others.is_empty());
        });
        assert_eq!(
            log.take(),
            ["a fails at 1 s", "body at 1.5 s"],
            "panics: {panics}"
        );
    }
}

#[runtime::test(start_paused = true)]
async fn promise_result_and_exception_tell_not_done_cancelled_and_failed_apart() {
    use runtime::combine::PromiseStateError;
    #[derive(Debug)]
    struct Full;
    impl std::fmt::Display for Full {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("disk full")
        }
    }
    impl std::error::Error for Full {}
    let p = Promise::<u32>::new();
    assert!(p.result().is_none());
    assert_eq!(p.exception().unwrap_err(), PromiseStateError::NotDone);
    p.set_result(1).unwrap();
    assert!(matches!(p.result(), Some(Ok(1))));
    assert!(p.exception().unwrap().is_none());
    let c = Promise::<u32>::new();
    c.cancel();
    assert!(matches!(c.result(), Some(Err(PromiseError::Cancelled))));
    assert_eq!(c.exception().unwrap_err(), PromiseStateError::Cancelled);
    let f = Promise::<u32>::new();
    f.set_error(Full).unwrap();
    assert!(matches!(f.result(), Some(Err(PromiseError::Failed(_)))));
    assert_eq!(f.exception().unwrap().unwrap().to_string(), "disk full");
}

#[test]
fn group_children_come_back_as_handles_and_errors_name_the_children() {
    quiet_panics();
    paused().block_on(async {
        let g = TaskGroup::<u64, String>::new();
        let fast = g.spawn(after(1, Ok(1))).unwrap();
        let bad = g
            .spawn_named("breaker", after(2, Err("broke".into())))
            .unwrap();
        assert_eq!(bad.name().as_deref(), Some("breaker"));
        let slow = g.spawn(after(5, Ok(5))).unwrap();
        assert!(!fast.is_done() && fast.outcome().is_none());
        let err = g.join().await.unwrap_err();
        assert!(matches!(err.first, ChildError::Err(ref e) if e == "broke"));
        assert_eq!(err.first_child.id, bad.id());
        assert_eq!(err.first_child.name.as_deref(), Some("breaker"));
        assert!(err.others.is_empty());
        // The child that finished before the failure keeps its result.
        assert_eq!(err.completed, [Some(1), None, None]);
        assert_eq!(fast.outcome(), Some(runtime::ChildOutcome::Succeeded));
        assert_eq!(bad.outcome(), Some(runtime::ChildOutcome::Failed));
        assert_eq!(slow.outcome(), Some(runtime::ChildOutcome::Cancelled));
        assert!(err
            .to_string()
            .contains(&format!("task {} (\"breaker\")", bad.id())));
    });
}

#[test]
fn cancel_then_join_returns_after_every_child_was_dropped() {
    let log = common::Log::default();
    paused().block_on(async {
        struct Guard(common::Log, u32);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.push(format!("child {} dropped", self.1));
            }
        }
        // Children that cannot fail: the default error type is Infallible.
        let g: TaskGroup<u32> = TaskGroup::new();
        let done = g.spawn_ok(async { 0 }).unwrap();
        for i in 1..=2 {
            let guard = Guard(log.clone(), i);
            g.spawn_ok(async move {
                let _g = guard;
                runtime::sleep(Duration::from_secs(60)).await;
                i
            })
            .unwrap();
        }
        runtime::sleep(S).await; // child 0 finished, 1 and 2 wait
        g.cancel();
        assert_eq!(g.spawn_ok(async { 9 }).unwrap_err(), SpawnError::Failing);
        let err = g.join().await.unwrap_err();
        log.push("join returned");
        assert!(matches!(err.first, ChildError::Cancelled));
        assert_eq!(err.others.len(), 1);
        assert_eq!(err.completed, [Some(0), None, None]);
        assert_eq!(done.outcome(), Some(runtime::ChildOutcome::Succeeded));
    });
    assert_eq!(
        log.take(),
        ["child 1 dropped", "child 2 dropped", "join returned"]
    );
}

#[test]
fn group_spawner_is_exported_at_the_root() {
    fn takes(_: &runtime::GroupSpawner<u32>) {}
    paused().block_on(async {
        let g: TaskGroup<u32> = TaskGroup::new();
        takes(&g.spawner());
        assert!(g.join().await.unwrap().is_empty());
    });
}

#[test]
fn a_child_cancelled_through_its_handle_does_not_stop_its_siblings() {
    paused().block_on(async {
        let g: TaskGroup<u64> = TaskGroup::new();
        let alone = g.spawn_ok(std::future::pending()).unwrap();
        let sibling = g
            .spawn_ok(async {
                runtime::sleep(2 * S).await;
                2
            })
            .unwrap();
        runtime::sleep(S).await;
        alone.cancel();
        let start = runtime::time::Instant::now();
        let err = g.join().await.unwrap_err(); // panicked before ("every child succeeded")
        assert_eq!(start.elapsed(), S, "the sibling ran to its end");
        assert!(matches!(err.first, ChildError::Cancelled));
        assert_eq!(err.first_child.id, alone.id());
        assert_eq!(err.completed, [None, Some(2)]);
        assert_eq!(sibling.outcome(), Some(runtime::ChildOutcome::Succeeded));
    });
}
