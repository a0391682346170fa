//! A task's reference count (R2, R3): the `Arc` protocol on a bare counter, so that the
//! header stays small. Increments are relaxed; the decrement that reaches zero
//! synchronises with every earlier decrement (release, then an acquire load of the count,
//! as `Arc` does under ThreadSanitizer: TSan does not model a standalone fence, and the
//! load costs one plain `mov` on x86, on the last decrement only), so whichever thread
//! frees the task sees everything the others did to it first. Loom
//! models it, with the last reference dropped off the loop thread and a remote wake
//! racing the runtime's drop (`tests/loom_wakers.rs`).

use super::refcount_sync::{AtomicU32, Ordering};

pub(crate) struct RefCount(AtomicU32);

impl RefCount {
    pub(crate) fn new(n: u32) -> RefCount {
        RefCount(AtomicU32::new(n))
    }

    /// Adds a reference.
    #[inline]
    pub(crate) fn inc(&self) {
        let old = self.0.fetch_add(1, Ordering::Relaxed);
        if old > i32::MAX as u32 {
            // Same guard as `Arc`: an overflowing count would free a live task.
            std::process::abort();
        }
    }

    /// The count now.
    #[inline]
    pub(crate) fn get(&self) -> u32 {
        self.0.load(Ordering::Acquire)
    }

    /// Drops a reference; true if it was the last (the caller frees the task).
    #[inline]
    pub(crate) fn dec(&self) -> bool {
        if self.0.fetch_sub(1, Ordering::Release) != 1 {
            return false;
        }
        // Acquire through the release sequence ending in our decrement (see the module doc).
        self.0.load(Ordering::Acquire);
        true
    }
}
