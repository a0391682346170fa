//! Loop-local multi-producer, single-consumer channels: [`channel`] (bounded) and
//! [`unbounded`]. The [`Receiver`] is a `futures_core::Stream`.
//!
//! For senders on other threads, see [`cross_thread`](super::cross_thread).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

pub use super::channel::SendError;
use super::waiters::{WaitKey, Waiters};

/// The error of [`Sender::try_send`].
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The channel is full; the value comes back.
    Full(T),
    /// The receiver is gone or closed the channel; the value comes back.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the channel is full"),
            TrySendError::Closed(_) => f.write_str("the channel is closed"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// The error of [`Receiver::try_recv`].
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// Nothing queued right now.
    Empty,
    /// Nothing queued and every sender is gone (or the channel was closed).
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("the channel is empty"),
            TryRecvError::Closed => f.write_str("the channel is empty and closed"),
        }
    }
}

impl std::error::Error for TryRecvError {}

struct Chan<T> {
    /// The oldest value, kept inline: a channel that rarely holds more than one value
    /// (the common case for a task's inbox) never allocates a buffer.
    head: Option<T>,
    /// Values after `head`, in order (only used while `head` is occupied).
    queue: VecDeque<T>,
    /// `None`: unbounded.
    cap: Option<usize>,
    /// The receiver's waker, kept between waits; woken only while `rx_waiting`.
    rx_waker: Option<Waker>,
    rx_waiting: bool,
    /// Senders waiting for room (bounded channels).
    send_waiters: Waiters,
    senders: usize,
    /// The receiver was dropped or called `close`.
    closed: bool,
}

impl<T> Chan<T> {
    #[inline]
    fn push(&mut self, v: T) {
        if self.head.is_none() && self.queue.is_empty() {
            self.head = Some(v);
        } else {
            self.queue.push_back(v);
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.head.take().or_else(|| self.queue.pop_front())
    }

    fn len(&self) -> usize {
        self.head.is_some() as usize + self.queue.len()
    }

    #[inline]
    fn wake_rx(&mut self) {
        if self.rx_waiting {
            self.rx_waiting = false;
            if let Some(w) = &self.rx_waker {
                w.wake_by_ref();
            }
        }
    }

    fn has_room(&self) -> bool {
        self.cap.is_none_or(|c| self.len() < c)
    }

    /// Free slots (`usize::MAX` when unbounded).
    fn room(&self) -> usize {
        self.cap
            .map_or(usize::MAX, |c| c.saturating_sub(self.len()))
    }
}

type Shared<T> = Rc<RefCell<Chan<T>>>;

fn new_chan<T>(cap: Option<usize>) -> Shared<T> {
    Rc::new(RefCell::new(Chan {
        head: None,
        queue: VecDeque::new(),
        cap,
        rx_waker: None,
        rx_waiting: false,
        send_waiters: Waiters::new(),
        senders: 1,
        closed: false,
    }))
}

/// A bounded channel holding at most `capacity` values; `send` waits for room.
///
/// # Panics
///
/// If `capacity` is zero (use a [`Channel`](super::Channel) for a rendezvous).
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let (tx, mut rx) = runtime::sync::mpsc::channel(2);
///     runtime::spawn(async move {
///         for i in 0..5 {
///             tx.send(i).await.unwrap(); // waits while 2 are queued
///         }
///     });
///     let mut got = Vec::new();
///     while let Some(v) = rx.recv().await {
///         got.push(v);
///     }
///     assert_eq!(got, [0, 1, 2, 3, 4]);
/// });
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc::channel: capacity must be at least 1");
    let chan = new_chan(Some(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// A channel without a bound; `send` never waits.
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let (tx, mut rx) = runtime::sync::mpsc::unbounded();
///     tx.send("a").unwrap();
///     drop(tx);
///     assert_eq!(rx.recv().await, Some("a"));
///     assert_eq!(rx.recv().await, None); // every sender is gone
/// });
/// ```
pub fn unbounded<T>() -> (UnboundedSender<T>, Receiver<T>) {
    let chan = new_chan(None);
    (UnboundedSender { chan: chan.clone() }, Receiver { chan })
}

/// The sending half of a bounded [`channel`]; clone it for more producers.
pub struct Sender<T> {
    chan: Shared<T>,
}

/// The sending half of an [`unbounded`] channel; clone it for more producers.
pub struct UnboundedSender<T> {
    chan: Shared<T>,
}

/// The receiving half of a channel; also a `futures_core::Stream`.
pub struct Receiver<T> {
    chan: Shared<T>,
}

macro_rules! sender_common {
    ($t:ident) => {
        impl<T> Clone for $t<T> {
            fn clone(&self) -> Self {
                self.chan.borrow_mut().senders += 1;
                $t {
                    chan: self.chan.clone(),
                }
            }
        }

        impl<T> Drop for $t<T> {
            fn drop(&mut self) {
                let mut c = self.chan.borrow_mut();
                c.senders -= 1;
                if c.senders == 0 {
                    c.wake_rx(); // the receiver sees the end
                }
            }
        }

        impl<T> $t<T> {
            /// True once the receiver is gone or closed the channel.
            pub fn is_closed(&self) -> bool {
                self.chan.borrow().closed
            }
        }

        impl<T> fmt::Debug for $t<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("queued", &self.chan.borrow().len())
                    .finish()
            }
        }
    };
}

sender_common!(Sender);
sender_common!(UnboundedSender);

impl<T> UnboundedSender<T> {
    /// Queues `value` (never waits).
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is gone or closed the channel.
    #[inline]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let mut c = self.chan.borrow_mut();
        if c.closed {
            return Err(SendError(value));
        }
        c.push(value);
        c.wake_rx();
        Ok(())
    }
}

impl<T> Sender<T> {
    /// Queues `value`, waiting while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is gone or closed the channel.
    ///
    /// # Cancel safety
    ///
    /// Dropping a waiting `send` sends nothing, and passes its turn to the next sender.
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            sender: self,
            value: Some(value),
            key: None,
        }
    }

    /// Queues `value` if there is room right now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the value.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut c = self.chan.borrow_mut();
        if c.closed {
            return Err(TrySendError::Closed(value));
        }
        // Waiting senders go first (FIFO).
        if !c.has_room() || !c.send_waiters.is_empty() {
            return Err(TrySendError::Full(value));
        }
        c.push(value);
        c.wake_rx();
        Ok(())
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.chan.borrow().cap.unwrap_or(usize::MAX)
    }
}

/// The future of [`Sender::send`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    value: Option<T>,
    key: Option<WaitKey>,
}

impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut c = this.sender.chan.borrow_mut();
        if let Some(key) = this.key {
            if !c.send_waiters.poll_notified(key, cx.waker()) {
                crate::task::dump::note_wait(
                    crate::task::dump::Label::Op(&"mpsc::Sender::send"),
                    true,
                );
                return Poll::Pending;
            }
            this.key = None;
        } else if !c.send_waiters.is_empty() && !c.closed {
            // Others wait for room already: queue behind them (FIFO).
            this.key = Some(c.send_waiters.push(cx.waker()));
            crate::task::dump::note_wait(crate::task::dump::Label::Op(&"mpsc::Sender::send"), true);
            return Poll::Pending;
        }
        let value = this.value.take().expect("`send` polled after completion");
        if c.closed {
            return Poll::Ready(Err(SendError(value)));
        }
        if c.has_room() {
            c.push(value);
            c.wake_rx();
            // Room may remain for the next waiting sender, beyond what woken senders
            // will take (they are still on their way).
            if c.send_waiters.has_waiting() && c.room() > c.send_waiters.woken() {
                c.send_waiters.notify_one();
            }
            return Poll::Ready(Ok(()));
        }
        this.value = Some(value);
        this.key = Some(c.send_waiters.push(cx.waker()));
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"mpsc::Sender::send"), true);
        Poll::Pending
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut c = self.sender.chan.borrow_mut();
            if c.send_waiters.remove(key) {
                c.send_waiters.notify_one(); // S2: pass the turn on
            }
        }
    }
}

/// The future of [`Receiver::recv`]: the next value, or `None` once every sender is gone.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc::{unbounded, Recv};
///
/// runtime::run(async {
///     let (tx, mut rx) = unbounded();
///     tx.send(5).unwrap();
///     let next: Recv<'_, i32> = rx.recv();
///     assert_eq!(next.await, Some(5));
///     drop(tx);
///     assert_eq!(rx.recv().await, None);
/// });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// The next value; `None` once every sender is gone (or the channel was closed) and
    /// nothing is left.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `recv` takes nothing.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { rx: self }
    }

    /// Polls for the next value.
    #[inline]
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut c = self.chan.borrow_mut();
        if let Some(v) = c.pop() {
            if c.cap.is_some() {
                c.send_waiters.notify_one(); // room for one more
            }
            return Poll::Ready(Some(v));
        }
        if c.senders == 0 || c.closed {
            return Poll::Ready(None);
        }
        match &c.rx_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => c.rx_waker = Some(cx.waker().clone()),
        }
        c.rx_waiting = true;
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"mpsc::Receiver::recv"), true);
        Poll::Pending
    }

    /// The next value if one is queued.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`], or [`TryRecvError::Closed`] when nothing is left and no
    /// sender remains.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut c = self.chan.borrow_mut();
        match c.pop() {
            Some(v) => {
                if c.cap.is_some() {
                    c.send_waiters.notify_one();
                }
                Ok(v)
            }
            None if c.senders == 0 || c.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel: sends fail from now on; what is queued can still be received.
    pub fn close(&mut self) {
        let mut c = self.chan.borrow_mut();
        c.closed = true;
        c.send_waiters.notify_all();
    }

    /// How many values are queued.
    pub fn len(&self) -> usize {
        self.chan.borrow().len()
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Values still queued can never be received: drop them now (as tokio does), so
        // that, say, a request's reply sender inside one is dropped and its client hears
        // of it, instead of waiting as long as any `Sender` lives. They are dropped after
        // the borrow: a value's `Drop` may use this channel.
        let queued = {
            let mut c = self.chan.borrow_mut();
            c.closed = true;
            c.send_waiters.notify_all();
            (c.head.take(), std::mem::take(&mut c.queue))
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

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("queued", &self.len())
            .finish()
    }
}
