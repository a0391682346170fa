//! The machinery behind `stream!` and `try_stream!`: an async block whose `yield`s were
//! rewritten into `__yield.send(value).await`.
//!
//! How it works: the stream polls the body; `send` parks the value in a shared slot and
//! returns `Pending` once, without a waker, which hands control back to `poll_next`; it
//! sees the value and returns it. The next `poll_next` resumes the body after the `yield`.
//! Dropping the stream drops the body, and with it every local of the generator.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

/// The `yield` side of a generator (used by the macros' expansion).
#[doc(hidden)]
pub struct Yielder<T> {
    slot: Arc<Mutex<Option<T>>>,
}

impl<T> Yielder<T> {
    /// Parks `value` for the consumer; resumes when the consumer asks for the next item.
    pub fn send(&mut self, value: T) -> YieldOnce<'_, T> {
        YieldOnce {
            yielder: self,
            value: Some(value),
        }
    }
}

/// The future of [`Yielder::send`].
#[doc(hidden)]
pub struct YieldOnce<'a, T> {
    yielder: &'a mut Yielder<T>,
    value: Option<T>,
}

impl<T> Unpin for YieldOnce<'_, T> {}

impl<T> Future for YieldOnce<'_, T> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        match self.value.take() {
            Some(v) => {
                *self.yielder.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
                Poll::Pending // back to `poll_next`, which hands the value out
            }
            None => Poll::Ready(()),
        }
    }
}

/// Creates the yielder and the slot the stream reads (used by the macros).
#[doc(hidden)]
pub fn pair<T>() -> (Yielder<T>, Receiver<T>) {
    let slot = Arc::new(Mutex::new(None));
    (Yielder { slot: slot.clone() }, Receiver { slot })
}

/// The stream's side of the slot.
#[doc(hidden)]
pub struct Receiver<T> {
    slot: Arc<Mutex<Option<T>>>,
}

impl<T> Receiver<T> {
    fn take(&self) -> Option<T> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

pin_project! {
    /// The stream made by [`stream!`](crate::stream!): a generator body and its slot.
    #[must_use = "streams do nothing unless polled"]
    pub struct AsyncStream<T, F> {
        rx: Receiver<T>,
        done: bool,
        #[pin]
        body: F,
    }
}

impl<T, F: Future<Output = ()>> AsyncStream<T, F> {
    #[doc(hidden)]
    pub fn new(rx: Receiver<T>, body: F) -> Self {
        AsyncStream {
            rx,
            done: false,
            body,
        }
    }
}

impl<T, F: Future<Output = ()>> Stream for AsyncStream<T, F> {
    type Item = T;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        let r = this.body.poll(cx);
        if let Some(v) = this.rx.take() {
            return Poll::Ready(Some(v));
        }
        match r {
            Poll::Ready(()) => {
                *this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

pin_project! {
    /// The stream made by [`try_stream!`](crate::try_stream!): yields `Ok(item)`s, then the
    /// body's error (if it returned one) as a last `Err`.
    #[must_use = "streams do nothing unless polled"]
    pub struct TryAsyncStream<T, E, F> {
        rx: Receiver<T>,
        done: bool,
        #[pin]
        body: F,
        _e: std::marker::PhantomData<E>,
    }
}

impl<T, E, F: Future<Output = Result<(), E>>> TryAsyncStream<T, E, F> {
    #[doc(hidden)]
    pub fn new(rx: Receiver<T>, body: F) -> Self {
        TryAsyncStream {
            rx,
            done: false,
            body,
            _e: std::marker::PhantomData,
        }
    }
}

impl<T, E, F: Future<Output = Result<(), E>>> Stream for TryAsyncStream<T, E, F> {
    type Item = Result<T, E>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T, E>>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        let r = this.body.poll(cx);
        if let Some(v) = this.rx.take() {
            return Poll::Ready(Some(Ok(v)));
        }
        match r {
            Poll::Ready(Ok(())) => {
                *this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Err(e)) => {
                *this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
