//! `Semaphore` and `BoundedSemaphore` (asyncio), first-in first-out.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::waiters::{WaitKey, Waiters};

/// A counting semaphore for tasks of one loop (asyncio `Semaphore`), fair: permits go to
/// waiters in arrival order, a released permit is handed straight to the oldest waiter,
/// and a waiter cancelled after being handed a permit passes it on (no permit is lost).
///
/// `acquire().await` gives a [`SemaphorePermit`] that releases on drop (`async with sem:`);
/// [`SemaphorePermit::forget`] plus [`Semaphore::release`] give asyncio's manual style.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use runtime::sync::Semaphore;
///
/// runtime::run(async {
///     let sem = Rc::new(Semaphore::new(2));
///     let running = Rc::new(Cell::new(0));
///     let tasks: Vec<_> = (0..6).map(|_| {
///         let (sem, running) = (sem.clone(), running.clone());
///         runtime::spawn(async move {
///             let _permit = sem.acquire().await;
///             running.set(running.get() + 1);
///             assert!(running.get() <= 2);
///             runtime::yield_now().await;
///             running.set(running.get() - 1);
///         })
///     }).collect();
///     for t in tasks { t.await.unwrap(); }
/// });
/// ```
pub struct Semaphore {
    permits: Cell<usize>,
    waiters: RefCell<Waiters>,
    /// `Some(initial)` for a bounded semaphore.
    bound: Option<usize>,
}

/// Released more often than acquired (asyncio `BoundedSemaphore` raises `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyReleases;

impl fmt::Display for TooManyReleases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundedSemaphore released too many times")
    }
}

impl std::error::Error for TooManyReleases {}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            permits: Cell::new(permits),
            waiters: RefCell::new(Waiters::new()),
            bound: None,
        }
    }

    /// Waits for a permit.
    ///
    /// # Cancel safety
    ///
    /// Dropping a waiting `acquire()` gives up its place; a permit handed to it goes on.
    pub fn acquire(&self) -> AcquirePermit<'_> {
        AcquirePermit {
            sem: self,
            key: None,
        }
    }

    /// Takes a permit if one is free and nobody waits.
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        // Hand-off (S1): a woken waiter already owns its permit, so only waiters still
        // waiting are ahead of us.
        if self.permits.get() == 0 || self.waiters.borrow().has_waiting() {
            return None;
        }
        self.permits.set(self.permits.get() - 1);
        Some(SemaphorePermit { sem: self })
    }

    /// Adds a permit (hands it to the oldest waiter, if any).
    ///
    /// # Panics
    ///
    /// On a bounded semaphore released above its initial value; use
    /// [`BoundedSemaphore::release`] for the error instead.
    pub fn release(&self) {
        if self.try_release().is_err() {
            panic!("{}", TooManyReleases);
        }
    }

    fn try_release(&self) -> Result<(), TooManyReleases> {
        if self.waiters.borrow_mut().notify_one() {
            return Ok(()); // handed over directly
        }
        let p = self.permits.get() + 1;
        if self.bound.is_some_and(|b| p > b) {
            return Err(TooManyReleases);
        }
        self.permits.set(p);
        Ok(())
    }

    /// Free permits right now.
    pub fn available_permits(&self) -> usize {
        self.permits.get()
    }

    /// True if `acquire` would wait (asyncio `locked()`).
    pub fn is_locked(&self) -> bool {
        self.permits.get() == 0 || self.waiters.borrow().has_waiting()
    }
}

/// The future of [`Semaphore::acquire`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct AcquirePermit<'a> {
    sem: &'a Semaphore,
    key: Option<WaitKey>,
}

impl<'a> Future for AcquirePermit<'a> {
    type Output = SemaphorePermit<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let sem = self.sem;
        if let Some(key) = self.key {
            if sem.waiters.borrow_mut().poll_notified(key, cx.waker()) {
                self.key = None;
                return Poll::Ready(SemaphorePermit { sem }); // handed to us
            }
            crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Semaphore::acquire"), true);
            return Poll::Pending;
        }
        if sem.permits.get() > 0 && !sem.waiters.borrow().has_waiting() {
            sem.permits.set(sem.permits.get() - 1);
            return Poll::Ready(SemaphorePermit { sem });
        }
        self.key = Some(sem.waiters.borrow_mut().push(cx.waker()));
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Semaphore::acquire"), true);
        Poll::Pending
    }
}

impl Drop for AcquirePermit<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let handed = self.sem.waiters.borrow_mut().remove(key);
            if handed {
                let _ = self.sem.try_release(); // S2: pass the permit on
            }
        }
    }
}

/// A permit of a [`Semaphore`]; released on drop.
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken (release it later with [`Semaphore::release`]).
    pub fn forget(self) {
        std::mem::forget(self)
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        let _ = self.sem.try_release();
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SemaphorePermit")
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.permits.get())
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

/// A [`Semaphore`] that refuses to be released above its initial value (asyncio
/// `BoundedSemaphore`). Derefs to the semaphore for `acquire` and the rest.
///
/// # Examples
///
/// ```
/// let sem = runtime::sync::BoundedSemaphore::new(1);
/// assert!(sem.release().is_err()); // nothing was acquired
/// ```
#[derive(Debug)]
pub struct BoundedSemaphore {
    sem: Semaphore,
}

impl BoundedSemaphore {
    /// A bounded semaphore with `permits` permits.
    pub fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            sem: Semaphore {
                permits: Cell::new(permits),
                waiters: RefCell::new(Waiters::new()),
                bound: Some(permits),
            },
        }
    }

    /// Adds a permit back.
    ///
    /// # Errors
    ///
    /// [`TooManyReleases`] if that would exceed the initial value.
    pub fn release(&self) -> Result<(), TooManyReleases> {
        self.sem.try_release()
    }
}

impl std::ops::Deref for BoundedSemaphore {
    type Target = Semaphore;
    fn deref(&self) -> &Semaphore {
        &self.sem
    }
}
