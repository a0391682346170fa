//! Slow-poll detection: each poll is timed while a threshold is set, a slow one is
//! reported when it returns, and a watchdog thread reports a poll that does not return.
//!
//! The loop publishes the poll in progress through a few atomics (plain stores on the
//! hot path: no locked instruction, no syscall). One watchdog thread per process looks
//! at every loop that has a threshold, a few times per threshold, and reports a poll that
//! has been running for [`WATCHDOG_FACTOR`] thresholds. Whoever reports a poll first
//! (the loop when the poll returns, or the watchdog) claims it, so it is reported once.

use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use super::shared::Shared;
use crate::task::dump::fmt_duration;
use crate::task::TaskId;
use crate::time::clock::real_now_ns;

/// The watchdog reports a poll that has not returned after this many thresholds.
pub(crate) const WATCHDOG_FACTOR: u32 = 3;

/// The loop side: owned by the loop's core.
pub(crate) struct SlowPolls {
    pub(crate) threshold: Duration,
    watch: Arc<PollWatch>,
    seq: Cell<u64>,
}

/// A poll being timed.
pub(crate) struct PollTimer {
    start_ns: u64,
    seq: u64,
}

/// What the watchdog thread sees of one loop.
struct PollWatch {
    threshold_ns: u64,
    /// The number of the poll in progress; 0 between polls.
    running: AtomicU64,
    started_ns: AtomicU64,
    /// The task's id; 0 for the main future or a callback.
    task_id: AtomicU64,
    location: AtomicPtr<Location<'static>>,
    main: AtomicBool,
    /// The highest poll number reported so far (by either side).
    reported: AtomicU64,
    shared: Arc<Shared>,
}

impl SlowPolls {
    pub(crate) fn new(threshold: Duration, shared: Arc<Shared>) -> SlowPolls {
        let watch = Arc::new(PollWatch {
            threshold_ns: crate::time::clock::duration_to_ns(threshold).max(1),
            running: AtomicU64::new(0),
            started_ns: AtomicU64::new(0),
            task_id: AtomicU64::new(0),
            location: AtomicPtr::new(std::ptr::null_mut()),
            main: AtomicBool::new(false),
            reported: AtomicU64::new(0),
            shared,
        });
        if !cfg!(miri) {
            register(&watch);
        }
        SlowPolls {
            threshold,
            watch,
            seq: Cell::new(0),
        }
    }

    /// Starts timing a poll of task `id` (`None`: main if `main`, else a callback).
    #[inline]
    pub(crate) fn begin(
        &self,
        id: Option<TaskId>,
        location: Option<&'static Location<'static>>,
        main: bool,
    ) -> PollTimer {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        let start_ns = real_now_ns();
        let w = &self.watch;
        w.task_id.store(id.map_or(0, |i| i.0), Ordering::Relaxed);
        w.location.store(
            location.map_or(std::ptr::null_mut(), |l| l as *const _ as *mut _),
            Ordering::Relaxed,
        );
        w.main.store(main, Ordering::Relaxed);
        w.started_ns.store(start_ns, Ordering::Relaxed);
        w.running.store(seq, Ordering::Release);
        PollTimer { start_ns, seq }
    }

    /// Ends a timed poll: when (ns since the process epoch), how long it took, whether it
    /// was slow, and whether it was already reported (by the watchdog).
    #[inline]
    pub(crate) fn end(&self, t: PollTimer) -> (u64, Duration, bool, bool) {
        self.watch.running.store(0, Ordering::Release);
        let end_ns = real_now_ns();
        let took = end_ns.saturating_sub(t.start_ns);
        if took < self.watch.threshold_ns {
            return (end_ns, Duration::from_nanos(took), false, false);
        }
        let already = self.watch.reported.fetch_max(t.seq, Ordering::AcqRel) >= t.seq;
        (end_ns, Duration::from_nanos(took), true, already)
    }
}

/// `task #3 "worker" (spawned at src/main.rs:4:5)`, `the main future`, or
/// `a call_soon_threadsafe callback`.
pub(crate) fn describe(
    id: Option<TaskId>,
    name: Option<&str>,
    location: Option<&'static Location<'static>>,
    main: bool,
) -> String {
    match id {
        Some(id) => {
            let mut s = format!("task {id}");
            if let Some(n) = name {
                s.push_str(&format!(" {n:?}"));
            }
            if let Some(l) = location {
                s.push_str(&format!(" (spawned at {l})"));
            }
            s
        }
        None if main => "the main future (block_on / run)".to_owned(),
        None => "a call_soon_threadsafe callback".to_owned(),
    }
}

/// Prints one slow-poll line (and, with the `tracing` feature, emits a `warn` event).
pub(crate) fn report(what: &str) {
    eprintln!(
        "runtime: slow poll: {what}; the loop runs nothing else during a poll: move \
         blocking work to `runtime::run_in_executor` or `spawn_blocking`"
    );
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "runtime::task", "slow poll: {what}");
}

static WATCHED: Mutex<Vec<Weak<PollWatch>>> = Mutex::new(Vec::new());
/// The watchdog thread, once started (`None`: the OS refused the thread).
static WATCHDOG: OnceLock<Option<std::thread::Thread>> = OnceLock::new();

fn register(w: &Arc<PollWatch>) {
    WATCHED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Arc::downgrade(w));
    let thread = WATCHDOG.get_or_init(|| {
        match std::thread::Builder::new()
            .name("runtime-watchdog".into())
            .spawn(watchdog)
        {
            Ok(h) => Some(h.thread().clone()),
            Err(e) => {
                eprintln!(
                    "runtime: cannot start the slow-poll watchdog thread ({e}); slow polls \
                     are still reported when they return"
                );
                None
            }
        }
    });
    if let Some(t) = thread {
        t.unpark();
    }
}

/// The watchdog thread: wakes a few times per (smallest) threshold while some loop is
/// watched, and parks for good when none is.
fn watchdog() {
    loop {
        let watched: Vec<Arc<PollWatch>> = {
            let mut list = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
            list.retain(|w| w.strong_count() > 0);
            list.iter().filter_map(Weak::upgrade).collect()
        };
        let Some(step) = watched.iter().map(|w| w.threshold_ns).min() else {
            drop(watched);
            std::thread::park();
            continue;
        };
        for w in &watched {
            check(w);
        }
        drop(watched); // never keep a loop's state alive while sleeping
        std::thread::park_timeout(Duration::from_nanos((step / 2).max(1_000_000)));
    }
}

fn check(w: &PollWatch) {
    let seq = w.running.load(Ordering::Acquire);
    if seq == 0 || w.reported.load(Ordering::Acquire) >= seq {
        return;
    }
    let started = w.started_ns.load(Ordering::Relaxed);
    let running_for = real_now_ns().saturating_sub(started);
    if running_for < w.threshold_ns.saturating_mul(u64::from(WATCHDOG_FACTOR)) {
        return;
    }
    let id = w.task_id.load(Ordering::Relaxed);
    let loc = w.location.load(Ordering::Relaxed);
    let main = w.main.load(Ordering::Relaxed);
    fence(Ordering::Acquire);
    // The poll may have ended (and the next begun) while we read: then these facts
    // may be the next poll's; look again next time.
    if w.running.load(Ordering::Relaxed) != seq
        || w.reported.fetch_max(seq, Ordering::AcqRel) >= seq
    {
        return;
    }
    let id = (id != 0).then_some(TaskId(id));
    let name = id.and_then(|id| w.shared.name_of(id));
    // SAFETY: the pointer is null or came from a `&'static Location`.
    let loc = unsafe { loc.as_ref() };
    report(&format!(
        "{} has been running for {} and has not returned (watchdog; threshold {})",
        describe(id, name.as_deref(), loc, main),
        fmt_duration(Duration::from_nanos(running_for)),
        fmt_duration(Duration::from_nanos(w.threshold_ns)),
    ));
}
