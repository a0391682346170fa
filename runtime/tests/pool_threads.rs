//! Thread pools with concurrent.futures semantics, and `run_in_executor`.

mod common;
use common::quiet_panics;
use runtime::pool::{self, PoolError, ShutDownError, State, ThreadPoolExecutor};
use runtime::ReturnWhen;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

/// A job that blocks until the test lets it go.
fn gate() -> (Arc<Barrier>, Arc<Barrier>) {
    (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)))
}

#[test]
fn states_go_pending_running_finished() {
    let pool = ThreadPoolExecutor::new(1);
    let (started, release) = gate();
    let (s, r) = (started.clone(), release.clone());
    let first = pool
        .submit(move || {
            s.wait();
            r.wait();
            1
        })
        .unwrap();
    let second = pool.submit(|| 2).unwrap();
    started.wait();
    assert_eq!(first.state(), State::Running);
    assert!(first.running() && !first.done());
    assert_eq!(second.state(), State::Pending);
    assert_eq!(
        first.result(Some(10 * MS)),
        Err(PoolError::Timeout),
        "times out, not cancelled"
    );
    assert_eq!(first.exception(Some(MS)), Err(pool::Timeout));
    assert!(!first.cancel(), "a running job cannot be cancelled");
    release.wait();
    assert_eq!(first.result(None), Ok(1));
    assert_eq!(first.result(None), Ok(1), "result can be read again");
    assert_eq!(first.exception(None), Ok(None));
    assert_eq!(second.result(None), Ok(2));
    assert_eq!(first.state(), State::Finished);
}

#[test]
fn cancel_before_start_skips_the_job() {
    let pool = ThreadPoolExecutor::new(1);
    let (started, release) = gate();
    let (s, r) = (started.clone(), release.clone());
    let blocker = pool
        .submit(move || {
            s.wait();
            r.wait();
        })
        .unwrap();
    started.wait();
    let ran = Arc::new(AtomicUsize::new(0));
    let r2 = ran.clone();
    let queued = pool
        .submit(move || r2.fetch_add(1, Ordering::SeqCst))
        .unwrap();
    assert!(queued.cancel());
    assert!(queued.cancel(), "cancelling twice is fine");
    assert!(queued.cancelled() && queued.done());
    assert_eq!(queued.result(None), Err(PoolError::Cancelled));
    release.wait();
    blocker.result(None).unwrap();
    pool.shutdown(true, false);
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the cancelled job never ran");
}

#[test]
fn panics_become_errors() {
    quiet_panics();
    let pool = ThreadPoolExecutor::new(1);
    let f = pool
        .submit(|| -> u8 { panic!("on purpose: job failed") })
        .unwrap();
    assert_eq!(
        f.result(None),
        Err(PoolError::Panicked("on purpose: job failed".into()))
    );
    assert!(matches!(
        f.exception(None),
        Ok(Some(PoolError::Panicked(_)))
    ));
    assert_eq!(
        pool.submit(|| 5).unwrap().result(None),
        Ok(5),
        "the pool survives"
    );
}

#[test]
fn map_keeps_input_order() {
    let pool = ThreadPoolExecutor::new(4);
    let out: Vec<u64> = pool
        .map(
            |x: u64| {
                std::thread::sleep(MS * (10 - x as u32));
                x * 10
            },
            0..10,
        )
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, (0..10).map(|x| x * 10).collect::<Vec<_>>());
}

#[test]
fn shutdown_with_cancel_futures_cancels_the_queue_and_refuses_new_jobs() {
    let pool = ThreadPoolExecutor::new(1);
    let (started, release) = gate();
    let (s, r) = (started.clone(), release.clone());
    let running = pool
        .submit(move || {
            s.wait();
            r.wait();
            "ran"
        })
        .unwrap();
    started.wait();
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i).unwrap()).collect();
    let t = std::thread::spawn({
        let release = release.clone();
        move || {
            std::thread::sleep(20 * MS);
            release.wait();
        }
    });
    pool.shutdown(true, true);
    t.join().unwrap();
    assert_eq!(running.result(None), Ok("ran"), "running jobs finish");
    for q in queued {
        assert!(q.cancelled());
    }
    assert_eq!(pool.submit(|| 1).unwrap_err(), ShutDownError);
    assert_eq!(pool.threads(), 0);
}

#[test]
fn dropping_the_pool_waits_for_its_jobs() {
    let done = Arc::new(AtomicUsize::new(0));
    {
        let pool = ThreadPoolExecutor::new(2);
        for _ in 0..4 {
            let d = done.clone();
            let _ = pool.submit(move || {
                std::thread::sleep(5 * MS);
                d.fetch_add(1, Ordering::SeqCst);
            });
        }
    }
    assert_eq!(done.load(Ordering::SeqCst), 4);
}

#[test]
fn threads_are_named_started_on_demand_and_reused() {
    let init_count = Arc::new(AtomicUsize::new(0));
    let ic = init_count.clone();
    let pool = ThreadPoolExecutor::builder()
        .max_workers(3)
        .thread_name_prefix("crunch")
        .initializer(move || {
            ic.fetch_add(1, Ordering::SeqCst);
        })
        .build();
    assert_eq!(pool.threads(), 0);
    let names = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    for _ in 0..20 {
        let n = names.clone();
        pool.submit(move || {
            n.lock()
                .unwrap()
                .insert(std::thread::current().name().unwrap().to_string());
        })
        .unwrap()
        .result(None)
        .unwrap();
    }
    // Sequential jobs reuse the one idle thread.
    assert_eq!(pool.threads(), 1);
    assert_eq!(*names.lock().unwrap(), ["crunch-0".to_string()].into());
    assert_eq!(init_count.load(Ordering::SeqCst), 1);
}

#[test]
fn idle_threads_retire() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .idle_timeout(5 * MS)
        .build();
    pool.submit(|| ()).unwrap().result(None).unwrap();
    for _ in 0..200 {
        if pool.threads() == 0 {
            break;
        }
        std::thread::sleep(5 * MS);
    }
    assert_eq!(pool.threads(), 0, "the idle thread retired");
    assert_eq!(
        pool.submit(|| 3).unwrap().result(None),
        Ok(3),
        "and a new one starts"
    );
}

#[test]
fn done_callbacks_run_at_once_or_on_the_completing_thread() {
    let pool = ThreadPoolExecutor::builder()
        .thread_name_prefix("cb")
        .max_workers(1)
        .build();
    let (started, release) = gate();
    let (s, r) = (started.clone(), release.clone());
    let f = pool
        .submit(move || {
            s.wait();
            r.wait();
            7
        })
        .unwrap();
    started.wait();
    let (tx, rx) = mpsc::channel();
    f.add_done_callback(move |f| {
        tx.send((
            std::thread::current().name().map(String::from),
            f.result(None),
        ))
        .unwrap();
    });
    release.wait();
    let (thread, result) = rx.recv().unwrap();
    assert_eq!(
        thread.as_deref(),
        Some("cb-0"),
        "ran on the completing thread"
    );
    assert_eq!(result, Ok(7));
    let (tx, rx) = mpsc::channel();
    f.add_done_callback(move |_| {
        tx.send(std::thread::current().name().map(String::from))
            .unwrap()
    });
    assert_eq!(
        rx.try_recv().unwrap(),
        std::thread::current().name().map(String::from),
        "at once"
    );
}

#[test]
fn blocking_wait_and_as_completed() {
    quiet_panics();
    let pool = ThreadPoolExecutor::new(3);
    // Held until the test lets it go (a sleep could end early on a stalled machine).
    let (let_slow_go, slow_gate) = mpsc::channel::<()>();
    let slow = pool
        .submit(move || {
            slow_gate.recv().unwrap();
            1
        })
        .unwrap();
    let fast = pool.submit(|| 2).unwrap();
    let (done, not_done) = pool::wait(vec![slow, fast], ReturnWhen::FirstCompleted, None);
    assert_eq!((done.len(), not_done.len()), (1, 1));
    assert_eq!(done[0].result(None), Ok(2));
    let (done, not_done) = pool::wait(not_done, ReturnWhen::AllCompleted, Some(MS));
    assert_eq!(
        (done.len(), not_done.len()),
        (0, 1),
        "timeout, nothing cancelled"
    );
    assert!(!not_done[0].cancelled());
    let_slow_go.send(()).unwrap();
    assert_eq!(not_done[0].result(None), Ok(1));

    let boom = pool.submit(|| -> i32 { panic!("on purpose") }).unwrap();
    let (done, _) = pool::wait(vec![boom], ReturnWhen::FirstException, None);
    assert_eq!(done.len(), 1);

    // Completion order is set by releasing the jobs one by one.
    let fresh = ThreadPoolExecutor::new(3);
    let mut release = std::collections::HashMap::new();
    let futs: Vec<_> = [30u64, 10, 20]
        .into_iter()
        .map(|ms| {
            let (tx, rx) = mpsc::channel::<()>();
            release.insert(ms, tx);
            fresh
                .submit(move || {
                    rx.recv().unwrap();
                    ms
                })
                .unwrap()
        })
        .collect();
    let mut it = pool::as_completed(futs, None);
    for ms in [10, 20, 30] {
        release[&ms].send(()).unwrap();
        assert_eq!(it.next().unwrap().unwrap().into_result(), Ok(ms));
    }
    assert!(it.next().is_none());
    let (let_it_go, gate) = mpsc::channel::<()>();
    let never = pool.submit(move || gate.recv().unwrap()).unwrap();
    let mut it = pool::as_completed(vec![never], Some(5 * MS));
    assert_eq!(it.next().map(|r| r.is_err()), Some(true));
    assert!(it.next().is_none());
    let_it_go.send(()).unwrap();
}

#[test]
fn pool_future_is_awaitable_on_the_loop() {
    let pool = ThreadPoolExecutor::new(1);
    let f = pool
        .submit(|| {
            std::thread::sleep(10 * MS);
            "from a thread"
        })
        .unwrap();
    assert_eq!(runtime::run(f), Ok("from a thread"));
}

#[test]
fn run_in_executor_returns_results_and_panics_as_errors() {
    quiet_panics();
    runtime::run(async {
        assert_eq!(runtime::run_in_executor(|| 1 + 1).await, Ok(2));
        let name = runtime::run_in_executor(|| std::thread::current().name().unwrap().to_string())
            .await
            .unwrap();
        assert!(name.starts_with("runtime-blocking-"), "{name}");
        let err = runtime::run_in_executor(|| -> u8 { panic!("on purpose: blocking") }).await;
        assert_eq!(err, Err(PoolError::Panicked("on purpose: blocking".into())));
    });
}

#[test]
fn dropping_run_in_executor_before_start_removes_the_job() {
    let rt = runtime::Builder::new()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let release = Arc::new(Barrier::new(2));
        let r = release.clone();
        let blocker = runtime::run_in_executor(move || {
            r.wait();
        });
        let ran2 = ran.clone();
        let queued = runtime::run_in_executor(move || ran2.fetch_add(1, Ordering::SeqCst));
        let state = queued.pool_future().state();
        assert_eq!(state, State::Pending);
        drop(queued); // cancelled before it starts
        release.wait();
        blocker.await.unwrap();
    });
    drop(rt);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn cancel_token_turns_true_when_the_awaiter_goes_away() {
    let (tx, rx) = mpsc::channel();
    runtime::run(async {
        let started = Arc::new(Barrier::new(2));
        let s = started.clone();
        let job = runtime::run_in_executor_with_token(move |token| {
            s.wait();
            while !token.is_cancelled() {
                std::thread::sleep(MS);
            }
            tx.send("stopped early").unwrap();
        });
        runtime::run_in_executor(move || started.wait())
            .await
            .unwrap();
        drop(job);
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("stopped early"));
}

#[test]
#[cfg_attr(miri, ignore = "leaks the stuck job's pool on purpose (rule P3)")]
fn runtime_drop_waits_for_blocking_jobs_only_so_long() {
    let rt = runtime::Builder::new()
        .blocking_shutdown_timeout(20 * MS)
        .build()
        .unwrap();
    let release = Arc::new(Barrier::new(2));
    let r = release.clone();
    let (started_tx, started_rx) = mpsc::channel();
    rt.block_on(async {
        runtime::spawn(runtime::run_in_executor(move || {
            started_tx.send(()).unwrap();
            r.wait(); // stuck until the test releases it
        }))
        .detach();
        runtime::yield_now().await;
    });
    started_rx.recv().unwrap(); // the job is running, not just queued
    let start = std::time::Instant::now();
    drop(rt); // must not hang on the stuck job
    assert!(start.elapsed() < Duration::from_secs(5));
    release.wait(); // let the orphaned job end
}

#[test]
fn virtual_time_does_not_jump_while_blocking_work_runs() {
    let rt = runtime::Builder::new().start_paused(true).build().unwrap();
    rt.block_on(async {
        let job = runtime::run_in_executor(|| {
            std::thread::sleep(30 * MS);
            "done"
        });
        // Without the rule, the paused clock would jump to this 1-hour timeout at once.
        let r = runtime::timeout(Duration::from_secs(3600), job).await;
        assert_eq!(r.unwrap(), Ok("done"));
    });
}

#[test]
fn blocking_jobs_get_threads_beyond_the_cpu_count() {
    // Six jobs that block until all six run: the pool must grow past the number of CPUs
    // (through its starvation monitor) for them to finish.
    let pool = ThreadPoolExecutor::new(8);
    let (started_tx, started_rx) = mpsc::channel();
    let release = Arc::new(Barrier::new(7));
    let futs: Vec<_> = (0..6)
        .map(|_| {
            let (tx, r) = (started_tx.clone(), release.clone());
            pool.submit(move || {
                tx.send(()).unwrap();
                r.wait();
            })
            .unwrap()
        })
        .collect();
    for _ in 0..6 {
        started_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a blocked job never got a thread");
    }
    release.wait();
    for f in futs {
        f.result(None).unwrap();
    }
    assert!(pool.threads() >= 6);
}

#[test]
fn a_bare_future_follows_concurrent_futures_rules() {
    use runtime::pool::{InvalidStateError, PoolError, PoolFuture, State};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let fut: PoolFuture<u32> = PoolFuture::new();
    assert_eq!(fut.state(), State::Pending);
    let worker = fut.clone();
    assert!(
        worker == fut && worker.id() == fut.id(),
        "clones are the same job"
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    fut.add_done_callback(move |f| {
        assert!(f.done());
        c.fetch_add(1, SeqCst);
    });
    assert_eq!(worker.set_running_or_notify_cancel(), Ok(true));
    assert_eq!(
        worker.set_running_or_notify_cancel(),
        Err(InvalidStateError {
            state: State::Running
        })
    );
    assert!(!fut.cancel(), "running: cannot be cancelled");
    worker.set_result(7).unwrap();
    assert_eq!(
        calls.load(SeqCst),
        1,
        "the callback ran inline, inside set_result"
    );
    assert_eq!(
        worker.set_exception("late"),
        Err(InvalidStateError {
            state: State::Finished
        })
    );
    assert_eq!(fut.result(None), Ok(7));
    // Already done: a new callback runs inline, inside add_done_callback.
    let c = calls.clone();
    fut.add_done_callback(move |_| {
        c.fetch_add(1, SeqCst);
    });
    assert_eq!(calls.load(SeqCst), 2);

    // Cancelled before it started: the runner is told not to run it.
    let f2: PoolFuture<u32> = PoolFuture::new();
    assert!(f2.cancel());
    assert_eq!(f2.set_running_or_notify_cancel(), Ok(false));
    assert_eq!(f2.result(None), Err(PoolError::Cancelled));
    let f3: PoolFuture<u32> = PoolFuture::new();
    f3.set_exception("disk full").unwrap();
    assert_eq!(f3.result(None), Err(PoolError::Failed("disk full".into())));
    // Identity: a set of futures tells them apart.
    let set: std::collections::HashSet<usize> = [fut.id(), f2.id(), fut.clone().id()].into();
    assert_eq!(set.len(), 2);
}

#[test]
fn the_run_in_executor_future_has_concurrent_futures_methods() {
    let rt = runtime::Builder::new()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let (started_tx, started_rx) = mpsc::channel();
        let release = Arc::new(Barrier::new(2));
        let r = release.clone();
        let running = runtime::run_in_executor(move || {
            started_tx.send(()).unwrap();
            r.wait();
            1
        });
        let queued = runtime::run_in_executor(|| 2); // behind it: one thread only
        started_rx.recv().unwrap();
        assert!(running.running() && !running.done());
        assert!(!running.cancel(), "a running job cannot be cancelled");
        assert!(queued.cancel(), "a queued job can");
        assert!(queued.cancelled() && queued.done());
        release.wait();
        assert_eq!(running.await, Ok(1));
        assert_eq!(queued.await, Err(runtime::pool::PoolError::Cancelled));
    });
}

#[test]
fn spawn_blocking_is_run_in_executor() {
    runtime::run(async {
        let h = runtime::spawn_blocking(|| std::thread::current().name().map(str::to_owned));
        let name = h.await.unwrap().unwrap();
        assert!(name.starts_with("runtime-blocking"), "{name}");
    });
}
