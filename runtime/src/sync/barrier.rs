//! `Barrier` (asyncio 3.11): a number of tasks wait until all have arrived.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::waiters::{WaitKey, Waiters};

/// The barrier was aborted or reset while tasks waited (asyncio `BrokenBarrierError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrier;

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken (aborted or reset while tasks waited)")
    }
}

impl std::error::Error for BrokenBarrier {}

/// Blocks `parties` tasks until all of them have called [`wait`](Barrier::wait), then
/// releases them together and starts over (asyncio `Barrier`). `wait` returns the order
/// of arrival, `0..parties`. A waiter dropped before the barrier fills un-arrives.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use runtime::sync::Barrier;
///
/// runtime::run(async {
///     let b = Rc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3).map(|_| {
///         let b = b.clone();
///         runtime::spawn(async move { b.wait().await.unwrap() })
///     }).collect();
///     let mut order = Vec::new();
///     for t in tasks { order.push(t.await.unwrap()); }
///     order.sort();
///     assert_eq!(order, [0, 1, 2]);
/// });
/// ```
pub struct Barrier {
    parties: usize,
    arrived: Cell<usize>,
    generation: Cell<u64>,
    broken: Cell<bool>,
    waiters: RefCell<Waiters>,
}

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// # Panics
    ///
    /// If `parties` is zero.
    pub fn new(parties: usize) -> Barrier {
        assert!(parties > 0, "Barrier::new: parties must be at least 1");
        Barrier {
            parties,
            arrived: Cell::new(0),
            generation: Cell::new(0),
            broken: Cell::new(false),
            waiters: RefCell::new(Waiters::new()),
        }
    }

    /// Waits for the other parties.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrier`] if the barrier is, or becomes, aborted or reset.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            state: None,
        }
    }

    /// Breaks the barrier: current and future waiters fail until [`reset`](Barrier::reset).
    pub fn abort(&self) {
        self.broken.set(true);
        self.arrived.set(0);
        // Each waiter's outcome is fixed now, in its notification (not when it runs).
        self.waiters.borrow_mut().notify_all_tagged(RELEASED_BROKEN);
    }

    /// Makes the barrier usable again; tasks waiting now fail with [`BrokenBarrier`].
    pub fn reset(&self) {
        if self.arrived.get() > 0 {
            self.waiters.borrow_mut().notify_all_tagged(RELEASED_BROKEN);
        }
        self.arrived.set(0);
        self.generation.set(self.generation.get() + 1);
        self.broken.set(false);
    }

    /// How many tasks must arrive.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many tasks wait now.
    pub fn n_waiting(&self) -> usize {
        self.arrived.get()
    }

    /// True after [`abort`](Barrier::abort), until [`reset`](Barrier::reset).
    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }
}

/// The future of [`Barrier::wait`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    /// (wait key, arrival index, generation)
    state: Option<(WaitKey, usize, u64)>,
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BrokenBarrier>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let b = self.barrier;
        if let Some((key, index, _)) = self.state {
            let Some(how) = b.waiters.borrow_mut().poll_notified_tag(key, cx.waker()) else {
                crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Barrier::wait"), true);
                return Poll::Pending;
            };
            self.state = None;
            // Decided when it was released: by the last arrival, or by abort/reset.
            return Poll::Ready(if how == RELEASED_OK {
                Ok(index)
            } else {
                Err(BrokenBarrier)
            });
        }
        if b.broken.get() {
            return Poll::Ready(Err(BrokenBarrier));
        }
        let index = b.arrived.get();
        if index + 1 == b.parties {
            // The last one: release everybody and start the next round.
            b.arrived.set(0);
            b.generation.set(b.generation.get() + 1);
            b.waiters.borrow_mut().notify_all_tagged(RELEASED_OK);
            return Poll::Ready(Ok(index));
        }
        b.arrived.set(index + 1);
        let key = b.waiters.borrow_mut().push(cx.waker());
        self.state = Some((key, index, b.generation.get()));
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Barrier::wait"), true);
        Poll::Pending
    }
}

/// How a waiter was released (the tag of its notification).
const RELEASED_OK: u8 = 0;
const RELEASED_BROKEN: u8 = 1;

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some((key, _, gen)) = self.state {
            let b = self.barrier;
            let was_released = b.waiters.borrow_mut().remove(key);
            if !was_released && b.generation.get() == gen && !b.broken.get() {
                b.arrived.set(b.arrived.get() - 1); // un-arrive
            }
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("waiting", &self.arrived.get())
            .field("broken", &self.broken.get())
            .finish()
    }
}
