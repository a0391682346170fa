//! `Task<T>`: the handle of a spawned task (asyncio's `Task` object).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::raw::{self, Peek, TaskRef};
use super::{TaskError, TaskId};
use crate::event_loop::context;

/// The handle of a spawned task: await it for the task's result.
///
/// Awaiting gives `Ok(output)`, or a [`TaskError`] if the task was cancelled or panicked.
/// Dropping the handle *detaches* the task: it keeps running, and its output is dropped
/// when it finishes (a panic is then reported, see
/// [`Builder::unhandled_panic`](crate::Builder::unhandled_panic)).
///
/// `Task` is bound to its loop's thread (it is neither `Send` nor `Sync`), which is what
/// lets it, and the task, skip atomic operations.
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// runtime::run(async {
///     let task = runtime::spawn(async {});
///     assert_send(task); // error: `Task` is bound to its loop's thread
/// });
/// ```
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let task = runtime::spawn(async { 6 * 7 });
///     assert_eq!(task.await.unwrap(), 42);
/// });
/// ```
#[must_use = "dropping a `Task` detaches it; `.await` it to get its result"]
pub struct Task<T> {
    raw: TaskRef,
    _output: PhantomData<T>,
}

impl<T> Task<T> {
    pub(crate) fn from_raw(raw: TaskRef) -> Task<T> {
        Task {
            raw,
            _output: PhantomData,
        }
    }

    /// Requests cancellation (asyncio `Task.cancel`).
    ///
    /// The loop drops the task's future on its next turn, so it stops at the suspension
    /// point where it is waiting now; awaiting the handle then gives an error for which
    /// [`TaskError::is_cancelled`] is true. Returns `false` if the task had already finished
    /// (its result is kept), `true` otherwise. Calling it again is harmless.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::run(async {
    ///     let task = runtime::spawn(std::future::pending::<()>());
    ///     assert!(task.cancel());
    ///     assert!(task.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        cancel_raw(self.raw)
    }

    /// True once the task has finished: returned, panicked or been cancelled.
    pub fn is_done(&self) -> bool {
        self.raw.state() & raw::COMPLETE != 0
    }

    /// True once the task has finished because it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        let s = self.raw.state();
        s & raw::COMPLETE != 0 && s & raw::CANCELLED != 0
    }

    /// The task's id, unique within its loop.
    pub fn id(&self) -> TaskId {
        self.raw.id()
    }

    /// The task's name, if it was given one with [`task::Builder`](crate::task::Builder).
    pub fn name(&self) -> Option<Arc<str>> {
        self.raw.name()
    }

    /// Takes the result if the task has finished, without waiting; `None` while it runs
    /// (and after the result was taken).
    pub fn try_result(&mut self) -> Option<Result<T, TaskError>> {
        let s = self.raw.state();
        if s & raw::COMPLETE == 0 || s & raw::TAKEN != 0 {
            return None;
        }
        self.raw.set_state(s | raw::TAKEN);
        // SAFETY: complete, not yet taken, and `T` is the output type this handle was made with.
        Some(unsafe { self.raw.take_output::<T>() })
    }

    /// The finished task's outcome, read without taking it, as often as you like
    /// (asyncio's `result()`, `exception()` and `cancelled()` on a done task): `None` while
    /// it runs, and once `.await` or [`try_result`](Task::try_result) took the result.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::task::TaskOutcome;
    ///
    /// runtime::run(async {
    ///     let task = runtime::spawn(async { 7 });
    ///     runtime::yield_now().await;
    ///     assert!(matches!(task.outcome(), Some(TaskOutcome::Returned(&7))));
    ///     assert!(matches!(task.outcome(), Some(TaskOutcome::Returned(&7)))); // again
    ///     assert_eq!(task.await.unwrap(), 7);
    /// });
    /// ```
    pub fn outcome(&self) -> Option<TaskOutcome<'_, T>> {
        if !self.is_done() {
            return None;
        }
        // SAFETY: complete; `Task` is `!Send`, so this is the loop thread (R1).
        match unsafe { self.raw.peek_output() } {
            // SAFETY: the pointer names the output of type `T` (the handle's type); it
            // stays in the stage until taken, which needs `&mut self`, so it outlives the
            // returned borrow of `self`.
            Peek::Finished(p) => Some(TaskOutcome::Returned(unsafe { &*(p as *const T) })),
            Peek::Panicked(p) => Some(TaskOutcome::Panicked(
                // SAFETY: as above, for the payload, which stays until the result is taken.
                crate::task::error::payload_message(unsafe { &*p }),
            )),
            Peek::Cancelled => Some(TaskOutcome::Cancelled),
            Peek::Taken => None,
        }
    }

    /// A cloneable handle that can cancel this task later, while someone else owns the
    /// `Task` (for instance [`wait`](crate::wait)). Like the task, it stays on the loop's
    /// thread.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::run(async {
    ///     let task = runtime::spawn(std::future::pending::<()>());
    ///     let canceller = task.cancel_handle();
    ///     let waiting = runtime::spawn(runtime::wait([task]));
    ///     assert!(canceller.cancel());
    ///     let (done, _) = waiting.await.unwrap();
    ///     assert!(done[0].is_cancelled());
    /// });
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        self.raw.inc_ref();
        CancelHandle { raw: self.raw }
    }

    /// Detaches the task explicitly (the same as dropping the handle).
    pub fn detach(self) {}

    /// asyncio's `wait_for(task, timeout)`: the task's result if it finishes within
    /// `duration`; otherwise the task is cancelled, and this returns
    /// [`Elapsed`](crate::Elapsed) only after the cancellation completed (the task's future
    /// was dropped, its destructors ran), leaving the handle reporting
    /// [`is_cancelled`](Task::is_cancelled). A task that finished in the same instant keeps
    /// its result. (Plain [`timeout`](crate::timeout) around a `Task` only stops waiting:
    /// the task keeps running, detached.)
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let mut slow = runtime::spawn(runtime::sleep(Duration::from_secs(60)));
    ///     assert!(slow.wait_for(Duration::from_secs(1)).await.is_err());
    ///     assert!(slow.is_cancelled()); // already cancelled and dropped
    /// });
    /// ```
    pub async fn wait_for(
        &mut self,
        duration: std::time::Duration,
    ) -> Result<Result<T, TaskError>, crate::Elapsed> {
        match crate::timeout(duration, &mut *self).await {
            Ok(r) => Ok(r),
            Err(elapsed) => {
                if !self.cancel() {
                    // It finished in the same instant: keep its result (asyncio does).
                    if let Some(r) = self.try_result() {
                        return Ok(r);
                    }
                }
                // Wait until the loop dropped its future.
                std::future::poll_fn(|cx| self.poll_done(cx)).await;
                Err(elapsed)
            }
        }
    }

    /// An owning handle that cancels the task when dropped (tokio-util's
    /// `AbortOnDropHandle`), for structures that must not leave work running behind them.
    pub fn abort_on_drop(self) -> AbortOnDrop<T> {
        AbortOnDrop { task: Some(self) }
    }

    /// Polls for completion without taking the result: `Ready` once the task is done.
    /// The waker replaces any earlier one (a task has one awaiter).
    pub fn poll_done(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_done() {
            Poll::Ready(())
        } else {
            self.raw.set_join_waker(cx.waker());
            crate::task::dump::note_wait(crate::task::dump::Label::Join(self.raw.id()), true);
            Poll::Pending
        }
    }

    /// Forgets the waker registered by `poll`/`poll_done` (the awaiter went away).
    pub(crate) fn clear_waker(&self) {
        drop(self.raw.take_join_waker());
    }

    /// Calls `f` with the finished task's outcome, without taking it: `Some(Ok(&output))`,
    /// `Some(Err(kind))` for a panic or cancellation, `None` while it runs or once taken.
    pub(crate) fn peek<R>(&self, f: impl FnOnce(Result<&T, Failure>) -> R) -> Option<R> {
        if !self.is_done() {
            return None;
        }
        // SAFETY: complete; `Task` is `!Send`, so this is the loop thread (R1).
        match unsafe { self.raw.peek_output() } {
            // SAFETY: the pointer names the output of type `T` (the handle's type), alive
            // until taken, and `self` is borrowed for the call.
            Peek::Finished(p) => Some(f(Ok(unsafe { &*(p as *const T) }))),
            Peek::Panicked(_) => Some(f(Err(Failure::Panicked))),
            Peek::Cancelled => Some(f(Err(Failure::Cancelled))),
            Peek::Taken => None,
        }
    }
}

/// Cancels a task from anywhere on its loop's thread; see [`Task::cancel_handle`].
pub struct CancelHandle {
    /// Holds one counted reference (R2), so the task's block stays allocated.
    raw: TaskRef,
}

impl CancelHandle {
    /// Requests cancellation; the same as [`Task::cancel`]. Returns `false` if the task
    /// already finished.
    pub fn cancel(&self) -> bool {
        cancel_raw(self.raw)
    }

    /// True once the task has finished.
    pub fn is_done(&self) -> bool {
        self.raw.state() & raw::COMPLETE != 0
    }

    /// True once the task has finished because it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        let s = self.raw.state();
        s & raw::COMPLETE != 0 && s & raw::CANCELLED != 0
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.raw.id()
    }
}

impl Clone for CancelHandle {
    fn clone(&self) -> Self {
        self.raw.inc_ref();
        CancelHandle { raw: self.raw }
    }
}

impl Drop for CancelHandle {
    fn drop(&mut self) {
        self.raw.drop_ref();
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("id", &self.id())
            .finish()
    }
}

fn cancel_raw(raw: TaskRef) -> bool {
    let s = raw.state();
    if s & raw::COMPLETE != 0 {
        return false;
    }
    raw.set_state(s | raw::CANCELLED);
    if s & raw::RUNNING == 0 {
        context::schedule(raw);
    }
    true
}

/// A [`Task`] that is cancelled when this handle is dropped ([`Task::abort_on_drop`]).
/// Await it like the task; [`detach`](AbortOnDrop::detach) gives the plain `Task` back.
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let owned = runtime::spawn(std::future::pending::<()>()).abort_on_drop();
///     let watch = owned.task().cancel_handle();
///     drop(owned); // cancels the task (a plain `Task` would be detached)
///     runtime::yield_now().await;
///     assert!(watch.is_cancelled());
/// });
/// ```
#[must_use = "dropping an `AbortOnDrop` cancels its task"]
pub struct AbortOnDrop<T> {
    task: Option<Task<T>>,
}

impl<T> AbortOnDrop<T> {
    /// The task.
    pub fn task(&self) -> &Task<T> {
        self.task.as_ref().expect("present until drop")
    }

    /// Gives the plain `Task` back (dropping it then detaches, as usual).
    pub fn detach(mut self) -> Task<T> {
        self.task.take().expect("present until drop")
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(self.task.as_mut().expect("present until drop")).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.cancel();
        }
    }
}

impl<T> fmt::Debug for AbortOnDrop<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortOnDrop")
            .field("id", &self.task.as_ref().map(|t| t.id()))
            .finish()
    }
}

/// A finished task's outcome, borrowed from its handle ([`Task::outcome`]).
#[derive(Debug)]
pub enum TaskOutcome<'a, T> {
    /// It returned this value.
    Returned(&'a T),
    /// It panicked, with this message when the payload was a string.
    Panicked(Option<&'a str>),
    /// It was cancelled.
    Cancelled,
}

/// How a finished task ended when it did not give a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    Panicked,
    Cancelled,
}

// The handle is a pointer; the output is never pinned.
impl<T> Unpin for Task<T> {}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let s = self.raw.state();
        if s & (raw::COMPLETE | raw::TAKEN) == raw::COMPLETE {
            self.raw.set_state(s | raw::TAKEN);
            // SAFETY: complete, not yet taken, and `T` is the output type this handle was
            // made with.
            return Poll::Ready(unsafe { self.raw.take_output::<T>() });
        }
        if s & raw::TAKEN != 0 {
            polled_after_result();
        }
        self.raw.set_join_waker(cx.waker());
        crate::task::dump::note_wait(crate::task::dump::Label::Join(self.raw.id()), true);
        Poll::Pending
    }
}

#[cold]
fn polled_after_result() -> ! {
    panic!(
        "`Task` polled after it already gave its result: a task's result can be taken \
         only once (keep the first `Ok`/`Err`, or share it yourself)"
    );
}

/// Drops a complete task's output that nobody took (a panic is reported).
#[inline(never)]
fn drop_untaken_output(raw: TaskRef) {
    // SAFETY: complete; `Task` is not `Send`, so this is the loop's thread (R1).
    if let Some(p) = unsafe { raw.drop_output() } {
        raw.header()
            .shared
            .report_unhandled(raw.id(), raw.name().as_deref(), p);
    }
}

impl<T> Drop for Task<T> {
    #[inline]
    fn drop(&mut self) {
        let s = self.raw.state();
        if s & raw::COMPLETE == 0 {
            drop(self.raw.take_join_waker());
        } else if s & raw::TAKEN == 0 {
            drop_untaken_output(self.raw);
        }
        // Complete: the join waker went when the task finished (it is never set after).
        self.raw.release_local(raw::HANDLE);
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("done", &self.is_done())
            .finish()
    }
}
