//! `Channel<T>`: Stackless Python's rendezvous channel.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::waiters::{WaitKey, Waiters};

/// The error of [`Channel::send`] on a closed channel; carries the value back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// The error of receiving from a closed channel with nothing left to take.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on a closed and empty channel")
    }
}

impl std::error::Error for RecvError {}

struct Inner<T> {
    /// Values of blocked senders, in order, with the sender's wait key.
    senders: VecDeque<(WaitKey, T)>,
    send_waiters: Waiters,
    /// Receivers that wait; a sender hands its value to the oldest one.
    recv_waiters: Waiters,
    /// Values handed to a receiver that was cancelled before taking them: the next
    /// receiver gets them first (nothing is lost).
    handed: VecDeque<T>,
    /// Values handed over, keyed by the receiving waiter.
    slots: Vec<(WaitKey, T)>,
    closed: bool,
}

/// A rendezvous channel with Stackless semantics: no buffer, cloneable, both ends on
/// every clone.
///
/// - `send(v)` to a waiting receiver hands `v` over; the receiver runs **next**, before
///   anything else in the ready queue, and the sender goes to the back of the queue.
/// - `send(v)` with no receiver waiting blocks the sender until one arrives.
/// - `receive()` with a sender waiting takes its value at once; the sender resumes later.
/// - [`balance`](Channel::balance): senders waiting (positive) or receivers waiting
///   (negative), as `channel.balance` in Stackless.
/// - [`close`](Channel::close): pending and later sends fail with the value; receivers
///   get [`RecvError`] once no value is left.
///
/// # Examples
///
/// ```
/// use runtime::sync::Channel;
///
/// runtime::run(async {
///     let ch = Channel::new();
///     let rx = ch.clone();
///     let receiver = runtime::spawn(async move { rx.receive().await.unwrap() });
///     ch.send("hello").await.unwrap();
///     assert_eq!(receiver.await.unwrap(), "hello");
/// });
/// ```
pub struct Channel<T> {
    inner: Rc<RefCell<Inner<T>>>,
}

impl<T> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Channel {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Default for Channel<T> {
    fn default() -> Self {
        Channel::new()
    }
}

impl<T> Channel<T> {
    /// A new, open channel.
    pub fn new() -> Channel<T> {
        Channel {
            inner: Rc::new(RefCell::new(Inner {
                senders: VecDeque::new(),
                send_waiters: Waiters::new(),
                recv_waiters: Waiters::new(),
                handed: VecDeque::new(),
                slots: Vec::new(),
                closed: false,
            })),
        }
    }

    /// Sends `value`, waiting for a receiver (see the type's docs for who runs when).
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the channel is (or gets) closed first.
    ///
    /// # Cancel safety
    ///
    /// Dropping a blocked `send` withdraws the value; once it was handed over, the
    /// receiver has it.
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            chan: self,
            value: Some(value),
            key: None,
            handed: false,
        }
    }

    /// Receives a value, waiting for a sender.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the channel is closed and no value is left.
    ///
    /// # Cancel safety
    ///
    /// A value handed to a `receive` that is dropped before it runs goes to the next
    /// receiver; nothing is lost.
    pub fn receive(&self) -> Receive<'_, T> {
        Receive {
            chan: self,
            key: None,
        }
    }

    /// Blocked senders (positive) or blocked receivers (negative).
    pub fn balance(&self) -> isize {
        let g = self.inner.borrow();
        g.send_waiters.len() as isize - g.recv_waiters.len() as isize
    }

    /// Closes the channel: blocked senders get their values back in [`SendError`],
    /// blocked receivers get [`RecvError`].
    pub fn close(&self) {
        let mut g = self.inner.borrow_mut();
        g.closed = true;
        g.send_waiters.notify_all();
        g.recv_waiters.notify_all();
    }

    /// True once [`close`](Channel::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.borrow().closed
    }
}

/// The future of [`Channel::send`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Send<'a, T> {
    chan: &'a Channel<T>,
    value: Option<T>,
    key: Option<WaitKey>,
    /// The value went to a receiver; one yield to the back of the queue remains.
    handed: bool,
}

impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.handed {
            return Poll::Ready(Ok(()));
        }
        let mut g = this.chan.inner.borrow_mut();
        if let Some(key) = this.key {
            // Blocked earlier: has a receiver taken the value (or the channel closed)?
            if !g.send_waiters.poll_notified(key, cx.waker()) {
                crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Channel::send"), true);
                return Poll::Pending;
            }
            this.key = None;
            if let Some(pos) = g.senders.iter().position(|(k, _)| *k == key) {
                // Notified by `close`: the value is still ours.
                let (_, v) = g.senders.remove(pos).expect("found");
                return Poll::Ready(Err(SendError(v)));
            }
            return Poll::Ready(Ok(()));
        }
        let value = this.value.take().expect("`Send` polled after completion");
        if g.closed {
            return Poll::Ready(Err(SendError(value)));
        }
        if let Some(receiver) = g.recv_waiters.front() {
            // Hand over: the receiver runs next, the sender goes to the back.
            g.slots.push((receiver, value));
            g.recv_waiters.notify_one_next();
            drop(g);
            this.handed = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let key = g.send_waiters.push(cx.waker());
        g.senders.push_back((key, value));
        this.key = Some(key);
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Channel::send"), true);
        Poll::Pending
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut g = self.chan.inner.borrow_mut();
            let _ = g.send_waiters.remove(key);
            if let Some(pos) = g.senders.iter().position(|(k, _)| *k == key) {
                g.senders.remove(pos); // withdraw the value
            }
        }
    }
}

/// The future of [`Channel::receive`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Receive<'a, T> {
    chan: &'a Channel<T>,
    key: Option<WaitKey>,
}

impl<T> Unpin for Receive<'_, T> {}

impl<T> Future for Receive<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut g = this.chan.inner.borrow_mut();
        if let Some(key) = this.key {
            if !g.recv_waiters.poll_notified(key, cx.waker()) {
                crate::task::dump::note_wait(
                    crate::task::dump::Label::Op(&"Channel::receive"),
                    true,
                );
                return Poll::Pending;
            }
            this.key = None;
            if let Some(pos) = g.slots.iter().position(|(k, _)| *k == key) {
                return Poll::Ready(Ok(g.slots.swap_remove(pos).1));
            }
            // Woken by `close`.
            return Poll::Ready(Err(RecvError));
        }
        if let Some(v) = g.handed.pop_front() {
            return Poll::Ready(Ok(v));
        }
        if let Some((key, v)) = g.senders.pop_front() {
            // A sender waits: take its value; it resumes later.
            g.send_waiters.notify(key);
            return Poll::Ready(Ok(v));
        }
        if g.closed {
            return Poll::Ready(Err(RecvError));
        }
        this.key = Some(g.recv_waiters.push(cx.waker()));
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Channel::receive"), true);
        Poll::Pending
    }
}

impl<T> Drop for Receive<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut g = self.chan.inner.borrow_mut();
            if g.recv_waiters.remove(key) {
                // Cancelled after a sender handed it a value: keep the value for the next
                // receiver, and pass the wake-up on.
                if let Some(pos) = g.slots.iter().position(|(k, _)| *k == key) {
                    let v = g.slots.swap_remove(pos).1;
                    g.handed.push_back(v);
                    if let Some(next) = g.recv_waiters.front() {
                        let v = g.handed.pop_front().expect("just pushed");
                        g.slots.push((next, v));
                        g.recv_waiters.notify_one();
                    }
                }
            }
        }
    }
}

impl<T> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("balance", &self.balance())
            .field("closed", &self.is_closed())
            .finish()
    }
}
