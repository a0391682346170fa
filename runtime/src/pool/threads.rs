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
/// the result sees an idle thread to reuse); `cancel` cancels it unrun.
struct Job {
    run: Box<dyn FnOnce() -> Completion + Send>,
    cancel: Box<dyn FnOnce() + Send>,
}

type Completion = Box<dyn FnOnce() + Send>;

struct State {
    jobs: VecDeque<Job>,
    threads: usize,
    idle: usize,
    shutdown: bool,
    handles: Vec<JoinHandle<()>>,
    next_name: usize,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// Signals queued jobs and shutdown to idle workers.
    work: Condvar,
    /// Signals a worker's exit to `shutdown(wait)`.
    exited: Condvar,
    max_workers: usize,
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
                    shutdown: false,
                    handles: Vec::new(),
                    next_name: 0,
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
                max_workers: self.max_workers,
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
                Box::new(move || run_fut.complete(r))
            }),
            cancel: Box::new(move || {
                cancel_fut.cancel();
            }),
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
        st.jobs.push_back(job);
        // Each idle worker will take one queued job; start another thread when the queue
        // is longer than that (P2). (`idle` lags until a woken worker runs, so counting
        // queued jobs, not pushes, keeps two quick submits from sharing one idle thread.)
        if st.jobs.len() > st.idle && st.threads < self.max_workers {
            st.threads += 1;
            let name = format!("{}-{}", self.prefix, st.next_name);
            st.next_name += 1;
            let me = self.clone();
            match std::thread::Builder::new()
                .name(name)
                .spawn(move || me.worker())
            {
                Ok(h) => st.handles.push(h),
                Err(_) => st.threads -= 1, // no thread: an existing one will get to it
            }
            if st.threads == 0 {
                // Could not start any thread: run nothing rather than hang silently.
                let job = st.jobs.pop_back().expect("just pushed");
                drop(st);
                (job.cancel)();
                return Ok(());
            }
        } else {
            self.work.notify_one();
        }
        Ok(())
    }

    fn worker(self: Arc<Self>) {
        if let Some(init) = &self.initializer {
            init();
        }
        let mut st = lock(&self);
        loop {
            if let Some(job) = st.jobs.pop_front() {
                drop(st);
                let publish = (job.run)();
                // Count as idle while publishing the result: whoever it wakes and submits
                // again finds this thread instead of starting a new one.
                lock(&self).idle += 1;
                publish();
                st = lock(&self);
                st.idle -= 1;
                continue;
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            let (g, timed_out) = match self.idle_timeout {
                Some(t) => {
                    let (g, r) = self
                        .work
                        .wait_timeout(st, t)
                        .unwrap_or_else(|e| e.into_inner());
                    (g, r.timed_out())
                }
                None => (self.work.wait(st).unwrap_or_else(|e| e.into_inner()), false),
            };
            st = g;
            st.idle -= 1;
            if timed_out && st.jobs.is_empty() && !st.shutdown {
                break; // retire an idle thread
            }
        }
        st.threads -= 1;
        drop(st);
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
            (job.cancel)();
        }
        self.work.notify_all();
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
        drop(st);
        for h in handles {
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
