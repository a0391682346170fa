//! Blocking `wait` and `as_completed` over pool futures (concurrent.futures).

use std::time::{Duration, Instant};

use super::future::{PoolError, PoolFuture, Watch};
use crate::ReturnWhen;

fn failed<T>(f: &PoolFuture<T>) -> bool {
    matches!(
        f.shared
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .result,
        Some(Err(PoolError::Panicked(_) | PoolError::BrokenProcessPool(_)))
    )
}

/// Blocks until `return_when` holds or `timeout` passes, and returns the futures split
/// into `(done, not_done)`, each in input order (concurrent.futures `wait`). Nothing is
/// cancelled. `FirstException` stops at the first job that panicked or lost its worker.
///
/// # Examples
///
/// ```
/// use runtime::pool::{self, ThreadPoolExecutor};
/// use runtime::ReturnWhen;
///
/// let p = ThreadPoolExecutor::new(2);
/// let futs = vec![p.submit(|| 1).unwrap(), p.submit(|| 2).unwrap()];
/// let (done, not_done) = pool::wait(futs, ReturnWhen::AllCompleted, None);
/// assert_eq!((done.len(), not_done.len()), (2, 0));
/// ```
pub fn wait<T>(
    futures: Vec<PoolFuture<T>>,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
) -> (Vec<PoolFuture<T>>, Vec<PoolFuture<T>>) {
    let deadline = timeout.map(|t| Instant::now() + t);
    let watch = Watch::new();
    loop {
        *watch.fired.lock().unwrap_or_else(|e| e.into_inner()) = false;
        let mut n_done = 0;
        let mut any_failed = false;
        for f in &futures {
            if !f.watch(&watch) {
                n_done += 1;
                any_failed |= failed(f);
            }
        }
        let all = n_done == futures.len();
        let finished = match return_when {
            ReturnWhen::AllCompleted => all,
            ReturnWhen::FirstCompleted => all || n_done > 0,
            ReturnWhen::FirstException => all || any_failed,
        };
        let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
        if finished || timed_out {
            let (done, not_done) = futures.into_iter().partition(|f| f.done());
            return (done, not_done);
        }
        let mut fired = watch.fired.lock().unwrap_or_else(|e| e.into_inner());
        while !*fired {
            fired = match deadline {
                None => watch.cv.wait(fired).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    watch
                        .cv
                        .wait_timeout(fired, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

/// Yields the futures as they complete (concurrent.futures `as_completed`); after
/// `timeout`, yields one `Err(Timeout)` and stops. Futures already done come first.
///
/// # Examples
///
/// ```
/// use runtime::pool::{self, ThreadPoolExecutor};
///
/// let p = ThreadPoolExecutor::new(2);
/// let futs = vec![p.submit(|| 1).unwrap(), p.submit(|| 2).unwrap()];
/// let mut sum = 0;
/// for f in pool::as_completed(futs, None) {
///     sum += f.unwrap().into_result().unwrap();
/// }
/// assert_eq!(sum, 3);
/// ```
pub fn as_completed<T>(
    futures: Vec<PoolFuture<T>>,
    timeout: Option<Duration>,
) -> impl Iterator<Item = Result<PoolFuture<T>, super::Timeout>> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut pending = futures;
    let mut timed_out = false;
    std::iter::from_fn(move || {
        if pending.is_empty() || timed_out {
            return None;
        }
        loop {
            if let Some(i) = pending.iter().position(|f| f.done()) {
                return Some(Ok(pending.remove(i)));
            }
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining == Some(Duration::ZERO) {
                timed_out = true;
                return Some(Err(super::Timeout));
            }
            let (done, rest) = wait(
                std::mem::take(&mut pending),
                ReturnWhen::FirstCompleted,
                remaining,
            );
            pending = done.into_iter().chain(rest).collect();
        }
    })
}
