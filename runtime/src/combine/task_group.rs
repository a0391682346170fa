//! `TaskGroup`: structured concurrency (asyncio `TaskGroup`, Trio's nursery).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use super::ready_set::ReadySet;
use crate::task::{Task, TaskError, TaskId};

/// How one child of a [`TaskGroup`] failed.
#[derive(Debug)]
pub enum ChildError<E> {
    /// The child returned `Err`.
    Err(E),
    /// The child panicked.
    Panicked(TaskError),
}

impl<E: fmt::Display> fmt::Display for ChildError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Err(e) => write!(f, "child task failed: {e}"),
            ChildError::Panicked(e) => write!(f, "child {e}"),
        }
    }
}

/// The error of a [`TaskGroup`]: the first child failure, which cancelled the others,
/// plus any failures that happened before the others stopped (asyncio's
/// `ExceptionGroup`).
#[derive(Debug)]
pub struct GroupError<E> {
    /// The failure that cancelled the group.
    pub first: ChildError<E>,
    /// Further failures, in the order they happened.
    pub others: Vec<ChildError<E>>,
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task group failed: {}", self.first)?;
        if !self.others.is_empty() {
            write!(f, " (and {} more failures)", self.others.len())?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}

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
    set: ReadySet,
    state: State,
    errors: Vec<ChildError<E>>,
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
pub struct TaskGroup<T, E> {
    inner: Rc<RefCell<Inner<T, E>>>,
}

/// A cloneable handle that spawns into a [`TaskGroup`], for its children. Dropping a
/// spawner cancels nothing.
pub struct GroupSpawner<T, E> {
    inner: Rc<RefCell<Inner<T, E>>>,
}

impl<T, E> Clone for GroupSpawner<T, E> {
    fn clone(&self) -> Self {
        GroupSpawner {
            inner: self.inner.clone(),
        }
    }
}

fn spawn_into<T: 'static, E: 'static, F>(
    inner: &Rc<RefCell<Inner<T, E>>>,
    future: F,
) -> Result<TaskId, SpawnError>
where
    F: Future<Output = Result<T, E>> + 'static,
{
    let mut g = inner.borrow_mut();
    match g.state {
        State::Open => {}
        State::Failing => return Err(SpawnError::Failing),
        State::Finished => return Err(SpawnError::Finished),
    }
    let task = crate::spawn(Child {
        future,
        group: Rc::downgrade(inner),
    });
    let id = task.id();
    g.children.push(Some(task));
    g.results.push(None);
    g.set.push();
    g.set.wake_parent();
    Ok(id)
}

impl<T: 'static, E: 'static> TaskGroup<T, E> {
    /// An empty, open group.
    pub fn new() -> TaskGroup<T, E> {
        TaskGroup {
            inner: Rc::new(RefCell::new(Inner {
                children: Vec::new(),
                results: Vec::new(),
                set: ReadySet::new(),
                state: State::Open,
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
    pub fn spawn<F>(&self, future: F) -> Result<TaskId, SpawnError>
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        spawn_into(&self.inner, future)
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
    pub fn spawn<F>(&self, future: F) -> Result<TaskId, SpawnError>
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
    type Output = Result<Vec<T>, GroupError<E>>;

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
            let failure = match child.try_result().expect("child is done") {
                Ok(Ok(v)) => {
                    g.results[i] = Some(v);
                    None
                }
                Ok(Err(e)) => Some(ChildError::Err(e)),
                Err(e) if e.is_panic() => Some(ChildError::Panicked(e)),
                Err(_) => None, // cancelled by the group
            };
            if let Some(f) = failure {
                g.errors.push(f);
                if g.state == State::Open {
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
            let mut errors = std::mem::take(&mut g.errors).into_iter();
            let first = errors.next().expect("not empty");
            Err(GroupError {
                first,
                others: errors.collect(),
            })
        };
        drop(guard);
        self.group = None;
        Poll::Ready(out)
    }
}
