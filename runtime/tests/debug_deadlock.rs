//! Deadlock detection: `block_on` panics when nothing can ever wake any task or the main
//! future again, and only then (no false reports for waits another thread, a timer, a
//! socket or a blocking job can end).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use runtime::sync::{mpsc, Lock};
use runtime::{Builder, Promise};

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a deadlock panic");
    match err.downcast::<String>() {
        Ok(s) => *s,
        Err(e) => e.downcast::<&str>().map(|s| s.to_string()).unwrap(),
    }
}

fn rt(paused: bool) -> runtime::Runtime {
    Builder::new().start_paused(paused).build().unwrap()
}

#[test]
fn a_promise_nobody_else_holds_is_a_deadlock() {
    for paused in [true, false] {
        let msg = panic_message(|| {
            rt(paused).block_on(async {
                let p = Promise::<u32>::new();
                p.await.ok()
            });
        });
        assert!(msg.starts_with("deadlock: every task is blocked"), "{msg}");
        assert!(msg.contains("main: waiting on Promise"), "{msg}");
    }
}

#[test]
fn two_tasks_waiting_on_each_others_channels_is_a_deadlock() {
    let msg = panic_message(|| {
        rt(true).block_on(async {
            let (tx_a, mut rx_a) = mpsc::unbounded::<u32>();
            let (tx_b, mut rx_b) = mpsc::unbounded::<u32>();
            let a = runtime::task::Builder::new().name("a").spawn(async move {
                let v = rx_a.recv().await; // b never sends: it waits for a first
                tx_b.send(1).ok();
                v
            });
            let b = runtime::task::Builder::new().name("b").spawn(async move {
                let v = rx_b.recv().await;
                tx_a.send(1).ok();
                v
            });
            runtime::sleep(Duration::from_secs(5)).await; // timers first: not yet
            let _ = (a.await, b.await);
        });
    });
    assert!(msg.starts_with("deadlock: every task is blocked"), "{msg}");
    assert!(msg.contains("\"a\""), "{msg}");
    assert!(msg.contains("\"b\""), "{msg}");
    assert_eq!(
        msg.matches("waiting on mpsc::Receiver::recv").count(),
        2,
        "{msg}"
    );
    assert!(msg.contains("main: waiting on Task #1"), "{msg}");
}

#[test]
fn a_lock_held_across_a_wait_that_never_ends_is_reported_with_the_waiter() {
    let msg = panic_message(|| {
        runtime::run(async {
            let lock = Rc::new(Lock::new(0));
            let l = lock.clone();
            let holder = runtime::spawn(async move {
                let _g = l.lock().await;
                Promise::<()>::new().await.ok(); // never resolved, lock held
            });
            runtime::yield_now().await;
            let mut g = lock.lock().await; // waits for the holder forever
            *g += 1;
            drop(holder);
        });
    });
    assert!(msg.starts_with("deadlock: every task is blocked"), "{msg}");
    assert!(msg.contains("main: waiting on Lock::lock"), "{msg}");
    assert!(msg.contains("waiting on Promise"), "{msg}");
}

#[test]
fn waits_that_something_can_still_end_are_not_deadlocks() {
    // Another thread holds the sender of a cross-thread channel.
    let rt1 = rt(true);
    let got = rt1.block_on(async {
        let (tx, mut rx) = runtime::sync::cross_thread::unbounded::<u32>();
        let th = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            tx.send(7).unwrap();
        });
        let v = rx.recv().await;
        th.join().unwrap();
        v
    });
    assert_eq!(got, Some(7));

    // Another thread holds a Handle: it will run the callback that resolves the wait
    // (the promise is loop-local: only the callback, run on the loop, reaches it).
    thread_local! {
        static SLOT: std::cell::RefCell<Option<Promise<u32>>> = const { std::cell::RefCell::new(None) };
    }
    let rt2 = rt(false);
    let h = rt2.handle();
    let th = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        h.call_soon_threadsafe(|| {
            SLOT.with(|s| s.borrow_mut().take().unwrap().set_result(3).unwrap());
        })
        .unwrap();
    });
    let got = rt2.block_on(async {
        let p = Promise::<u32>::new();
        SLOT.with(|s| *s.borrow_mut() = Some(p.clone()));
        p.await.unwrap()
    });
    assert_eq!(got, 3);
    th.join().unwrap();

    // A user future whose waker another thread holds.
    let rt3 = rt(true);
    rt3.block_on(async {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut started = false;
        std::future::poll_fn(|cx| {
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                return std::task::Poll::Ready(());
            }
            if !started {
                started = true;
                let (w, d) = (cx.waker().clone(), done.clone());
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(30));
                    d.store(true, std::sync::atomic::Ordering::SeqCst);
                    w.wake();
                });
            }
            std::task::Poll::Pending
        })
        .await
    });

    // A blocking job in flight, and a socket: both can still wake their waiters.
    let rt4 = rt(true);
    rt4.block_on(async {
        runtime::run_in_executor(|| std::thread::sleep(Duration::from_millis(30)))
            .await
            .unwrap();
        let listener = runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            std::net::TcpStream::connect(addr).unwrap()
        });
        listener.accept().await.unwrap();
    });
}

#[test]
fn a_program_listening_for_a_signal_is_not_deadlocked() {
    // A listener of the program's: a signal may still come (here it does).
    rt(false).block_on(async {
        let mut hup = runtime::signal::Signal::new(runtime::signal::SignalKind::USER2).unwrap();
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(30));
            // SAFETY: signalling our own process; the listener above handles it.
            unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) };
        });
        hup.recv().await;
    });
}

/// A waker held on another thread, used there and dropped while the loop was counting
/// the wakers that could still wake main: the count no longer shows it, so the proof
/// must see its wake instead (it looks at the pending wakes again after counting).
/// Thousands of rounds of a hand-off from a helper thread, under `run` (whose Ctrl-C
/// listener is a loop-local wait, so the proof runs to the end every time).
#[test]
fn a_wake_from_another_thread_racing_the_proof_is_not_a_deadlock() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc as std_mpsc, Arc, Mutex};
    use std::task::{Poll, Waker};

    type Slot = Arc<(Mutex<Option<Waker>>, AtomicBool)>;
    let (tx, rx) = std_mpsc::channel::<Slot>();
    let helper = std::thread::spawn(move || {
        for slot in rx {
            loop {
                let waker = slot.0.lock().unwrap().take();
                if let Some(w) = waker {
                    slot.1.store(true, Ordering::SeqCst);
                    w.wake(); // by value: the clone goes right after the wake
                    break;
                }
                std::hint::spin_loop();
            }
        }
    });
    runtime::run(async move {
        for _ in 0..5_000 {
            let slot: Slot = Arc::new((Mutex::new(None), AtomicBool::new(false)));
            tx.send(slot.clone()).unwrap();
            std::future::poll_fn(|cx| {
                if slot.1.load(Ordering::SeqCst) {
                    return Poll::Ready(());
                }
                *slot.0.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            })
            .await;
        }
        drop(tx);
    });
    helper.join().unwrap();
}
