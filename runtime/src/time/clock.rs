//! The loop's clock and `Instant`: nanoseconds since a process-wide epoch, real or paused.

use std::cell::Cell;
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::sync::OnceLock;
use std::time::Duration;

use crate::event_loop::context;

static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();

fn epoch() -> std::time::Instant {
    *EPOCH.get_or_init(std::time::Instant::now)
}

/// Real monotonic time in nanoseconds since the process epoch.
pub(crate) fn real_now_ns() -> u64 {
    instant_ns(std::time::Instant::now())
}

/// `at` in nanoseconds since the process epoch.
pub(crate) fn instant_ns(at: std::time::Instant) -> u64 {
    duration_to_ns(at.saturating_duration_since(epoch()))
}

/// Durations beyond `u64::MAX` ns (584 years) saturate: such a deadline never fires.
pub(crate) fn duration_to_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A point in time on the loop's clock.
///
/// Inside a loop whose clock is paused ([`Builder::start_paused`](crate::Builder::start_paused),
/// `#[runtime::test(start_paused = true)]`), `Instant::now()` is virtual time; elsewhere it
/// is the monotonic clock. Arithmetic saturates instead of panicking, so far-future
/// deadlines such as `Instant::now() + Duration::MAX` are valid (they never arrive).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::Instant;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = Instant::now();
///     runtime::sleep(Duration::from_secs(3600)).await; // returns at once: the clock jumps
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub(crate) u64);

impl Instant {
    /// The loop's current time (virtual when the clock is paused).
    pub fn now() -> Instant {
        Instant(context::with_core(|c| match c {
            Some(core) => core.clock.now_ns(),
            None => real_now_ns(),
        }))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// The time elapsed since `self` on the loop's clock.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + d`, or `None` past the representable range.
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        u64::try_from(d.as_nanos())
            .ok()
            .and_then(|n| self.0.checked_add(n))
            .map(Instant)
    }

    /// `self - d`, or `None` before the process epoch.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        u64::try_from(d.as_nanos())
            .ok()
            .and_then(|n| self.0.checked_sub(n))
            .map(Instant)
    }

    /// The same moment as a `std::time::Instant` (virtual instants map onto real ones
    /// through the same epoch).
    pub fn into_std(self) -> std::time::Instant {
        let e = epoch();
        e.checked_add(Duration::from_nanos(self.0)).unwrap_or(e)
    }

    /// Converts a `std::time::Instant`; instants before the process epoch (the first
    /// use of this clock) map to the epoch.
    pub fn from_std(t: std::time::Instant) -> Instant {
        Instant(duration_to_ns(t.saturating_duration_since(epoch())))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the far future instead of panicking.
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_to_ns(d)))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the process epoch.
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(duration_to_ns(d)))
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero.
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({:?} since epoch)", Duration::from_nanos(self.0))
    }
}

/// The loop's clock: real, or paused at a virtual time that only moves when the loop
/// jumps to the next deadline or the program calls `advance` (rule T4).
pub(crate) struct Clock {
    paused: Cell<bool>,
    virt: Cell<u64>,
    /// How far the loop's clock is ahead of the process clock: what virtual time gained
    /// while paused, kept after `resume` so that the clock never goes back (T4).
    offset: Cell<u64>,
}

impl Clock {
    pub(crate) fn new(paused: bool) -> Clock {
        Clock {
            paused: Cell::new(paused),
            virt: Cell::new(real_now_ns()),
            offset: Cell::new(0),
        }
    }

    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        if self.paused.get() {
            self.virt.get()
        } else {
            real_now_ns().saturating_add(self.offset.get())
        }
    }

    /// The loop's time at the real instant `real` (ns since the epoch): `real` plus the
    /// lead gained while paused, or virtual time when paused. With the loop's cached
    /// (coarse) real time, this reads no clock.
    #[inline]
    pub(crate) fn at_real(&self, real: u64) -> u64 {
        if self.paused.get() {
            self.virt.get()
        } else {
            real.saturating_add(self.offset.get())
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused.get()
    }

    pub(crate) fn pause(&self) {
        if !self.paused.get() {
            self.virt.set(self.now_ns());
            self.paused.set(true);
        }
    }

    /// Real time again, from where virtual time stood: the clock keeps the lead it
    /// gained, so instants taken before stay in the past and timers keep their meaning.
    pub(crate) fn resume(&self) {
        if self.paused.get() {
            self.offset
                .set(self.virt.get().saturating_sub(real_now_ns()));
            self.paused.set(false);
        }
    }

    /// Moves virtual time forward to `ns` (never backwards).
    pub(crate) fn set_virtual(&self, ns: u64) {
        if ns > self.virt.get() {
            self.virt.set(ns);
        }
    }

    pub(crate) fn advance(&self, d: Duration) {
        self.virt
            .set(self.virt.get().saturating_add(duration_to_ns(d)));
    }
}
