//! The event loop: [`Runtime`], its [`Builder`], [`run`], and the cross-thread [`Handle`].
//!
//! # Rules (cited as L1-L5 in the code)
//! - **L1 One tick.** `Core::turn` is the only place user code runs: task polls,
//!   `call_soon_threadsafe` callbacks, wakers of timers and I/O. Everything else only
//!   enqueues. The future given to `block_on` is polled by `block_on` itself, before
//!   each turn, when it was woken.
//! - **L2 One loop per thread at a time.** A thread-local points at the running loop's
//!   core while `block_on`/`turn` run. Starting a loop while one is running on the same
//!   thread is refused with [`AlreadyRunning`]: it would block the outer loop forever.
//! - **L3 Order.** Spawned tasks are queued, never polled inside `spawn`. Ready tasks run
//!   first-in first-out. A turn runs only the batch that was ready when the batch
//!   started; a task woken during it (including by itself) runs in a later turn, after
//!   I/O and timers were checked.
//! - **L4 The turn.** (1) Compute the wait: zero if a task, the main future or a remote
//!   thread has work, else until the next timer (a paused clock jumps there instead),
//!   capped by `max_wait`. (2) Poll I/O, skipping `epoll_wait` entirely when the wait is
//!   zero and no I/O source is registered (and, while tasks stay ready, doing it only
//!   every 64 polls). (3) Drain the injection queue. (4) Fire due timers. (5) Run the batch.
//! - **L5 Teardown.** Dropping a `Runtime` (and so the end of [`run`]) cancels every
//!   task still alive, drops each future on this thread, drops timers and I/O
//!   registrations, and closes the injection queue so that later wakes are no-ops.

pub(crate) mod context;
pub(crate) mod core;
mod local_queue;
mod metrics;
pub use metrics::RuntimeMetrics;
mod handle;
mod loop_pool;
pub use loop_pool::{run_per_core, LoopPool, LoopPoolBuilder, LoopPoolError};
pub(crate) mod remote;
pub(crate) mod watchdog;
/// The primitives `remote.rs` is written against (loom's in `tests/loom_remote.rs`).
mod remote_sync {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, Ordering};
    pub(crate) use std::sync::Mutex;
}
pub(crate) mod shared;

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

pub use handle::{Handle, LoopClosed, RemoteTask};

use self::context::Enter;
use self::core::Core;
use self::shared::Shared;
use crate::reactor::Reactor;
use crate::task::Task;
use crate::time::Clock;

/// What the loop does with a panic that nobody observed: the task's handle was dropped
/// (or never awaited) so its result was never retrieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnhandledPanic {
    /// Print it to stderr with the task's id and name, like asyncio's "Task exception
    /// was never retrieved". The default.
    #[default]
    Report,
    /// Drop it silently.
    Ignore,
    /// Report it, then stop: the running `block_on` panics at the end of the turn.
    ShutdownRuntime,
}

/// The error of starting a loop on a thread where one is already running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyRunning(());

impl fmt::Display for AlreadyRunning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an event loop is already running on this thread (asyncio: \"This event loop is \
             already running\"): `block_on`, `run` and `turn` would block it. Inside async \
             code, `.await` the future instead, or `runtime::spawn` it to run concurrently",
        )
    }
}

impl std::error::Error for AlreadyRunning {}

/// Configures a [`Runtime`].
///
/// # Examples
///
/// ```
/// use runtime::{Builder, UnhandledPanic};
///
/// let rt = Builder::new()
///     .start_paused(true)
///     .unhandled_panic(UnhandledPanic::Ignore)
///     .build()
///     .unwrap();
/// rt.block_on(async {
///     runtime::sleep(std::time::Duration::from_secs(60)).await; // instant: virtual time
/// });
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    start_paused: bool,
    max_blocking_threads: usize,
    unhandled_panic: UnhandledPanic,
    events_capacity: usize,
    blocking_shutdown_timeout: Duration,
    /// `None`: the default (debug builds 100 ms, `RUNTIME_SLOW_POLL_MS`); `Some(x)`: set.
    slow_poll_threshold: Option<Option<Duration>>,
    seed: Option<u64>,
    dump_on_signal: Option<crate::signal::SignalKind>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            start_paused: false,
            max_blocking_threads: 512,
            unhandled_panic: UnhandledPanic::Report,
            events_capacity: 1024,
            blocking_shutdown_timeout: Duration::from_secs(10),
            slow_poll_threshold: None,
            seed: None,
            dump_on_signal: None,
        }
    }
}

/// The slow-poll threshold in debug builds when nothing else sets it.
pub const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

/// The threshold a builder without an explicit one uses: `RUNTIME_SLOW_POLL_MS` if set
/// (`0`: off), else 100 ms in debug builds and off in release builds (and under Miri).
fn default_slow_poll_threshold() -> Option<Duration> {
    if let Ok(v) = std::env::var("RUNTIME_SLOW_POLL_MS") {
        match v.trim().parse::<u64>() {
            Ok(0) => return None,
            Ok(ms) => return Some(Duration::from_millis(ms)),
            Err(_) => eprintln!(
                "runtime: ignoring RUNTIME_SLOW_POLL_MS={v:?}: expected a number of \
                 milliseconds (0 turns slow-poll reports off)"
            ),
        }
    }
    (cfg!(debug_assertions) && !cfg!(miri)).then_some(DEFAULT_SLOW_POLL_THRESHOLD)
}

/// The seed a builder uses: `RUNTIME_SEED` overrides the one it was given.
fn effective_seed(seed: Option<u64>) -> Option<u64> {
    let seed = seed?;
    match std::env::var("RUNTIME_SEED") {
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(s) => Some(s),
            Err(_) => {
                eprintln!("runtime: ignoring RUNTIME_SEED={v:?}: expected an unsigned integer");
                Some(seed)
            }
        },
        Err(_) => Some(seed),
    }
}

impl Builder {
    /// The defaults: real time, `UnhandledPanic::Report`, up to 512 blocking threads.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Starts the loop's clock paused (virtual time): when every task is blocked the
    /// clock jumps to the next timer's deadline instead of waiting for it, so tests of
    /// timing run in microseconds and never flake. See [`time::advance`](crate::time::advance).
    ///
    /// "Blocked" means nothing is ready after the loop polled I/O without waiting and
    /// drained wakes from other threads. I/O that already arrived (loopback, a request in
    /// the socket) is delivered before the clock moves; but a task waiting on real I/O
    /// that is still on its way (a peer process, a socket to the outside) counts as
    /// blocked, so timers fire at once while the peer is still working: use real time for
    /// such tests, or mock the peer. What holds the clock: `run_in_executor` jobs in
    /// flight (their results arrive from another thread, so the clock waits for them).
    pub fn start_paused(mut self, paused: bool) -> Builder {
        self.start_paused = paused;
        self
    }

    /// The most threads the blocking pool of [`run_in_executor`](crate::run_in_executor)
    /// may start (default 512). Threads start on demand and retire after 10 s idle.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        assert!(n > 0, "max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// How long dropping the runtime waits for blocking jobs that are still running
    /// (default 10 s). Queued jobs are cancelled at once; jobs still running after this are
    /// reported on stderr and left to finish on their own threads.
    pub fn blocking_shutdown_timeout(mut self, timeout: Duration) -> Builder {
        self.blocking_shutdown_timeout = timeout;
        self
    }

    /// What to do with panics nobody observed. See [`UnhandledPanic`].
    pub fn unhandled_panic(mut self, policy: UnhandledPanic) -> Builder {
        self.unhandled_panic = policy;
        self
    }

    /// Reports polls that take longer than `threshold` (`None`: never), so that a task
    /// that blocks the loop (a `std::thread::sleep`, a blocking read, a long computation)
    /// is named: one line on stderr starting with `runtime: slow poll:` with the task's
    /// id, name, spawn location and how long the poll took, counted in
    /// [`RuntimeMetrics::slow_polls`]. A poll that does not return at all (an endless
    /// loop, a deadlocked mutex) is reported by a watchdog thread after three thresholds.
    /// This covers task polls, the main future and `call_soon_threadsafe` callbacks.
    ///
    /// Default: [`DEFAULT_SLOW_POLL_THRESHOLD`] (100 ms) in debug builds, off in release
    /// builds; the environment variable `RUNTIME_SLOW_POLL_MS` overrides the default
    /// (`0` = off), and this call overrides both. Timing costs two clock reads per poll;
    /// with detection off the loop reads no clock per poll.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = runtime::Builder::new()
    ///     .slow_poll_threshold(Some(Duration::from_millis(5)))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     runtime::spawn(async { std::thread::sleep(Duration::from_millis(20)) })
    ///         .await
    ///         .unwrap(); // stderr: runtime: slow poll: task #1 (spawned at ...) took 20.1ms ...
    ///     assert_eq!(runtime::metrics().slow_polls, 1);
    /// });
    /// ```
    pub fn slow_poll_threshold(mut self, threshold: Option<Duration>) -> Builder {
        self.slow_poll_threshold = Some(threshold.filter(|d| !d.is_zero()));
        self
    }

    /// Seeded scheduling, for tests that explore interleavings: whenever several tasks
    /// are ready in the same batch, they run in an order drawn from `seed` instead of
    /// first-in first-out. The same seed gives the same order on every run; tasks woken
    /// during a batch still run in a later batch (after I/O and timers were checked), and
    /// no task is ever skipped. The environment variable `RUNTIME_SEED` overrides `seed`
    /// (to replay a failure); when a seeded `block_on` panics, the seed is printed on
    /// stderr. `#[runtime::test(seed = N)]` sets this.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    ///
    /// let order = |seed| {
    ///     let rt = runtime::Builder::new().seed(seed).build().unwrap();
    ///     let log = Rc::new(RefCell::new(Vec::new()));
    ///     rt.block_on(async {
    ///         let tasks: Vec<_> = (0..8)
    ///             .map(|i| {
    ///                 let log = log.clone();
    ///                 runtime::spawn(async move { log.borrow_mut().push(i) })
    ///             })
    ///             .collect();
    ///         runtime::gather_tasks(tasks).await;
    ///     });
    ///     Rc::try_unwrap(log).unwrap().into_inner()
    /// };
    /// assert_eq!(order(7), order(7)); // reproducible
    /// let mut sorted = order(7);
    /// sorted.sort();
    /// assert_eq!(sorted, (0..8).collect::<Vec<_>>()); // nobody lost
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// Prints a [task dump](crate::task::dump) on stderr whenever the process receives
    /// `signal` (say `SIGUSR1`), at the loop's next turn: `kill -USR1 <pid>` shows what
    /// every task of a running program waits on, without changing its code. The listener
    /// is the runtime's own: it neither counts as the program's handler nor keeps a
    /// deadlocked program from being reported.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// runtime::Builder::new()
    ///     .dump_on_signal(runtime::signal::SignalKind::USER1)
    ///     .run(async {
    ///         // ... `kill -USR1 <pid>` prints every task and what it waits on
    ///     });
    /// ```
    pub fn dump_on_signal(mut self, signal: crate::signal::SignalKind) -> Builder {
        self.dump_on_signal = Some(signal);
        self
    }

    /// How many I/O events one `epoll_wait` may return (default 1024).
    pub fn events_capacity(mut self, n: usize) -> Builder {
        self.events_capacity = n.max(1);
        self
    }

    /// Creates the runtime.
    ///
    /// # Errors
    ///
    /// When the OS refuses the `epoll` instance or its waker (e.g. out of descriptors).
    pub fn build(&self) -> io::Result<Runtime> {
        let (reactor, waker) = Reactor::new(self.events_capacity)?;
        let registry = reactor.registry_clone()?;
        let shared = Arc::new(Shared::new(waker, registry, self.unhandled_panic));
        let mut core = Core::new(shared.clone(), reactor, Clock::new(self.start_paused));
        core.max_blocking_threads.set(self.max_blocking_threads);
        let threshold = self
            .slow_poll_threshold
            .unwrap_or_else(default_slow_poll_threshold);
        core.slow = threshold.map(|t| watchdog::SlowPolls::new(t, shared));
        core.rng.set(effective_seed(self.seed));
        core.dump_signal_kind.set(self.dump_on_signal);
        let seed = core.rng.get();
        Ok(Runtime {
            core: Box::new(core),
            blocking_shutdown_timeout: self.blocking_shutdown_timeout,
            seed,
        })
    }

    /// [`run`] on a loop with this builder's options (asyncio's `Runner`): the way to set
    /// `blocking_shutdown_timeout`, `max_blocking_threads`, `start_paused` or the panic
    /// policy for a whole program. `#[runtime::main]` uses the defaults; write a plain
    /// `fn main` calling this instead to change them.
    ///
    /// # Panics
    ///
    /// As [`run`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let out = runtime::Builder::new()
    ///     .blocking_shutdown_timeout(Duration::from_millis(100)) // exit waits at most this
    ///     .run(async { 7 });
    /// assert_eq!(out, 7);
    /// ```
    pub fn run<F: Future>(&self, future: F) -> F::Output {
        if context::with_core(|c| c.is_some()) {
            panic!("runtime::run: {}", AlreadyRunning(()));
        }
        let rt = self
            .build()
            .unwrap_or_else(|e| panic!("runtime::run: cannot create the event loop: {e}"));
        let out = rt.block_on(async move {
            // asyncio 3.11: the first Ctrl-C cancels the main task (here: drops the main
            // future, running its destructors); the loop then tears down as usual.
            match crate::signal::interrupt_listener() {
                Some(mut ctrl_c) => {
                    let interrupted = std::future::poll_fn(|cx| {
                        crate::signal::poll_unhandled_interrupt(&mut ctrl_c, cx)
                    });
                    match crate::combine::select(
                        std::pin::pin!(future),
                        std::pin::pin!(interrupted),
                    )
                    .await
                    {
                        crate::combine::Either::Left(v) => Some(v),
                        crate::combine::Either::Right(_) => None,
                    }
                }
                None => Some(future.await),
            }
        });
        drop(rt);
        match out {
            Some(v) => v,
            None => crate::signal::die_of_interrupt(),
        }
    }
}

/// A single-threaded event loop (asyncio's event loop).
///
/// Applications use [`run`] or `#[runtime::main]`; embedders own a `Runtime` and drive it
/// with [`block_on`](Runtime::block_on) (asyncio `run_until_complete`) or step it from
/// their own loop with [`turn`](Runtime::turn). A `Runtime` stays on the thread that made
/// it (`!Send`); other threads reach it through a [`Handle`]. Dropping it cancels and drops
/// every task still alive (rule L5).
///
/// Custom mio sources register on this loop's `mio::Poll` through
/// [`io::Source`](crate::io::Source), which hands out tokens and wakes tasks on readiness.
///
/// # Examples
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// let task = rt.spawn(async { "spawned from outside the loop" });
/// let out = rt.block_on(async { task.await.unwrap() });
/// assert_eq!(out, "spawned from outside the loop");
/// ```
pub struct Runtime {
    core: Box<Core>,
    blocking_shutdown_timeout: Duration,
    seed: Option<u64>,
}

impl Runtime {
    /// A runtime with the default [`Builder`] settings.
    ///
    /// # Errors
    ///
    /// See [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder for a configured runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs the loop until `future` completes and returns its output (asyncio
    /// `run_until_complete`). Tasks still alive afterwards stay for the next call.
    ///
    /// # Panics
    ///
    /// If a loop is already running on this thread (see [`AlreadyRunning`]; the outer
    /// loop is unaffected, and a task that hit this gets the panic as its error); if
    /// `future` panics; or if a task panicked unobserved under
    /// [`UnhandledPanic::ShutdownRuntime`].
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self.try_block_on(future) {
            Ok(v) => v,
            Err(e) => panic!("Runtime::block_on: {e}"),
        }
    }

    /// Like [`block_on`](Runtime::block_on), but returns an error instead of panicking
    /// when a loop is already running on this thread.
    ///
    /// # Errors
    ///
    /// [`AlreadyRunning`]; `future` is dropped unpolled.
    pub fn try_block_on<F: Future>(&self, future: F) -> Result<F::Output, AlreadyRunning> {
        let core = &*self.core;
        let _enter = Enter::new(core).ok_or(AlreadyRunning(()))?;
        let mut future = pin!(future);
        let waker = self::core::MainWake::waker(&core.main);
        let mut cx = Context::from_waker(&waker);
        core.in_block_on.set(true);
        // Cleared on every exit, including a panic in the future or the policy check.
        let _in_block_on = ResetOnDrop(&core.in_block_on);
        let _running = core.running();
        let _seed = SeedReport(self.seed);
        // The main future is a task in the ready order (L1): it is polled when its place
        // in the ready queue comes, after the tasks woken before it.
        core.start_main();
        loop {
            // Runs tasks until main's turn comes (or panics under `ShutdownRuntime`).
            core.turn_main();
            let timer = core.main_poll_begin();
            let res = future.as_mut().poll(&mut cx);
            core.main_poll_end(timer);
            if let Poll::Ready(v) = res {
                return Ok(v);
            }
            self.check_fatal();
        }
    }

    /// Runs one turn of the loop, for hosts that own their main loop (a GUI or game
    /// frame): waits for I/O, timers or wakes at most `max_wait` (not at all if work is
    /// ready), then runs the tasks that are ready. Returns how many tasks it polled.
    ///
    /// # Panics
    ///
    /// If a loop is already running on this thread, or under
    /// [`UnhandledPanic::ShutdownRuntime`] as for `block_on`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// let task = rt.spawn(async { runtime::sleep(Duration::from_millis(5)).await; 7 });
    /// while !task.is_done() {
    ///     rt.turn(Duration::from_millis(16)); // one frame's worth of waiting at most
    /// }
    /// ```
    pub fn turn(&self, max_wait: Duration) -> usize {
        let core = &*self.core;
        let Some(_enter) = Enter::new(core) else {
            panic!("Runtime::turn: {}", AlreadyRunning(()));
        };
        // Between turns the host waits on its own poller: a wake from another thread then
        // goes through the loop's waker, which makes `as_raw_fd` readable (the protocol
        // of a park, held while the host waits; see `next_deadline`).
        core.shared.remote.park_end();
        core.host_turn.set(true);
        let n = {
            let _running = core.running();
            core.turn(Some(max_wait))
        };
        core.host_turn.set(false);
        core.shared.remote.park_begin();
        self.check_fatal();
        n
    }

    /// When a host that steps this loop with [`turn`](Runtime::turn) must step it next,
    /// at the latest: now if tasks are ready (or a wake from another thread is queued);
    /// the next timer's deadline; `None` if only I/O or a wake from another thread can
    /// make progress, which makes the runtime's descriptor ([`AsRawFd`](std::os::fd::AsRawFd))
    /// readable. A host that waits on its own poller (a GUI toolkit, a game loop, calloop,
    /// `poll(2)`) waits for that descriptor with this deadline as its timeout, then calls
    /// `turn(Duration::ZERO)`. Ask again after each turn and after calling into the
    /// runtime from the host (spawning a task, say).
    ///
    /// On a paused clock the deadline is virtual: `turn` jumps the clock to it when
    /// nothing else is ready.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use runtime::time::Instant;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.next_deadline(), None); // nothing to do: wait on the descriptor
    /// let task = rt.spawn(runtime::sleep(Duration::from_millis(20)));
    /// assert!(rt.next_deadline().unwrap() <= Instant::now()); // a task is ready: step now
    /// rt.turn(Duration::ZERO); // the task starts its sleep
    /// let due = rt.next_deadline().unwrap();
    /// assert!(due > Instant::now());
    /// std::thread::sleep(due.duration_since(Instant::now()));
    /// rt.turn(Duration::ZERO);
    /// assert!(task.is_done());
    /// ```
    pub fn next_deadline(&self) -> Option<crate::time::Instant> {
        let core = &*self.core;
        if core.has_ready() || core.shared.remote.has_pending() {
            return Some(crate::time::Instant(core.clock.now_ns()));
        }
        core.timers
            .borrow_mut()
            .next_deadline()
            .filter(|&d| d != u64::MAX)
            .map(crate::time::Instant)
    }

    /// Spawns a task on this loop from outside it (the loop need not be running; the
    /// task starts on the next `block_on` or `turn`).
    #[track_caller]
    pub fn spawn<F: Future + 'static>(&self, future: F) -> Task<F::Output> {
        self.core
            .spawn(future, None, std::panic::Location::caller())
    }

    /// A `Send + Sync` handle for other threads.
    pub fn handle(&self) -> Handle {
        Handle::new(self.core.shared.clone())
    }

    /// How many tasks are alive (spawned and not yet finished).
    pub fn alive_tasks(&self) -> usize {
        self.core.live_tasks()
    }

    /// A snapshot of this loop's counters (see [`RuntimeMetrics`]).
    pub fn metrics(&self) -> RuntimeMetrics {
        self.core.metrics()
    }

    /// The configured limit of blocking-pool threads.
    pub fn max_blocking_threads(&self) -> usize {
        self.core.max_blocking_threads.get()
    }

    #[inline(always)]
    fn check_fatal(&self) {
        self.core.shared.check_fatal();
    }
}

/// Prints the seed of a seeded loop whose `block_on` panics, so the run can be replayed.
struct SeedReport(Option<u64>);

impl Drop for SeedReport {
    fn drop(&mut self) {
        if let (Some(seed), true) = (self.0, std::thread::panicking()) {
            eprintln!("runtime: this loop ran with seed {seed}: replay with RUNTIME_SEED={seed}");
        }
    }
}

struct ResetOnDrop<'a>(&'a std::cell::Cell<bool>);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// The loop's poller descriptor, for hosts that wait on their own poller: it becomes
/// readable whenever the loop has work that arrived from outside (socket readiness, a wake
/// from another thread, a [`Handle::call_soon_threadsafe`] callback). Timers and tasks
/// already ready do not show on it: wait at most until
/// [`next_deadline`](Runtime::next_deadline). The descriptor belongs to the runtime; do not
/// read from or close it.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use std::time::Duration;
///
/// let rt = runtime::Runtime::new().unwrap();
/// rt.turn(Duration::ZERO);
/// let handle = rt.handle();
/// std::thread::spawn(move || handle.call_soon_threadsafe(|| println!("from a thread")));
/// // The host's own wait: poll(2) on the runtime's descriptor.
/// let mut fds = [libc::pollfd { fd: rt.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
/// // SAFETY: one valid pollfd.
/// let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 10_000) };
/// assert_eq!(n, 1);
/// rt.turn(Duration::ZERO); // runs the callback
/// ```
impl std::os::fd::AsRawFd for Runtime {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.core.reactor.poller_fd()
    }
}

impl std::os::fd::AsFd for Runtime {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: the poller's descriptor stays open as long as the runtime (the reactor
        // owns it), and the borrow is tied to `&self`.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.core.reactor.poller_fd()) }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let core = &*self.core;
        let _enter = Enter::nested_for_teardown(core);
        core.shutdown();
        core.shutdown_blocking(self.blocking_shutdown_timeout);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("id", &self.core.shared.id)
            .field("alive_tasks", &self.alive_tasks())
            .finish()
    }
}

/// Runs `future` on a fresh loop and tears the loop down (asyncio `run`): when the
/// future returns, every task still alive is cancelled and dropped, then the loop is
/// closed. This is what `#[runtime::main]` calls.
///
/// Exit waits for `run_in_executor` jobs still running on the blocking pool, at most
/// `blocking_shutdown_timeout` (10 s by default; then they are left to finish on their
/// own threads, rule P3). To change that or any other option, use
/// [`Builder::run`].
///
/// Ctrl-C: while `run` runs, and unless the program already handles `SIGINT` itself,
/// the first Ctrl-C cancels the main future (dropping it runs its destructors and
/// cancels the loop's other tasks, as asyncio 3.11 does), prints `KeyboardInterrupt`,
/// and ends the process as killed by `SIGINT` (exit status 130 in a shell). A second
/// Ctrl-C during that teardown kills at once. After `run` returns, `SIGINT` has its
/// previous disposition again. To handle Ctrl-C yourself, use
/// [`signal::ctrl_c`](crate::signal::ctrl_c) (or a [`Signal`](crate::signal::Signal) for
/// `SIGINT`) inside the future: a Ctrl-C that one of your listeners exists for, or
/// received, is yours, and `run` leaves the main future alone, so your cleanup can await;
/// a Ctrl-C that arrives while none of yours listens (say, a second one during a long
/// cleanup) ends the program as above.
///
/// # Panics
///
/// If a loop is already running on this thread (see [`AlreadyRunning`]), if the OS
/// refuses to create the loop, or if `future` panics.
///
/// # Examples
///
/// ```
/// let out = runtime::run(async {
///     runtime::spawn(std::future::pending::<()>()); // cancelled when `run` returns
///     "done"
/// });
/// assert_eq!(out, "done");
/// ```
pub fn run<F: Future>(future: F) -> F::Output {
    Builder::new().run(future)
}
