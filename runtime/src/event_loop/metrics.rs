//! `RuntimeMetrics`: what the loop has done, as plain numbers.

use std::time::Duration;

/// A snapshot of a loop's counters ([`runtime::metrics`](crate::metrics),
/// [`Runtime::metrics`](crate::Runtime::metrics)). Counters only grow; the gauges
/// (`tasks_alive`, `timers_pending`, ...) are the values at the moment of the snapshot.
/// They are plain loop-local integers: nothing on the hot path is atomic.
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let before = runtime::metrics();
///     runtime::spawn(async { runtime::yield_now().await }).await.unwrap();
///     let after = runtime::metrics();
///     assert_eq!(after.tasks_spawned - before.tasks_spawned, 1);
///     assert!(after.polls - before.polls >= 2); // the task, twice
/// });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Tasks spawned on this loop since it was created.
    pub tasks_spawned: u64,
    /// Tasks alive now (spawned, not yet finished or dropped).
    pub tasks_alive: usize,
    /// Polls of tasks and of the `block_on` main future.
    pub polls: u64,
    /// Batches of ready tasks the loop ran (each after a turn's check of I/O, remote work
    /// and timers, or of the due timers alone while it stayed busy).
    pub turns: u64,
    /// Times the loop blocked in `epoll_wait` with nothing to do.
    pub parks: u64,
    /// Polls (of tasks, the main future and callbacks) that took longer than the slow-poll
    /// threshold ([`Builder::slow_poll_threshold`](crate::Builder::slow_poll_threshold));
    /// always 0 while detection is off (release builds by default).
    pub slow_polls: u64,
    /// Timers registered now (sleeps, timeouts, intervals).
    pub timers_pending: usize,
    /// I/O sources registered now (sockets, pipes, `Source`s).
    pub io_sources: usize,
    /// Wake-ups and callbacks that arrived from other threads.
    pub remote_wakes: u64,
    /// Threads of the loop's blocking pool (`run_in_executor`) now.
    pub blocking_threads: usize,
    /// Jobs queued on the blocking pool and not started yet.
    pub blocking_jobs_queued: usize,
    /// Time the loop spent running (inside `block_on`/`turn`) and not parked.
    pub busy_time: Duration,
    /// Time the loop spent parked in `epoll_wait`.
    pub idle_time: Duration,
}
