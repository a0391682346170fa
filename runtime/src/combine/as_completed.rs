//! `as_completed`: finished tasks in completion order, as a stream.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::ready_set::ReadySet;
use crate::task::Task;

/// Yields the tasks as they finish, in completion order (asyncio `as_completed`).
///
/// Each item is the finished task's handle, whose result is available at once
/// ([`Task::try_result`] or `.await`). It is a `futures_core::Stream`, and has an inherent
/// [`next`](AsCompleted::next). Dropping it drops the remaining handles, which detaches
/// (does not cancel) those tasks.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let tasks = [3u64, 1, 2].map(|s| runtime::spawn(async move {
///         runtime::sleep(Duration::from_secs(s)).await;
///         s
///     }));
///     let mut order = Vec::new();
///     let mut finished = runtime::as_completed(tasks);
///     while let Some(task) = finished.next().await {
///         order.push(task.await.unwrap());
///     }
///     assert_eq!(order, [1, 2, 3]);
/// });
/// ```
pub fn as_completed<T, I: IntoIterator<Item = Task<T>>>(tasks: I) -> AsCompleted<T> {
    let tasks: Vec<Option<Task<T>>> = tasks.into_iter().map(Some).collect();
    let mut set = ReadySet::with_capacity(tasks.len());
    for _ in 0..tasks.len() {
        set.push();
    }
    AsCompleted {
        remaining: tasks.len(),
        tasks,
        set,
        woken: VecDeque::new(),
    }
}

/// The stream returned by [`as_completed`].
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<T> {
    tasks: Vec<Option<Task<T>>>,
    set: ReadySet,
    woken: VecDeque<usize>,
    remaining: usize,
}

impl<T> Unpin for AsCompleted<T> {}

impl<T> AsCompleted<T> {
    /// The next task to finish, or `None` when all were yielded.
    pub async fn next(&mut self) -> Option<Task<T>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// How many tasks have not been yielded yet.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Gives back the handles not yielded yet (finished or not), in input order, so that
    /// nothing is detached by dropping the stream.
    pub fn into_remaining(mut self) -> Vec<Task<T>> {
        self.tasks.drain(..).flatten().collect()
    }

    /// asyncio's `as_completed(tasks, timeout=d)`: the same stream, whose items become
    /// `Err(Elapsed)` once `duration` has passed (one error, then the end). Nothing is
    /// cancelled; take the handles back with [`AsCompletedWithin::into_remaining`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let tasks = [1u64, 5].map(|s| runtime::spawn(async move {
    ///         runtime::sleep(Duration::from_secs(s)).await;
    ///         s
    ///     }));
    ///     let mut within = runtime::as_completed(tasks).timeout(Duration::from_secs(2));
    ///     assert_eq!(within.next().await.unwrap().unwrap().await.unwrap(), 1);
    ///     assert!(within.next().await.unwrap().is_err()); // the 2 s deadline
    ///     let left = within.into_remaining();
    ///     assert!(!left[0].is_done()); // still running, not cancelled
    /// });
    /// ```
    pub fn timeout(self, duration: std::time::Duration) -> AsCompletedWithin<T> {
        AsCompletedWithin {
            inner: self,
            deadline: crate::sleep(duration),
            expired: false,
        }
    }
}

/// [`AsCompleted`] with a deadline ([`AsCompleted::timeout`]).
#[must_use = "streams do nothing unless polled"]
pub struct AsCompletedWithin<T> {
    inner: AsCompleted<T>,
    deadline: crate::time::Sleep,
    expired: bool,
}

impl<T> Unpin for AsCompletedWithin<T> {}

impl<T> AsCompletedWithin<T> {
    /// The next task to finish, `Err(Elapsed)` at the deadline, then `None`.
    pub async fn next(&mut self) -> Option<Result<Task<T>, crate::Elapsed>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// How many tasks have not been yielded yet.
    pub fn remaining(&self) -> usize {
        self.inner.remaining()
    }

    /// Gives back the handles not yielded yet, in input order.
    pub fn into_remaining(self) -> Vec<Task<T>> {
        self.inner.into_remaining()
    }
}

impl<T> Stream for AsCompletedWithin<T> {
    type Item = Result<Task<T>, crate::Elapsed>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(t) = Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(t.map(Ok));
        }
        if std::future::Future::poll(Pin::new(&mut this.deadline), cx).is_ready() {
            this.expired = true;
            return Poll::Ready(Some(Err(crate::Elapsed::new())));
        }
        Poll::Pending
    }
}

impl<T> Stream for AsCompleted<T> {
    type Item = Task<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Task<T>>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        this.set.set_parent(cx);
        // Woken indices carry over between polls: one completion is yielded per poll.
        let mut fresh = Vec::new();
        this.set.drain_woken(&mut fresh);
        this.woken.extend(fresh);
        while let Some(i) = this.woken.pop_front() {
            let Some(task) = this.tasks[i].as_ref() else {
                continue;
            };
            let member_waker = this.set.waker(i);
            let mut member_cx = Context::from_waker(&member_waker);
            if task.poll_done(&mut member_cx).is_ready() {
                this.remaining -= 1;
                return Poll::Ready(this.tasks[i].take());
            }
        }
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}
