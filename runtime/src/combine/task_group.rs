//! `TaskGroup`: structured concurrency (asyncio `TaskGroup`, Trio's nursery).

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Context, Poll};

use super::ready_set::ReadySet;
use crate::task::{CancelHandle, Task, TaskError, TaskId};

/// How one child of a [`TaskGroup`] failed.
#[derive(Debug)]
pub enum ChildError<E> {
    /// The child returned `Err`.
    Err(E),
    /// The child panicked.
    Panicked(TaskError),
    /// The child was cancelled before it finished, by [`TaskGroup::cancel`] or through its
    /// [`ChildHandle`] (its output is missing; a cancellation caused by a sibling's failure
    /// is not listed).
    Cancelled,
}

impl<E: fmt::Display> fmt::Display for ChildError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Err(e) => write!(f, "child task failed: {e}"),
            ChildError::Panicked(e) => write!(f, "child {e}"),
            ChildError::Cancelled => f.write_str("child cancelled with its group"),
        }
    }
}

/// The error of a [`TaskGroup`]: the first child failure, which cancelled the others,
/// plus any failures that happened before the others stopped (asyncio's
/// `ExceptionGroup`).
#[derive(Debug)]
pub struct GroupError<E, T = ()> {
    /// The failure that cancelled the group.
    pub first: ChildError<E>,
    /// Which child that was.
    pub first_child: ChildInfo,
    /// Further failures, in the order they happened.
    pub others: Vec<ChildError<E>>,
    /// Which children those were, in the same order.
    pub other_children: Vec<ChildInfo>,
    /// By spawn order, the outputs of the children that finished successfully before the
    /// group was cancelled (`None` for the others).
    pub completed: Vec<Option<T>>,
}

/// Which child of a group: its task's id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// The child task's id.
    pub id: TaskId,
    /// Its name, if it was spawned with one.
    pub name: Option<Arc<str>>,
}

impl<E: fmt::Display, T> fmt::Display for GroupError<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task group failed: task {}", self.first_child.id)?;
        if let Some(n) = &self.first_child.name {
            write!(f, " ({n:?})")?;
        }
        write!(f, ": {}", self.first)?;
        if !self.others.is_empty() {
            write!(f, " (and {} more failures)", self.others.len())?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug + fmt::Display, T: fmt::Debug> std::error::Error for GroupError<E, T> {}

/// Why [`TaskGroup::spawn`] refused a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// A child failed and the group is cancelling the rest: no new work is accepted.
    Failing,
    /// The group has finished (joined or dropped).
    Finished,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Failing => f.write_str(
                "cannot spawn into this task group: a child failed and the group is cancelling",
            ),
            SpawnError::Finished => {
                f.write_str("cannot spawn into this task group: it has already finished")
            }
        }
    }
}

impl std::error::Error for SpawnError {}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Open,
    Failing,
    Finished,
}

struct Inner<T, E> {
    children: Vec<Option<Task<Result<T, E>>>>,
    results: Vec<Option<T>>,
    /// Per child: its id and name, and the outcome its handle reports.
    infos: Vec<ChildInfo>,
    outcomes: Vec<Rc<Cell<Option<ChildOutcome>>>>,
    set: ReadySet,
    state: State,
    /// `cancel()` was called: children that did not finish count as cancelled.
    cancelled: bool,
    /// Failures, with the index of the child.
    errors: Vec<(usize, ChildError<E>)>,
    done: usize,
    woken: Vec<usize>,
}

impl<T, E> Inner<T, E> {
    fn cancel_running(&mut self) {
        for t in self.children.iter().flatten() {
            t.cancel();
        }
    }
}

pin_project_lite::pin_project! {
    /// A child's future inside its task: when it fails (returns `Err` or panics), the
    /// group starts failing at once and cancels the siblings, whether or not anybody is
    /// awaiting `join()` yet (asyncio reacts when the child fails, not when it is joined).
    struct Child<F, T, E> {
        #[pin]
        future: F,
        group: Weak<RefCell<Inner<T, E>>>,
    }
}

impl<F, T: 'static, E: 'static> Future for Child<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let fut = this.future;
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Ready(out)) => {
                if out.is_err() {
                    fail_group(this.group);
                }
                Poll::Ready(out)
            }
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                fail_group(this.group);
                resume_unwind(payload) // the task records the panic as usual
            }
        }
    }
}

/// A child failed: no more spawns from now on, and the siblings are cancelled right
/// after the tasks already ready in this turn ran (as asyncio's done callback, which
/// `call_soon` queues behind them: siblings that fail in the same instant still count).
fn fail_group<T: 'static, E: 'static>(group: &Weak<RefCell<Inner<T, E>>>) {
    let Some(inner) = group.upgrade() else {
        return;
    };
    // Never borrowed while a child runs (children are polled by the loop, not by `join`).
    let Ok(mut g) = inner.try_borrow_mut() else {
        return;
    };
    if g.state != State::Open {
        return;
    }
    g.state = State::Failing;
    drop(g);
    let group = group.clone();
    crate::spawn(async move {
        if let Some(inner) = group.upgrade() {
            if let Ok(mut g) = inner.try_borrow_mut() {
                g.cancel_running();
            }
        }
    })
    .detach();
}

/// A group of child tasks that succeed or fail together (asyncio `TaskGroup`, Trio's
/// nursery). Children return `Result<T, E>` (use `std::convert::Infallible` for `E` when
/// they cannot fail).
///
/// - [`join`](TaskGroup::join) waits for every child and gives their outputs in spawn order.
/// - The first child that fails (returns `Err` or panics) cancels all the others at once,
///   whether or not `join` is being awaited yet, and spawning into the group fails from
///   then on; `join` returns a [`GroupError`] with that failure first and any others kept.
/// - Spawning into a failing or finished group is a [`SpawnError`].
/// - Dropping the group (or the `join` future) before it finished cancels every child.
///
/// Children can add siblings through a [`GroupSpawner`] from [`spawner`](TaskGroup::spawner).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let group = runtime::TaskGroup::new();
///     group.spawn(async { runtime::sleep(Duration::from_secs(2)).await; Ok::<_, String>(1) }).unwrap();
///     group.spawn(async { runtime::sleep(Duration::from_secs(1)).await; Ok(2) }).unwrap();
///     assert_eq!(group.join().await.unwrap(), [1, 2]);
///
///     let group = runtime::TaskGroup::<(), String>::new();
///     group.spawn(async { Err("disk full".to_string()) }).unwrap();
///     group.spawn(std::future::pending()).unwrap(); // cancelled by the failure
///     let err = group.join().await.unwrap_err();
///     assert!(matches!(err.first, runtime::ChildError::Err(ref e) if e == "disk full"));
/// });
/// ```
pub struct TaskGroup<T, E = Infallible> {
    inner: Rc<RefCell<Inner<T, E>>>,
}

/// A cloneable handle that spawns into a [`TaskGroup`], for its children. Dropping a
/// spawner cancels nothing.
pub struct GroupSpawner<T, E = Infallible> {
    inner: Rc<RefCell<Inner<T, E>>>,
}

impl<T, E> Clone for GroupSpawner<T, E> {
    fn clone(&self) -> Self {
        GroupSpawner {
            inner: self.inner.clone(),
        }
    }
}

#[track_caller]
fn spawn_into<T: 'static, E: 'static, F>(
    inner: &Rc<RefCell<Inner<T, E>>>,
    future: F,
) -> Result<ChildHandle, SpawnError>
where
    F: Future<Output = Result<T, E>> + 'static,
{
    spawn_named_into(inner, None, future)
}

#[track_caller]
fn spawn_named_into<T: 'static, E: 'static, F>(
    inner: &Rc<RefCell<Inner<T, E>>>,
    name: Option<String>,
    future: F,
) -> Result<ChildHandle, SpawnError>
where
    F: Future<Output = Result<T, E>> + 'static,
{
    let mut g = inner.borrow_mut();
    match g.state {
        State::Open => {}
        State::Failing => return Err(SpawnError::Failing),
        State::Finished => return Err(SpawnError::Finished),
    }
    let child = Child {
        future,
        group: Rc::downgrade(inner),
    };
    let task = match name {
        Some(n) => crate::task::Builder::new().name(n).spawn(child),
        None => crate::spawn(child),
    };
    let id = task.id();
    let handle = ChildHandle {
        info: ChildInfo {
            id,
            name: task.name(),
        },
        cancel: task.cancel_handle(),
        outcome: Rc::new(Cell::new(None)),
    };
    g.infos.push(handle.info.clone());
    g.outcomes.push(handle.outcome.clone());
    g.children.push(Some(task));
    g.results.push(None);
    g.set.push();
    g.set.wake_parent();
    Ok(handle)
}

/// How a child of a group ended, as its [`ChildHandle`] reports it once the group saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildOutcome {
    /// It returned `Ok` (the value is in `join`'s output, or `GroupError::completed`).
    Succeeded,
    /// It returned `Err` or panicked.
    Failed,
    /// It was cancelled (by a sibling's failure or by [`TaskGroup::cancel`]).
    Cancelled,
}

/// A child of a [`TaskGroup`], as `spawn` returns it (asyncio's `tg.create_task()` gives
/// the `Task`): its id and name, a way to cancel it, whether it is done, and its outcome
/// once the group has seen it finish.
///
/// # Examples
///
/// ```
/// use runtime::{ChildOutcome, TaskGroup};
///
/// runtime::run(async {
///     let group: TaskGroup<u32> = TaskGroup::new();
///     let one = group.spawn_named("one", async { Ok(1) }).unwrap();
///     let never = group.spawn_ok(std::future::pending()).unwrap();
///     never.cancel(); // cancelling one child is not a failure of the group
///     assert_eq!(one.name().as_deref(), Some("one"));
///     let err = group.join().await.unwrap_err(); // ...but its output is missing
///     assert!(err.completed[0] == Some(1));
///     assert_eq!(one.outcome(), Some(ChildOutcome::Succeeded));
///     assert_eq!(never.outcome(), Some(ChildOutcome::Cancelled));
/// });
/// ```
#[derive(Clone)]
pub struct ChildHandle {
    info: ChildInfo,
    cancel: CancelHandle,
    outcome: Rc<Cell<Option<ChildOutcome>>>,
}

impl ChildHandle {
    /// The child task's id.
    pub fn id(&self) -> TaskId {
        self.info.id
    }

    /// Its name, if it was spawned with one.
    pub fn name(&self) -> Option<Arc<str>> {
        self.info.name.clone()
    }

    /// Cancels this child (asyncio's `task.cancel()`): it counts as cancelled, not as a
    /// failure, so its siblings go on; `join` then reports it as
    /// [`ChildError::Cancelled`] (its output is missing) after they finished.
    pub fn cancel(&self) -> bool {
        self.cancel.cancel()
    }

    /// True once the child's task has finished.
    pub fn is_done(&self) -> bool {
        self.cancel.is_done()
    }

    /// How it ended, once the group (its `join`) has seen it finish; `None` before.
    pub fn outcome(&self) -> Option<ChildOutcome> {
        self.outcome.get()
    }
}

impl PartialEq for ChildHandle {
    fn eq(&self, other: &Self) -> bool {
        self.info.id == other.info.id
    }
}

impl fmt::Debug for ChildHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildHandle")
            .field("id", &self.info.id)
            .field("name", &self.info.name)
            .field("outcome", &self.outcome.get())
            .finish()
    }
}

impl<T: 'static, E: 'static> TaskGroup<T, E> {
    /// An empty, open group.
    pub fn new() -> TaskGroup<T, E> {
        TaskGroup {
            inner: Rc::new(RefCell::new(Inner {
                children: Vec::new(),
                results: Vec::new(),
                infos: Vec::new(),
                outcomes: Vec::new(),
                set: ReadySet::new(),
                state: State::Open,
                cancelled: false,
                errors: Vec::new(),
                done: 0,
                woken: Vec::new(),
            })),
        }
    }

    /// Spawns a child (it starts on a later turn, like [`spawn`](crate::spawn)).
    ///
    /// # Errors
    ///
    /// [`SpawnError`] if a child already failed or the group finished.
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Result<ChildHandle, SpawnError>
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        spawn_into(&self.inner, future)
    }

    /// Spawns a named child (the name shows in its handle and in [`GroupError`]).
    ///
    /// # Errors
    ///
    /// [`SpawnError`] if a child already failed or the group finished.
    #[track_caller]
    pub fn spawn_named<F>(
        &self,
        name: impl Into<String>,
        future: F,
    ) -> Result<ChildHandle, SpawnError>
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        spawn_named_into(&self.inner, Some(name.into()), future)
    }

    /// Spawns a child that cannot fail (its output is the value itself).
    ///
    /// # Errors
    ///
    /// [`SpawnError`] if a child already failed or the group finished.
    #[track_caller]
    pub fn spawn_ok<F>(&self, future: F) -> Result<ChildHandle, SpawnError>
    where
        F: Future<Output = T> + 'static,
    {
        spawn_into(&self.inner, async move { Ok(future.await) })
    }

    /// Cancels every child still running and closes the group to spawns (asyncio: leaving
    /// `async with TaskGroup()` on an error in the body). `join().await` afterwards returns
    /// only once every child's future was dropped, with a [`GroupError`] whose failures
    /// are [`ChildError::Cancelled`] for the children that had not finished (and any real
    /// failure first). Dropping the group also cancels, without waiting.
    pub fn cancel(&self) {
        let mut g = self.inner.borrow_mut();
        if g.state == State::Finished {
            return;
        }
        g.cancelled = true;
        if g.state == State::Open {
            g.state = State::Failing;
        }
        g.cancel_running();
    }

    /// A handle that children can use to spawn siblings.
    pub fn spawner(&self) -> GroupSpawner<T, E> {
        GroupSpawner {
            inner: self.inner.clone(),
        }
    }

    /// How many children were spawned so far.
    pub fn len(&self) -> usize {
        self.inner.borrow().children.len()
    }

    /// True if no child was spawned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits for every child; see the type's docs for the failure rule.
    pub fn join(self) -> Join<T, E> {
        Join { group: Some(self) }
    }
}

impl<T: 'static, E: 'static> Default for TaskGroup<T, E> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<T: 'static, E: 'static> GroupSpawner<T, E> {
    /// Spawns a sibling into the group; see [`TaskGroup::spawn`].
    ///
    /// # Errors
    ///
    /// [`SpawnError`] if a child already failed or the group finished.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Result<ChildHandle, SpawnError>
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        spawn_into(&self.inner, future)
    }
}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        let mut g = self.inner.borrow_mut();
        if g.state != State::Finished {
            g.state = State::Finished;
            g.cancel_running();
        }
    }
}

/// The future returned by [`TaskGroup::join`]. Dropping it cancels the children.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Join<T, E> {
    group: Option<TaskGroup<T, E>>,
}

impl<T, E> Future for Join<T, E> {
    type Output = Result<Vec<T>, GroupError<E, T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let group = self
            .group
            .as_ref()
            .expect("`Join` polled after it returned");
        let mut guard = group.inner.borrow_mut();
        let g = &mut *guard;
        g.set.set_parent(cx);
        let mut woken = std::mem::take(&mut g.woken);
        g.set.drain_woken(&mut woken);
        for i in woken.drain(..) {
            let Some(child) = g.children[i].as_mut() else {
                continue;
            };
            let member_waker = g.set.waker(i);
            let mut member_cx = Context::from_waker(&member_waker);
            if child.poll_done(&mut member_cx).is_pending() {
                continue;
            }
            let mut child = g.children[i].take().expect("checked above");
            g.done += 1;
            let (failure, outcome) = match child.try_result().expect("child is done") {
                Ok(Ok(v)) => {
                    g.results[i] = Some(v);
                    (None, ChildOutcome::Succeeded)
                }
                Ok(Err(e)) => (Some(ChildError::Err(e)), ChildOutcome::Failed),
                Err(e) if e.is_panic() => (Some(ChildError::Panicked(e)), ChildOutcome::Failed),
                // Cancelled by a sibling's failure: that failure is the group's error.
                Err(_) if g.state == State::Failing && !g.cancelled => {
                    (None, ChildOutcome::Cancelled)
                }
                // By `TaskGroup::cancel`, or alone through its handle: not a failure (the
                // siblings go on), but its output is missing, so `join` reports it.
                Err(_) => (Some(ChildError::Cancelled), ChildOutcome::Cancelled),
            };
            g.outcomes[i].set(Some(outcome));
            if let Some(f) = failure {
                let fails = !matches!(f, ChildError::Cancelled);
                g.errors.push((i, f));
                if fails && g.state == State::Open {
                    g.state = State::Failing;
                    g.cancel_running();
                }
            }
        }
        g.woken = woken;
        if g.done < g.children.len() {
            return Poll::Pending;
        }
        g.state = State::Finished;
        let out = if g.errors.is_empty() {
            Ok(g.results
                .drain(..)
                .map(|r| r.expect("every child succeeded"))
                .collect())
        } else {
            // Real failures before the cancellations `cancel()` caused.
            let mut errors = std::mem::take(&mut g.errors);
            errors.sort_by_key(|(_, e)| matches!(e, ChildError::Cancelled));
            let mut errors = errors.into_iter();
            let (fi, first) = errors.next().expect("not empty");
            let (other_children, others): (Vec<_>, Vec<_>) =
                errors.map(|(i, e)| (g.infos[i].clone(), e)).unzip();
            Err(GroupError {
                first,
                first_child: g.infos[fi].clone(),
                others,
                other_children,
                completed: std::mem::take(&mut g.results),
            })
        };
        drop(guard);
        self.group = None;
        Poll::Ready(out)
    }
}
