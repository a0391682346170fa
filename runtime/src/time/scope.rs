//! `timeout_scope`: a deadline that code inside it can read and move (asyncio `timeout()`).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pin_project_lite::pin_project;

use super::{sleep_until, Elapsed, Instant, Sleep};

struct Shared {
    /// `None`: no deadline.
    when: Cell<Option<Instant>>,
    expired: Cell<bool>,
    /// The task running the scope, woken when the deadline moves.
    waker: RefCell<Option<Waker>>,
}

/// A deadline scope (asyncio `timeout(delay)` / `timeout_at(when)` as a context manager):
/// [`run`](TimeoutScope::run) a future under it, and read or move the deadline while it
/// runs through a [`TimeoutHandle`] (`when`, `reschedule`, `expired`).
///
/// Nested scopes and [`timeout`](crate::timeout)s each turn only their own expiry into
/// [`Elapsed`]: an inner expiry reaches the outer scope as the inner's `Err` value.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{timeout_scope, Instant};
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let scope = timeout_scope(Duration::from_secs(1));
///     let handle = scope.handle();
///     let r = scope.run(async move {
///         // More time is needed: push the deadline out while running.
///         handle.reschedule(Some(Instant::now() + Duration::from_secs(10)));
///         runtime::sleep(Duration::from_secs(5)).await;
///         "finished"
///     }).await;
///     assert_eq!(r, Ok("finished"));
/// });
/// ```
pub fn timeout_scope(duration: Duration) -> TimeoutScope {
    timeout_scope_at(Some(Instant::now() + duration))
}

/// A deadline scope with an absolute deadline; `None` means no deadline (yet).
pub fn timeout_scope_at(when: Option<Instant>) -> TimeoutScope {
    TimeoutScope {
        shared: Rc::new(Shared {
            when: Cell::new(when),
            expired: Cell::new(false),
            waker: RefCell::new(None),
        }),
    }
}

/// A deadline scope; see [`timeout_scope`].
pub struct TimeoutScope {
    shared: Rc<Shared>,
}

/// Reads and moves the deadline of a [`TimeoutScope`], from inside or outside it.
#[derive(Clone)]
pub struct TimeoutHandle {
    shared: Rc<Shared>,
}

impl TimeoutScope {
    /// A handle to the deadline.
    pub fn handle(&self) -> TimeoutHandle {
        TimeoutHandle {
            shared: self.shared.clone(),
        }
    }

    /// Runs `future` under the deadline: `Err(Elapsed)` if the deadline passes first, in
    /// which case the future is dropped (cancelled).
    pub fn run<F: Future>(self, future: F) -> Scoped<F> {
        let when = self.shared.when.get();
        Scoped {
            future,
            sleep: sleep_until(when.unwrap_or(Instant(u64::MAX))),
            shared: self.shared,
        }
    }
}

impl TimeoutHandle {
    /// The current deadline (`None`: none).
    pub fn when(&self) -> Option<Instant> {
        self.shared.when.get()
    }

    /// Moves the deadline, earlier or later, or removes it with `None`. Takes effect at
    /// once: the running scope is woken to re-arm its timer.
    pub fn reschedule(&self, when: Option<Instant>) {
        self.shared.when.set(when);
        if let Some(w) = self.shared.waker.borrow().as_ref() {
            w.wake_by_ref();
        }
    }

    /// True once the deadline passed while the scope was running.
    pub fn expired(&self) -> bool {
        self.shared.expired.get()
    }
}

pin_project! {
    /// The future returned by [`TimeoutScope::run`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Scoped<F> {
        #[pin]
        future: F,
        sleep: Sleep,
        shared: Rc<Shared>,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        {
            let mut w = this.shared.waker.borrow_mut();
            match &*w {
                Some(old) if old.will_wake(cx.waker()) => {}
                _ => *w = Some(cx.waker().clone()),
            }
        }
        if let Poll::Ready(v) = this.future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let when = this.shared.when.get().unwrap_or(Instant(u64::MAX));
        if this.sleep.deadline() != when {
            this.sleep.reset(when);
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => {
                this.shared.expired.set(true);
                Poll::Ready(Err(Elapsed::new()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
