//! `Lock<T>`: asyncio's `Lock`, holding the data it protects.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::waiters::{WaitKey, Waiters};

/// A fair async mutex for tasks of one loop (asyncio `Lock`), holding the data it guards.
///
/// `lock().await` gives a guard; dropping the guard releases the lock (this is
/// `async with lock:`). Waiters get the lock in arrival order: on release the lock is
/// handed straight to the oldest waiter, so no newcomer can barge in; a waiter cancelled
/// after being handed the lock passes it on.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use runtime::sync::Lock;
///
/// runtime::run(async {
///     let total = Rc::new(Lock::new(0));
///     let tasks: Vec<_> = (0..10).map(|_| {
///         let total = total.clone();
///         runtime::spawn(async move {
///             let mut guard = total.lock().await; // async with lock:
///             let v = *guard;
///             runtime::yield_now().await;          // others wait meanwhile
///             *guard = v + 1;
///         })
///     }).collect();
///     for t in tasks { t.await.unwrap(); }
///     assert_eq!(*total.lock().await, 10);
/// });
/// ```
pub struct Lock<T: ?Sized> {
    locked: Cell<bool>,
    waiters: RefCell<Waiters>,
    value: UnsafeCell<T>,
}

impl<T> Lock<T> {
    /// A new, unlocked lock around `value`.
    pub fn new(value: T) -> Lock<T> {
        Lock {
            locked: Cell::new(false),
            waiters: RefCell::new(Waiters::new()),
            value: UnsafeCell::new(value),
        }
    }

    /// The data, once nobody can lock it any more.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Self {
        Lock::new(T::default())
    }
}

impl<T: ?Sized> Lock<T> {
    /// Waits for the lock.
    ///
    /// # Cancel safety
    ///
    /// Dropping a waiting `lock()` gives up its place; if the lock had just been handed to
    /// it, the lock goes to the next waiter.
    pub fn lock(&self) -> Acquire<'_, T> {
        Acquire {
            lock: self,
            key: None,
        }
    }

    /// Takes the lock if it is free and nobody waits.
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        // Hand-off: a waiter woken by `release` already owns the lock (it stays locked).
        if self.locked.get() || self.waiters.borrow().has_waiting() {
            return None;
        }
        self.locked.set(true);
        Some(LockGuard { lock: self })
    }

    /// True while someone holds the lock.
    pub fn is_locked(&self) -> bool {
        self.locked.get()
    }

    /// The data, through exclusive access to the lock itself.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    fn release(&self) {
        // Hand the lock to the oldest waiter (it stays locked), or unlock.
        if !self.waiters.borrow_mut().notify_one() {
            self.locked.set(false);
        }
    }
}

/// The future of [`Lock::lock`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Acquire<'a, T: ?Sized> {
    lock: &'a Lock<T>,
    key: Option<WaitKey>,
}

impl<'a, T: ?Sized> Future for Acquire<'a, T> {
    type Output = LockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        let lock = self.lock;
        if let Some(key) = self.key {
            if lock.waiters.borrow_mut().poll_notified(key, cx.waker()) {
                self.key = None;
                // The releaser handed the lock over: it is ours and still marked locked.
                return Poll::Ready(LockGuard { lock });
            }
            crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Lock::lock"), true);
            return Poll::Pending;
        }
        if !lock.locked.get() && !lock.waiters.borrow().has_waiting() {
            lock.locked.set(true);
            return Poll::Ready(LockGuard { lock });
        }
        self.key = Some(lock.waiters.borrow_mut().push(cx.waker()));
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Lock::lock"), true);
        Poll::Pending
    }
}

impl<T: ?Sized> Drop for Acquire<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let handed = self.lock.waiters.borrow_mut().remove(key);
            if handed {
                self.lock.release(); // S2: the lock goes to the next waiter
            }
        }
    }
}

/// Holds a [`Lock`]; releases it on drop. Derefs to the data.
pub struct LockGuard<'a, T: ?Sized> {
    lock: &'a Lock<T>,
}

impl<T: ?Sized> Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while the lock is held by its owner, and the lock
        // hands out one guard at a time, so no other reference to the value exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only access through the guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.release();
    }
}

impl<'a, T: ?Sized> LockGuard<'a, T> {
    /// The lock this guard holds (for [`Condition`](super::Condition)).
    pub(crate) fn lock_ref(&self) -> &'a Lock<T> {
        self.lock
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked.get())
            .finish()
    }
}
