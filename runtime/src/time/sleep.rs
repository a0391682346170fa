//! `Sleep`: a deadline and, once polled, a key into the loop's timer heap.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::timers::TimerKey;
use super::Instant;
use crate::event_loop::context;

/// Waits until `duration` has passed on the loop's clock (asyncio `sleep`).
///
/// The timer registers on the first poll and never fires early. `Duration::ZERO` still
/// returns at once without registering; use [`yield_now`](crate::yield_now) to give other
/// tasks a turn. `Duration::MAX` sleeps forever.
///
/// # Panics
///
/// Polling the returned future outside a running loop panics with a message naming the fix.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// runtime::run(async {
///     runtime::sleep(Duration::from_millis(10)).await;
///     println!("ten milliseconds later");
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(Instant::now() + duration)
}

/// Waits until `deadline` on the loop's clock. A deadline in the past completes at once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{sleep_until, Instant};
///
/// runtime::run(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// It is plain data (a deadline and a timer key), so it is `Send + Sync` and `Unpin`.
/// Dropping it cancels the timer in O(1) when dropped on its loop's thread; dropped
/// elsewhere, the timer stays until its deadline and then wakes nobody harmfully.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    /// The registration, and the loop it belongs to.
    key: Option<(TimerKey, u64)>,
}

impl Sleep {
    fn new(deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            key: None,
        }
    }

    /// The instant this sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has passed on the loop's clock.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline (earlier or later), keeping the waker of a registered timer so
    /// the waiting task is woken at the new time without being polled again.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        let Some((key, loop_id)) = self.key.take() else {
            return;
        };
        context::with_core(|core| {
            let Some(core) = core.filter(|c| c.shared.id == loop_id) else {
                return;
            };
            let mut timers = core.timers.borrow_mut();
            if let Some(w) = timers.cancel(key) {
                self.key = Some((timers.insert(deadline.0, w), loop_id));
            }
        });
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        context::expect_core(|core| {
            if let Some((key, loop_id)) = this.key {
                if loop_id == core.shared.id {
                    let mut timers = core.timers.borrow_mut();
                    if timers.is_pending(key) {
                        timers.update_waker(key, cx.waker());
                        drop(timers);
                        core.note_wait(
                            Some(crate::task::dump::Label::Sleep(this.deadline.0)),
                            false,
                        );
                        return Poll::Pending;
                    }
                    // Fired (T2: only at or after the deadline).
                    this.key = None;
                    return Poll::Ready(());
                }
            }
            // A deadline the loop's clock has passed completes at once. The clock as of
            // the loop's last read (no clock read here) is earlier than or equal to the
            // real time, so a deadline between the two goes on the timers and fires at
            // the next turn's timer check, which reads the clock: never early (T2).
            if this.deadline.0 <= core.coarse_now_ns() {
                return Poll::Ready(());
            }
            let key = core
                .timers
                .borrow_mut()
                .insert(this.deadline.0, cx.waker().clone());
            this.key = Some((key, core.shared.id));
            core.note_wait(
                Some(crate::task::dump::Label::Sleep(this.deadline.0)),
                false,
            );
            Poll::Pending
        })
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((key, loop_id)) = self.key {
            context::with_core(|core| {
                if let Some(core) = core.filter(|c| c.shared.id == loop_id) {
                    // The waker is dropped after the borrow ends (it may run arbitrary code).
                    let w = core.timers.borrow_mut().cancel(key);
                    drop(w);
                }
            });
        }
    }
}
