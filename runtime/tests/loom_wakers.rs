//! loom models of the waker protocols that cross threads:
//! - a task's reference count when its last reference (a waker) is dropped on a foreign
//!   thread (`src/task/refcount.rs`);
//! - a remote wake racing the runtime's drop: the injection queue closes while a wake
//!   holding a reference is pushed (`src/event_loop/remote.rs` with the count);
//! - the ready set's member-waker protocol: a member woken again while its index is being
//!   drained (`src/combine/ready_set.rs`, its `queued` flag).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p runtime --test loom_wakers --release
//! ```
#![cfg(loom)]

#[allow(dead_code)]
#[path = "../src/task/refcount.rs"]
mod refcount;
mod refcount_sync {
    pub use loom::sync::atomic::{AtomicU32, Ordering};
}

#[allow(dead_code)]
#[path = "../src/event_loop/remote.rs"]
mod remote;
mod remote_sync {
    pub use loom::sync::atomic::{fence, AtomicBool, Ordering};
    pub use loom::sync::Mutex;
}

#[allow(dead_code)]
#[path = "../src/combine/ready_set.rs"]
mod ready_set;
mod ready_set_sync {
    pub use loom::sync::atomic::{AtomicBool, Ordering};
    pub use loom::sync::{Arc, Mutex};
}

use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread;
use refcount::RefCount;

/// Stands for a task allocation: the count, a stage the loop thread writes when it drops
/// the future, and a counter of frees.
struct Block {
    refs: RefCount,
    stage: UnsafeCell<u32>,
    freed: std::sync::Arc<AtomicUsize>,
}

#[derive(Clone, Copy)]
struct BlockPtr(*const Block);
// SAFETY: the model shares the block the way wakers share a task: through the count.
unsafe impl Send for BlockPtr {}

impl BlockPtr {
    fn new(refs: u32, freed: &std::sync::Arc<AtomicUsize>) -> BlockPtr {
        BlockPtr(Box::into_raw(Box::new(Block {
            refs: RefCount::new(refs),
            stage: UnsafeCell::new(1),
            freed: freed.clone(),
        })))
    }
    fn get(&self) -> &Block {
        // SAFETY: alive while this holder's reference is counted.
        unsafe { &*self.0 }
    }
    /// Drops one reference; the last one frees the block, reading its stage first (as
    /// dealloc drops the header and the empty stage).
    fn release(self) {
        if self.get().refs.dec() {
            // The free reads what the loop thread wrote: a race here is a bug.
            // SAFETY: loom checks this read against the loop thread's write.
            let stage = self.get().stage.with(|s| unsafe { *s });
            assert_eq!(stage, 0, "freed before the loop dropped the future");
            self.get().freed.fetch_add(1, SeqCst);
            // SAFETY: the count reached zero: nobody else holds the block.
            drop(unsafe { Box::from_raw(self.0 as *mut Block) });
        }
    }
}

/// The loop thread drops the future (writes the stage) and its owners' reference while a
/// foreign thread drops the last waker: exactly one free, which sees the write.
#[test]
fn last_waker_dropped_on_a_foreign_thread() {
    loom::model(|| {
        let freed = std::sync::Arc::new(AtomicUsize::new(0));
        // One reference for the loop-local owners, one for a waker.
        let task = BlockPtr::new(2, &freed);
        let waker = task;
        let foreign = thread::spawn(move || waker.release());
        // SAFETY: the loop thread's write; loom checks it against the free's read.
        task.get().stage.with_mut(|s| unsafe { *s = 0 }); // the future is dropped
        task.release();
        foreign.join().unwrap();
        assert_eq!(freed.load(SeqCst), 1);
    });
}

/// A wake in flight owns a reference.
struct RemoteWake(BlockPtr);
impl Drop for RemoteWake {
    fn drop(&mut self) {
        self.0.release();
    }
}
// SAFETY: as for `BlockPtr`.
unsafe impl Send for RemoteWake {}

/// A foreign thread wakes the task (takes a reference, pushes it into the injection queue,
/// then drops its waker) while the runtime is dropped (closes the queue, drops what it
/// held, drops the future and its owners' reference): one free, nothing leaked.
#[test]
fn remote_wake_racing_runtime_drop() {
    loom::model(|| {
        let freed = std::sync::Arc::new(AtomicUsize::new(0));
        let queue = loom::sync::Arc::new(remote::Remote::<RemoteWake>::new());
        let task = BlockPtr::new(2, &freed);
        let waker = task;
        let q = queue.clone();
        let foreign = thread::spawn(move || {
            waker.get().refs.inc();
            if let Err(refused) = q.push(RemoteWake(waker)) {
                drop(refused); // the loop is closed: the wake is a no-op
            }
            waker.release();
        });
        // Runtime drop: close the queue, drop what was in flight, then the tasks.
        drop(queue.close());
        // SAFETY: as in the model above.
        task.get().stage.with_mut(|s| unsafe { *s = 0 });
        task.release();
        foreign.join().unwrap();
        // A push that won the race before the close was returned by it; nothing after.
        drop(queue.close());
        assert_eq!(freed.load(SeqCst), 1, "freed twice or leaked");
    });
}

/// A member woken again while the combinator drains its index: the poll that follows the
/// drain sees what the waker did before waking, or the wake is queued again. Never
/// neither (a lost wake-up).
#[test]
fn a_member_woken_during_the_drain_is_never_lost() {
    loom::model(|| {
        let mut set = ready_set::ReadySet::new();
        set.push(); // starts woken: index 0 queued
        let data = loom::sync::Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let waker = (*set.waker(0)).clone();
        let d = data.clone();
        let member = thread::spawn(move || {
            d.store(true, loom::sync::atomic::Ordering::Relaxed); // the event
            waker.wake();
        });
        let mut out = Vec::new();
        set.drain_woken(&mut out);
        // The poll of the drained member looks at the event.
        let seen = !out.is_empty() && data.load(loom::sync::atomic::Ordering::Relaxed);
        member.join().unwrap();
        let mut again = Vec::new();
        set.drain_woken(&mut again);
        assert!(
            seen || again == [0],
            "the member's wake was absorbed but its poll did not see the event"
        );
    });
}
