//! A channel whose senders are `Send`: plain threads (and the blocking pool) feed the
//! loop. The receiver lives on the loop; every send wakes it through the cross-thread
//! wake path.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

pub use super::channel::SendError;
pub use super::mpsc::TryRecvError;

struct Inner<T> {
    queue: VecDeque<T>,
    waker: Option<Waker>,
    senders: usize,
    closed: bool,
}

/// An unbounded channel with `Send + Sync` senders usable from any thread.
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let (tx, mut rx) = runtime::sync::cross_thread::unbounded();
///     let worker = std::thread::spawn(move || {
///         for i in 0..3 {
///             tx.send(i).unwrap();
///         }
///     });
///     let mut got = Vec::new();
///     while let Some(v) = rx.recv().await {
///         got.push(v);
///     }
///     worker.join().unwrap();
///     assert_eq!(got, [0, 1, 2]);
/// });
/// ```
pub fn unbounded<T: Send>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Mutex::new(Inner {
        queue: VecDeque::new(),
        waker: None,
        senders: 1,
        closed: false,
    }));
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver { inner },
    )
}

/// The `Send + Sync + Clone` sending half of [`unbounded`].
pub struct Sender<T> {
    inner: Arc<Mutex<Inner<T>>>,
}

/// The receiving half of [`unbounded`]; a `futures_core::Stream`.
pub struct Receiver<T> {
    inner: Arc<Mutex<Inner<T>>>,
}

fn lock<T>(m: &Mutex<Inner<T>>) -> std::sync::MutexGuard<'_, Inner<T>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> Sender<T> {
    /// Queues `value` from any thread (never blocks beyond a short lock).
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is gone or closed the channel.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let waker = {
            let mut g = lock(&self.inner);
            if g.closed {
                return Err(SendError(value));
            }
            g.queue.push_back(value);
            g.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.inner).senders += 1;
        Sender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut g = lock(&self.inner);
            g.senders -= 1;
            if g.senders == 0 {
                g.waker.take()
            } else {
                None
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// The next value; `None` once every sender is gone and nothing is left.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next value.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut g = lock(&self.inner);
        if let Some(v) = g.queue.pop_front() {
            return Poll::Ready(Some(v));
        }
        if g.senders == 0 || g.closed {
            return Poll::Ready(None);
        }
        let old = match &g.waker {
            Some(w) if w.will_wake(cx.waker()) => None,
            _ => g.waker.replace(cx.waker().clone()),
        };
        drop(g);
        drop(old); // a waker's `Drop` is foreign code: never under the lock
        crate::task::dump::note_wait(
            crate::task::dump::Label::Op(&"cross_thread::Receiver::recv"),
            false,
        );
        Poll::Pending
    }

    /// The next value if one is queued.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or [`TryRecvError::Closed`].
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut g = lock(&self.inner);
        match g.queue.pop_front() {
            Some(v) => Ok(v),
            None if g.senders == 0 || g.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel: later sends fail; queued values can still be received.
    pub fn close(&mut self) {
        lock(&self.inner).closed = true;
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // The queued values are dropped after the lock is released: a value may own a
        // `Sender` of this channel (a reply-to), whose `Drop` takes the lock again.
        let queued = {
            let mut g = lock(&self.inner);
            g.closed = true;
            std::mem::take(&mut g.queue)
        };
        drop(queued);
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cross_thread::Sender")
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cross_thread::Receiver")
    }
}
