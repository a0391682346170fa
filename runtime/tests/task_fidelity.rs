//! asyncio rules for task handles, on virtual time: reading a done task's outcome any
//! number of times, `wait_for` cancelling and waiting for the cancellation, owning handles
//! that cancel on drop, and `CancelHandle::is_cancelled`.

mod common;
use common::{paused, quiet_panics, Log};
use runtime::task::TaskOutcome;
use std::time::Duration;

/// Logs when dropped (the task's `finally`).
struct Finally(Log, &'static str);
impl Drop for Finally {
    fn drop(&mut self) {
        self.0.push(format!("{} dropped", self.1));
    }
}

#[test]
fn a_done_tasks_outcome_can_be_read_again_and_again() {
    quiet_panics();
    paused().block_on(async {
        let ok = runtime::spawn(async { String::from("value") });
        let panics = runtime::spawn(async { panic!("on purpose: boom") });
        let cancelled = runtime::spawn(std::future::pending::<()>());
        assert!(ok.outcome().is_none(), "not done yet");
        cancelled.cancel();
        runtime::sleep(Duration::from_secs(1)).await;
        for _ in 0..3 {
            assert!(matches!(ok.outcome(), Some(TaskOutcome::Returned(v)) if v == "value"));
            assert!(matches!(
                panics.outcome(),
                Some(TaskOutcome::Panicked(Some("on purpose: boom")))
            ));
            assert!(matches!(cancelled.outcome(), Some(TaskOutcome::Cancelled)));
        }
        assert_eq!(ok.await.unwrap(), "value");
        assert!(panics.await.unwrap_err().is_panic());
    });
}

#[test]
fn wait_for_cancels_and_waits_for_the_cancellation_before_the_timeout_error() {
    let log = Log::default();
    paused().block_on(async {
        let l = log.clone();
        let mut task = runtime::spawn(async move {
            let _f = Finally(l.clone(), "task");
            runtime::sleep(Duration::from_secs(5)).await;
            l.push("task finished"); // never
        });
        let start = runtime::time::Instant::now();
        let r = task.wait_for(Duration::from_secs(1)).await;
        log.push(format!("timeout seen at {:?}", start.elapsed()));
        assert!(r.is_err());
        assert!(task.is_done() && task.is_cancelled());
        assert!(matches!(task.outcome(), Some(TaskOutcome::Cancelled)));
    });
    assert_eq!(log.take(), ["task dropped", "timeout seen at 1s"]);
}

#[test]
fn wait_for_gives_the_result_of_a_task_that_finishes_in_time() {
    paused().block_on(async {
        let mut task = runtime::spawn(async {
            runtime::sleep(Duration::from_secs(1)).await;
            5
        });
        assert_eq!(
            task.wait_for(Duration::from_secs(2))
                .await
                .unwrap()
                .unwrap(),
            5
        );
    });
}

#[test]
fn timeout_around_a_task_detaches_it_and_abort_on_drop_cancels_it() {
    let log = Log::default();
    paused().block_on(async {
        // timeout(d, task) only stops waiting: the task goes on (detached).
        let l = log.clone();
        let detached = runtime::spawn(async move {
            runtime::sleep(Duration::from_secs(2)).await;
            l.push("detached task finished at 2 s");
        });
        assert!(runtime::timeout(Duration::from_secs(1), detached)
            .await
            .is_err());
        // The owning form cancels when dropped.
        let l = log.clone();
        let f = Finally(l.clone(), "owned task");
        let owned = runtime::spawn(async move {
            let _f = f; // captured: dropped with the future even if it never ran
            runtime::sleep(Duration::from_secs(2)).await;
            l.push("owned task finished"); // never
        })
        .abort_on_drop();
        let canceller = owned.task().cancel_handle();
        assert!(!canceller.is_cancelled());
        drop(owned);
        runtime::yield_now().await;
        assert!(canceller.is_done() && canceller.is_cancelled());
        runtime::sleep(Duration::from_secs(3)).await;
    });
    assert_eq!(
        log.take(),
        ["owned task dropped", "detached task finished at 2 s"]
    );
}

#[test]
fn a_cancelled_gather_of_tasks_cancels_the_tasks_it_still_holds() {
    let log = Log::default();
    paused().block_on(async {
        let spawn = |secs: u64, name: &'static str| {
            let l = log.clone();
            let f = Finally(l.clone(), name);
            runtime::spawn(async move {
                let _f = f;
                runtime::sleep(Duration::from_secs(secs)).await;
                l.push(format!("{name} finished"));
            })
        };
        let all = runtime::gather_tasks([spawn(1, "fast"), spawn(5, "slow")]);
        let owner = runtime::spawn(all);
        runtime::sleep(Duration::from_secs(2)).await;
        log.push("owner cancelled at 2 s");
        owner.cancel(); // drops the gather, which cancels `slow`
        let _ = owner.await;
        runtime::sleep(Duration::from_secs(10)).await;
        // The explicit form.
        let g = runtime::gather_tasks([spawn(1, "third")]);
        g.cancel();
        runtime::yield_now().await;
    });
    assert_eq!(
        log.take(),
        [
            "fast finished",
            "fast dropped",
            "owner cancelled at 2 s",
            "slow dropped",
            "third dropped"
        ]
    );
}

#[test]
fn a_shared_task_gives_its_outcome_to_every_awaiter_and_combinator() {
    quiet_panics();
    let log = Log::default();
    paused().block_on(async {
        let shared = runtime::spawn(async {
            runtime::sleep(Duration::from_secs(1)).await;
            7u32
        })
        .shared();
        let awaiters: Vec<_> = (0..3)
            .map(|i| {
                let (s, l) = (shared.clone(), log.clone());
                runtime::spawn(async move {
                    let v = s.await.unwrap();
                    l.push(format!("awaiter {i} got {v}"));
                })
            })
            .collect();
        // gather takes it directly; wait and as_completed through `task()`.
        let gathered = runtime::gather([shared.clone(), shared.clone()]).await;
        assert_eq!(gathered, [Ok(7), Ok(7)]);
        let (done, pending) = runtime::wait([shared.task()]).await;
        assert!(pending.is_empty());
        assert_eq!(done.into_iter().next().unwrap().await.unwrap(), Ok(7));
        let mut finished = runtime::as_completed([shared.task(), shared.task()]);
        while let Some(t) = finished.next().await {
            assert_eq!(t.await.unwrap(), Ok(7));
        }
        for a in awaiters {
            a.await.unwrap();
        }
        assert_eq!(shared.result(), Some(Ok(7)));
        assert_eq!(shared.result(), Some(Ok(7)));
        // A panic and a cancellation are shared too.
        let boom = runtime::spawn(async { panic!("on purpose: shared") }).shared();
        assert_eq!(
            boom.clone().await,
            Err(runtime::task::SharedTaskError::Panicked(
                boom.id(),
                Some("on purpose: shared".into())
            ))
        );
        let never = runtime::spawn(std::future::pending::<u32>()).shared();
        assert!(never.cancel());
        assert_eq!(
            never.clone().await,
            Err(runtime::task::SharedTaskError::Cancelled(never.id()))
        );
    });
    assert_eq!(
        log.take(),
        ["awaiter 0 got 7", "awaiter 1 got 7", "awaiter 2 got 7"]
    );
}

#[test]
#[cfg_attr(miri, ignore = "uses a socket (epoll)")]
fn wait_all_blocked_returns_once_every_other_task_waits() {
    let log = Log::default();
    paused().block_on(async {
        let event = std::rc::Rc::new(runtime::sync::Event::new());
        let workers: Vec<_> = (0..3)
            .map(|i| {
                let (l, e) = (log.clone(), event.clone());
                runtime::spawn(async move {
                    for _ in 0..i + 2 {
                        runtime::yield_now().await;
                    }
                    l.push(format!("worker {i} waits"));
                    e.wait().await;
                    l.push(format!("worker {i} released"));
                })
            })
            .collect();
        // A task that waits on a socket whose data already arrived is not blocked.
        let (mut a, b) = common::tcp_pair().await;
        let l = log.clone();
        let reader = runtime::spawn(async move {
            let mut b = b;
            let mut buf = [0u8; 4];
            b.read_exact(&mut buf).await.unwrap();
            l.push("reader got its bytes");
            std::future::pending::<()>().await
        });
        a.write_all(b"ping").await.unwrap();
        runtime::task::wait_all_blocked().await;
        log.push("all blocked");
        event.set();
        runtime::task::wait_all_blocked().await;
        reader.cancel();
        for w in workers {
            w.await.unwrap();
        }
    });
    let got = log.take();
    let blocked_at = got.iter().position(|s| s == "all blocked").unwrap();
    let mut before: Vec<_> = got[..blocked_at].to_vec();
    before.sort();
    assert_eq!(
        before,
        [
            "reader got its bytes",
            "worker 0 waits",
            "worker 1 waits",
            "worker 2 waits"
        ]
    );
    assert_eq!(got.len(), blocked_at + 4, "{got:?}");
}
