//! The cross-thread door into a loop: an injection queue plus the park/notify protocol.
//!
//! This file is also compiled by `tests/loom_remote.rs` under `--cfg loom`, so it uses
//! nothing from the crate but the atomics and mutex it imports below.
//!
//! # The protocol (no lost wake-ups)
//! - Other threads: `push` an item under the mutex, then store `pending = true`, then
//!   `swap(parked, false)`; only the one thread that sees `true` there writes the OS
//!   waker (a single `eventfd` write per park, however many threads wake).
//! - The loop, before blocking: store `parked = true`, then load `pending`; if it is set
//!   it does not block. All four accesses are `SeqCst`, so in their single total order
//!   either the loop's load sees `pending`, or the pusher's swap sees `parked`: a parked
//!   loop is always woken.
//! - After the OS wait the loop stores `parked = false` and drains with `swap(pending, false)`
//!   followed by taking the queue under the mutex.

#[cfg(loom)]
use loom::sync::{
    atomic::{AtomicBool, Ordering::SeqCst},
    Mutex,
};
#[cfg(not(loom))]
use std::sync::{
    atomic::{AtomicBool, Ordering::SeqCst},
    Mutex,
};

/// What `push` asks its caller to do next.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// The loop was parked: write the OS waker.
    WakeLoop,
    /// The loop is running or already being woken: nothing more to do.
    Done,
}

struct Inner<T> {
    items: Vec<T>,
    closed: bool,
}

/// The injection queue and park word shared by a loop and the threads that wake it.
pub(crate) struct Remote<T> {
    inner: Mutex<Inner<T>>,
    pending: AtomicBool,
    parked: AtomicBool,
}

impl<T> Remote<T> {
    pub(crate) fn new() -> Self {
        Remote {
            inner: Mutex::new(Inner {
                items: Vec::new(),
                closed: false,
            }),
            pending: AtomicBool::new(false),
            parked: AtomicBool::new(false),
        }
    }

    /// Queues `item` for the loop.
    ///
    /// # Errors
    /// Gives the item back when the loop is closed (its runtime was dropped).
    pub(crate) fn push(&self, item: T) -> Result<Pushed, T> {
        {
            let mut inner = self.inner.lock().unwrap();
            if inner.closed {
                return Err(item);
            }
            inner.items.push(item);
        }
        Ok(self.notify())
    }

    /// Marks work pending (without an item: e.g. the main future was woken) and reports
    /// whether the loop must be woken.
    pub(crate) fn notify(&self) -> Pushed {
        self.pending.store(true, SeqCst);
        if self.parked.swap(false, SeqCst) {
            Pushed::WakeLoop
        } else {
            Pushed::Done
        }
    }

    /// Loop side: true if something was pushed or notified since the last drain.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(SeqCst)
    }

    /// Loop side: takes everything queued so far (appending to `out`).
    pub(crate) fn drain_into(&self, out: &mut Vec<T>) {
        if self.pending.swap(false, SeqCst) {
            let mut inner = self.inner.lock().unwrap();
            out.append(&mut inner.items);
        }
    }

    /// Loop side, before an OS wait that may block: returns false if the loop must not
    /// block because work arrived.
    pub(crate) fn park_begin(&self) -> bool {
        self.parked.store(true, SeqCst);
        if self.pending.load(SeqCst) {
            self.parked.store(false, SeqCst);
            false
        } else {
            true
        }
    }

    /// Loop side, after the OS wait returned.
    pub(crate) fn park_end(&self) {
        self.parked.store(false, SeqCst);
    }

    /// Closes the queue (the loop is being dropped) and gives back what was still queued;
    /// later pushes fail.
    pub(crate) fn close(&self) -> Vec<T> {
        let mut inner = self.inner.lock().unwrap();
        inner.closed = true;
        std::mem::take(&mut inner.items)
    }
}
