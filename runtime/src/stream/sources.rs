//! Stream constructors: `iter`, `from_fn`, `unfold`, `once`, `empty`, `repeat_with`,
//! `poll_fn`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

/// The items of an iterator, as a stream (always ready).
///
/// # Examples
///
/// ```
/// use runtime::stream::{self, StreamExt};
/// let v: Vec<i32> = runtime::run(stream::iter([1, 2, 3]).collect());
/// assert_eq!(v, [1, 2, 3]);
/// ```
pub fn iter<I: IntoIterator>(items: I) -> Iter<I::IntoIter> {
    Iter {
        iter: items.into_iter(),
    }
}

/// The stream of [`iter`].
#[derive(Debug, Clone)]
#[must_use = "streams do nothing unless polled"]
pub struct Iter<I> {
    iter: I,
}

impl<I> Unpin for Iter<I> {}

impl<I: Iterator> Stream for Iter<I> {
    type Item = I::Item;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<I::Item>> {
        Poll::Ready(self.iter.next())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

/// Items from a closure until it returns `None` (`std::iter::from_fn`, as a stream).
///
/// # Examples
///
/// ```
/// use runtime::stream::{self, StreamExt};
/// let mut n = 0;
/// let v: Vec<u32> = runtime::run(stream::from_fn(move || { n += 1; (n <= 3).then_some(n) }).collect());
/// assert_eq!(v, [1, 2, 3]);
/// ```
pub fn from_fn<T, F: FnMut() -> Option<T>>(f: F) -> FromFn<F> {
    FromFn { f }
}

/// The stream of [`from_fn`].
#[must_use = "streams do nothing unless polled"]
pub struct FromFn<F> {
    f: F,
}

impl<F> Unpin for FromFn<F> {}

impl<T, F: FnMut() -> Option<T>> Stream for FromFn<F> {
    type Item = T;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
        Poll::Ready((self.f)())
    }
}

/// Items from an async step function over a state, until it returns `None`.
///
/// # Examples
///
/// ```
/// use runtime::stream::{self, StreamExt};
/// let s = stream::unfold(1u32, |n| async move { (n <= 3).then(|| (n, n + 1)) });
/// let v: Vec<u32> = runtime::run(s.collect());
/// assert_eq!(v, [1, 2, 3]);
/// ```
pub fn unfold<S, T, Fut, F>(state: S, f: F) -> Unfold<S, F, Fut>
where
    F: FnMut(S) -> Fut,
    Fut: Future<Output = Option<(T, S)>>,
{
    Unfold {
        state: Some(state),
        f,
        fut: None,
    }
}

pin_project! {
    /// The stream of [`unfold`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Unfold<S, F, Fut> { state: Option<S>, f: F, #[pin] fut: Option<Fut> }
}

impl<S, T, Fut, F> Stream for Unfold<S, F, Fut>
where
    F: FnMut(S) -> Fut,
    Fut: Future<Output = Option<(T, S)>>,
{
    type Item = T;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut this = self.project();
        if let Some(state) = this.state.take() {
            this.fut.set(Some((this.f)(state)));
        }
        let Some(fut) = this.fut.as_mut().as_pin_mut() else {
            return Poll::Ready(None); // ended
        };
        let out = std::task::ready!(fut.poll(cx));
        this.fut.set(None);
        match out {
            Some((item, next)) => {
                *this.state = Some(next);
                Poll::Ready(Some(item))
            }
            None => Poll::Ready(None),
        }
    }
}

/// A stream of exactly one item.
pub fn once<T>(value: T) -> Iter<std::iter::Once<T>> {
    iter(std::iter::once(value))
}

/// A stream with no items.
pub fn empty<T>() -> Iter<std::iter::Empty<T>> {
    iter(std::iter::empty())
}

/// An endless stream of values from a closure (combine with `take`).
pub fn repeat_with<T, F: FnMut() -> T>(f: F) -> Iter<std::iter::RepeatWith<F>> {
    iter(std::iter::repeat_with(f))
}

/// A stream from a poll function (the stream twin of `std::future::poll_fn`).
pub fn poll_fn<T, F: FnMut(&mut Context<'_>) -> Poll<Option<T>>>(f: F) -> PollFn<F> {
    PollFn { f }
}

/// The stream of [`poll_fn`].
#[must_use = "streams do nothing unless polled"]
pub struct PollFn<F> {
    f: F,
}

impl<F> Unpin for PollFn<F> {}

impl<T, F: FnMut(&mut Context<'_>) -> Poll<Option<T>>> Stream for PollFn<F> {
    type Item = T;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        (self.f)(cx)
    }
}
