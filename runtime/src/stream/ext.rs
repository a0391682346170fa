//! `StreamExt`: the adapters that make `futures_core::Stream` feel like `async for`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

/// Adapters and consumers for any `futures_core::Stream` (Python's `async for` and the
/// `itertools` you wish it had). Closures are plain (not async) unless named `then`.
///
/// # Examples
///
/// ```
/// use runtime::stream::{self, StreamExt};
///
/// runtime::run(async {
///     let v: Vec<u32> = stream::iter(1..=10)
///         .filter(|x| x % 2 == 0)
///         .map(|x| x * 10)
///         .take(3)
///         .collect()
///         .await;
///     assert_eq!(v, [20, 40, 60]);
/// });
/// ```
pub trait StreamExt: Stream {
    /// The next item (`anext()`), or `None` at the end.
    fn next(&mut self) -> Next<'_, Self>
    where
        Self: Unpin,
    {
        Next { stream: self }
    }

    /// Transforms each item.
    fn map<U, F: FnMut(Self::Item) -> U>(self, f: F) -> Map<Self, F>
    where
        Self: Sized,
    {
        Map { stream: self, f }
    }

    /// Keeps the items for which `f` is true.
    fn filter<F: FnMut(&Self::Item) -> bool>(self, f: F) -> Filter<Self, F>
    where
        Self: Sized,
    {
        Filter { stream: self, f }
    }

    /// Transforms and filters in one step.
    fn filter_map<U, F: FnMut(Self::Item) -> Option<U>>(self, f: F) -> FilterMap<Self, F>
    where
        Self: Sized,
    {
        FilterMap { stream: self, f }
    }

    /// Transforms each item with an async function, one at a time.
    fn then<Fut: Future, F: FnMut(Self::Item) -> Fut>(self, f: F) -> Then<Self, F, Fut>
    where
        Self: Sized,
    {
        Then {
            stream: self,
            f,
            pending: None,
        }
    }

    /// The first `n` items.
    fn take(self, n: usize) -> Take<Self>
    where
        Self: Sized,
    {
        Take {
            stream: self,
            left: n,
        }
    }

    /// Skips the first `n` items.
    fn skip(self, n: usize) -> Skip<Self>
    where
        Self: Sized,
    {
        Skip {
            stream: self,
            left: n,
        }
    }

    /// Items while `f` holds; ends at the first item for which it does not.
    fn take_while<F: FnMut(&Self::Item) -> bool>(self, f: F) -> TakeWhile<Self, F>
    where
        Self: Sized,
    {
        TakeWhile {
            stream: self,
            f,
            done: false,
        }
    }

    /// Pairs each item with its index.
    fn enumerate(self) -> Enumerate<Self>
    where
        Self: Sized,
    {
        Enumerate { stream: self, i: 0 }
    }

    /// This stream's items, then `other`'s.
    fn chain<S: Stream<Item = Self::Item>>(self, other: S) -> Chain<Self, S>
    where
        Self: Sized,
    {
        Chain {
            first: self,
            second: other,
            first_done: false,
        }
    }

    /// Pairs of items from both streams; ends with the shorter one.
    fn zip<S: Stream>(self, other: S) -> Zip<Self, S>
    where
        Self: Sized,
    {
        Zip {
            a: self,
            b: other,
            held: None,
        }
    }

    /// Folds every item into an accumulator.
    fn fold<A, F: FnMut(A, Self::Item) -> A>(self, init: A, f: F) -> Fold<Self, A, F>
    where
        Self: Sized,
    {
        Fold {
            stream: self,
            acc: Some(init),
            f,
        }
    }

    /// Collects every item (into a `Vec`, `String`, `HashMap`, ...).
    fn collect<C: Default + Extend<Self::Item>>(self) -> Collect<Self, C>
    where
        Self: Sized,
    {
        Collect {
            stream: self,
            out: Some(C::default()),
        }
    }

    /// Runs `f` on every item.
    fn for_each<F: FnMut(Self::Item)>(self, f: F) -> ForEach<Self, F>
    where
        Self: Sized,
    {
        ForEach { stream: self, f }
    }

    /// For a stream of futures: runs up to `n` at once, yields outputs in stream order.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    fn buffered(self, n: usize) -> Buffered<Self>
    where
        Self: Sized,
        Self::Item: Future,
    {
        assert!(n > 0, "buffered: the limit must be at least 1");
        Buffered {
            stream: self,
            limit: n,
            running: VecDeque::new(),
            done: false,
        }
    }

    /// For a stream of futures: runs up to `n` at once, yields outputs as they finish.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    fn buffer_unordered(self, n: usize) -> BufferUnordered<Self>
    where
        Self: Sized,
        Self::Item: Future,
    {
        assert!(n > 0, "buffer_unordered: the limit must be at least 1");
        BufferUnordered {
            stream: self,
            limit: n,
            running: Vec::new(),
            done: false,
        }
    }
}

impl<S: Stream + ?Sized> StreamExt for S {}

/// The future of [`StreamExt::next`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Next<'a, S: ?Sized> {
    stream: &'a mut S,
}

impl<S: Stream + Unpin + ?Sized> Future for Next<'_, S> {
    type Output = Option<S::Item>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.stream).poll_next(cx)
    }
}

pin_project! {
    /// The stream of [`StreamExt::map`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Map<S, F> { #[pin] stream: S, f: F }
}

impl<S: Stream, U, F: FnMut(S::Item) -> U> Stream for Map<S, F> {
    type Item = U;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<U>> {
        let this = self.project();
        this.stream.poll_next(cx).map(|o| o.map(this.f))
    }
}

pin_project! {
    /// The stream of [`StreamExt::filter`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Filter<S, F> { #[pin] stream: S, f: F }
}

impl<S: Stream, F: FnMut(&S::Item) -> bool> Stream for Filter<S, F> {
    type Item = S::Item;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(v)) if !(this.f)(&v) => continue,
                other => return other,
            }
        }
    }
}

pin_project! {
    /// The stream of [`StreamExt::filter_map`].
    #[must_use = "streams do nothing unless polled"]
    pub struct FilterMap<S, F> { #[pin] stream: S, f: F }
}

impl<S: Stream, U, F: FnMut(S::Item) -> Option<U>> Stream for FilterMap<S, F> {
    type Item = U;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<U>> {
        let mut this = self.project();
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(v)) => {
                    if let Some(u) = (this.f)(v) {
                        return Poll::Ready(Some(u));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

pin_project! {
    /// The stream of [`StreamExt::then`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Then<S, F, Fut> { #[pin] stream: S, f: F, #[pin] pending: Option<Fut> }
}

impl<S: Stream, Fut: Future, F: FnMut(S::Item) -> Fut> Stream for Then<S, F, Fut> {
    type Item = Fut::Output;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Fut::Output>> {
        let mut this = self.project();
        loop {
            if let Some(fut) = this.pending.as_mut().as_pin_mut() {
                let out = std::task::ready!(fut.poll(cx));
                this.pending.set(None);
                return Poll::Ready(Some(out));
            }
            match std::task::ready!(this.stream.as_mut().poll_next(cx)) {
                Some(v) => this.pending.set(Some((this.f)(v))),
                None => return Poll::Ready(None),
            }
        }
    }
}

pin_project! {
    /// The stream of [`StreamExt::take`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Take<S> { #[pin] stream: S, left: usize }
}

impl<S: Stream> Stream for Take<S> {
    type Item = S::Item;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if *this.left == 0 {
            return Poll::Ready(None);
        }
        let r = this.stream.poll_next(cx);
        if let Poll::Ready(Some(_)) = r {
            *this.left -= 1;
        }
        r
    }
}

pin_project! {
    /// The stream of [`StreamExt::skip`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Skip<S> { #[pin] stream: S, left: usize }
}

impl<S: Stream> Stream for Skip<S> {
    type Item = S::Item;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        while *this.left > 0 {
            match std::task::ready!(this.stream.as_mut().poll_next(cx)) {
                Some(_) => *this.left -= 1,
                None => return Poll::Ready(None),
            }
        }
        this.stream.poll_next(cx)
    }
}

pin_project! {
    /// The stream of [`StreamExt::take_while`].
    #[must_use = "streams do nothing unless polled"]
    pub struct TakeWhile<S, F> { #[pin] stream: S, f: F, done: bool }
}

impl<S: Stream, F: FnMut(&S::Item) -> bool> Stream for TakeWhile<S, F> {
    type Item = S::Item;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        match std::task::ready!(this.stream.poll_next(cx)) {
            Some(v) if (this.f)(&v) => Poll::Ready(Some(v)),
            _ => {
                *this.done = true;
                Poll::Ready(None)
            }
        }
    }
}

pin_project! {
    /// The stream of [`StreamExt::enumerate`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Enumerate<S> { #[pin] stream: S, i: usize }
}

impl<S: Stream> Stream for Enumerate<S> {
    type Item = (usize, S::Item);
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        match std::task::ready!(this.stream.poll_next(cx)) {
            Some(v) => {
                let i = *this.i;
                *this.i += 1;
                Poll::Ready(Some((i, v)))
            }
            None => Poll::Ready(None),
        }
    }
}

pin_project! {
    /// The stream of [`StreamExt::chain`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Chain<A, B> { #[pin] first: A, #[pin] second: B, first_done: bool }
}

impl<A: Stream, B: Stream<Item = A::Item>> Stream for Chain<A, B> {
    type Item = A::Item;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<A::Item>> {
        let this = self.project();
        if !*this.first_done {
            match std::task::ready!(this.first.poll_next(cx)) {
                Some(v) => return Poll::Ready(Some(v)),
                None => *this.first_done = true,
            }
        }
        this.second.poll_next(cx)
    }
}

pin_project! {
    /// The stream of [`StreamExt::zip`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Zip<A: Stream, B> { #[pin] a: A, #[pin] b: B, held: Option<A::Item> }
}

impl<A: Stream, B: Stream> Stream for Zip<A, B> {
    type Item = (A::Item, B::Item);
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if this.held.is_none() {
            match std::task::ready!(this.a.poll_next(cx)) {
                Some(v) => *this.held = Some(v),
                None => return Poll::Ready(None),
            }
        }
        match std::task::ready!(this.b.poll_next(cx)) {
            Some(w) => Poll::Ready(Some((this.held.take().expect("held above"), w))),
            None => Poll::Ready(None),
        }
    }
}

pin_project! {
    /// The future of [`StreamExt::fold`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Fold<S, A, F> { #[pin] stream: S, acc: Option<A>, f: F }
}

impl<S: Stream, A, F: FnMut(A, S::Item) -> A> Future for Fold<S, A, F> {
    type Output = A;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<A> {
        let mut this = self.project();
        loop {
            match std::task::ready!(this.stream.as_mut().poll_next(cx)) {
                Some(v) => {
                    let acc = this.acc.take().expect("`fold` polled after completion");
                    *this.acc = Some((this.f)(acc, v));
                }
                None => {
                    return Poll::Ready(this.acc.take().expect("`fold` polled after completion"))
                }
            }
        }
    }
}

pin_project! {
    /// The future of [`StreamExt::collect`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Collect<S, C> { #[pin] stream: S, out: Option<C> }
}

impl<S: Stream, C: Default + Extend<S::Item>> Future for Collect<S, C> {
    type Output = C;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C> {
        let mut this = self.project();
        loop {
            match std::task::ready!(this.stream.as_mut().poll_next(cx)) {
                Some(v) => this
                    .out
                    .as_mut()
                    .expect("`collect` polled after completion")
                    .extend(Some(v)),
                None => {
                    return Poll::Ready(this.out.take().expect("`collect` polled after completion"))
                }
            }
        }
    }
}

pin_project! {
    /// The future of [`StreamExt::for_each`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ForEach<S, F> { #[pin] stream: S, f: F }
}

impl<S: Stream, F: FnMut(S::Item)> Future for ForEach<S, F> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        loop {
            match std::task::ready!(this.stream.as_mut().poll_next(cx)) {
                Some(v) => (this.f)(v),
                None => return Poll::Ready(()),
            }
        }
    }
}

/// A future being run by `buffered`, then its output.
enum Slot<F: Future> {
    Running(Pin<Box<F>>),
    Done(F::Output),
}

pin_project! {
    /// The stream of [`StreamExt::buffered`]. Polls each running future on every wake
    /// (fine for the small limits this is used with).
    #[must_use = "streams do nothing unless polled"]
    pub struct Buffered<S: Stream> where S::Item: Future {
        #[pin] stream: S,
        limit: usize,
        running: VecDeque<Slot<S::Item>>,
        done: bool,
    }
}

impl<S: Stream> Stream for Buffered<S>
where
    S::Item: Future,
{
    type Item = <S::Item as Future>::Output;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        while !*this.done && this.running.len() < *this.limit {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(f)) => this.running.push_back(Slot::Running(Box::pin(f))),
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => break,
            }
        }
        for slot in this.running.iter_mut() {
            if let Slot::Running(f) = slot {
                if let Poll::Ready(v) = f.as_mut().poll(cx) {
                    *slot = Slot::Done(v);
                }
            }
        }
        if matches!(this.running.front(), Some(Slot::Done(_))) {
            if let Some(Slot::Done(v)) = this.running.pop_front() {
                return Poll::Ready(Some(v));
            }
        }
        if *this.done && this.running.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

pin_project! {
    /// The stream of [`StreamExt::buffer_unordered`].
    #[must_use = "streams do nothing unless polled"]
    pub struct BufferUnordered<S: Stream> where S::Item: Future {
        #[pin] stream: S,
        limit: usize,
        running: Vec<Pin<Box<S::Item>>>,
        done: bool,
    }
}

impl<S: Stream> Stream for BufferUnordered<S>
where
    S::Item: Future,
{
    type Item = <S::Item as Future>::Output;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        while !*this.done && this.running.len() < *this.limit {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(f)) => this.running.push(Box::pin(f)),
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => break,
            }
        }
        for i in 0..this.running.len() {
            if let Poll::Ready(v) = this.running[i].as_mut().poll(cx) {
                drop(this.running.swap_remove(i));
                cx.waker().wake_by_ref(); // refill on the next poll
                return Poll::Ready(Some(v));
            }
        }
        if *this.done && this.running.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}
