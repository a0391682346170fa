//! `run_in_executor`: blocking work on a thread pool, awaited from the loop.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use super::future::{PoolError, PoolFuture};
use super::threads::{ShutDownError, ThreadPoolExecutor};
use crate::event_loop::context;

/// Tells a blocking closure that nobody waits for its result any more; see
/// [`run_in_executor_with_token`].
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// True once the awaiting future was dropped (cancelled).
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn cancel(&self) {
        self.0.store(true, Ordering::Release)
    }
}

/// Runs the blocking closure `f` on the loop's default thread pool and returns a future of
/// its result (asyncio `loop.run_in_executor(None, f)` / `asyncio.to_thread`, tokio's
/// `spawn_blocking`).
///
/// A panic in `f` comes back as [`PoolError::Panicked`]. The pool starts threads on demand
/// up to [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads), names
/// them `runtime-blocking-N`, reuses them, and retires one that stays idle for 10 s.
///
/// # Cancel safety
///
/// Dropping the returned [`Blocking`] before the job starts removes the job. Once started,
/// the closure runs to its end (a thread cannot be interrupted) and its result is dropped;
/// a closure that wants to stop early takes a [`CancelToken`] through
/// [`run_in_executor_with_token`].
///
/// # Panics
///
/// Outside a running loop.
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let n = runtime::run_in_executor(|| {
///         std::thread::sleep(std::time::Duration::from_millis(10)); // blocking is fine here
///         42
///     })
///     .await
///     .unwrap();
///     assert_eq!(n, 42);
/// });
/// ```
#[doc(alias = "spawn_blocking")]
#[doc(alias = "to_thread")]
pub fn run_in_executor<T, F>(f: F) -> Blocking<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    run_in_executor_with_token(move |_| f())
}

/// Like [`run_in_executor`], handing the closure a [`CancelToken`] that turns true when the
/// awaiting future is dropped, so long jobs can stop early.
///
/// # Panics
///
/// Outside a running loop.
pub fn run_in_executor_with_token<T, F>(f: F) -> Blocking<T>
where
    T: Send + 'static,
    F: FnOnce(&CancelToken) -> T + Send + 'static,
{
    context::expect_core(|core| {
        let token = CancelToken::default();
        let t = token.clone();
        let fut = core
            .blocking_pool()
            .submit(move || f(&t))
            .expect("the loop's blocking pool is shut down only when the loop is dropped");
        core.blocking_started();
        Blocking {
            fut,
            token,
            loop_id: Some(core.shared.id),
        }
    })
}

/// Runs `f` on a specific pool and awaits it (asyncio `loop.run_in_executor(pool, f)`),
/// with the same cancel-on-drop behaviour as [`run_in_executor`].
///
/// # Errors
///
/// [`ShutDownError`] if the pool was shut down.
pub fn run_in_executor_on<T, F>(
    pool: &ThreadPoolExecutor,
    f: F,
) -> Result<Blocking<T>, ShutDownError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    Ok(Blocking {
        fut: pool.submit(f)?,
        token: CancelToken::default(),
        loop_id: None,
    })
}

/// The future of [`run_in_executor`]: the job's result, or a [`PoolError`]. Dropping it
/// cancels the job if it has not started.
#[must_use = "dropping a `Blocking` cancels the job if it has not started"]
pub struct Blocking<T> {
    fut: PoolFuture<T>,
    token: CancelToken,
    /// The loop whose "blocking jobs in flight" count this job holds (virtual time must
    /// not jump while one runs).
    loop_id: Option<u64>,
}

impl<T> Blocking<T> {
    /// The underlying pool future (state, `done()`, ...).
    pub fn pool_future(&self) -> &PoolFuture<T> {
        &self.fut
    }

    /// Cancels the job if it has not started (concurrent.futures' `cancel`): true if it
    /// is now cancelled (awaiting gives `PoolError::Cancelled`), false once it runs or
    /// ran. A running job is never interrupted (see `run_in_executor_with_token`).
    pub fn cancel(&self) -> bool {
        self.fut.cancel()
    }

    /// True if it was cancelled before it started.
    pub fn cancelled(&self) -> bool {
        self.fut.cancelled()
    }

    /// True while a pool thread runs it.
    pub fn running(&self) -> bool {
        self.fut.running()
    }

    /// True once it finished or was cancelled.
    pub fn done(&self) -> bool {
        self.fut.done()
    }

    fn release(&mut self) {
        if let Some(id) = self.loop_id.take() {
            context::with_core(|c| {
                if let Some(core) = c.filter(|c| c.shared.id == id) {
                    core.blocking_finished();
                }
            });
        }
    }
}

impl<T> Future for Blocking<T> {
    type Output = Result<T, PoolError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let r = self.fut.poll_labelled(cx, &"run_in_executor job");
        if r.is_ready() {
            self.release();
        }
        r
    }
}

impl<T> Drop for Blocking<T> {
    fn drop(&mut self) {
        if !self.fut.done() {
            self.fut.cancel();
            self.token.cancel();
        }
        self.release();
    }
}

impl<T> std::fmt::Debug for Blocking<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blocking({:?})", self.fut)
    }
}
