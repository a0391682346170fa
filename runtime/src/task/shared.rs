//! `SharedTask`: a task whose outcome any number of awaiters get (asyncio: any number of
//! coroutines may `await t`).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{CancelHandle, Task, TaskId};

/// How a shared task failed; `Clone`, unlike [`TaskError`](super::TaskError) (a panic's
/// payload cannot be cloned, so its message is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedTaskError {
    /// The task was cancelled.
    Cancelled(TaskId),
    /// The task panicked, with this message when the payload was a string.
    Panicked(TaskId, Option<String>),
}

impl fmt::Display for SharedTaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SharedTaskError::Cancelled(id) => write!(f, "task {id} was cancelled"),
            SharedTaskError::Panicked(id, Some(m)) => write!(f, "task {id} panicked: {m}"),
            SharedTaskError::Panicked(id, None) => write!(f, "task {id} panicked"),
        }
    }
}

impl std::error::Error for SharedTaskError {}

struct Inner<T> {
    outcome: RefCell<Option<Result<T, SharedTaskError>>>,
    waiters: RefCell<Vec<Waker>>,
    cancel: CancelHandle,
}

/// A cloneable handle to a task whose output is `Clone` ([`Task::shared`]): every clone
/// can be awaited, by any number of tasks, and each gets the outcome; it can be read
/// again with [`result`](SharedTask::result). Works with [`gather`](crate::gather)
/// directly and with [`wait`](crate::wait) / [`as_completed`](crate::as_completed)
/// through [`task`](SharedTask::task). Dropping every handle detaches the task, as for
/// `Task`.
///
/// The outcome reaches the awaiters through a small driver task, so they resume one
/// batch after the task finished.
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let shared = runtime::spawn(async { String::from("done") }).shared();
///     let a = runtime::spawn(shared.clone());
///     let b = runtime::spawn(shared.clone());
///     assert_eq!(a.await.unwrap().unwrap(), "done");
///     assert_eq!(b.await.unwrap().unwrap(), "done");
///     assert_eq!(shared.result(), Some(Ok(String::from("done")))); // again
/// });
/// ```
pub struct SharedTask<T> {
    inner: Rc<Inner<T>>,
}

impl<T: Clone + 'static> Task<T> {
    /// Makes this task's outcome shareable; see [`SharedTask`].
    ///
    /// # Panics
    ///
    /// Outside a running loop (it spawns the driver task).
    pub fn shared(self) -> SharedTask<T> {
        let inner = Rc::new(Inner {
            outcome: RefCell::new(None),
            waiters: RefCell::new(Vec::new()),
            cancel: self.cancel_handle(),
        });
        let driver = inner.clone();
        let id = self.id();
        crate::spawn(async move {
            let out = self.await.map_err(|e| {
                if e.is_cancelled() {
                    SharedTaskError::Cancelled(id)
                } else {
                    SharedTaskError::Panicked(id, e.panic_message().map(str::to_owned))
                }
            });
            *driver.outcome.borrow_mut() = Some(out);
            let waiters = std::mem::take(&mut *driver.waiters.borrow_mut());
            for w in waiters {
                w.wake();
            }
        })
        .detach();
        SharedTask { inner }
    }
}

impl<T: Clone + 'static> SharedTask<T> {
    /// The outcome once done, read as often as you like; `None` while it runs.
    pub fn result(&self) -> Option<Result<T, SharedTaskError>> {
        self.inner.outcome.borrow().clone()
    }

    /// A plain [`Task`] that finishes with the shared outcome, for the combinators that
    /// take tasks ([`wait`](crate::wait), [`as_completed`](crate::as_completed)).
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    pub fn task(&self) -> Task<Result<T, SharedTaskError>> {
        crate::spawn(self.clone())
    }
}

impl<T> SharedTask<T> {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.inner.cancel.id()
    }

    /// Requests cancellation of the task (every handle then gets `Cancelled`).
    pub fn cancel(&self) -> bool {
        self.inner.cancel.cancel()
    }

    /// True once the outcome is available to the handles.
    pub fn is_done(&self) -> bool {
        self.inner.outcome.borrow().is_some()
    }
}

impl<T> Clone for SharedTask<T> {
    fn clone(&self) -> Self {
        SharedTask {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Clone> Future for SharedTask<T> {
    type Output = Result<T, SharedTaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(out) = &*self.inner.outcome.borrow() {
            return Poll::Ready(out.clone());
        }
        let mut w = self.inner.waiters.borrow_mut();
        if !w.iter().any(|x| x.will_wake(cx.waker())) {
            w.push(cx.waker().clone());
        }
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"SharedTask"), true);
        Poll::Pending
    }
}

impl<T> fmt::Debug for SharedTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedTask")
            .field("id", &self.id())
            .field("done", &self.is_done())
            .finish()
    }
}
