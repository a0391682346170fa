//! loom models of the cross-thread wake path: the injection queue and the park/notify
//! protocol (`src/event_loop/remote.rs`). Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p runtime --test loom_remote --release
//! ```
#![cfg(loom)]

#[allow(dead_code)]
#[path = "../src/event_loop/remote.rs"]
mod remote;

mod remote_sync {
    pub use loom::sync::atomic::{fence, AtomicBool, Ordering};
    pub use loom::sync::Mutex;
}

use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;
use remote::{Pushed, Remote};

/// The loop parks while another thread pushes: either the loop sees the item before it
/// blocks, or the pusher is told to wake it. A wake-up is never lost.
#[test]
fn push_vs_park_never_loses_a_wakeup() {
    loom::model(|| {
        let remote = Arc::new(Remote::<u32>::new());
        let os_woken = Arc::new(AtomicBool::new(false));

        let r = remote.clone();
        let w = os_woken.clone();
        let pusher = thread::spawn(move || {
            if r.push(7).unwrap() == Pushed::WakeLoop {
                w.store(true, SeqCst); // stands for the eventfd write
            }
        });

        // The loop: drain, then try to park.
        let mut got = Vec::new();
        remote.drain_into(&mut got);
        if got.is_empty() {
            if remote.park_begin() {
                // Blocking: only an OS wake can end this wait.
                pusher.join().unwrap();
                assert!(
                    os_woken.load(SeqCst) || remote.has_pending(),
                    "parked with work queued and nobody to wake the loop"
                );
                assert!(os_woken.load(SeqCst), "the pusher must wake a parked loop");
                remote.park_end();
            } else {
                pusher.join().unwrap();
            }
            remote.drain_into(&mut got);
        } else {
            pusher.join().unwrap();
        }
        remote.drain_into(&mut got);
        assert_eq!(got, [7]);
    });
}

/// Two pushers and a parked loop: exactly the wakes needed, and both items arrive.
#[test]
fn two_pushers_one_park() {
    loom::model(|| {
        let remote = Arc::new(Remote::<u32>::new());
        let wakes = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let parked = remote.park_begin();
        assert!(parked);
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let r = remote.clone();
                let w = wakes.clone();
                thread::spawn(move || {
                    if r.push(i).unwrap() == Pushed::WakeLoop {
                        w.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(wakes.load(SeqCst), 1, "one eventfd write per park");
        remote.park_end();
        let mut got = Vec::new();
        remote.drain_into(&mut got);
        got.sort();
        assert_eq!(got, [0, 1]);
    });
}

/// A push racing with close either lands before the close (and is returned by it) or is
/// refused: nothing is lost and nothing is leaked.
#[test]
fn push_vs_close() {
    loom::model(|| {
        let remote = Arc::new(Remote::<u32>::new());
        let r = remote.clone();
        let pusher = thread::spawn(move || r.push(1).is_ok());
        let left = remote.close();
        let accepted = pusher.join().unwrap();
        assert_eq!(accepted, left == [1]);
        assert!(remote.push(2).is_err());
    });
}
