//! `Handle`: the `Send + Sync` door into a loop for other threads.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};

use super::shared::{Injected, Shared};
use crate::task::{TaskError, TaskId};

/// A cloneable, `Send + Sync` handle to a loop, for other threads: run a closure on the
/// loop ([`call_soon_threadsafe`](Handle::call_soon_threadsafe)) or spawn a `Send` future
/// on it ([`spawn`](Handle::spawn)). Get one with [`Runtime::handle`](crate::Runtime::handle)
/// or [`Handle::current`].
///
/// # Examples
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let remote = std::thread::spawn(move || handle.spawn(async { 40 + 2 }))
///     .join()
///     .unwrap();
/// assert_eq!(rt.block_on(remote).unwrap(), 42);
/// ```
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    pub(crate) fn new(shared: Arc<Shared>) -> Handle {
        shared.handle_created();
        Handle { shared }
    }
}

impl Clone for Handle {
    fn clone(&self) -> Handle {
        Handle::new(self.shared.clone())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.handle_dropped();
    }
}

/// The error of a [`Handle`] call whose loop has been dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopClosed(());

impl fmt::Display for LoopClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event loop behind this handle has been dropped")
    }
}

impl std::error::Error for LoopClosed {}

impl Handle {
    /// The handle of the loop running on this thread.
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    #[track_caller]
    pub fn current() -> Handle {
        super::context::expect_core(|core| Handle::new(core.shared.clone()))
    }

    /// Runs `f` on the loop's thread during its next turn (asyncio
    /// `call_soon_threadsafe`), waking the loop if it is blocked. Callbacks run in the
    /// order they were queued. A panic in `f` is caught and reported like a task's.
    ///
    /// # Errors
    ///
    /// [`LoopClosed`] if the loop was dropped; `f` is dropped unrun.
    pub fn call_soon_threadsafe<F: FnOnce() + Send + 'static>(
        &self,
        f: F,
    ) -> Result<(), LoopClosed> {
        self.shared
            .inject(Injected::Call(Box::new(f)))
            .map_err(|_| LoopClosed(()))
    }

    /// Spawns a `Send` future on the loop from any thread, and returns a `Send` handle
    /// to its result: await it (on any runtime) or block on it with
    /// [`RemoteTask::join_blocking`]. Dropping the handle detaches the task.
    ///
    /// If the loop is dropped before the task finishes, the result is a cancellation
    /// error (with task id `#0` when the task never started).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> RemoteTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(move || future)
    }

    /// Spawns, from any thread, a future that need not be `Send`: `make` is sent to the
    /// loop and called there, so the future it builds may hold `Rc`s and the loop's own
    /// primitives; only `make` and the output cross threads. The result comes back as
    /// for [`spawn`](Handle::spawn) (a panic in `make` or in the future is the task's
    /// panic). This is what [`LoopPool::spawn_pinned`](crate::LoopPool::spawn_pinned)
    /// does on the loop it picks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// let result = std::thread::spawn(move || {
    ///     handle.spawn_with(|| {
    ///         let local = Rc::new(20); // not `Send`: built on the loop's thread
    ///         async move { *local + 22 }
    ///     })
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(rt.block_on(result).unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn spawn_with<M, F>(&self, make: M) -> RemoteTask<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let slot = Arc::new(RemoteSlot {
            state: Mutex::new(SlotState {
                result: None,
                waker: None,
            }),
            done: Condvar::new(),
        });
        let filler = Filler(Some(slot.clone()));
        let location = std::panic::Location::caller();
        let _ = self.call_soon_threadsafe(move || {
            let future = async move { make().await };
            let task = super::context::expect_core(|c| c.spawn(future, None, location));
            crate::spawn(async move {
                let mut filler = filler;
                filler.fill(task.await);
            })
            .detach();
        });
        RemoteTask { slot }
    }

    /// A [task dump](crate::task::dump) of the loop, taken on its thread at its next
    /// turn: await the result from another loop, or [`join_blocking`](RemoteTask::join_blocking)
    /// it from a plain thread. If the loop is frozen inside a poll, the dump waits for
    /// that poll to return (the slow-poll watchdog names the poll meanwhile); if the
    /// loop is gone, the result is an error.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// let worker = rt.spawn(std::future::pending::<()>());
    /// // A plain thread asks; the loop answers while it runs.
    /// let watcher = std::thread::spawn(move || handle.dump().join_blocking().unwrap());
    /// rt.block_on(async {
    ///     while !watcher.is_finished() {
    ///         runtime::sleep(std::time::Duration::from_millis(1)).await;
    ///     }
    /// });
    /// let dump = watcher.join().unwrap();
    /// assert!(dump.task(worker.id()).is_some());
    /// ```
    pub fn dump(&self) -> RemoteTask<crate::task::TaskDump> {
        let slot = Arc::new(RemoteSlot {
            state: Mutex::new(SlotState {
                result: None,
                waker: None,
            }),
            done: Condvar::new(),
        });
        let mut filler = Filler(Some(slot.clone()));
        let _ = self.call_soon_threadsafe(move || {
            filler.fill(Ok(crate::task::dump()));
        });
        RemoteTask { slot }
    }

    /// True once the loop has been dropped.
    pub fn is_closed(&self) -> bool {
        self.call_soon_threadsafe(|| {}).is_err()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("loop", &self.shared.id)
            .finish()
    }
}

struct RemoteSlot<T> {
    state: Mutex<SlotState<T>>,
    done: Condvar,
}

struct SlotState<T> {
    result: Option<Result<T, TaskError>>,
    waker: Option<Waker>,
}

/// Completes the slot exactly once; a filler dropped unfilled (the loop shut down
/// before the task finished) completes it with a cancellation.
struct Filler<T>(Option<Arc<RemoteSlot<T>>>);

impl<T> Filler<T> {
    fn fill(&mut self, r: Result<T, TaskError>) {
        if let Some(slot) = self.0.take() {
            let waker = {
                let mut st = slot.state.lock().unwrap_or_else(|e| e.into_inner());
                st.result = Some(r);
                st.waker.take()
            };
            slot.done.notify_all();
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

impl<T> Drop for Filler<T> {
    fn drop(&mut self) {
        self.fill(Err(TaskError::cancelled(TaskId(0))));
    }
}

/// The `Send` result handle of [`Handle::spawn`].
#[must_use = "dropping a `RemoteTask` detaches the task"]
pub struct RemoteTask<T> {
    slot: Arc<RemoteSlot<T>>,
}

impl<T> RemoteTask<T> {
    /// True once the result is available.
    pub fn is_done(&self) -> bool {
        self.slot
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .result
            .is_some()
    }

    /// Blocks this thread until the task finishes or `deadline` passes; true if it
    /// finished (the result stays for a later `join_blocking` or `.await`).
    pub(crate) fn wait_until(&self, deadline: std::time::Instant) -> bool {
        let mut st = self.slot.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if st.result.is_some() {
                return true;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            st = self
                .slot
                .done
                .wait_timeout(st, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Blocks this thread until the task finishes.
    ///
    /// # Panics
    ///
    /// Never on its own; but calling it on the loop's own thread would deadlock that loop,
    /// so don't: `.await` the handle there instead.
    pub fn join_blocking(self) -> Result<T, TaskError> {
        let mut st = self.slot.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = st.result.take() {
                return r;
            }
            st = self.slot.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl<T> Future for RemoteTask<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.slot.state.lock().unwrap_or_else(|e| e.into_inner());
        match st.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for RemoteTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteTask")
            .field("done", &self.is_done())
            .finish()
    }
}
