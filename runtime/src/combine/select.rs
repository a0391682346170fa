//! `select` and `race`: the first of several futures wins, the others are dropped.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// One of two values: the output of [`select`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Either<A, B> {
    /// The first future won.
    Left(A),
    /// The second future won.
    Right(B),
}

/// Waits for the first of two futures and **drops the other one** (cancelling it).
///
/// The first future is polled first on every wake, so when both are ready the left one
/// wins (deterministic, unlike tokio's random `select!`). When the loser must keep
/// running, spawn both and use [`wait`](crate::wait) with
/// [`ReturnWhen::FirstCompleted`](crate::ReturnWhen::FirstCompleted): `wait` never cancels.
///
/// Over [`Task`](crate::Task)s, the loser is *detached*, not cancelled (dropping a
/// `Task` never cancels it); for asyncio's behaviour wrap each in
/// [`Task::abort_on_drop`](crate::Task::abort_on_drop) first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::Either;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let fast = async { runtime::sleep(Duration::from_secs(1)).await; "fast" };
///     let slow = async { runtime::sleep(Duration::from_secs(9)).await; 9 };
///     assert_eq!(runtime::select(fast, slow).await, Either::Left("fast"));
/// });
/// ```
pub fn select<A: Future, B: Future>(a: A, b: B) -> Select<A, B> {
    Select { a, b }
}

pin_project! {
    /// The future returned by [`select`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Select<A, B> {
        #[pin]
        a: A,
        #[pin]
        b: B,
    }
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.a.poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        if let Poll::Ready(v) = this.b.poll(cx) {
            return Poll::Ready(Either::Right(v));
        }
        Poll::Pending
    }
}

/// Waits for the first of many futures of one type and **drops all the others**.
///
/// Futures are polled in input order on every wake, so ties go to the earliest. Meant for
/// a handful of futures; see [`select`] for the cancellation caveat and the alternative.
///
/// # Panics
///
/// If `futures` is empty (there would be nothing to wait for).
///
/// Over [`Task`](crate::Task)s, the losers are *detached*, not cancelled (dropping a
/// `Task` never cancels it); for asyncio's behaviour wrap each in
/// [`Task::abort_on_drop`](crate::Task::abort_on_drop) first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// let first = rt.block_on(runtime::race([3u64, 1, 2].map(|s| async move {
///     runtime::sleep(Duration::from_secs(s)).await;
///     s
/// })));
/// assert_eq!(first, 1);
/// ```
pub fn race<F: Future, I: IntoIterator<Item = F>>(futures: I) -> Race<F> {
    let futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    assert!(
        !futures.is_empty(),
        "runtime::race needs at least one future"
    );
    Race { futures }
}

/// The future returned by [`race`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Race<F> {
    futures: Vec<Pin<Box<F>>>,
}

impl<F: Future> Future for Race<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        for f in self.futures.iter_mut() {
            if let Poll::Ready(v) = f.as_mut().poll(cx) {
                return Poll::Ready(v);
            }
        }
        Poll::Pending
    }
}
