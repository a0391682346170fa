//! Tasks: [`spawn`], the [`Task`] handle, [`TaskError`], [`yield_now`] and the task
//! [`Builder`].
//!
//! # Rules (cited as R1-R6 in the code)
//! - **R1 Threads.** A task's future, its output and every header field except the
//!   reference count are touched only by the thread that runs the task's loop. `Task<T>`
//!   is `!Send`, so its handle lives on that thread too.
//! - **R2 Ownership.** The loop-local owners are four state bits: `HANDLE` (the `Task<T>`
//!   is alive), `SCHEDULED` (the task is in the ready queue), `RUNNING` (the loop is
//!   polling it or dropping its future) and `REGISTERED` (it waited, and is listed in the
//!   loop's registry until it completes; a task is registered when a poll first returns
//!   `Pending`). Together they hold *one* reference in the atomic count, taken at spawn
//!   and released when the last bit clears, so the local bookkeeping needs no atomic
//!   operation. Every `Waker` clone and every cross-thread wake in flight holds one more
//!   reference. Queue entries, registry entries and borrowed wakers hold none: they are
//!   covered by the `SCHEDULED`, `REGISTERED` and `RUNNING` bits.
//! - **R3 Freeing.** The loop drops the future before it releases its last hold
//!   (`REGISTERED`, `RUNNING` or `SCHEDULED`) on a task whose future is alive, and `HANDLE`
//!   clears only after the output was taken or dropped, so when the count reaches zero (on
//!   any thread) only memory remains to free.
//! - **R4 Pinning.** The future lives in the task's heap block and is dropped in place,
//!   never moved. A panic in `poll` or in the future's `drop` is caught and becomes the
//!   task's result.
//! - **R5 Waking.** A wake on the task's own running loop pushes it onto the ready queue
//!   unless it is already `SCHEDULED` or `COMPLETE` (no atomics). Any other wake takes a
//!   reference and goes through the loop's injection queue; a wake for a loop that is
//!   gone drops that reference and does nothing else.
//! - **R6 Cancelling.** `cancel()` sets `CANCELLED` and schedules the task; the loop then
//!   drops the future instead of polling it. A task that cancels itself is dropped right
//!   after the poll in which it did so.
//!
//! # States
//! ```text
//! spawn ─▶ SCHEDULED ─▶ RUNNING ─┬─▶ (Pending) idle ──wake──▶ SCHEDULED
//!                                └─▶ (Ready / panic / cancelled) COMPLETE
//! ```

pub(crate) mod dump;
pub(crate) mod error;
mod join;
pub(crate) mod raw;
mod refcount;
mod shared;
/// The atomics `refcount` uses (loom's in its model).
mod refcount_sync {
    pub(crate) use std::sync::atomic::{AtomicU32, Ordering};
}
pub(crate) mod waker;
mod yield_now;

use std::fmt;
use std::future::Future;

pub use dump::{dump, TaskDump, TaskEntry, TaskState};
pub use error::TaskError;
pub(crate) use join::Failure;
pub use join::{AbortOnDrop, CancelHandle, Task, TaskOutcome};
pub use shared::{SharedTask, SharedTaskError};
pub use yield_now::{yield_now, YieldNow};

use crate::event_loop::context;

/// A task's id: unique among the tasks of one loop, never zero.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Spawns a task on the running loop (asyncio `create_task`) and returns its handle.
///
/// The future may be `Send` or not; it must be `'static`. It is never polled inside
/// `spawn`: it starts on a later turn, after the tasks that were already ready (FIFO).
///
/// # Panics
///
/// Outside a running loop, with a message naming `runtime::run`, `#[runtime::main]` and
/// `Runtime::block_on`.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// runtime::run(async {
///     let shared = Rc::new(5); // not `Send`: fine on a single-threaded loop
///     let s = shared.clone();
///     let task = runtime::spawn(async move { *s * 2 });
///     assert_eq!(task.await.unwrap(), 10);
/// });
/// ```
#[track_caller]
pub fn spawn<F: Future + 'static>(future: F) -> Task<F::Output> {
    let location = std::panic::Location::caller();
    context::expect_core(|core| core.spawn(future, None, location))
}

/// Returns once every other task of the loop is blocked (Trio's `wait_all_tasks_blocked`):
/// nothing else is ready to run and nothing is on its way from another thread, so the
/// others have run as far as they can. For tests: "let everything settle, then look".
///
/// The caller yields until the ready queue (the main future included) is empty when its
/// own turn comes, twice in a row with an I/O poll in between; due timers and I/O
/// readiness are collected between those batches, so a task woken by either runs first.
///
/// # Panics
///
/// Outside a running loop.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc};
///
/// runtime::run(async {
///     let steps = Rc::new(Cell::new(0));
///     let s = steps.clone();
///     let _worker = runtime::spawn(async move {
///         for _ in 0..5 {
///             s.set(s.get() + 1);
///             runtime::yield_now().await;
///         }
///         std::future::pending::<()>().await // blocked from here on
///     });
///     runtime::task::wait_all_blocked().await;
///     assert_eq!(steps.get(), 5);
/// });
/// ```
pub async fn wait_all_blocked() {
    let mut looked_at_io = false;
    loop {
        crate::yield_now().await;
        let settled =
            context::expect_core(|core| !core.has_ready() && !core.shared.remote.has_pending());
        if !settled {
            looked_at_io = false;
        } else if looked_at_io {
            return;
        } else {
            // Quiet: make the next batch poll I/O too (not only every 64 polls), and look
            // once more, so that a socket that is already readable wakes its task first.
            context::expect_core(|core| core.force_io_check());
            looked_at_io = true;
        }
    }
}

/// The id of the task being polled right now, or `None` in the `block_on` future and
/// outside a loop (asyncio `current_task`).
pub fn current_id() -> Option<TaskId> {
    context::with_core(|c| c.and_then(|c| c.current_task()).map(|t| t.id()))
}

/// Options for one task: its name (used in panic reports and debugging).
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let task = runtime::task::Builder::new().name("worker").spawn(async { 1 });
///     assert_eq!(task.name().as_deref(), Some("worker"));
///     assert_eq!(task.await.unwrap(), 1);
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<String>,
}

impl Builder {
    /// A builder with no name.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Spawns the task on the running loop; see [`spawn`].
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    #[track_caller]
    pub fn spawn<F: Future + 'static>(self, future: F) -> Task<F::Output> {
        let location = std::panic::Location::caller();
        context::expect_core(|core| core.spawn(future, self.name, location))
    }
}
