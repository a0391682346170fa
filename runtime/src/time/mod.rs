//! Timers and the loop's clock: [`sleep`], [`timeout`], [`interval`], [`Instant`], virtual
//! time.
//!
//! # Rules
//! - **T1** A deadline is nanoseconds since the process epoch (`u64`); arithmetic
//!   saturates, so `Duration::MAX` is a deadline that never arrives, and a deadline in
//!   the past completes on the first poll.
//! - **T2** Never early: a timer fires only when the loop's clock, read at that moment, is
//!   at or past its deadline. The loop sleeps in `epoll_wait` until the next deadline,
//!   and mio rounds the timeout up to whole milliseconds.
//! - **T3** A `Sleep` registers on its first poll (a 24-byte heap entry + a 24-byte slot)
//!   and cancels in O(1) when dropped. Only the loop thread touches the heap: no locks.
//! - **T4** A paused clock moves only when every task is blocked (the loop then jumps to
//!   the next deadline instead of waiting) or when [`advance`] is called.

pub(crate) mod clock;
mod interval;
mod scope;
mod sleep;
mod timeout;
mod timers;

use std::time::Duration;

pub(crate) use clock::Clock;
pub use clock::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use scope::{timeout_scope, timeout_scope_at, Scoped, TimeoutHandle, TimeoutScope};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};
pub(crate) use timers::Timers;

use crate::event_loop::context;

/// The loop's current time; the same as [`Instant::now`].
pub fn now() -> Instant {
    Instant::now()
}

/// Pauses the loop's clock: from now on time moves only when every task is blocked (the
/// loop jumps to the next deadline) or on [`advance`].
///
/// # Panics
///
/// Outside a running loop.
pub fn pause() {
    context::expect_core(|core| core.clock.pause())
}

/// Resumes real time after [`pause`]: from the virtual time reached, the loop's clock
/// runs at real speed again. It never goes back: the lead virtual time gained (through
/// jumps or [`advance`]) is kept as an offset over the process clock, so instants taken
/// while paused stay in the past and a sleep created while paused takes, after `resume`,
/// only what was left of it. (Instants read outside any loop do not include this loop's
/// offset.)
///
/// # Panics
///
/// Outside a running loop.
pub fn resume() {
    context::expect_core(|core| core.clock.resume())
}

/// Moves a paused clock forward by `duration`, wakes every timer that became due, and
/// yields once so that the woken tasks run before the caller continues.
///
/// # Panics
///
/// Outside a running loop, or when the clock is not paused (start the loop with
/// `Builder::start_paused(true)` or `#[runtime::test(start_paused = true)]`, or call
/// [`pause`] first).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let task = runtime::spawn(runtime::sleep(Duration::from_secs(5)));
///     runtime::yield_now().await; // let the task register its timer
///     runtime::time::advance(Duration::from_secs(5)).await;
///     assert!(task.is_done());
/// });
/// ```
pub async fn advance(duration: Duration) {
    context::expect_core(|core| {
        assert!(
            core.clock.is_paused(),
            "runtime::time::advance: the clock is not paused; start the loop with \
             `Builder::start_paused(true)` or `#[runtime::test(start_paused = true)]`, \
             or call `runtime::time::pause()` first"
        );
        core.clock.advance(duration);
        core.fire_timers();
    });
    crate::yield_now().await;
}
