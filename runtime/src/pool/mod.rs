//! Pools of threads (and, with the `process-pool` feature, processes) with
//! concurrent.futures semantics, and `run_in_executor` to await them from the loop.
//!
//! - [`ThreadPoolExecutor`]: `submit` -> [`PoolFuture`], `map`, `shutdown`; works with or
//!   without a loop.
//! - [`run_in_executor`]: the loop's default blocking pool (tokio's `spawn_blocking`).
//! - [`wait`] and [`as_completed`]: the blocking helpers of concurrent.futures.
//!
//! # Rules
//! - **P1 States.** A job goes PENDING -> RUNNING -> FINISHED, or PENDING -> CANCELLED;
//!   `cancel()` succeeds only while PENDING. Completion wakes `.await`ers (through the
//!   loop's cross-thread path), blocking waiters, and runs done callbacks on the
//!   completing thread.
//! - **P2 Threads on demand.** A job starts a thread only if none is idle and fewer than
//!   `max_workers` exist; threads are reused, and (with an idle timeout) retired.
//! - **P3 Bounded teardown.** Dropping a `ThreadPoolExecutor` waits for its jobs
//!   (`shutdown(wait = true)`). Dropping a `Runtime` cancels the queued jobs of its
//!   blocking pool and waits for the running ones at most
//!   [`Builder::blocking_shutdown_timeout`](crate::Builder::blocking_shutdown_timeout)
//!   (10 s by default); then it reports them and goes on, leaving them to finish alone.

mod blocking;
mod future;
#[cfg(feature = "process-pool")]
pub mod process;
mod threads;
mod wait;

pub use blocking::{
    run_in_executor, run_in_executor_on, run_in_executor_with_token, Blocking, CancelToken,
};
pub use future::{InvalidStateError, PoolError, PoolFuture, State, Timeout};
#[cfg(feature = "process-pool")]
pub use process::{ProcessPoolBuilder, ProcessPoolExecutor};
pub use threads::{ShutDownError, ThreadPoolBuilder, ThreadPoolExecutor};
pub use wait::{as_completed, wait};
