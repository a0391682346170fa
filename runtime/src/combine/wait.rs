//! `wait`: asyncio's `wait(tasks, timeout, return_when)` giving `(done, pending)`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::ready_set::ReadySet;
use super::Outcome;
use crate::task::{Failure, Task};
use crate::time::{sleep_until, Instant, Sleep};

/// When [`wait`] returns (asyncio's `return_when`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReturnWhen {
    /// As soon as any task finishes (or is cancelled).
    FirstCompleted,
    /// As soon as any task fails (panics, or returns a failure such as `Err`, see
    /// [`Outcome`]), or when all are done. A cancelled task is done but has not failed.
    FirstException,
    /// When every task is done. The default.
    #[default]
    AllCompleted,
}

/// Waits for tasks and returns them in two lists, `(done, pending)` (asyncio `wait`).
///
/// The handles that come back are the ones that went in, each list in input order.
/// `wait` never cancels anything: on timeout it returns what finished and what did not,
/// and the pending tasks keep running. Handles in `done` give their result without
/// waiting ([`Task::try_result`], or `.await`). Each completion costs O(1): a task is
/// looked at only when it wakes the `wait`.
///
/// An empty input returns `([], [])` at once (asyncio raises `ValueError`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::ReturnWhen;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let fast = runtime::spawn(async { runtime::sleep(Duration::from_secs(1)).await; 1 });
///     let slow = runtime::spawn(async { runtime::sleep(Duration::from_secs(5)).await; 2 });
///     let (done, pending) = runtime::wait([fast, slow])
///         .return_when(ReturnWhen::FirstCompleted)
///         .await;
///     assert_eq!(done.len(), 1);
///     assert_eq!(pending.len(), 1);
///     let (mut done, _) = runtime::wait(pending).await; // AllCompleted by default
///     assert_eq!(done[0].try_result().unwrap().unwrap(), 2);
/// });
/// ```
pub fn wait<T, I>(tasks: I) -> Wait<T>
where
    T: Outcome,
    I: IntoIterator<Item = Task<T>>,
{
    let tasks: Vec<Option<Task<T>>> = tasks.into_iter().map(Some).collect();
    let mut set = ReadySet::with_capacity(tasks.len());
    for _ in 0..tasks.len() {
        set.push();
    }
    Wait {
        done: vec![false; tasks.len()],
        tasks,
        set,
        return_when: ReturnWhen::AllCompleted,
        deadline: None,
        n_done: 0,
        failed: false,
        scratch: Vec::new(),
    }
}

/// The future returned by [`wait`]; configure it with [`return_when`](Wait::return_when)
/// and [`timeout`](Wait::timeout) before awaiting.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Wait<T> {
    tasks: Vec<Option<Task<T>>>,
    done: Vec<bool>,
    set: ReadySet,
    return_when: ReturnWhen,
    deadline: Option<Sleep>,
    n_done: usize,
    failed: bool,
    scratch: Vec<usize>,
}

impl<T> Unpin for Wait<T> {}

impl<T: Outcome> Wait<T> {
    /// When to return; the default is [`ReturnWhen::AllCompleted`].
    pub fn return_when(mut self, when: ReturnWhen) -> Self {
        self.return_when = when;
        self
    }

    /// Returns after `duration` at the latest, with whatever is done by then.
    pub fn timeout(self, duration: Duration) -> Self {
        self.timeout_at(Instant::now() + duration)
    }

    /// Returns at `deadline` at the latest.
    pub fn timeout_at(mut self, deadline: Instant) -> Self {
        self.deadline = Some(sleep_until(deadline));
        self
    }

    fn finished(&self) -> bool {
        let all = self.n_done == self.tasks.len();
        match self.return_when {
            ReturnWhen::AllCompleted => all,
            ReturnWhen::FirstCompleted => all || self.n_done > 0,
            ReturnWhen::FirstException => all || self.failed,
        }
    }

    fn split(&mut self) -> (Vec<Task<T>>, Vec<Task<T>>) {
        let mut done = Vec::with_capacity(self.n_done);
        let mut pending = Vec::with_capacity(self.tasks.len() - self.n_done);
        for (i, t) in self.tasks.iter_mut().enumerate() {
            let t = t.take().expect("`Wait` polled after it returned");
            if self.done[i] {
                done.push(t);
            } else {
                t.clear_waker();
                pending.push(t);
            }
        }
        (done, pending)
    }
}

impl<T: Outcome> Future for Wait<T> {
    type Output = (Vec<Task<T>>, Vec<Task<T>>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.set.set_parent(cx);
        let mut woken = std::mem::take(&mut this.scratch);
        this.set.drain_woken(&mut woken);
        for i in woken.drain(..) {
            if this.done[i] {
                continue;
            }
            let task = this.tasks[i]
                .as_ref()
                .expect("`Wait` polled after it returned");
            let member_waker = this.set.waker(i);
            let mut member_cx = Context::from_waker(&member_waker);
            if task.poll_done(&mut member_cx).is_ready() {
                this.done[i] = true;
                this.n_done += 1;
                let failed = task
                    .peek(|r| match r {
                        Ok(v) => v.is_failure(),
                        Err(Failure::Panicked) => true,
                        Err(Failure::Cancelled) => false,
                    })
                    .unwrap_or(false);
                this.failed |= failed;
            }
        }
        this.scratch = woken;
        if this.finished() {
            return Poll::Ready(this.split());
        }
        if let Some(deadline) = &mut this.deadline {
            if Pin::new(deadline).poll(cx).is_ready() {
                return Poll::Ready(this.split());
            }
        }
        Poll::Pending
    }
}
