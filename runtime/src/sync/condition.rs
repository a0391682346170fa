//! `Condition` (asyncio): wait for a notification while holding a `Lock`.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::lock::{Lock, LockGuard};
use super::waiters::{WaitKey, Waiters};

/// A condition variable over a [`Lock`] (asyncio `Condition`).
///
/// `wait(guard)` releases the lock, waits for `notify`/`notify_all`, re-acquires the lock
/// and gives the guard back; [`wait_for`](Condition::wait_for) loops until a predicate on
/// the data holds. Notifications go to waiters in the order they started waiting.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use runtime::sync::Condition;
///
/// runtime::run(async {
///     let cond = Rc::new(Condition::new(Vec::<u32>::new()));
///     let c = cond.clone();
///     let consumer = runtime::spawn(async move {
///         let guard = c.lock().await;
///         let mut guard = c.wait_for(guard, |items| !items.is_empty()).await;
///         guard.pop().unwrap()
///     });
///     runtime::yield_now().await;
///     let mut guard = cond.lock().await;
///     guard.push(7);
///     cond.notify(&guard, 1); // with the lock held, as asyncio requires
///     drop(guard);
///     assert_eq!(consumer.await.unwrap(), 7);
/// });
/// ```
pub struct Condition<T> {
    lock: Lock<T>,
    waiters: RefCell<Waiters>,
}

impl<T> Condition<T> {
    /// A condition over a new lock holding `value`.
    pub fn new(value: T) -> Condition<T> {
        Condition {
            lock: Lock::new(value),
            waiters: RefCell::new(Waiters::new()),
        }
    }

    /// Acquires the underlying lock.
    pub async fn lock(&self) -> LockGuard<'_, T> {
        self.lock.lock().await
    }

    /// The underlying lock.
    pub fn as_lock(&self) -> &Lock<T> {
        &self.lock
    }

    /// Releases the lock held by `guard`, waits to be notified, re-acquires the lock.
    ///
    /// # Panics
    ///
    /// If `guard` belongs to another lock.
    ///
    /// # Cancel safety
    ///
    /// Dropped while waiting for the notification, it passes a notification it already got
    /// on to the next waiter; dropped while re-acquiring, it gives up that place.
    pub async fn wait<'a>(&'a self, guard: LockGuard<'a, T>) -> LockGuard<'a, T> {
        assert!(
            std::ptr::eq(guard.lock_ref(), &self.lock),
            "Condition::wait: the guard belongs to a different lock"
        );
        // Register before releasing the lock, so that no notify can slip in between.
        let key = self.waiters.borrow_mut().push(std::task::Waker::noop());
        drop(guard);
        WaitNotified {
            cond: self,
            key: Some(key),
        }
        .await;
        self.lock.lock().await
    }

    /// Waits until `predicate` holds for the data, re-checking after each notification.
    pub async fn wait_for<'a>(
        &'a self,
        mut guard: LockGuard<'a, T>,
        mut predicate: impl FnMut(&T) -> bool,
    ) -> LockGuard<'a, T> {
        while !predicate(&guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes up to `n` waiters. As in asyncio, only with the lock held: `guard` proves it
    /// (asyncio raises `RuntimeError` otherwise); the woken waiters re-acquire the lock
    /// after it is released.
    ///
    /// # Panics
    ///
    /// If `guard` belongs to another lock.
    pub fn notify(&self, guard: &LockGuard<'_, T>, n: usize) {
        self.check_guard(guard, "notify");
        let mut w = self.waiters.borrow_mut();
        for _ in 0..n {
            if !w.notify_one() {
                break;
            }
        }
    }

    /// Wakes every waiter, with the lock held (see [`notify`](Condition::notify)).
    ///
    /// # Panics
    ///
    /// If `guard` belongs to another lock.
    pub fn notify_all(&self, guard: &LockGuard<'_, T>) {
        self.check_guard(guard, "notify_all");
        self.waiters.borrow_mut().notify_all();
    }

    fn check_guard(&self, guard: &LockGuard<'_, T>, what: &str) {
        assert!(
            std::ptr::eq(guard.lock_ref(), &self.lock),
            "Condition::{what}: the guard belongs to a different lock; notify with this \
             condition's own lock held (`let g = cond.lock().await; cond.{what}(&g, ..)`)"
        );
    }
}

struct WaitNotified<'a, T> {
    cond: &'a Condition<T>,
    key: Option<WaitKey>,
}

impl<T> Future for WaitNotified<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let key = self.key.expect("polled after completion");
        if self
            .cond
            .waiters
            .borrow_mut()
            .poll_notified(key, cx.waker())
        {
            self.key = None;
            Poll::Ready(())
        } else {
            crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Condition::wait"), true);
            Poll::Pending
        }
    }
}

impl<T> Drop for WaitNotified<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut w = self.cond.waiters.borrow_mut();
            if w.remove(key) {
                w.notify_one(); // S2
            }
        }
    }
}

impl<T> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}
