//! `ThreadPoolExecutor`: concurrent.futures' thread pool; also the engine of the loop's
//! default blocking pool.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::future::{PoolError, PoolFuture};

/// `submit` after `shutdown` (concurrent.futures raises `RuntimeError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutDownError;

impl fmt::Display for ShutDownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot submit: the pool has been shut down")
    }
}

impl std::error::Error for ShutDownError {}

/// A queued job: `run` executes the closure and returns the step that publishes its
/// result (the worker calls it after marking itself idle, so that a submitter woken by
/// the result sees an idle thread to reuse); `fail` ends it unrun.
struct Job {
    run: Box<dyn FnOnce() -> Completion + Send>,
    /// Ends it unrun: `Cancelled` (only while still pending) or `BrokenThreadPool`.
    fail: Box<dyn FnOnce(PoolError) + Send>,
    /// When it was queued: the starvation monitor grows the pool past the number of CPUs
    /// only for jobs that waited longer than `STARVATION`.
    queued_at: Instant,
}

type Completion = Box<dyn FnOnce() + Send>;

/// How long the oldest queued job may wait, while every thread is busy, before the
/// monitor starts another thread beyond the number of CPUs.
const STARVATION: Duration = Duration::from_millis(1);

struct State {
    jobs: VecDeque<Job>,
    threads: usize,
    /// Threads not running a job (starting, sleeping, or publishing a result).
    idle: usize,
    /// Threads blocked on the `work` condvar (a subset of `idle`).
    sleeping: usize,
    shutdown: bool,
    /// Set when a worker's initializer panicked (concurrent.futures' broken pool).
    broken: Option<String>,
    /// Threads still to be joined at shutdown (a retiring thread detaches its own).
    handles: Vec<JoinHandle<()>>,
    next_name: usize,
    /// The starvation monitor, started the first time the pool reaches `fast_limit`.
    monitor: Option<JoinHandle<()>>,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// Signals queued jobs and shutdown to idle workers.
    work: Condvar,
    /// Signals a worker's exit to `shutdown(wait)`.
    exited: Condvar,
    /// Wakes the starvation monitor (jobs queued with every thread busy, or shutdown).
    monitor_cv: Condvar,
    max_workers: usize,
    /// Up to this many threads, a job that finds no idle thread starts one at once;
    /// beyond it, only the starvation monitor adds threads.
    fast_limit: usize,
    prefix: String,
    idle_timeout: Option<Duration>,
    initializer: Option<Arc<dyn Fn() + Send + Sync>>,
}

fn lock(s: &Shared) -> MutexGuard<'_, State> {
    s.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Configures a [`ThreadPoolExecutor`].
pub struct ThreadPoolBuilder {
    max_workers: usize,
    prefix: String,
    idle_timeout: Option<Duration>,
    initializer: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl ThreadPoolBuilder {
    /// At most this many threads (default: the number of CPUs + 4, at most 32, as in
    /// Python).
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    pub fn max_workers(mut self, n: usize) -> Self {
        assert!(n > 0, "max_workers must be at least 1");
        self.max_workers = n;
        self
    }

    /// Names the threads `{prefix}-0`, `{prefix}-1`, ... (Python cannot name its pool
    /// threads; we can).
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Runs `init` at the start of every worker thread (concurrent.futures `initializer`).
    pub fn initializer(mut self, init: impl Fn() + Send + Sync + 'static) -> Self {
        self.initializer = Some(Arc::new(init));
        self
    }

    /// Retires a thread that found no work for `timeout` (default: never, as in Python;
    /// the loop's blocking pool uses 10 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Creates the pool. Threads start on demand, one per submitted job while fewer than
    /// `max_workers` exist and none is idle.
    pub fn build(self) -> ThreadPoolExecutor {
        ThreadPoolExecutor {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    sleeping: 0,
                    shutdown: false,
                    broken: None,
                    handles: Vec::new(),
                    next_name: 0,
                    monitor: None,
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
                monitor_cv: Condvar::new(),
                max_workers: self.max_workers,
                fast_limit: std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .min(self.max_workers),
                prefix: self.prefix,
                idle_timeout: self.idle_timeout,
                initializer: self.initializer,
            }),
        }
    }
}

/// A pool of threads with concurrent.futures semantics, usable with or without a loop.
///
/// `submit` gives a [`PoolFuture`]; `map` gives results in input order; `shutdown(wait,
/// cancel_futures)` stops it, and dropping the pool is `shutdown(wait = true)` (Python's
/// `with ThreadPoolExecutor() as pool:`).
///
/// # Examples
///
/// ```
/// use runtime::pool::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::builder().max_workers(3).thread_name_prefix("worker").build();
/// let squares: Vec<u64> = pool.map(|x: u64| x * x, 1..=5).map(|r| r.unwrap()).collect();
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// let name = pool.submit(|| std::thread::current().name().unwrap().to_string()).unwrap();
/// assert!(name.result(None).unwrap().starts_with("worker-"));
/// ```
pub struct ThreadPoolExecutor {
    shared: Arc<Shared>,
}

impl ThreadPoolExecutor {
    /// A pool of at most `max_workers` threads named `ThreadPoolExecutor-N`.
    ///
    /// # Panics
    ///
    /// If `max_workers` is zero.
    pub fn new(max_workers: usize) -> ThreadPoolExecutor {
        Self::builder().max_workers(max_workers).build()
    }

    /// A builder (name prefix, initializer, idle timeout).
    pub fn builder() -> ThreadPoolBuilder {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        ThreadPoolBuilder {
            max_workers: (cpus + 4).min(32),
            prefix: "ThreadPoolExecutor".into(),
            idle_timeout: None,
            initializer: None,
        }
    }

    /// Submits `f`; it runs on a pool thread. A panic in `f` becomes
    /// [`PoolError::Panicked`].
    ///
    /// # Errors
    ///
    /// [`ShutDownError`] after [`shutdown`](ThreadPoolExecutor::shutdown).
    pub fn submit<T, F>(&self, f: F) -> Result<PoolFuture<T>, ShutDownError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let fut = PoolFuture::new();
        let (run_fut, cancel_fut) = (fut.handle(), fut.handle());
        let job = Job {
            run: Box::new(move || -> Completion {
                if !run_fut.set_running() {
                    return Box::new(|| {}); // cancelled while queued
                }
                let r = catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
                    PoolError::Panicked(
                        crate::task::error::payload_message(p.as_ref())
                            .unwrap_or("<non-string panic payload>")
                            .to_owned(),
                    )
                });
                Box::new(move || {
                    run_fut.complete(r);
                })
            }),
            fail: Box::new(move |e| {
                cancel_fut.complete(Err(e));
            }),
            queued_at: Instant::now(),
        };
        self.shared.push(job)?;
        Ok(fut)
    }

    /// Submits `f(item)` for every item and returns the results in input order; each
    /// `next()` blocks until that item's result is ready (concurrent.futures `map`).
    ///
    /// # Panics
    ///
    /// If the pool was shut down.
    pub fn map<A, T, F, I>(&self, f: F, items: I) -> impl Iterator<Item = Result<T, PoolError>>
    where
        A: Send + 'static,
        T: Send + 'static,
        F: Fn(A) -> T + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        let f = Arc::new(f);
        let futs: Vec<PoolFuture<T>> = items
            .into_iter()
            .map(|a| {
                let f = f.clone();
                self.submit(move || f(a))
                    .expect("ThreadPoolExecutor::map after shutdown")
            })
            .collect();
        futs.into_iter().map(PoolFuture::into_result)
    }

    /// Stops accepting jobs (concurrent.futures `shutdown`). With `cancel_futures`, jobs
    /// not yet started are cancelled; with `wait`, blocks until every running and queued
    /// job has finished and the threads have exited.
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.shared.shutdown(wait, cancel_futures, None);
    }

    /// How many threads exist now.
    pub fn threads(&self) -> usize {
        lock(&self.shared).threads
    }

    /// How many jobs wait in the queue (not started).
    pub fn queued(&self) -> usize {
        lock(&self.shared).jobs.len()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Shared {
    fn push(self: &Arc<Self>, job: Job) -> Result<(), ShutDownError> {
        let mut st = lock(self);
        if st.shutdown {
            return Err(ShutDownError);
        }
        if let Some(why) = st.broken.clone() {
            drop(st);
            (job.fail)(PoolError::BrokenThreadPool(why));
            return Ok(());
        }
        st.jobs.push_back(job);
        if !self.grow(&mut st) && st.threads == 0 {
            // No thread could be started at all: cancel rather than hang silently.
            let job = st.jobs.pop_back().expect("just pushed");
            drop(st);
            (job.fail)(PoolError::Cancelled);
            return Ok(());
        }
        // Wake a sleeper only if the awake idle threads (starting or publishing, about to
        // look at the queue) cannot take all the jobs: a notify is a system call.
        let awake_idle = st.idle - st.sleeping;
        if st.sleeping > 0 && st.jobs.len() > awake_idle {
            self.work.notify_one();
        }
        Ok(())
    }

    /// Starts threads for queued jobs that no idle thread will take (rule P2): at once up to
    /// `fast_limit` threads (the number of CPUs); beyond that the starvation monitor decides,
    /// so that a stream of short jobs is served by as many threads as there are CPUs, while
    /// jobs that block (sleep, I/O) still get their own threads, one millisecond later.
    /// Returns whether a thread was started.
    fn grow(self: &Arc<Self>, st: &mut State) -> bool {
        let mut started = false;
        while st.jobs.len() > st.idle && st.threads < self.max_workers {
            if st.threads >= self.fast_limit {
                self.wake_monitor(st);
                break;
            }
            if !self.spawn_worker(st) {
                break;
            }
            started = true;
        }
        started
    }

    fn spawn_worker(self: &Arc<Self>, st: &mut State) -> bool {
        let name = format!("{}-{}", self.prefix, st.next_name);
        let me = self.clone();
        match std::thread::Builder::new()
            .name(name)
            .spawn(move || me.worker())
        {
            Ok(h) => {
                st.handles.push(h);
                st.next_name += 1;
                st.threads += 1;
                st.idle += 1; // counts as idle until it takes a job
                true
            }
            Err(_) => false, // out of threads: the existing ones will get to it
        }
    }

    fn wake_monitor(self: &Arc<Self>, st: &mut State) {
        if st.monitor.is_none() {
            let me = self.clone();
            st.monitor = std::thread::Builder::new()
                .name(format!("{}-monitor", self.prefix))
                .spawn(move || me.monitor())
                .ok();
        }
        self.monitor_cv.notify_one();
    }

    /// Adds a thread whenever the oldest queued job has waited `STARVATION` with no
    /// idle thread to take it; sleeps while there is nothing to watch.
    fn monitor(self: Arc<Self>) {
        let mut st = lock(&self);
        loop {
            if st.shutdown && st.jobs.is_empty() {
                return;
            }
            let starving = st.idle == 0 && st.threads < self.max_workers;
            match st.jobs.front().map(|j| j.queued_at.elapsed()) {
                Some(age) if starving && age >= STARVATION => {
                    self.spawn_worker(&mut st);
                    continue;
                }
                Some(age) if starving => {
                    st = self
                        .monitor_cv
                        .wait_timeout(st, STARVATION - age)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                _ => {
                    // Nothing waits, or an idle thread will take it: sleep until woken.
                    st = self.monitor_cv.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }

    /// A worker thread. `idle` counts the threads not running a job (starting, waiting,
    /// or publishing a result).
    fn worker(self: Arc<Self>) {
        if let Some(init) = &self.initializer {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| init())) {
                let why = format!(
                    "a worker's initializer panicked: {}",
                    crate::task::error::payload_message(p.as_ref())
                        .unwrap_or("<non-string panic payload>")
                );
                self.break_pool(why);
                return;
            }
        }
        let mut st = lock(&self);
        loop {
            if let Some(job) = st.jobs.pop_front() {
                st.idle -= 1;
                self.grow(&mut st);
                drop(st);
                let publish = (job.run)();
                // Count as idle while publishing the result: whoever it wakes and submits
                // again finds this thread instead of starting a new one.
                lock(&self).idle += 1;
                publish();
                st = lock(&self);
                continue;
            }
            if st.shutdown {
                break;
            }
            st.sleeping += 1;
            let timed_out = match self.idle_timeout {
                Some(t) => {
                    let (g, r) = self
                        .work
                        .wait_timeout(st, t)
                        .unwrap_or_else(|e| e.into_inner());
                    st = g;
                    r.timed_out()
                }
                None => {
                    st = self.work.wait(st).unwrap_or_else(|e| e.into_inner());
                    false
                }
            };
            st.sleeping -= 1;
            if timed_out && st.jobs.is_empty() && !st.shutdown {
                // Retire an idle thread: detach its own handle, so that the thread's
                // stack goes when it exits instead of waiting for a join at shutdown.
                let me = std::thread::current().id();
                if let Some(i) = st.handles.iter().position(|h| h.thread().id() == me) {
                    drop(st.handles.swap_remove(i));
                }
                break;
            }
        }
        st.idle -= 1;
        st.threads -= 1;
        drop(st);
        self.exited.notify_all();
    }

    /// A worker's initializer panicked: the pool is broken (concurrent.futures'
    /// `BrokenThreadPool`): queued jobs and every later one fail with
    /// [`PoolError::BrokenThreadPool`]; the counts stay right, so dropping the pool does
    /// not wait for a thread that never was.
    fn break_pool(&self, why: String) {
        let failed: Vec<Job> = {
            let mut st = lock(self);
            st.broken.get_or_insert(why.clone());
            st.idle -= 1;
            st.threads -= 1;
            let me = std::thread::current().id();
            if let Some(i) = st.handles.iter().position(|h| h.thread().id() == me) {
                drop(st.handles.swap_remove(i));
            }
            st.jobs.drain(..).collect()
        };
        for job in failed {
            (job.fail)(PoolError::BrokenThreadPool(why.clone()));
        }
        self.exited.notify_all();
    }

    /// Shuts down; with `wait`, waits for the threads at most `limit` (forever if `None`).
    /// Returns how many threads were still running when it gave up.
    pub(crate) fn shutdown(
        &self,
        wait: bool,
        cancel_futures: bool,
        limit: Option<Duration>,
    ) -> usize {
        let cancelled: Vec<Job> = {
            let mut st = lock(self);
            st.shutdown = true;
            if cancel_futures {
                st.jobs.drain(..).collect()
            } else {
                Vec::new()
            }
        };
        for job in cancelled {
            (job.fail)(PoolError::Cancelled);
        }
        self.work.notify_all();
        self.monitor_cv.notify_all();
        if !wait {
            return 0;
        }
        let deadline = limit.map(|l| Instant::now() + l);
        let mut st = lock(self);
        while st.threads > 0 {
            st = match deadline {
                None => self.exited.wait(st).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return st.threads;
                    }
                    self.exited
                        .wait_timeout(st, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        let handles = std::mem::take(&mut st.handles);
        let monitor = st.monitor.take();
        drop(st);
        self.monitor_cv.notify_all();
        for h in handles.into_iter().chain(monitor) {
            let _ = h.join();
        }
        0
    }
}

impl Drop for ThreadPoolExecutor {
    fn drop(&mut self) {
        self.shared.shutdown(true, false, None);
    }
}

impl fmt::Debug for ThreadPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.shared);
        f.debug_struct("ThreadPoolExecutor")
            .field("threads", &st.threads)
            .field("queued", &st.jobs.len())
            .field("max_workers", &self.shared.max_workers)
            .finish()
    }
}

#[cfg(test)]
mod lifecycle_tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// How long a test waits before it calls the pool wedged. Only a guard: the expected
    /// path takes milliseconds, but a panic's backtrace under ThreadSanitizer on a loaded
    /// 2-core machine took more than 10 s once (CI).
    const HANG_GUARD: Duration = Duration::from_secs(120);

    #[test]
    fn retired_threads_are_not_kept_for_a_join() {
        let pool = ThreadPoolBuilder {
            max_workers: 16,
            prefix: "retire".into(),
            idle_timeout: Some(Duration::from_millis(5)),
            initializer: None,
        }
        .build();
        let rounds = if cfg!(miri) { 2 } else { 10 };
        for _ in 0..rounds {
            let barrier = Arc::new(std::sync::Barrier::new(4));
            let futs: Vec<_> = (0..4)
                .map(|_| {
                    let b = barrier.clone();
                    pool.submit(move || {
                        b.wait(); // four threads at once
                    })
                    .unwrap()
                })
                .collect();
            for f in futs {
                f.result(None).unwrap();
            }
            // Every thread retires before the next round.
            let start = Instant::now();
            while pool.threads() > 0 && start.elapsed() < HANG_GUARD {
                std::thread::sleep(Duration::from_millis(5));
            }
            assert_eq!(pool.threads(), 0);
            assert!(
                lock(&pool.shared).handles.is_empty(),
                "retired threads left their handles (and stacks) behind"
            );
        }
    }

    #[test]
    fn a_panicking_initializer_breaks_the_pool_instead_of_wedging_it() {
        let pool = ThreadPoolExecutor::builder()
            .max_workers(2)
            .initializer(|| panic!("on purpose: initializer"))
            .build();
        let r = pool.submit(|| 1).unwrap().result(Some(HANG_GUARD));
        assert!(
            matches!(&r, Err(PoolError::BrokenThreadPool(m)) if m.contains("initializer")),
            "{r:?}"
        );
        // Later jobs fail at once too (concurrent.futures: BrokenThreadPool on submit).
        let r = pool.submit(|| 2).unwrap().result(Some(HANG_GUARD));
        assert!(matches!(r, Err(PoolError::BrokenThreadPool(_))), "{r:?}");
        assert_eq!(pool.threads(), 0, "a phantom thread is counted");
        drop(pool); // returns: nothing to wait for
    }

    #[test]
    fn cancel_never_claims_a_job_that_ran() {
        let pool = ThreadPoolExecutor::new(1);
        let tries = if cfg!(miri) { 20 } else { 10_000 };
        for i in 0..tries {
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let f = pool
                .submit(move || r.store(true, Ordering::SeqCst))
                .unwrap();
            // Cancel at varying moments around the worker's PENDING -> RUNNING.
            for _ in 0..(i * 7) % 4000 {
                std::hint::spin_loop();
            }
            let cancelled = f.cancel();
            let result = f.result(None);
            if cancelled {
                assert_eq!(result, Err(PoolError::Cancelled));
                assert!(
                    !ran.load(Ordering::SeqCst),
                    "cancel() said true but the job ran"
                );
            } else {
                assert_eq!(result, Ok(()));
                assert!(ran.load(Ordering::SeqCst));
            }
        }
    }
}
