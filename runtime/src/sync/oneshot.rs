//! `oneshot`: one value, once, from one task to another (loop-local).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

pub use super::channel::RecvError;

struct Inner<T> {
    value: Option<T>,
    waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

/// A channel for a single value.
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let (tx, rx) = runtime::sync::oneshot::channel();
///     runtime::spawn(async move { tx.send(42).unwrap() });
///     assert_eq!(rx.await, Ok(42));
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Rc::new(RefCell::new(Inner {
        value: None,
        waker: None,
        sender_gone: false,
        receiver_gone: false,
    }));
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner },
    )
}

/// The sending half of a [`channel`].
pub struct Sender<T> {
    inner: Option<Rc<RefCell<Inner<T>>>>,
}

/// The receiving half of a [`channel`]: a future of the value. It resolves to
/// [`RecvError`] if the sender is dropped without sending.
pub struct Receiver<T> {
    inner: Rc<RefCell<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends the value.
    ///
    /// # Errors
    ///
    /// Gives the value back if the receiver is gone.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("sender used once");
        let mut g = inner.borrow_mut();
        if g.receiver_gone {
            return Err(value);
        }
        g.value = Some(value);
        g.sender_gone = true;
        if let Some(w) = g.waker.take() {
            w.wake();
        }
        Ok(())
    }

    /// True once the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.inner.as_ref().is_none_or(|i| i.borrow().receiver_gone)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let mut g = inner.borrow_mut();
            g.sender_gone = true;
            if let Some(w) = g.waker.take() {
                w.wake();
            }
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut g = self.inner.borrow_mut();
        if let Some(v) = g.value.take() {
            return Poll::Ready(Ok(v));
        }
        if g.sender_gone {
            return Poll::Ready(Err(RecvError));
        }
        g.waker = Some(cx.waker().clone());
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"oneshot::Receiver"), true);
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.inner.borrow_mut().receiver_gone = true;
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oneshot::Sender")
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oneshot::Receiver")
    }
}
