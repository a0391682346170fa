//! `PoolFuture<T>`: concurrent.futures' `Future`, also awaitable on the loop.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Why a pool job gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// The job was cancelled before it started (`cancel()`, `shutdown(cancel_futures)`).
    Cancelled,
    /// The job panicked (thread pool) or raised a panic in the worker (process pool).
    Panicked(String),
    /// A process-pool worker died while running the job (asyncio's `BrokenProcessPool`).
    BrokenProcessPool(String),
    /// Thread pool: a worker's `initializer` panicked, so the pool is broken and no job
    /// runs on it any more (concurrent.futures' `BrokenThreadPool`).
    BrokenThreadPool(String),
    /// Set with [`PoolFuture::set_exception`] by whoever runs the work (concurrent.futures'
    /// `set_exception`).
    Failed(String),
    /// Process pool: no function of that name is registered (a programming mistake:
    /// check the name against `process_functions!`).
    UnknownFunction(String),
    /// Process pool: the arguments do not decode into the function's argument type.
    BadArguments(String),
    /// Process pool: the result does not encode as JSON, or does not decode into the
    /// type the caller asked for.
    BadResult(String),
    /// The job's result was already taken (by `.await` or `into_result`).
    Taken,
    /// Only from [`PoolFuture::result`] with a timeout: the job was not done in time. It was
    /// not cancelled and keeps running.
    Timeout,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Cancelled => f.write_str("the job was cancelled"),
            PoolError::Panicked(m) => write!(f, "the job panicked: {m}"),
            PoolError::BrokenProcessPool(m) => write!(f, "broken process pool: {m}"),
            PoolError::BrokenThreadPool(m) => write!(f, "broken thread pool: {m}"),
            PoolError::Failed(m) => write!(f, "the job failed: {m}"),
            PoolError::UnknownFunction(m) => write!(f, "unknown function: {m}"),
            PoolError::BadArguments(m) => write!(f, "the arguments do not decode: {m}"),
            PoolError::BadResult(m) => write!(f, "bad result: {m}"),
            PoolError::Taken => f.write_str("the job's result was already taken"),
            PoolError::Timeout => {
                f.write_str("timed out waiting for the job (it was not cancelled)")
            }
        }
    }
}

impl std::error::Error for PoolError {}

/// A blocking wait ran out of time (concurrent.futures' `TimeoutError`). Nothing was
/// cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout;

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out waiting for the job (it was not cancelled)")
    }
}

impl std::error::Error for Timeout {}

/// A [`PoolFuture`] was set twice, or moved to running from a state other than pending
/// (concurrent.futures' `InvalidStateError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidStateError {
    /// The state the future was in.
    pub state: State,
}

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid state: the future is {:?}", self.state)
    }
}

impl std::error::Error for InvalidStateError {}

/// The state of a job, as in concurrent.futures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Queued, not started.
    Pending,
    /// A worker is running it.
    Running,
    /// It has a result or an error.
    Finished,
    /// Cancelled before it started.
    Cancelled,
}

type Callback<T> = Box<dyn FnOnce(&PoolFuture<T>) + Send>;

pub(crate) struct Inner<T> {
    pub(crate) state: State,
    pub(crate) result: Option<Result<T, PoolError>>,
    waker: Option<Waker>,
    callbacks: Vec<Callback<T>>,
    /// Blocking waiters of `pool::wait` / `as_completed`.
    watchers: Vec<Arc<Watch>>,
    /// Threads blocked in `wait` on this future's condvar (notify only when non-zero:
    /// a notify without waiters still costs a system call).
    blocked: usize,
}

/// A condition variable shared by a blocking `wait` over many futures.
pub(crate) struct Watch {
    pub(crate) fired: Mutex<bool>,
    pub(crate) cv: Condvar,
}

impl Watch {
    pub(crate) fn new() -> Arc<Watch> {
        Arc::new(Watch {
            fired: Mutex::new(false),
            cv: Condvar::new(),
        })
    }

    fn fire(&self) {
        *self.fired.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }
}

pub(crate) struct Shared<T> {
    pub(crate) inner: Mutex<Inner<T>>,
    cv: Condvar,
}

/// The handle of a job submitted to a [`ThreadPoolExecutor`](super::ThreadPoolExecutor)
/// or [`ProcessPoolExecutor`](super::ProcessPoolExecutor) (concurrent.futures' `Future`).
///
/// States go PENDING -> RUNNING -> FINISHED, or PENDING -> CANCELLED. The blocking
/// accessors work on any thread, with or without a loop; on the loop, `.await` it instead
/// (asyncio's `wrap_future`): the completion wakes the loop through its cross-thread path.
/// Dropping a `PoolFuture` does not cancel the job.
///
/// # Examples
///
/// ```
/// use runtime::pool::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(2);
/// let fut = pool.submit(|| 6 * 7).unwrap();
/// assert_eq!(fut.result(None), Ok(42)); // blocks this thread
/// assert!(fut.done());
/// ```
pub struct PoolFuture<T> {
    pub(crate) shared: Arc<Shared<T>>,
}

fn lock<T>(s: &Shared<T>) -> MutexGuard<'_, Inner<T>> {
    s.inner.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> PoolFuture<T> {
    /// A bare pending future, as an executor or a test creates one (concurrent.futures'
    /// `Future()`): complete it with [`set_running_or_notify_cancel`],
    /// [`set_result`](PoolFuture::set_result) or [`set_exception`](PoolFuture::set_exception).
    /// Done callbacks run inline, inside the call that completes it (or inside
    /// `add_done_callback` when it is already done), as in concurrent.futures.
    ///
    /// [`set_running_or_notify_cancel`]: PoolFuture::set_running_or_notify_cancel
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::pool::{PoolFuture, State};
    ///
    /// let fut = PoolFuture::new();
    /// let worker = fut.clone();
    /// assert!(worker.set_running_or_notify_cancel().unwrap());
    /// assert!(!fut.cancel()); // running: too late
    /// worker.set_result(42).unwrap();
    /// assert_eq!(fut.state(), State::Finished);
    /// assert_eq!(fut.result(None), Ok(42));
    /// assert!(worker.set_result(43).is_err()); // InvalidStateError
    /// ```
    pub fn new() -> PoolFuture<T> {
        PoolFuture {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    state: State::Pending,
                    result: None,
                    waker: None,
                    callbacks: Vec::new(),
                    watchers: Vec::new(),
                    blocked: 0,
                }),
                cv: Condvar::new(),
            }),
        }
    }

    pub(crate) fn handle(&self) -> PoolFuture<T> {
        PoolFuture {
            shared: self.shared.clone(),
        }
    }

    /// Identifies the job: equal for clones of the same future (and `==` compares it).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.shared) as *const () as usize
    }

    /// For whoever runs the work: PENDING -> RUNNING and `Ok(true)`, or `Ok(false)` if it
    /// was cancelled meanwhile (do not run it), as concurrent.futures'
    /// `set_running_or_notify_cancel`.
    ///
    /// # Errors
    ///
    /// [`InvalidStateError`] if it is already running or finished.
    pub fn set_running_or_notify_cancel(&self) -> Result<bool, InvalidStateError> {
        let mut g = lock(&self.shared);
        match g.state {
            State::Pending => {
                g.state = State::Running;
                Ok(true)
            }
            State::Cancelled => Ok(false),
            state => Err(InvalidStateError { state }),
        }
    }

    /// Completes it with `value` (concurrent.futures' `set_result`); done callbacks run
    /// here, inline.
    ///
    /// # Errors
    ///
    /// [`InvalidStateError`] if it is already done (finished or cancelled).
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        self.set_outcome(Ok(value))
    }

    /// Completes it with an error (concurrent.futures' `set_exception`): awaiting or
    /// `result()` gives [`PoolError::Failed`] with `message`.
    ///
    /// # Errors
    ///
    /// [`InvalidStateError`] if it is already done.
    pub fn set_exception(&self, message: impl Into<String>) -> Result<(), InvalidStateError> {
        self.set_outcome(Err(PoolError::Failed(message.into())))
    }

    fn set_outcome(&self, r: Result<T, PoolError>) -> Result<(), InvalidStateError> {
        if self.complete(r) {
            Ok(())
        } else {
            Err(InvalidStateError {
                state: lock(&self.shared).state,
            })
        }
    }

    /// Moves PENDING -> RUNNING; false if the job was cancelled (the worker skips it).
    pub(crate) fn set_running(&self) -> bool {
        let mut g = lock(&self.shared);
        if g.state != State::Pending {
            return false;
        }
        g.state = State::Running;
        true
    }

    /// Stores the outcome and runs the completion side effects (on this thread).
    pub(crate) fn complete(&self, result: Result<T, PoolError>) -> bool {
        let cancelled = matches!(result, Err(PoolError::Cancelled));
        let (waker, callbacks, watchers, blocked) = {
            let mut g = lock(&self.shared);
            if matches!(g.state, State::Finished | State::Cancelled) {
                return false;
            }
            // PENDING -> CANCELLED in this one critical section: a worker that moved the
            // job to RUNNING since the caller looked wins, and its result is kept.
            if cancelled && g.state != State::Pending {
                return false;
            }
            g.state = if cancelled {
                State::Cancelled
            } else {
                State::Finished
            };
            g.result = Some(result);
            (
                g.waker.take(),
                std::mem::take(&mut g.callbacks),
                std::mem::take(&mut g.watchers),
                g.blocked > 0,
            )
        };
        if blocked {
            self.shared.cv.notify_all();
        }
        if let Some(w) = waker {
            w.wake();
        }
        for w in watchers {
            w.fire();
        }
        for cb in callbacks {
            let me = self.handle();
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || cb(&me)));
        }
        true
    }

    /// The current state.
    pub fn state(&self) -> State {
        lock(&self.shared).state
    }

    /// True once finished or cancelled.
    pub fn done(&self) -> bool {
        matches!(self.state(), State::Finished | State::Cancelled)
    }

    /// True while a worker runs the job.
    pub fn running(&self) -> bool {
        self.state() == State::Running
    }

    /// True if cancelled before it started.
    pub fn cancelled(&self) -> bool {
        self.state() == State::Cancelled
    }

    /// Cancels the job if it has not started; returns true if it is (now) cancelled,
    /// false if it is running or finished (concurrent.futures `cancel`).
    pub fn cancel(&self) -> bool {
        // `complete` checks PENDING and cancels under one lock (no window for a worker).
        self.complete(Err(PoolError::Cancelled));
        self.cancelled()
    }

    /// Blocks until the job is done or `timeout` passes; true if done.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut g = lock(&self.shared);
        loop {
            if matches!(g.state, State::Finished | State::Cancelled) {
                return true;
            }
            g.blocked += 1;
            g = match deadline {
                None => self.shared.cv.wait(g).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        g.blocked -= 1;
                        return false;
                    }
                    self.shared
                        .cv
                        .wait_timeout(g, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
            g.blocked -= 1;
        }
    }

    /// Blocks until the job is done (or `timeout`), then gives its error, if any
    /// (concurrent.futures `exception`): `Ok(None)` when it succeeded.
    ///
    /// # Errors
    ///
    /// [`Timeout`] if not done in time (the job is not cancelled).
    pub fn exception(&self, timeout: Option<Duration>) -> Result<Option<PoolError>, Timeout> {
        if !self.wait(timeout) {
            return Err(Timeout);
        }
        Ok(match &lock(&self.shared).result {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        })
    }

    /// Blocks until done and takes the result, consuming the handle.
    ///
    /// # Errors
    ///
    /// The job's [`PoolError`].
    pub fn into_result(self) -> Result<T, PoolError> {
        self.wait(None);
        lock(&self.shared)
            .result
            .take()
            .unwrap_or(Err(PoolError::Taken))
    }

    /// Runs `callback` once the job is done: at once (on this thread) if it already is,
    /// otherwise on the thread that completes it.
    pub fn add_done_callback(&self, callback: impl FnOnce(&PoolFuture<T>) + Send + 'static) {
        {
            let mut g = lock(&self.shared);
            if !matches!(g.state, State::Finished | State::Cancelled) {
                g.callbacks.push(Box::new(callback));
                return;
            }
        }
        callback(self);
    }

    /// Registers a blocking watcher; returns false if already done.
    pub(crate) fn watch(&self, w: &Arc<Watch>) -> bool {
        let mut g = lock(&self.shared);
        if matches!(g.state, State::Finished | State::Cancelled) {
            return false;
        }
        g.watchers.push(w.clone());
        true
    }
}

impl<T: Clone> PoolFuture<T> {
    /// Blocks until done (or `timeout`) and gives a copy of the result
    /// (concurrent.futures `result`); it can be called again.
    ///
    /// # Errors
    ///
    /// The job's [`PoolError`], or [`PoolError::Timeout`] if it is not done in time (the
    /// job is not cancelled).
    pub fn result(&self, timeout: Option<Duration>) -> Result<T, PoolError> {
        if !self.wait(timeout) {
            return Err(PoolError::Timeout);
        }
        lock(&self.shared)
            .result
            .clone()
            .unwrap_or(Err(PoolError::Taken))
    }
}

impl<T> Clone for PoolFuture<T> {
    /// Another handle to the same job (cheap: a reference count).
    fn clone(&self) -> Self {
        self.handle()
    }
}

impl<T> Default for PoolFuture<T> {
    fn default() -> Self {
        PoolFuture::new()
    }
}

impl<T> PartialEq for PoolFuture<T> {
    /// The same job.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Eq for PoolFuture<T> {}

impl<T> Future for PoolFuture<T> {
    type Output = Result<T, PoolError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_labelled(cx, &"pool job")
    }
}

impl<T> PoolFuture<T> {
    /// `poll`, telling a task dump that the task waits on `label`.
    pub(crate) fn poll_labelled(
        &self,
        cx: &mut Context<'_>,
        label: &'static &'static str,
    ) -> Poll<Result<T, PoolError>> {
        let mut g = lock(&self.shared);
        if matches!(g.state, State::Finished | State::Cancelled) {
            return Poll::Ready(g.result.take().unwrap_or(Err(PoolError::Taken)));
        }
        match &g.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => g.waker = Some(cx.waker().clone()),
        }
        crate::task::dump::note_wait(crate::task::dump::Label::Op(label), false);
        Poll::Pending
    }
}

impl<T> fmt::Debug for PoolFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<PoolFuture state={:?}>", self.state())
    }
}
