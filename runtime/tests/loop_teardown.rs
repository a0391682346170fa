//! `run` and dropping a `Runtime` cancel and drop every task still alive, on the loop
//! thread.

mod common;
use common::{Counts, Probe};

#[test]
fn run_cancels_tasks_still_alive_when_main_returns() {
    let counts = Counts::default();
    let c = counts.clone();
    let out = runtime::run(async move {
        let mut p = Probe::new(&c);
        p.park = true;
        runtime::spawn(p).detach();
        runtime::yield_now().await;
        "main done"
    });
    assert_eq!(out, "main done");
    assert_eq!(counts.polls(), 1);
    assert_eq!(counts.drops(), 1);
    assert_eq!(counts.dropped_on(), Some(std::thread::current().id()));
}

#[test]
fn dropping_a_runtime_drops_unstarted_tasks_and_keeps_handles_valid() {
    let counts = Counts::default();
    let rt = runtime::Runtime::new().unwrap();
    let mut t = rt.spawn(Probe::new(&counts));
    drop(rt);
    assert_eq!(counts.polls(), 0);
    assert_eq!(counts.drops(), 1);
    assert!(t.is_done());
    assert!(t.try_result().unwrap().unwrap_err().is_cancelled());
}

#[test]
fn tasks_spawned_while_tearing_down_are_dropped_too() {
    struct SpawnOnDrop(Counts);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let mut p = Probe::new(&self.0);
            p.park = true;
            runtime::spawn(p).detach();
        }
    }
    let counts = Counts::default();
    let c = counts.clone();
    runtime::run(async move {
        runtime::spawn(async move {
            let _guard = SpawnOnDrop(c);
            std::future::pending::<()>().await;
        })
        .detach();
        runtime::yield_now().await;
    });
    assert_eq!(counts.drops(), 1);
}

#[test]
fn runtime_can_be_dropped_inside_another_loop() {
    let counts = Counts::default();
    let c = counts.clone();
    runtime::run(async move {
        let inner = runtime::Runtime::new().unwrap();
        let mut p = Probe::new(&c);
        p.park = true;
        inner.spawn(p).detach();
        drop(inner); // tears down the inner loop without disturbing the outer one
        assert_eq!(runtime::spawn(async { 1 }).await.unwrap(), 1);
    });
    assert_eq!(counts.drops(), 1);
    assert_eq!(counts.polls(), 0);
}

/// A waker whose `Drop` runs code on the loop being torn down.
struct DropHook(std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl std::task::Wake for DropHook {
    fn wake(self: std::sync::Arc<Self>) {}
}

impl Drop for DropHook {
    fn drop(&mut self) {
        if let Some(f) = self.0.lock().unwrap().take() {
            f();
        }
    }
}

fn hook_waker(f: impl FnOnce() + Send + 'static) -> std::task::Waker {
    std::task::Waker::from(std::sync::Arc::new(DropHook(std::sync::Mutex::new(Some(
        Box::new(f),
    )))))
}

/// Sets its flag when dropped.
struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
impl Drop for Flag {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A waker whose `Drop` spawns a pending task that sets `dropped` when it is dropped.
fn spawns_on_drop(dropped: std::sync::Arc<std::sync::atomic::AtomicBool>) -> std::task::Waker {
    hook_waker(move || {
        let flag = Flag(dropped);
        runtime::spawn(async move {
            let _flag = flag;
            std::future::pending::<()>().await
        })
        .detach();
    })
}

/// Polls `fut` once with `waker`, so that the loop keeps `waker` registered.
fn register_with<F: std::future::Future + Unpin>(fut: &mut F, waker: &std::task::Waker) {
    let mut cx = std::task::Context::from_waker(waker);
    assert!(std::pin::Pin::new(fut).poll(&mut cx).is_pending());
}

#[test]
fn a_task_spawned_from_a_timer_wakers_drop_during_teardown_is_dropped() {
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rt = runtime::Runtime::new().unwrap();
    let d = dropped.clone();
    rt.block_on(async move {
        let waker = spawns_on_drop(d);
        let mut sleep = runtime::sleep(std::time::Duration::from_secs(3600));
        register_with(&mut sleep, &waker);
        drop(waker);
        std::mem::forget(sleep); // the timer stays registered with the hook's waker
    });
    drop(rt);
    assert!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        "the task spawned while timer wakers were released was never dropped"
    );
}

#[test]
fn a_timer_waker_whose_drop_drops_a_sleep_of_the_same_loop() {
    let rt = runtime::Runtime::new().unwrap();
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = dropped.clone();
    rt.block_on(async move {
        let mut inner = runtime::sleep(std::time::Duration::from_secs(7200));
        register_with(&mut inner, &hook_waker(|| {}));
        let waker = hook_waker(move || {
            drop(inner); // cancels a timer of the loop being torn down
            d.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut outer = runtime::sleep(std::time::Duration::from_secs(3600));
        register_with(&mut outer, &waker);
        drop(waker);
        std::mem::forget(outer);
    });
    drop(rt); // panicked with "already borrowed" before the fix
    assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
}

#[test]
#[cfg_attr(miri, ignore = "uses a socket (epoll)")]
fn a_task_spawned_from_an_io_wakers_drop_during_teardown_is_dropped() {
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rt = runtime::Runtime::new().unwrap();
    let d = dropped.clone();
    let listener = rt.block_on(async move {
        let listener = runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let waker = spawns_on_drop(d);
        {
            let mut accept = std::pin::pin!(listener.accept());
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(std::future::Future::poll(accept.as_mut(), &mut cx).is_pending());
        }
        listener
    });
    drop(rt);
    assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
    drop(listener);
}

/// Teardown finds every live task wherever it is: waiting (registered), woken and queued
/// again (registered and queued), queued before its first poll, finished but still
/// queued. Each future is dropped once, on the loop thread; each kept handle reads
/// "cancelled", or the result it had.
#[test]
fn teardown_drops_waiting_requeued_and_unstarted_tasks_once_each() {
    use std::rc::Rc;
    let counts = Counts::default();
    let rt = runtime::Runtime::new().unwrap();
    let (waiting, requeued, unstarted, mut finished) = rt.block_on(async {
        // A task holding a probe (counted when its future drops) that waits on `ev`.
        let waiter = |ev: Rc<runtime::sync::Event>| {
            let probe = Probe::new(&counts);
            runtime::spawn(async move {
                let _probe = probe;
                ev.wait().await;
                std::future::pending::<()>().await
            })
        };
        let (never, wake) = (
            Rc::new(runtime::sync::Event::new()),
            Rc::new(runtime::sync::Event::new()),
        );
        let waiting = waiter(never.clone());
        let requeued = waiter(wake.clone());
        waiter(never.clone()).detach();
        // Finishes in its first poll after waking itself: still queued when it completes.
        let finished = runtime::spawn(std::future::poll_fn(|cx| {
            cx.waker().wake_by_ref();
            std::task::Poll::Ready(5)
        }));
        runtime::yield_now().await; // all polled once; the waiters registered
        wake.set(); // `requeued` is queued again, and main returns before it runs
        let unstarted = waiter(never);
        (waiting, requeued, unstarted, finished)
    });
    assert_eq!(counts.drops(), 0);
    drop(rt);
    assert_eq!(counts.drops(), 4);
    assert_eq!(counts.dropped_on(), Some(std::thread::current().id()));
    for mut t in [waiting, requeued, unstarted] {
        assert!(t.try_result().unwrap().unwrap_err().is_cancelled());
    }
    assert_eq!(finished.try_result().unwrap().unwrap(), 5);
}
