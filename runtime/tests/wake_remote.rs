//! Cross-thread wakes, the `Handle`, and wakes after the runtime is gone.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

/// A one-shot flag another thread sets, waking whoever waits.
#[derive(Default)]
struct Flag {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Flag {
    fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }
    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.set.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

#[test]
fn wake_from_another_thread_resumes_a_parked_loop() {
    runtime::run(async {
        let flag = Arc::new(Flag::default());
        let f = flag.clone();
        let t = runtime::spawn(async move {
            f.wait().await;
            "woken"
        });
        let f = flag.clone();
        let th = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20)); // the loop parks in epoll meanwhile
            f.set();
        });
        assert_eq!(t.await.unwrap(), "woken");
        th.join().unwrap();
    });
}

#[test]
fn main_future_woken_from_another_thread() {
    let flag = Arc::new(Flag::default());
    let f = flag.clone();
    let th = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        f.set();
    });
    runtime::run(async { flag.wait().await });
    th.join().unwrap();
}

#[test]
fn many_threads_waking_many_tasks_lose_no_wakeup() {
    // Stress: 8 threads x 200 rounds of ping-pong with tasks on the loop.
    const THREADS: usize = if cfg!(miri) { 3 } else { 8 };
    const ROUNDS: usize = if cfg!(miri) { 10 } else { 200 };
    runtime::run(async {
        let mut tasks = Vec::new();
        let mut threads = Vec::new();
        for _ in 0..THREADS {
            let (to_thread, from_loop) = mpsc::channel::<Arc<Flag>>();
            let t = runtime::spawn(async move {
                for _ in 0..ROUNDS {
                    let flag = Arc::new(Flag::default());
                    to_thread.send(flag.clone()).unwrap();
                    flag.wait().await;
                }
            });
            tasks.push(t);
            threads.push(thread::spawn(move || {
                for flag in from_loop {
                    flag.set();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for th in threads {
            th.join().unwrap();
        }
    });
}

#[test]
fn handle_spawns_send_futures_and_runs_callbacks_in_order() {
    let rt = runtime::Runtime::new().unwrap();
    let h = rt.handle();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let th = thread::spawn(move || {
        for i in 0..5 {
            let l = l.clone();
            h.call_soon_threadsafe(move || l.lock().unwrap().push(i))
                .unwrap();
        }
        h.spawn(async { 6 * 7 })
    });
    let remote = th.join().unwrap();
    assert_eq!(rt.block_on(remote).unwrap(), 42);
    assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3, 4]);
}

#[test]
fn remote_task_join_blocking_from_another_thread() {
    let rt = runtime::Runtime::new().unwrap();
    let h = rt.handle();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let th = thread::spawn(move || {
        let r = h.spawn(async { "from the loop" }).join_blocking();
        d.store(true, Ordering::SeqCst);
        r
    });
    while !done.load(Ordering::SeqCst) {
        rt.turn(Duration::from_millis(5));
    }
    assert_eq!(th.join().unwrap().unwrap(), "from the loop");
}

#[test]
fn handle_after_the_runtime_is_dropped_reports_closed() {
    let rt = runtime::Runtime::new().unwrap();
    let h = rt.handle();
    let pending = h.spawn(std::future::pending::<()>());
    drop(rt);
    assert!(h.is_closed());
    assert!(h.call_soon_threadsafe(|| {}).is_err());
    assert!(pending.join_blocking().unwrap_err().is_cancelled());
    let late = h.spawn(async { 1 });
    assert!(late.join_blocking().unwrap_err().is_cancelled());
}

#[test]
fn wake_after_the_runtime_is_dropped_is_a_no_op() {
    let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
    let s = stash.clone();
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    {
        let rt = runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            runtime::spawn(std::future::poll_fn(move |cx| {
                p.fetch_add(1, Ordering::SeqCst);
                *s.lock().unwrap() = Some(cx.waker().clone());
                Poll::<()>::Pending
            }))
            .detach();
            runtime::yield_now().await;
        });
    }
    let w = stash.lock().unwrap().take().unwrap();
    // From this thread and from another one; by reference and by value.
    w.wake_by_ref();
    let w2 = w.clone();
    thread::spawn(move || w2.wake()).join().unwrap();
    w.wake();
    assert_eq!(polls.load(Ordering::SeqCst), 1);
}

#[test]
fn waker_is_send_and_sync_and_survives_its_task() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let w = runtime::run(async {
        let t = runtime::spawn(std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())));
        t.await.unwrap()
    });
    assert_send_sync(&w);
    w.wake_by_ref(); // task gone, loop gone: nothing happens
    drop(w);
}

#[test]
fn handle_is_send_sync_clone() {
    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
    assert_send_sync_clone::<runtime::Handle>();
    fn assert_send<T: Send>() {}
    assert_send::<runtime::RemoteTask<u8>>();
    assert_send::<runtime::time::Sleep>();
}
