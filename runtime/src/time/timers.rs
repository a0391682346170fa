//! The timer structure: a 4-ary min-heap of deadlines over a slab of wakers.
//!
//! - Insert is O(log n) (O(1) on average for random deadlines); the earliest deadline is
//!   at the root.
//! - Cancel is O(1): the slot is freed and its generation bumped, which turns the heap
//!   entry into a dead entry; dead entries are skipped when they reach the root, and the
//!   heap is compacted when more than half of it is dead (asyncio's rule).
//! - Equal deadlines fire in insertion order (a 32-bit sequence number breaks ties).
//! - A heap entry is 24 bytes, a slot 24: 48 bytes per pending timer.

use std::task::Waker;

const NONE: u32 = u32::MAX;
const ARITY: usize = 4;

#[derive(Clone, Copy)]
struct Entry {
    deadline: u64,
    /// Insertion order, so that equal deadlines fire first-in first-out.
    seq: u32,
    slot: u32,
    gen: u32,
}

impl Entry {
    /// Earlier deadline first; equal deadlines in insertion order (the wrapping compare
    /// is exact while the two were inserted fewer than 2^31 timers apart).
    #[inline]
    fn before(&self, other: &Entry) -> bool {
        self.deadline < other.deadline
            || (self.deadline == other.deadline && (self.seq.wrapping_sub(other.seq) as i32) < 0)
    }
}

struct Slot {
    waker: Option<Waker>,
    gen: u32,
    next_free: u32,
}

/// Names one registered timer; stale keys (after firing or cancelling) are harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    slot: u32,
    gen: u32,
}

pub(crate) struct Timers {
    heap: Vec<Entry>,
    slots: Vec<Slot>,
    free: u32,
    live: usize,
    seq: u32,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            heap: Vec::new(),
            slots: Vec::new(),
            free: NONE,
            live: 0,
            seq: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn insert(&mut self, deadline: u64, waker: Waker) -> TimerKey {
        let slot = if self.free != NONE {
            let i = self.free;
            let s = &mut self.slots[i as usize];
            self.free = s.next_free;
            s.waker = Some(waker);
            i
        } else {
            let i = u32::try_from(self.slots.len()).expect("more than 4 billion timers");
            self.slots.push(Slot {
                waker: Some(waker),
                gen: 0,
                next_free: NONE,
            });
            i
        };
        let gen = self.slots[slot as usize].gen;
        self.live += 1;
        let seq = self.seq;
        self.seq = seq.wrapping_add(1);
        self.heap.push(Entry {
            deadline,
            seq,
            slot,
            gen,
        });
        self.sift_up(self.heap.len() - 1);
        TimerKey { slot, gen }
    }

    /// True while the timer has neither fired nor been cancelled.
    pub(crate) fn is_pending(&self, key: TimerKey) -> bool {
        self.slots
            .get(key.slot as usize)
            .is_some_and(|s| s.gen == key.gen && s.waker.is_some())
    }

    /// Replaces the waker of a pending timer unless it would wake the same task.
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: &Waker) {
        if let Some(s) = self.slots.get_mut(key.slot as usize) {
            if s.gen == key.gen {
                match &s.waker {
                    Some(w) if w.will_wake(waker) => {}
                    _ => s.waker = Some(waker.clone()),
                }
            }
        }
    }

    /// Cancels a pending timer; a no-op for a stale key. Returns its waker.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> Option<Waker> {
        let s = self.slots.get_mut(key.slot as usize)?;
        if s.gen != key.gen || s.waker.is_none() {
            return None;
        }
        let w = self.free_slot(key.slot);
        self.maybe_compact();
        w
    }

    fn free_slot(&mut self, slot: u32) -> Option<Waker> {
        let s = &mut self.slots[slot as usize];
        s.gen = s.gen.wrapping_add(1);
        s.next_free = self.free;
        self.free = slot;
        self.live -= 1;
        s.waker.take()
    }

    /// The earliest pending deadline, dropping dead entries from the root first.
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        while let Some(top) = self.heap.first() {
            if self.slots[top.slot as usize].gen == top.gen {
                return Some(top.deadline);
            }
            self.pop();
        }
        None
    }

    /// Moves the waker of every timer due at `now` into `out`.
    pub(crate) fn fire_due(&mut self, now: u64, out: &mut Vec<Waker>) {
        while let Some(top) = self.heap.first().copied() {
            if top.deadline > now {
                break;
            }
            self.pop();
            if self.slots[top.slot as usize].gen == top.gen {
                if let Some(w) = self.free_slot(top.slot) {
                    out.push(w);
                }
            }
        }
    }

    /// Drops every timer and its waker.
    pub(crate) fn clear(&mut self) {
        let slots = std::mem::take(&mut self.slots);
        self.heap = Vec::new();
        self.free = NONE;
        self.live = 0;
        drop(slots);
    }

    fn maybe_compact(&mut self) {
        let dead = self.heap.len() - self.live;
        if self.heap.len() > 64 && dead > self.heap.len() / 2 {
            let slots = &self.slots;
            self.heap.retain(|e| slots[e.slot as usize].gen == e.gen);
            for i in (0..self.heap.len()).rev() {
                self.sift_down(i);
            }
        }
    }

    fn pop(&mut self) {
        let last = self.heap.pop();
        if let (Some(last), false) = (last, self.heap.is_empty()) {
            self.heap[0] = last;
            self.sift_down(0);
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        let e = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if !e.before(&self.heap[parent]) {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = e;
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        let e = self.heap[i];
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut min = first;
            for c in first + 1..end {
                if self.heap[c].before(&self.heap[min]) {
                    min = c;
                }
            }
            if !self.heap[min].before(&e) {
                break;
            }
            self.heap[i] = self.heap[min];
            i = min;
        }
        self.heap[i] = e;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Counter(AtomicUsize);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker(_id: usize) -> (Waker, Arc<Counter>) {
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        (Waker::from(c.clone()), c)
    }

    #[test]
    fn fires_in_deadline_order_and_never_early() {
        let mut t = Timers::new();
        let mut counters = Vec::new();
        // Deadlines in a scrambled order.
        for i in 0..1000u64 {
            let d = (i * 7919) % 1000;
            let (w, c) = waker(d as usize);
            t.insert(d, w);
            counters.push(c);
        }
        let mut out = Vec::new();
        for now in 0..1000u64 {
            t.fire_due(now, &mut out);
            assert_eq!(out.len() as u64, now + 1, "exactly the timers due at {now}");
        }
        assert!(t.is_empty());
    }

    #[test]
    fn cancel_is_lazy_and_compacts() {
        let mut t = Timers::new();
        let keys: Vec<_> = (0..1000).map(|i| t.insert(i, waker(0).0)).collect();
        for k in &keys[..900] {
            assert!(t.cancel(*k).is_some());
            assert!(t.cancel(*k).is_none(), "second cancel is a no-op");
        }
        assert_eq!(t.len(), 100);
        assert!(t.heap.len() < 400, "compacted: {}", t.heap.len());
        assert_eq!(t.next_deadline(), Some(900));
        let mut out = Vec::new();
        t.fire_due(u64::MAX, &mut out);
        assert_eq!(out.len(), 100);
    }

    #[test]
    fn stale_key_after_reuse_is_harmless() {
        let mut t = Timers::new();
        let a = t.insert(10, waker(0).0);
        t.cancel(a);
        let b = t.insert(20, waker(0).0);
        assert!(!t.is_pending(a));
        assert!(t.is_pending(b));
        assert!(t.cancel(a).is_none());
        assert!(t.is_pending(b));
        assert_eq!(t.next_deadline(), Some(20));
    }

    struct Logger(usize, Arc<std::sync::Mutex<Vec<usize>>>);
    impl Wake for Logger {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    #[test]
    fn equal_deadlines_fire_in_insertion_order() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut t = Timers::new();
        for i in 0..200 {
            t.insert(5, Waker::from(Arc::new(Logger(i, log.clone()))));
        }
        let mut out = Vec::new();
        t.fire_due(5, &mut out);
        for w in out {
            w.wake();
        }
        assert_eq!(*log.lock().unwrap(), (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn far_future_never_fires() {
        let mut t = Timers::new();
        t.insert(u64::MAX, waker(0).0);
        let mut out = Vec::new();
        t.fire_due(u64::MAX - 1, &mut out);
        assert!(out.is_empty());
    }
}
