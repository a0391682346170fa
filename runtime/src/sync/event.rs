//! `Event` (asyncio) and `Notify` (tokio-style).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::waiters::{WaitKey, Waiters};

/// A flag tasks can wait for (asyncio `Event`): `set` wakes every waiter; `wait` returns
/// at once while the flag is set; `clear` resets it. A waiter woken by `set` returns even
/// if the flag is cleared again before it runs.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use runtime::sync::Event;
///
/// runtime::run(async {
///     let ev = Rc::new(Event::new());
///     let e = ev.clone();
///     let waiter = runtime::spawn(async move { e.wait().await; "released" });
///     runtime::yield_now().await;
///     ev.set();
///     assert_eq!(waiter.await.unwrap(), "released");
/// });
/// ```
#[derive(Default)]
pub struct Event {
    set: Cell<bool>,
    waiters: RefCell<Waiters>,
}

impl Event {
    /// A new, unset event.
    pub fn new() -> Event {
        Event::default()
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        self.set.set(true);
        self.waiters.borrow_mut().notify_all();
    }

    /// Resets the flag.
    pub fn clear(&self) {
        self.set.set(false);
    }

    /// True while the flag is set.
    pub fn is_set(&self) -> bool {
        self.set.get()
    }

    /// Waits until the flag is set.
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: None,
        }
    }
}

/// The future of [`Event::wait`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct EventWait<'a> {
    event: &'a Event,
    key: Option<WaitKey>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let ev = self.event;
        if let Some(key) = self.key {
            if ev.waiters.borrow_mut().poll_notified(key, cx.waker()) {
                self.key = None;
                return Poll::Ready(());
            }
            crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Event::wait"), true);
            return Poll::Pending;
        }
        if ev.set.get() {
            return Poll::Ready(());
        }
        self.key = Some(ev.waiters.borrow_mut().push(cx.waker()));
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Event::wait"), true);
        Poll::Pending
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            // Everybody is woken by `set`: nothing to pass on.
            let _ = self.event.waiters.borrow_mut().remove(key);
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.set.get())
            .finish()
    }
}

/// Wakes tasks without carrying data. `notify_one` wakes the oldest waiter, or, if nobody
/// waits, stores one permit that the next `notified()` consumes at once (so a notify that
/// races ahead of the wait is not lost); `notify_waiters` wakes everybody waiting now.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use runtime::sync::Notify;
///
/// runtime::run(async {
///     let n = Rc::new(Notify::new());
///     n.notify_one(); // nobody waits yet: stored
///     n.notified().await; // consumes the stored permit
/// });
/// ```
#[derive(Default)]
pub struct Notify {
    permit: Cell<bool>,
    waiters: RefCell<Waiters>,
}

impl Notify {
    /// A new `Notify` without a stored permit.
    pub fn new() -> Notify {
        Notify::default()
    }

    /// Wakes the oldest waiter, or stores a permit for the next one.
    pub fn notify_one(&self) {
        if !self.waiters.borrow_mut().notify_one() {
            self.permit.set(true);
        }
    }

    /// Wakes every current waiter (stores nothing). A woken waiter that is dropped
    /// before it runs passes nothing on (only a `notify_one` is passed on, as in tokio).
    pub fn notify_waiters(&self) {
        self.waiters
            .borrow_mut()
            .notify_all_tagged(FROM_NOTIFY_WAITERS);
    }

    /// Waits for a notification.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            key: None,
        }
    }
}

/// The future of [`Notify::notified`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Notified<'a> {
    notify: &'a Notify,
    key: Option<WaitKey>,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let n = self.notify;
        if let Some(key) = self.key {
            if n.waiters.borrow_mut().poll_notified(key, cx.waker()) {
                self.key = None;
                return Poll::Ready(());
            }
            crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Notify::notified"), true);
            return Poll::Pending;
        }
        if n.permit.replace(false) {
            return Poll::Ready(());
        }
        self.key = Some(n.waiters.borrow_mut().push(cx.waker()));
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Notify::notified"), true);
        Poll::Pending
    }
}

/// The tag of a wake-up from `notify_waiters` (a `notify_one` is tag 0).
const FROM_NOTIFY_WAITERS: u8 = 1;

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let tag = self.notify.waiters.borrow_mut().remove_tag(key);
            if tag == Some(0) {
                self.notify.notify_one(); // S2: pass a notify_one on (or store it)
            }
        }
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("permit", &self.permit.get())
            .finish()
    }
}
