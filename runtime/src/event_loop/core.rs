//! `Core`: the loop-thread state of one event loop, and the turn, the only place where
//! user code (task polls, callbacks) runs (rule L1).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::Duration;

use super::context;
use super::local_queue::{LocalDeque, LocalVec};
use super::shared::{Injected, Shared};
use crate::reactor::Reactor;
use crate::task::dump::{self, Label, TaskDump, TaskEntry, TaskState};
use crate::task::raw::{self, TaskRef};
use crate::task::{waker::borrowed_waker, Task, TaskId};
use crate::time::{Clock, Timers};
use std::panic::Location;

/// How many task polls may pass, while tasks stay ready, before the loop checks I/O
/// readiness anyway (so a busy loop never starves sockets).
const IO_CHECK_INTERVAL: u64 = 64;

/// How many times the loop yields its thread, waiting for a blocking job's completion,
/// before it parks in `epoll_wait` (only while `run_in_executor` jobs are in flight).
const BLOCKING_SPIN_YIELDS: u32 = 8;

pub(crate) struct Core {
    pub(crate) shared: Arc<Shared>,
    /// Tasks ready to be polled, FIFO (L3).
    ready: LocalDeque<TaskRef>,
    /// Every task that waits or waited: registered when a poll first returns `Pending`
    /// (R2: the `REGISTERED` owner), with the dumps' record of its last poll. A task
    /// that has never waited is in the ready queue or running (`live` counts both).
    registry: LocalVec<Entry>,
    /// Tasks whose future is alive: registered, queued before their first poll, running.
    live: Cell<usize>,
    /// The wait note of the poll in progress (its first label, `dump::add_to_note`),
    /// moved to the task's registry entry when the poll returns `Pending`.
    poll_note: Cell<u64>,
    /// The coarse clock when the poll in progress started.
    poll_at: Cell<u64>,
    next_id: Cell<u64>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) clock: Clock,
    pub(crate) reactor: Reactor,
    pub(crate) main: Arc<MainWake>,
    /// Scratch buffer for draining the injection queue.
    injected: RefCell<Vec<Injected>>,
    /// Scratch buffer for wakers collected from timers and I/O events.
    wakers: RefCell<Vec<Waker>>,
    /// `stats.polls` when I/O readiness was last collected (see `polls_since_io`).
    io_mark: Cell<u64>,
    /// Set by `Runtime::turn` (a host steps the loop): collect I/O even with no counted
    /// source, so that the poller's descriptor stops being readable once its events are
    /// taken (the host waits on it).
    pub(crate) host_turn: Cell<bool>,
    /// The signal epoch this loop last saw (see `signal::epoch_changed`).
    signal_epoch: Cell<u64>,
    current: Cell<Option<TaskRef>>,
    /// True while `block_on` drives the loop: only then does a woken main future count as work.
    pub(crate) in_block_on: Cell<bool>,
    /// The main future's marker is in the ready queue (at most once, like `SCHEDULED`).
    main_queued: Cell<bool>,
    /// Tasks left in the batch `turn_main` is running (L3: a batch is what was ready when
    /// it started).
    batch_left: Cell<usize>,
    /// Counters behind `RuntimeMetrics` (loop-local, no atomics).
    pub(crate) stats: Stats,
    /// The default pool of `run_in_executor`, started on first use.
    blocking: RefCell<Option<crate::pool::ThreadPoolExecutor>>,
    pub(crate) max_blocking_threads: Cell<usize>,
    /// `run_in_executor` jobs whose future is still awaited: a paused clock must not jump
    /// while one runs (its result would look infinitely slow).
    blocking_in_flight: Cell<usize>,
    /// The main future's poll count, last poll, and the note of its last poll (laid out as
    /// a task's: `NOTE_BITS` and an encoded first label; see `dump::add_to_note`).
    main_polls: Cell<u32>,
    main_last_poll: Cell<u64>,
    main_note_bits: Cell<u32>,
    main_note: Cell<u64>,
    /// True while `block_on` polls the main future.
    pub(crate) polling_main: Cell<bool>,
    /// The loop's coarse real clock (`clock::real_now_ns`): read when the loop parks,
    /// every `IO_CHECK_INTERVAL` polls, and around each poll while slow polls are timed.
    coarse_ns: Cell<u64>,
    /// Slow-poll detection, when on (`Builder::slow_poll_threshold`).
    pub(crate) slow: Option<super::watchdog::SlowPolls>,
    /// Seeded scheduling: the generator's state, when on (`Builder::seed`).
    pub(crate) rng: Cell<Option<u64>>,
    /// `Builder::dump_on_signal`: the listener, created when the loop first runs.
    pub(crate) dump_signal: RefCell<Option<crate::signal::Signal>>,
    pub(crate) dump_signal_kind: Cell<Option<crate::signal::SignalKind>>,
}

/// The loop's counters (see `RuntimeMetrics`); updated once per batch or per park, not
/// per poll.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) polls: Cell<u64>,
    pub(crate) turns: Cell<u64>,
    pub(crate) parks: Cell<u64>,
    pub(crate) remote_wakes: Cell<u64>,
    pub(crate) idle: Cell<Duration>,
    /// Time spent inside `block_on`/`turn`, and since when the current one runs.
    pub(crate) running: Cell<Duration>,
    pub(crate) running_since: Cell<Option<std::time::Instant>>,
    pub(crate) slow_polls: Cell<u64>,
}

/// A registered task (one that waited) and the dumps' record of its last poll.
#[derive(Clone, Copy)]
struct Entry {
    task: TaskRef,
    /// The coarse clock when its last poll started.
    last_poll: u64,
    /// The first wait label of its last poll, encoded (`dump::add_to_note`); valid while
    /// the state's `NOTE_LABELS` bits are set.
    note: u64,
}

/// The waker of the future passed to `block_on`, which is not a task.
pub(crate) struct MainWake {
    woken: AtomicBool,
    shared: Arc<Shared>,
}

impl MainWake {
    pub(crate) fn take_woken(&self) -> bool {
        self.woken.swap(false, Ordering::AcqRel)
    }
    fn is_woken(&self) -> bool {
        self.woken.load(Ordering::Acquire)
    }
}

impl MainWake {
    /// Queues main (on its loop) or flags it and wakes the loop (elsewhere).
    fn wake_main(&self) {
        // On the loop: main takes its place at the back of the ready queue now, after the
        // tasks woken before it (L1, asyncio's main task). Elsewhere: flag it and wake the
        // loop, which queues main when it collects remote work.
        let on_loop = context::with_core(|c| match c {
            Some(c) if std::ptr::eq(Arc::as_ptr(&c.shared), Arc::as_ptr(&self.shared)) => {
                c.schedule_main();
                true
            }
            _ => false,
        });
        if !on_loop {
            self.woken.store(true, Ordering::Release);
            self.shared.notify();
        }
    }

    /// Main's waker: it holds one count of the `Arc` (the deadlock proof counts them).
    /// Its own vtable (rather than `Waker::from`'s) lets a join slot recognise it and keep
    /// it in one word (`raw::JoinWaker`).
    pub(crate) fn waker(this: &Arc<MainWake>) -> Waker {
        let data = Arc::into_raw(this.clone()) as *const ();
        // SAFETY: `data` came from `Arc::into_raw` and the waker owns that count; the
        // vtable's functions below keep that contract.
        unsafe { Waker::from_raw(RawWaker::new(data, &MAIN_VTABLE)) }
    }
}

/// The vtable of [`MainWake::waker`].
pub(crate) static MAIN_VTABLE: RawWakerVTable =
    RawWakerVTable::new(main_clone, main_wake, main_wake_by_ref, main_drop);

// SAFETY (the four functions): `data` came from `Arc::<MainWake>::into_raw`, and the
// waker being used owns one count of that `Arc` (`main_wake` and `main_drop` consume it).
unsafe fn main_clone(data: *const ()) -> RawWaker {
    // SAFETY: see above; the clone takes a count of its own.
    unsafe { Arc::increment_strong_count(data as *const MainWake) };
    RawWaker::new(data, &MAIN_VTABLE)
}

unsafe fn main_wake(data: *const ()) {
    // SAFETY: see above; this waker's count is released when `main` drops.
    let main = unsafe { Arc::from_raw(data as *const MainWake) };
    main.wake_main();
}

unsafe fn main_wake_by_ref(data: *const ()) {
    // SAFETY: see above; the waker's count keeps the `MainWake` alive.
    unsafe { &*(data as *const MainWake) }.wake_main();
}

unsafe fn main_drop(data: *const ()) {
    // SAFETY: see above; this waker owned one count.
    drop(unsafe { Arc::from_raw(data as *const MainWake) });
}

/// Ends a `running` span (nested spans count once).
pub(crate) struct RunningGuard<'a> {
    core: &'a Core,
    outer: bool,
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        if self.outer {
            return;
        }
        let st = &self.core.stats;
        if let Some(t) = st.running_since.take() {
            st.running.set(st.running.get() + t.elapsed());
        }
    }
}

impl Core {
    pub(crate) fn new(shared: Arc<Shared>, reactor: Reactor, clock: Clock) -> Core {
        Core {
            main: Arc::new(MainWake {
                woken: AtomicBool::new(false),
                shared: shared.clone(),
            }),
            shared,
            ready: LocalDeque::with_capacity(256),
            registry: LocalVec::new(),
            live: Cell::new(0),
            poll_note: Cell::new(0),
            poll_at: Cell::new(0),
            next_id: Cell::new(1),
            timers: RefCell::new(Timers::new()),
            clock,
            reactor,
            injected: RefCell::new(Vec::new()),
            wakers: RefCell::new(Vec::new()),
            io_mark: Cell::new(0),
            host_turn: Cell::new(false),
            signal_epoch: Cell::new(0),
            current: Cell::new(None),
            in_block_on: Cell::new(false),
            main_queued: Cell::new(false),
            batch_left: Cell::new(0),
            stats: Stats::default(),
            blocking: RefCell::new(None),
            max_blocking_threads: Cell::new(512),
            blocking_in_flight: Cell::new(0),
            main_polls: Cell::new(0),
            main_last_poll: Cell::new(0),
            main_note_bits: Cell::new(0),
            main_note: Cell::new(0),
            polling_main: Cell::new(false),
            coarse_ns: Cell::new(crate::time::clock::real_now_ns()),
            slow: None,
            rng: Cell::new(None),
            dump_signal: RefCell::new(None),
            dump_signal_kind: Cell::new(None),
        }
    }

    /// Creates a task and queues it for the next batch (L3: never polled inside `spawn`).
    #[inline]
    pub(crate) fn spawn<F: Future + 'static>(
        &self,
        future: F,
        name: Option<String>,
        location: &'static Location<'static>,
    ) -> Task<F::Output> {
        let id = TaskId(self.next_id.get());
        self.next_id.set(id.0 + 1);
        #[cfg(feature = "tracing")]
        let future = crate::trace::instrument(future, id, name.as_deref(), location);
        let named = name.is_some();
        if let Some(n) = name {
            self.shared.set_name(id, n);
        }
        // Queued (`SCHEDULED`) and not registered: it registers if it ever waits.
        let task = TaskRef::allocate(future, id, self.shared.clone(), named, location);
        self.live.set(self.live.get() + 1);
        self.ready.push_back(task);
        Task::from_raw(task)
    }

    /// The default blocking pool, started on first use.
    pub(crate) fn blocking_pool(&self) -> std::cell::Ref<'_, crate::pool::ThreadPoolExecutor> {
        if self.blocking.borrow().is_none() {
            let pool = crate::pool::ThreadPoolExecutor::builder()
                .max_workers(self.max_blocking_threads.get())
                .thread_name_prefix("runtime-blocking")
                .idle_timeout(Duration::from_secs(10))
                .build();
            *self.blocking.borrow_mut() = Some(pool);
        }
        std::cell::Ref::map(self.blocking.borrow(), |p| p.as_ref().expect("set above"))
    }

    pub(crate) fn blocking_started(&self) {
        self.blocking_in_flight
            .set(self.blocking_in_flight.get() + 1);
    }

    pub(crate) fn blocking_finished(&self) {
        self.blocking_in_flight
            .set(self.blocking_in_flight.get().saturating_sub(1));
    }

    /// Stops the blocking pool: queued jobs are cancelled; running ones get at most
    /// `limit` to finish (rule P3).
    pub(crate) fn shutdown_blocking(&self, limit: Duration) {
        let Some(pool) = self.blocking.borrow_mut().take() else {
            return;
        };
        let left = pool.shared().shutdown(true, true, Some(limit));
        if left > 0 {
            eprintln!(
                "runtime: {left} blocking job(s) still running after {limit:?} at runtime \
                 shutdown; leaving them to finish on their own threads"
            );
            // Dropping the pool would wait for them without bound.
            std::mem::forget(pool);
        }
    }

    /// The task being polled right now, if any.
    pub(crate) fn current_task(&self) -> Option<TaskRef> {
        self.current.get()
    }

    /// Puts a task of this loop on the ready queue unless it is there or finished (R5).
    #[inline]
    pub(crate) fn schedule_local(&self, task: TaskRef) {
        let s = task.state();
        if s & (raw::SCHEDULED | raw::COMPLETE) != 0 {
            return;
        }
        task.set_state(s | raw::SCHEDULED);
        self.ready.push_back(task);
    }

    /// Queues `task` if it belongs to this loop (for wakers taken out by the loop's own
    /// collectors, see `task::waker::wake_or_collect`); false if it belongs to another.
    #[inline(always)]
    fn schedule_if_mine(&self, task: TaskRef) -> bool {
        let mine = Arc::ptr_eq(&task.header().shared, &self.shared);
        if mine {
            self.schedule_local(task);
        }
        mine
    }

    /// Puts a task of this loop at the *front* of the ready queue, so that it runs next
    /// (Stackless channel hand-off). A task already queued keeps its place.
    pub(crate) fn schedule_front(&self, task: TaskRef) {
        let s = task.state();
        if s & (raw::SCHEDULED | raw::COMPLETE) != 0 {
            return;
        }
        task.set_state(s | raw::SCHEDULED);
        self.ready.push_front(task);
    }

    /// Queues the main future of `block_on` at the back of the ready queue (L1), unless
    /// it is queued already or no `block_on` runs.
    pub(crate) fn schedule_main(&self) {
        if self.in_block_on.get() && !self.main_queued.get() {
            self.main_queued.set(true);
            self.ready.push_back(TaskRef::main_slot());
        }
    }

    /// For `block_on`: forgets any batch in progress and queues main for its first poll.
    pub(crate) fn start_main(&self) {
        if self.dump_signal_kind.get().is_some() {
            self.poll_dump_signal(); // listen from the start
        }
        self.batch_left.set(0);
        self.main_queued.set(false);
        self.main.take_woken();
        self.schedule_main();
    }

    /// For `block_on`: runs ready tasks in FIFO order, batch after batch, until the main
    /// future's turn comes (poll it now). Each batch starts as a turn does (waiting for
    /// I/O, timers, remote work) or, while tasks are ready and nothing else is due, with
    /// only the due timers collected, or nothing at all (see `start_batch`). Under
    /// `UnhandledPanic::ShutdownRuntime` a detached task's panic stops the loop with a
    /// panic when the next batch would start.
    #[inline]
    pub(crate) fn turn_main(&self) {
        let timed = self.slow.is_some();
        // The batch's bookkeeping lives in locals while tasks run (nothing a task does
        // touches it: `block_on` cannot nest) and goes back to the cell on exit.
        let mut left = self.batch_left.get();
        loop {
            if left == 0 {
                left = self.start_batch();
            }
            let mut polled = 0u64;
            let mut main_due = false;
            while left > 0 {
                left -= 1;
                let Some(task) = self.ready.pop_front() else {
                    left = 0;
                    break;
                };
                polled += 1;
                if task.is_main_slot() {
                    self.main_queued.set(false);
                    main_due = true;
                    break;
                }
                if timed {
                    self.run_task::<true>(task);
                } else {
                    self.run_task::<false>(task);
                }
            }
            self.stats.polls.set(self.stats.polls.get() + polled);
            if main_due {
                self.batch_left.set(left);
                return;
            }
        }
    }

    /// Starts a batch for `turn_main`; returns its size. With tasks ready, nothing from
    /// other threads, no timer pending and the I/O check not due, a turn would do nothing
    /// but count itself: the batch is simply what is ready now. A main future woken from
    /// another thread marks remote work pending too (`MainWake`), so it is seen with it.
    #[inline(always)]
    fn start_batch(&self) -> usize {
        let n = self.ready.len();
        if n != 0
            && self.polls_since_io() < IO_CHECK_INTERVAL
            && !self.shared.remote.has_pending()
            && self.timers.borrow().is_empty()
            && self.rng.get().is_none()
        {
            self.stats.turns.set(self.stats.turns.get() + 1);
            return n;
        }
        self.start_full_batch()
    }

    /// `start_batch` when there may be more to do than count: with tasks ready, nothing
    /// from other threads and the I/O check not due, the turn would not poll I/O: only
    /// due timers are collected (L3 still holds: I/O is polled at least every
    /// `IO_CHECK_INTERVAL` polls, remote work is seen at the next batch, timers fire on
    /// every batch); otherwise a full turn waits for and collects everything.
    #[inline(never)]
    fn start_full_batch(&self) -> usize {
        // A detached task's panic under `ShutdownRuntime` stops the loop here: the report
        // marks remote work pending, so the fast path never skips this.
        self.shared.check_fatal();
        let mut io_due = false;
        if self.polls_since_io() >= IO_CHECK_INTERVAL {
            io_due = self.reactor.has_sources() || crate::signal::epoch_differs(&self.signal_epoch);
            if !io_due {
                // Nothing to poll: start counting again, and let the coarse clock
                // (task dumps' "last polled") move on.
                self.io_checked();
                self.refresh_clock();
            }
        }
        if self.has_ready() && !io_due && !self.shared.remote.has_pending() {
            self.fire_timers(); // timers are never skipped
        } else {
            self.wait_and_collect(None);
        }
        let n = self.ready.len();
        self.stats.turns.set(self.stats.turns.get() + 1);
        if self.rng.get().is_some() {
            self.batch_left.set(n);
            self.shuffle_batch();
        }
        n
    }

    /// Polls since I/O readiness was last collected.
    #[inline]
    fn polls_since_io(&self) -> u64 {
        self.stats.polls.get().wrapping_sub(self.io_mark.get())
    }

    /// I/O readiness was collected now.
    #[inline]
    fn io_checked(&self) {
        self.io_mark.set(self.stats.polls.get());
    }

    /// Makes the next batch poll I/O (see `task::wait_all_blocked`).
    pub(crate) fn force_io_check(&self) {
        self.io_mark
            .set(self.stats.polls.get().wrapping_sub(IO_CHECK_INTERVAL));
    }

    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Marks the loop running (`block_on`, `turn`) for `busy_time`; the guard ends it.
    pub(crate) fn running(&self) -> RunningGuard<'_> {
        let outer = self.stats.running_since.get().is_some();
        if !outer {
            self.stats
                .running_since
                .set(Some(std::time::Instant::now()));
        }
        RunningGuard { core: self, outer }
    }

    /// A snapshot of the counters.
    pub(crate) fn metrics(&self) -> super::metrics::RuntimeMetrics {
        let st = &self.stats;
        let mut running = st.running.get();
        if let Some(t) = st.running_since.get() {
            running += t.elapsed();
        }
        let (blocking_threads, blocking_jobs_queued) = match &*self.blocking.borrow() {
            Some(pool) => (pool.threads(), pool.queued()),
            None => (0, 0),
        };
        super::metrics::RuntimeMetrics {
            tasks_spawned: self.next_id.get() - 1,
            tasks_alive: self.live_tasks(),
            polls: st.polls.get(),
            turns: st.turns.get(),
            parks: st.parks.get(),
            slow_polls: st.slow_polls.get(),
            timers_pending: self.timers.borrow().len(),
            io_sources: self.reactor.sources(),
            remote_wakes: st.remote_wakes.get(),
            blocking_threads,
            blocking_jobs_queued,
            busy_time: running.saturating_sub(st.idle.get()),
            idle_time: st.idle.get(),
        }
    }

    pub(crate) fn live_tasks(&self) -> usize {
        self.live.get()
    }

    /// One turn of the loop (L4): wait for I/O at most `max_wait` (`None`: as long as
    /// needed) unless work is already due, collect remote work and due timers, then run
    /// the batch of tasks that is ready at that moment. Returns how many tasks it polled.
    pub(crate) fn turn(&self, max_wait: Option<Duration>) -> usize {
        self.wait_and_collect(max_wait);
        self.stats.turns.set(self.stats.turns.get() + 1);
        self.run_batch()
    }

    fn wait_and_collect(&self, max_wait: Option<Duration>) {
        let busy = self.has_ready()
            || (self.in_block_on.get() && self.main.is_woken())
            || self.shared.remote.has_pending();
        // With a paused clock, the deadline to jump to once I/O and remote wakes were
        // checked and nothing woke (T4).
        let mut advance_to = None;
        let mut timeout = if busy {
            Some(Duration::ZERO)
        } else {
            // A saturated deadline (`Duration::MAX`) never arrives (T1): it is no deadline.
            let next = self
                .timers
                .borrow_mut()
                .next_deadline()
                .filter(|&d| d != u64::MAX);
            match next {
                Some(deadline) => {
                    let now = self.clock.now_ns();
                    if deadline <= now {
                        Some(Duration::ZERO)
                    } else if self.clock.is_paused() && self.blocking_in_flight.get() == 0 {
                        // Virtual time: every task is blocked. Poll I/O without waiting
                        // first; jump to the deadline only if nothing at all woke.
                        advance_to = Some(deadline);
                        Some(Duration::ZERO)
                    } else {
                        Some(Duration::from_nanos(deadline - now))
                    }
                }
                None => None,
            }
        };
        if let Some(max) = max_wait {
            timeout = Some(timeout.map_or(max, |t| t.min(max)));
        }
        if timeout != Some(Duration::ZERO) && self.blocking_in_flight.get() > 0 {
            // Blocking jobs are running on the pool and their completions usually arrive
            // within microseconds: yield the CPU to those threads a few times before
            // paying for a park (epoll_wait) and the eventfd write that ends it.
            for _ in 0..BLOCKING_SPIN_YIELDS {
                if self.shared.remote.has_pending() {
                    timeout = Some(Duration::ZERO);
                    break;
                }
                std::thread::yield_now();
            }
        }
        if timeout.is_none() && self.in_block_on.get() && self.deadlocked() {
            self.deadlock_panic();
        }
        let may_block = timeout != Some(Duration::ZERO);
        let io_due = self.polls_since_io() >= IO_CHECK_INTERVAL || !busy;
        if may_block
            || self.host_turn.get()
            || (io_due
                && (self.reactor.has_sources() || crate::signal::epoch_changed(&self.signal_epoch)))
        {
            if may_block && !self.shared.remote.park_begin() {
                timeout = Some(Duration::ZERO);
            }
            let parked_at = may_block.then(std::time::Instant::now);
            {
                let mut wakers = self.wakers.borrow_mut();
                self.reactor
                    .poll(timeout, &mut wakers, |task| self.schedule_if_mine(task));
            }
            // One clock read serves the idle time and the coarse clock.
            let now = std::time::Instant::now();
            if let Some(t) = parked_at {
                self.shared.remote.park_end();
                self.stats.parks.set(self.stats.parks.get() + 1);
                let idle = now.saturating_duration_since(t);
                self.stats.idle.set(self.stats.idle.get() + idle);
            }
            self.coarse_ns.set(crate::time::clock::instant_ns(now));
            self.io_checked();
            self.wake_collected();
        }
        self.drain_remote();
        if self.dump_signal_kind.get().is_some() {
            self.poll_dump_signal();
        }
        if self.main.is_woken() && self.main.take_woken() {
            self.schedule_main(); // woken from another thread
            self.stats
                .remote_wakes
                .set(self.stats.remote_wakes.get() + 1);
        }
        if let Some(deadline) = advance_to {
            let woke = self.has_ready() || self.shared.remote.has_pending();
            if !woke {
                self.clock.set_virtual(deadline);
            }
        }
        self.fire_timers();
    }

    fn wake_collected(&self) {
        let mut wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        for w in wakers.drain(..) {
            w.wake();
        }
        // Keep the buffer's capacity for the next turn.
        *self.wakers.borrow_mut() = wakers;
    }

    fn drain_remote(&self) {
        if !self.shared.remote.has_pending() {
            return;
        }
        let mut items = std::mem::take(&mut *self.injected.borrow_mut());
        self.shared.remote.drain_into(&mut items);
        self.stats
            .remote_wakes
            .set(self.stats.remote_wakes.get() + items.len() as u64);
        for item in items.drain(..) {
            match item {
                Injected::Wake(w) => self.schedule_local(w.0),
                Injected::Call(f) => {
                    let timer = self.slow.as_ref().map(|s| s.begin(None, None, false));
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
                    if let Some(t) = timer {
                        self.slow_end(t, None, None);
                    }
                    if let Err(p) = r {
                        self.shared.report_unhandled(
                            TaskId(0),
                            Some("call_soon_threadsafe callback"),
                            p,
                        );
                    }
                }
            }
        }
        *self.injected.borrow_mut() = items;
    }

    /// Wakes every timer whose deadline has passed (never early: deadlines are compared
    /// with the clock read now).
    #[inline(always)]
    pub(crate) fn fire_timers(&self) {
        if self.timers.borrow().is_empty() {
            return;
        }
        self.fire_due_timers();
    }

    #[inline(never)]
    fn fire_due_timers(&self) {
        // One real clock read serves the timers and refreshes the coarse clock.
        let real = crate::time::clock::real_now_ns();
        self.coarse_ns.set(real);
        let now = self.clock.at_real(real);
        {
            let mut wakers = self.wakers.borrow_mut();
            self.timers
                .borrow_mut()
                .fire_due(now, &mut wakers, |task| self.schedule_if_mine(task));
        }
        self.wake_collected();
    }

    fn run_batch(&self) -> usize {
        let n = self.ready.len();
        if self.rng.get().is_some() {
            self.batch_left.set(n);
            self.shuffle_batch();
        }
        let timed = self.slow.is_some();
        for _ in 0..n {
            let Some(task) = self.ready.pop_front() else {
                break;
            };
            if task.is_main_slot() {
                // Left by a `block_on` that returned: main is gone.
                self.main_queued.set(false);
                continue;
            }
            if timed {
                self.run_task::<true>(task);
            } else {
                self.run_task::<false>(task);
            }
        }
        self.stats.polls.set(self.stats.polls.get() + n as u64);
        n
    }

    /// Runs one task popped from the ready queue: poll it, or finish its cancellation.
    #[inline(always)]
    fn run_task<const TIMED: bool>(&self, task: TaskRef) {
        let s = task.state();
        if s & (raw::COMPLETE | raw::CANCELLED) != 0 {
            self.run_finished_or_cancelled(task, s);
            return;
        }
        // A poll starts with no wait noted (`note_wait` fills the note in). `RUNNING`
        // takes over the queue's hold: a task that has never waited is not registered,
        // and its handle may go during the poll (R2).
        task.set_state((s & !(raw::SCHEDULED | raw::NOTE_BITS)) | raw::RUNNING);
        let waker = borrowed_waker(task);
        let mut cx = Context::from_waker(&waker);
        // Tasks never nest (only the turn polls them, and turns do not nest).
        debug_assert!(self.current.get().is_none());
        self.current.set(Some(task));
        let h = task.header();
        h.polls.set(h.polls.get().wrapping_add(1));
        let timer = if TIMED {
            let loc = self.location_of(task);
            self.slow
                .as_ref()
                .map(|s| s.begin(Some(task.id()), Some(loc), false))
        } else {
            None
        };
        self.poll_at.set(self.coarse_ns.get());
        // SAFETY: not complete, and we are on its loop thread.
        let res = unsafe { task.poll(&mut cx) };
        if let Some(t) = timer {
            self.slow_end(t, Some(task), Some(self.location_of(task)));
        }
        self.current.set(None);
        let s = task.state();
        match res {
            Poll::Ready(()) => {
                // A cancel() that arrived during the final poll came too late. `RUNNING`
                // holds the task until `finish`.
                task.set_state(s & !raw::CANCELLED);
                self.complete(task);
            }
            // The common case: a registered task waits again. Record the poll in its
            // entry; `REGISTERED` takes over from `RUNNING`.
            Poll::Pending if s & (raw::CANCELLED | raw::REGISTERED) == raw::REGISTERED => {
                // SAFETY: a registered task's `index` is its position in the registry:
                // `register` sets it, `unregister` moves the last entry's along with it,
                // and nothing else changes the registry but `shutdown`, which finishes
                // (and so unregisters) every task it takes out before any task can be
                // polled again.
                unsafe {
                    self.registry
                        .set_unchecked(task.header().index.get() as usize, self.entry(task))
                };
                task.set_state(s & !raw::RUNNING);
            }
            Poll::Pending => self.first_wait_or_cancel(task, s),
        }
    }

    /// The registry entry recording the poll that just ended.
    #[inline(always)]
    fn entry(&self, task: TaskRef) -> Entry {
        Entry {
            task,
            last_poll: self.poll_at.get(),
            note: self.poll_note.get(),
        }
    }

    /// After a poll returned `Pending`, the less common cases: the task waits for the
    /// first time (register it; `REGISTERED` takes over from `RUNNING`), or it cancelled
    /// itself while running (drop it now).
    #[inline(never)]
    fn first_wait_or_cancel(&self, task: TaskRef, s: u32) {
        if s & raw::CANCELLED != 0 {
            // SAFETY: not complete, and we are on its loop thread.
            unsafe { task.cancel_future() };
            self.complete(task);
            return;
        }
        debug_assert_eq!(
            s & raw::REGISTERED,
            0,
            "a registered task waits in run_task"
        );
        let index = self.registry.push(self.entry(task));
        task.header().index.set(index as u32);
        task.set_state((s & !raw::RUNNING) | raw::REGISTERED);
    }

    /// `run_task` for a task that finished while queued (release the queue's hold) or
    /// was cancelled (drop its future now).
    #[cold]
    #[inline(never)]
    fn run_finished_or_cancelled(&self, task: TaskRef, s: u32) {
        if s & raw::COMPLETE != 0 {
            task.release_local(raw::SCHEDULED);
            return;
        }
        // `RUNNING` holds the task (it may not be registered) while its future drops.
        task.set_state((s & !raw::SCHEDULED) | raw::RUNNING);
        // SAFETY: not complete, and we are on its loop thread.
        unsafe { task.cancel_future() };
        self.complete(task);
    }

    /// The future is gone and the stage holds the output: mark the task complete,
    /// unregister it, wake its awaiter, and drop the output if nobody can take it.
    #[inline]
    fn complete(&self, task: TaskRef) {
        let s = task.state();
        task.set_state(s | raw::COMPLETE);
        self.live.set(self.live.get() - 1);
        if s & raw::REGISTERED != 0 {
            self.unregister(task);
        }
        self.finish(task, raw::RUNNING | raw::REGISTERED);
    }

    /// Wakes a complete task's awaiter, drops the output if nobody can take it, and
    /// releases the loop's `holds` on the task.
    #[inline]
    fn finish(&self, task: TaskRef, holds: u32) {
        if let Some(w) = task.take_join_waker() {
            w.wake();
        }
        // Read again: the wake may have run code that dropped the handle.
        if task.state() & raw::HANDLE == 0 {
            self.drop_detached_output(task);
        }
        task.release_local(holds);
    }

    /// A detached task finished: nobody will ever read the output; drop it (a panic is
    /// reported).
    #[inline(never)]
    fn drop_detached_output(&self, task: TaskRef) {
        // SAFETY: the task is complete; loop thread.
        if let Some(p) = unsafe { task.drop_output() } {
            self.shared
                .report_unhandled(task.id(), task.name().as_deref(), p);
        }
    }

    #[inline]
    fn unregister(&self, task: TaskRef) {
        let i = task.header().index.get() as usize;
        let (removed, moved) = self.registry.swap_remove(i);
        debug_assert_eq!(removed.task, task);
        if let Some(moved) = moved {
            moved.task.header().index.set(i as u32);
        }
    }

    /// Cancels and drops every task, then releases everything the loop holds (L5).
    /// Runs with this core entered, so drop code may still spawn or wake. Teardown repeats
    /// while more is spawned: dropping a timer's or an I/O source's waker may spawn a task
    /// (or register a timer), and that task is cancelled and dropped in the next round,
    /// until the registry, the ready queue and the timers are all empty.
    pub(crate) fn shutdown(&self) {
        // Wakes that are still in flight, and any later ones, become no-ops; closures that
        // never ran are dropped here, before the tasks they may refer to (and outside any
        // borrow: their `Drop` is user code).
        drop(self.shared.remote.close());
        let injected = std::mem::take(&mut *self.injected.borrow_mut());
        drop(injected);
        loop {
            loop {
                // The tasks that waited, then those queued before their first poll.
                let waited = self.registry.take();
                let queued = self.ready.take();
                if waited.is_empty() && queued.is_empty() {
                    break;
                }
                let waited = waited.into_iter().map(|e| (e.task, raw::REGISTERED));
                let queued = queued.into_iter().filter(|t| !t.is_main_slot());
                for (task, hold) in waited.chain(queued.map(|t| (t, raw::SCHEDULED))) {
                    let s = task.state();
                    if s & raw::COMPLETE == 0 {
                        task.set_state(s | raw::CANCELLED);
                        // SAFETY: not complete; loop thread.
                        unsafe { task.cancel_future() };
                        task.set_state(task.state() | raw::COMPLETE);
                        self.live.set(self.live.get() - 1);
                    }
                    if hold == raw::SCHEDULED && s & raw::COMPLETE != 0 {
                        // Finished before (a waited task, in the pass above): only the
                        // queue's hold remains.
                        task.release_local(raw::SCHEDULED);
                        continue;
                    }
                    self.finish(task, hold);
                }
            }
            // Timers and I/O registrations hold wakers: drop them now that the futures are
            // gone, after the borrows are released (a waker's `Drop` may drop a `Sleep` of
            // this loop, or spawn).
            let timer_wakers = self.timers.borrow_mut().take_all();
            drop(timer_wakers);
            self.reactor.clear_all();
            // Whatever those drops queued or spawned goes in the next round.
            if self.registry.is_empty() && self.ready.is_empty() && self.timers.borrow().is_empty()
            {
                break;
            }
        }
    }
}

/// Debugging: wait notes, task dumps, slow polls, seeded order, deadlock detection.
impl Core {
    /// A primitive's report that the poll in progress waits on `label` (see
    /// `task::dump::note_wait`); `label: None` is a loop-local wait dumps do not show.
    #[inline]
    pub(crate) fn note_wait(&self, label: Option<Label>, local: bool) {
        if let Some(task) = self.current.get() {
            // In the state bits and the poll's note word: no table, no allocation.
            let s = dump::add_to_note(task.state(), &self.poll_note, label, local);
            task.set_state(s);
        } else if self.polling_main.get() {
            let bits = dump::add_to_note(self.main_note_bits.get(), &self.main_note, label, local);
            self.main_note_bits.set(bits);
        }
        // Else a callback, or drop code between polls: nobody to note it for.
    }

    /// Where `task` was spawned.
    fn location_of(&self, task: TaskRef) -> &'static Location<'static> {
        task.header().location
    }

    /// Before `block_on` polls the main future.
    #[inline]
    pub(crate) fn main_poll_begin(&self) -> Option<super::watchdog::PollTimer> {
        self.main_polls.set(self.main_polls.get().wrapping_add(1));
        self.polling_main.set(true);
        self.main_note_bits.set(0);
        let timer = self.slow.as_ref().map(|s| s.begin(None, None, true));
        self.main_last_poll.set(self.coarse_ns.get());
        timer
    }

    /// After `block_on` polled the main future.
    #[inline]
    pub(crate) fn main_poll_end(&self, timer: Option<super::watchdog::PollTimer>) {
        if let Some(t) = timer {
            self.slow_end(t, None, None);
        }
        self.polling_main.set(false);
    }

    /// The loop's time as of its last clock read (at most a turn old; exact on a paused
    /// clock): for deadlines that do not need the current nanosecond, such as hyper's
    /// `Timer::now`. Reads no clock.
    #[inline]
    pub(crate) fn coarse_now_ns(&self) -> u64 {
        self.clock.at_real(self.coarse_ns.get())
    }

    pub(crate) fn refresh_clock(&self) {
        self.coarse_ns.set(crate::time::clock::real_now_ns());
    }

    /// Seeded scheduling: shuffles the batch about to run (the first `batch_left`
    /// entries of the ready queue), so that tasks ready together run in an order drawn
    /// from the seed. Tasks woken during the batch still run in a later one (L3).
    #[cold]
    fn shuffle_batch(&self) {
        let Some(mut state) = self.rng.get() else {
            return;
        };
        let ready = &self.ready;
        let n = self.batch_left.get().min(ready.len());
        for i in (1..n).rev() {
            // splitmix64
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let j = (z % (i as u64 + 1)) as usize;
            ready.swap(i, j);
        }
        self.rng.set(Some(state));
    }

    /// Ends a timed poll: counts and reports it if it was slow.
    #[cold]
    fn slow_end(
        &self,
        timer: super::watchdog::PollTimer,
        task: Option<TaskRef>,
        location: Option<&'static Location<'static>>,
    ) {
        let Some(slow) = &self.slow else { return };
        let (end_ns, took, was_slow, already_reported) = slow.end(timer);
        self.coarse_ns.set(end_ns);
        if !was_slow {
            return;
        }
        self.stats.slow_polls.set(self.stats.slow_polls.get() + 1);
        if already_reported {
            return;
        }
        let who = match task {
            Some(t) => super::watchdog::describe(
                Some(t.id()),
                t.name().as_deref(),
                location,
                self.polling_main.get(),
            ),
            None => super::watchdog::describe(None, None, None, self.polling_main.get()),
        };
        super::watchdog::report(&format!(
            "{who} took {} (threshold {})",
            crate::task::dump::fmt_duration(took),
            crate::task::dump::fmt_duration(slow.threshold),
        ));
    }

    #[cold]
    fn poll_dump_signal(&self) {
        let mut slot = self.dump_signal.borrow_mut();
        if slot.is_none() {
            let Some(kind) = self.dump_signal_kind.get() else {
                return;
            };
            match crate::signal::Signal::internal(kind) {
                Ok(s) => *slot = Some(s),
                Err(e) => {
                    eprintln!("runtime: dump_on_signal: cannot listen for {kind:?}: {e}");
                    self.dump_signal_kind.set(None);
                    return;
                }
            }
        }
        let sig = slot.as_mut().expect("set above");
        let mut cx = Context::from_waker(Waker::noop());
        let mut got = false;
        while sig.poll_recv(&mut cx).is_ready() {
            got = true;
        }
        drop(slot);
        if got {
            eprintln!("runtime: task dump (on signal):\n{}", self.dump());
        }
    }

    /// A snapshot of the main future and every live task.
    pub(crate) fn dump(&self) -> TaskDump {
        let now = crate::time::clock::real_now_ns();
        let clock_now = self.clock.now_ns();
        let main_ptr = Arc::as_ptr(&self.main) as *const ();
        let who_waits = |w: &Waker| -> Option<Option<TaskId>> {
            if let Some(t) = crate::task::waker::as_task(w) {
                return Some(Some(t.id()));
            }
            (w.data() == main_ptr).then_some(None)
        };
        let render = |note: dump::WaitNote| -> Vec<String> {
            let Some(label) = note.label else {
                return Vec::new();
            };
            let mut s = match label {
                Label::Sleep(deadline) => {
                    let at = Duration::from_nanos(deadline);
                    let left = Duration::from_nanos(deadline.saturating_sub(clock_now));
                    format!(
                        "sleep until {} (in {})",
                        crate::task::dump::fmt_duration(at),
                        crate::task::dump::fmt_duration(left)
                    )
                }
                other => other.to_string(),
            };
            if note.more {
                s.push_str(" (and more)");
            }
            vec![s]
        };
        let mut tasks = Vec::new();
        if self.in_block_on.get() {
            let state = if self.polling_main.get() {
                TaskState::Running
            } else if self.main_queued.get() || self.main.is_woken() {
                TaskState::Ready
            } else {
                TaskState::Waiting
            };
            let polls = self.main_polls.get();
            tasks.push(TaskEntry {
                id: None,
                name: Some("main".to_owned()),
                spawned_at: None,
                state,
                polls: u64::from(polls),
                since_last_poll: (polls > 0)
                    .then(|| Duration::from_nanos(now.saturating_sub(self.main_last_poll.get()))),
                waiting_on: if state == TaskState::Waiting {
                    render(dump::read_note(self.main_note_bits.get(), &self.main_note))
                } else {
                    Vec::new()
                },
                awaited_by: Vec::new(),
            });
        }
        let current = self.current.get();
        // The tasks that waited (with their last poll's record), the running one and
        // those queued before their first poll.
        let mut list: Vec<(TaskRef, Option<Entry>)> = self
            .registry
            .to_vec()
            .into_iter()
            .map(|e| (e.task, Some(e)))
            .collect();
        let unregistered =
            |t: &TaskRef| !t.is_main_slot() && t.state() & (raw::REGISTERED | raw::COMPLETE) == 0;
        list.extend(current.filter(unregistered).map(|t| (t, None)));
        list.extend(
            self.ready
                .to_vec()
                .into_iter()
                .filter(|t| unregistered(t) && current != Some(*t))
                .map(|t| (t, None)),
        );
        list.sort_by_key(|(t, _)| t.id());
        for (task, entry) in list {
            let s = task.state();
            let h = task.header();
            let state = if s & raw::COMPLETE != 0 {
                TaskState::Done
            } else if s & raw::RUNNING != 0 || current == Some(task) {
                TaskState::Running
            } else if s & raw::SCHEDULED != 0 {
                TaskState::Ready
            } else {
                TaskState::Waiting
            };
            let polls = h.polls.get();
            let waiting_on = match entry {
                Some(e) if state == TaskState::Waiting => {
                    render(dump::read_note(s, &Cell::new(e.note)))
                }
                _ => Vec::new(),
            };
            // The running task's poll started at `poll_at`; a registered one's last poll is
            // in its entry; any other was never polled.
            let last_poll = if current == Some(task) {
                Some(self.poll_at.get())
            } else {
                entry.map(|e| e.last_poll)
            };
            let awaited_by = task.with_join_waker(|w| w.and_then(who_waits).into_iter().collect());
            tasks.push(TaskEntry {
                id: Some(task.id()),
                name: task.name().map(|n| n.to_string()),
                spawned_at: Some(h.location),
                state,
                polls: u64::from(polls),
                since_last_poll: last_poll
                    .filter(|_| polls > 0)
                    .map(|at| Duration::from_nanos(now.saturating_sub(at))),
                waiting_on,
                awaited_by,
            });
        }
        TaskDump { tasks }
    }

    /// True when nothing can ever wake the main future or any task again (see
    /// `Builder`'s deadlock notes): nothing ready or on its way from another thread, no
    /// timer, no I/O source but the loop's own signal pipe, no blocking job, no `Handle`,
    /// no signal listener of the program's, and every waiting task's (and main's) waker
    /// clones are all held by loop-local primitives that reported them.
    fn deadlocked(&self) -> bool {
        if self.has_ready()
            || self.main_queued.get()
            || self.main.is_woken()
            || self.shared.remote.has_pending()
            || self.blocking_in_flight.get() > 0
            || self.shared.handles() > 0
            || self
                .timers
                .borrow_mut()
                .next_deadline()
                .is_some_and(|d| d != u64::MAX)
        {
            return false;
        }
        let signals = crate::signal::loop_state(self.shared.id);
        if signals.user_listeners > 0 || self.reactor.sources() > signals.sources {
            return false;
        }
        // Main: its waker is held by `self.main` and by `block_on`'s context, plus one
        // clone per local wait it reported.
        let main = dump::read_note(self.main_note_bits.get(), &self.main_note).local;
        if main == 0
            || main == raw::NOTE_LOCAL_MAX
            || Arc::strong_count(&self.main) != 2 + main as usize
        {
            return false;
        }
        // Every task that is not registered is queued or running: `has_ready` said none is.
        for i in 0..self.registry.len() {
            let Some(Entry { task, note, .. }) = self.registry.get(i) else {
                break;
            };
            if Some(task.id()) == signals.driver {
                continue; // the signal pipe's reader: no listener of the program's
            }
            let s = task.state();
            if s & (raw::SCHEDULED | raw::RUNNING | raw::COMPLETE | raw::CANCELLED) != 0 {
                return false;
            }
            // Every waker clone must be one a loop-local primitive reported; a saturated
            // count proves nothing.
            let local = dump::read_note(s, &Cell::new(note)).local;
            if local == 0 || local == raw::NOTE_LOCAL_MAX || task.ref_count() != 1 + local {
                return false;
            }
        }
        // A waker held on another thread may have been used and dropped while we counted:
        // its wake (main's flag, or the injection queue's pending mark) is stored before
        // the drop releases its count, so a count seen without it must be seen with the
        // wake. Look again after the counts (the fence makes the release of any count we
        // read visible); the first look above only saved the counting.
        std::sync::atomic::fence(Ordering::Acquire);
        !(self.main.is_woken() || self.shared.remote.has_pending() || self.has_ready())
    }

    #[cold]
    #[inline(never)]
    fn deadlock_panic(&self) -> ! {
        let dump = self.dump();
        panic!(
            "deadlock: every task is blocked, and nothing can wake any of them: no timer, no \
             I/O, no blocking job, no other thread (each waits on a loop-local primitive \
             whose other side no running task can reach)\n{dump}"
        );
    }
}
