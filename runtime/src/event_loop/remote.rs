//! The cross-thread door into a loop: an injection queue plus the park/notify protocol.
//!
//! This file is also compiled by `tests/loom_remote.rs` under `--cfg loom`, so it uses
//! nothing from the crate but the atomics and mutex of its parent's `remote_sync`.
//!
//! # The protocol (no lost wake-ups)
//! - Other threads: `push` an item under the mutex, then store `pending = true`, a
//!   `SeqCst` fence, then `compare_exchange(parked, true -> false)`; only the one thread
//!   that wins it writes the OS waker (one `eventfd` write per park, however many wake).
//! - The loop, before blocking: store `parked = true`, a `SeqCst` fence, then load
//!   `pending`; if it is set it does not block. The two fences are ordered in the single
//!   total order of `SeqCst` operations, so either the loop's load sees `pending` or the
//!   pusher's exchange sees `parked`: a parked loop is always woken (Dekker's pattern).
//! - After the OS wait the loop stores `parked = false` and drains with
//!   `compare_exchange(pending, true -> false)`, then takes the queue under the mutex.
//! - Fences and compare-exchanges rather than `SeqCst` accesses and swaps: that is the
//!   form loom can check (it models neither `SeqCst` accesses nor swap-vs-store exactly).

// The primitives come from the parent module: std's in the crate, loom's in the model.
use super::remote_sync::{fence, AtomicBool, Mutex, Ordering};

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
        self.pending.store(true, Ordering::Release);
        // Dekker with `park_begin`: store pending, full fence, then look at parked.
        fence(Ordering::SeqCst);
        if self
            .parked
            .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            Pushed::WakeLoop
        } else {
            Pushed::Done
        }
    }

    /// Loop side: true if something was pushed or notified since the last drain.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Loop side: takes everything queued so far (appending to `out`).
    pub(crate) fn drain_into(&self, out: &mut Vec<T>) {
        if self
            .pending
            .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let mut inner = self.inner.lock().unwrap();
            out.append(&mut inner.items);
        }
    }

    /// Loop side, before an OS wait that may block: returns false if the loop must not
    /// block because work arrived.
    pub(crate) fn park_begin(&self) -> bool {
        self.parked.store(true, Ordering::Release);
        // Dekker with `notify`: store parked, full fence, then look at pending.
        fence(Ordering::SeqCst);
        if self.pending.load(Ordering::Acquire) {
            self.parked.store(false, Ordering::Release);
            false
        } else {
            true
        }
    }

    /// Loop side, after the OS wait returned.
    pub(crate) fn park_end(&self) {
        self.parked.store(false, Ordering::Release);
    }

    /// Closes the queue (the loop is being dropped) and gives back what was still queued;
    /// later pushes fail.
    pub(crate) fn close(&self) -> Vec<T> {
        let mut inner = self.inner.lock().unwrap();
        inner.closed = true;
        std::mem::take(&mut inner.items)
    }
}
