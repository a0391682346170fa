//! `Waiters`: a FIFO list of parked futures, loop-local (no atomics, no locks).
//!
//! A waiting future holds a [`WaitKey`]. `notify_one` marks the oldest waiter *notified*
//! and wakes it; the waiter consumes the notification when it is polled. A waiter that is
//! dropped while notified (its task was cancelled between the wake-up and the poll) gets
//! the notification back from `remove`, so the primitive can pass it on to the next one:
//! no wake-up is ever swallowed (rule S2).
//!
//! A notified waiter that has not run yet still counts as *ahead* of a newcomer
//! ([`Waiters::is_empty`] is false while one exists): a primitive whose woken waiter must
//! still come back to take its item or slot (a queue, a bounded channel) makes newcomers
//! queue behind it, so a newcomer never barges past a waiter that was woken but not yet
//! polled (rule S1). Primitives that hand the resource over inside the notification (a
//! lock, a semaphore's permit) ask [`Waiters::has_waiting`] instead: their woken waiter already
//! owns what it was woken for.

use std::collections::VecDeque;
use std::task::Waker;

#[derive(Default)]
enum State {
    #[default]
    Free,
    Waiting(Option<Waker>),
    /// Notified, with the notifier's tag (what kind of notification it was).
    Notified(u8),
}

#[derive(Default)]
struct Slot {
    gen: u32,
    state: State,
}

/// Names one registration; stale keys are harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaitKey {
    idx: u32,
    gen: u32,
}

/// The list itself, boxed on first use: most channels and locks never have a waiter,
/// and an empty `Waiters` is one pointer.
#[derive(Default)]
pub(crate) struct Waiters {
    list: Option<Box<List>>,
}

#[derive(Default)]
struct List {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Waiting keys, oldest first; may hold stale keys (removed lazily).
    queue: VecDeque<WaitKey>,
    /// Waiters not yet notified.
    waiting: usize,
    /// Waiters notified that have not yet consumed (or given back) the notification.
    woken: usize,
}

impl Waiters {
    pub(crate) fn new() -> Waiters {
        Waiters::default()
    }

    pub(crate) fn push(&mut self, waker: &Waker) -> WaitKey {
        self.list.get_or_insert_with(Box::default).push(waker)
    }

    pub(crate) fn poll_notified(&mut self, key: WaitKey, waker: &Waker) -> bool {
        self.poll_notified_tag(key, waker).is_some()
    }

    /// Like `poll_notified`, with the tag the notifier gave (0 for the untagged forms).
    pub(crate) fn poll_notified_tag(&mut self, key: WaitKey, waker: &Waker) -> Option<u8> {
        self.list.as_mut().and_then(|l| l.poll_notified(key, waker))
    }

    #[must_use = "a returned notification must be passed on to the next waiter"]
    pub(crate) fn remove(&mut self, key: WaitKey) -> bool {
        self.remove_tag(key).is_some()
    }

    /// Like `remove`, with the tag of the notification it held, if any.
    #[must_use = "a returned notification must be passed on, or dropped on purpose"]
    pub(crate) fn remove_tag(&mut self, key: WaitKey) -> Option<u8> {
        self.list.as_mut().and_then(|l| l.remove(key))
    }

    #[inline]
    pub(crate) fn notify_one(&mut self) -> bool {
        self.list.as_mut().is_some_and(|l| l.notify_one())
    }

    /// Notifies every current waiter with `tag`; returns how many.
    pub(crate) fn notify_all_tagged(&mut self, tag: u8) -> usize {
        self.list.as_mut().map_or(0, |l| {
            let mut n = 0;
            while l.notify_one_with(tag, |w| w.wake()) {
                n += 1;
            }
            n
        })
    }

    pub(crate) fn notify_one_next(&mut self) -> bool {
        self.list.as_mut().is_some_and(|l| l.notify_one_next())
    }

    pub(crate) fn notify(&mut self, key: WaitKey) -> bool {
        self.list.as_mut().is_some_and(|l| l.notify(key))
    }

    pub(crate) fn front(&mut self) -> Option<WaitKey> {
        self.list.as_mut().and_then(|l| l.front())
    }

    pub(crate) fn notify_all(&mut self) -> usize {
        self.list.as_mut().map_or(0, |l| l.notify_all())
    }

    /// Waiters still waiting (not yet notified).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.list.as_ref().map_or(0, |l| l.waiting)
    }

    /// True if some waiter is still waiting (not yet notified).
    #[inline]
    pub(crate) fn has_waiting(&self) -> bool {
        self.list.as_ref().is_some_and(|l| l.waiting > 0)
    }

    /// Waiters notified that have not run yet (they still hold their notification).
    #[inline]
    pub(crate) fn woken(&self) -> usize {
        self.list.as_ref().map_or(0, |l| l.woken)
    }

    /// True when nobody is ahead of a newcomer: no waiter is waiting, and no notified
    /// waiter is still on its way to take what it was woken for.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.list
            .as_ref()
            .is_none_or(|l| l.waiting == 0 && l.woken == 0)
    }
}

impl List {
    /// Parks a new waiter at the back.
    pub(crate) fn push(&mut self, waker: &Waker) -> WaitKey {
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[idx as usize];
        slot.state = State::Waiting(Some(waker.clone()));
        let key = WaitKey { idx, gen: slot.gen };
        self.queue.push_back(key);
        self.waiting += 1;
        // Keys of waiters that were withdrawn or notified out of order stay in the queue
        // until they reach its front; compact when they outnumber the live ones.
        if self.queue.len() > 2 * self.waiting + 16 {
            let slots = &self.slots;
            self.queue.retain(|k| {
                let s = &slots[k.idx as usize];
                s.gen == k.gen && matches!(s.state, State::Waiting(_))
            });
        }
        key
    }

    fn slot(&mut self, key: WaitKey) -> Option<&mut Slot> {
        self.slots
            .get_mut(key.idx as usize)
            .filter(|s| s.gen == key.gen && !matches!(s.state, State::Free))
    }

    /// For a waiter being polled again: true (and the registration is consumed) if it was
    /// notified; otherwise its waker is refreshed and it keeps its place.
    pub(crate) fn poll_notified(&mut self, key: WaitKey, waker: &Waker) -> Option<u8> {
        let slot = self.slot(key)?;
        match &mut slot.state {
            State::Notified(tag) => {
                let tag = *tag;
                self.woken -= 1;
                self.release(key);
                Some(tag)
            }
            State::Waiting(w) => {
                match w {
                    Some(old) if old.will_wake(waker) => {}
                    _ => *w = Some(waker.clone()),
                }
                None
            }
            State::Free => None,
        }
    }

    /// Withdraws a waiter (its future is being dropped). Returns true if it had been
    /// notified and not yet consumed the notification: the caller passes it on.
    #[must_use = "a returned notification must be passed on to the next waiter"]
    pub(crate) fn remove(&mut self, key: WaitKey) -> Option<u8> {
        let slot = self.slot(key)?;
        let tag = match slot.state {
            State::Notified(tag) => Some(tag),
            _ => None,
        };
        if tag.is_some() {
            self.woken -= 1;
        } else {
            self.waiting -= 1;
        }
        self.release(key);
        tag
    }

    fn release(&mut self, key: WaitKey) {
        let slot = &mut self.slots[key.idx as usize];
        slot.state = State::Free;
        slot.gen = slot.gen.wrapping_add(1);
        self.free.push(key.idx);
    }

    /// Notifies the oldest waiter; false if nobody waits.
    pub(crate) fn notify_one(&mut self) -> bool {
        self.notify_one_with(0, |w| w.wake())
    }

    /// Like `notify_one`, waking the waiter so that it runs next (Stackless hand-off).
    pub(crate) fn notify_one_next(&mut self) -> bool {
        self.notify_one_with(0, |w| crate::event_loop::context::wake_next(&w))
    }

    fn notify_one_with(&mut self, tag: u8, wake: impl FnOnce(Waker)) -> bool {
        while let Some(key) = self.queue.pop_front() {
            let Some(slot) = self.slot(key) else {
                continue; // withdrawn
            };
            if let State::Waiting(w) = std::mem::replace(&mut slot.state, State::Notified(tag)) {
                self.waiting -= 1;
                self.woken += 1;
                if let Some(w) = w {
                    wake(w);
                }
                return true;
            }
        }
        false
    }

    /// Notifies one specific waiter (if it still waits).
    pub(crate) fn notify(&mut self, key: WaitKey) -> bool {
        let Some(slot) = self.slot(key) else {
            return false;
        };
        if let State::Waiting(w) = std::mem::replace(&mut slot.state, State::Notified(0)) {
            self.waiting -= 1;
            self.woken += 1;
            if let Some(w) = w {
                w.wake();
            }
            true
        } else {
            false
        }
    }

    /// The waiter `notify_one` would pick, if any.
    pub(crate) fn front(&mut self) -> Option<WaitKey> {
        while let Some(&key) = self.queue.front() {
            if matches!(self.slot(key).map(|s| &s.state), Some(State::Waiting(_))) {
                return Some(key);
            }
            self.queue.pop_front();
        }
        None
    }

    /// Notifies every current waiter; returns how many.
    pub(crate) fn notify_all(&mut self) -> usize {
        let mut n = 0;
        while self.notify_one() {
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_cancelled_waiter_hands_on() {
        let w = Waker::noop();
        let mut ws = Waiters::new();
        let a = ws.push(w);
        let b = ws.push(w);
        let c = ws.push(w);
        assert_eq!(ws.len(), 3);
        assert!(ws.notify_one()); // a
                                  // `a` is cancelled before it consumes the notification: it must be passed on.
        assert!(ws.remove(a));
        assert!(ws.notify_one()); // b
        assert!(!ws.remove(c)); // c withdraws while still waiting
        assert!(ws.poll_notified(b, w));
        assert!(!ws.notify_one(), "nobody left");
        assert!(ws.is_empty());
    }

    #[test]
    fn notifying_by_key_does_not_grow_the_queue() {
        // The rendezvous pattern: a waiter notified by key, over and over.
        let w = Waker::noop();
        let mut ws = Waiters::new();
        for _ in 0..if cfg!(miri) { 200 } else { 10_000 } {
            let k = ws.push(w);
            assert!(ws.notify(k));
            assert!(ws.poll_notified(k, w));
        }
        let list = ws.list.as_ref().unwrap();
        assert!(list.queue.len() <= 32, "queue grew to {}", list.queue.len());
        assert!(list.slots.len() <= 2);
    }
}
