//! The timer structure: a 4-ary min-heap of deadlines over a slab of wakers.
//!
//! - Insert is O(log n) (O(1) on average for random deadlines); the earliest deadline is
//!   at the root.
//! - Cancel is O(1): the slot is freed and its generation bumped, which turns the heap
//!   entry into a dead entry; dead entries are skipped when they reach the root, and the
//!   heap is compacted when more than half of it is dead and the dead entries number more
//!   than `COMPACT_MIN_DEAD` (asyncio's rule, with a minimum as asyncio has).
//! - Equal deadlines fire in insertion order (a 32-bit sequence number breaks ties).
//! - A heap entry is 24 bytes, a slot 24: 48 bytes per pending timer.
//! - Memory goes back when the structure is mostly empty (T5): once the live count falls
//!   below a quarter of the slots, trailing free slots are cut off, the heap loses its dead
//!   entries, and both give back their spare capacity. Slots cut off leave their
//!   generation behind (`gen_floor`), so a stale key never matches a slot made later at
//!   the same index. The next attempt waits until the live count halves again, so the
//!   work is amortised O(1) per timer.

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
    /// Try to give memory back when `live` falls below this.
    shrink_below: usize,
    /// Generation for slots created from now on: above every generation a cut-off slot
    /// had, so stale keys naming a recreated index stay stale.
    gen_floor: u32,
}

/// Dead heap entries (cancelled timers) tolerated before a compaction.
const COMPACT_MIN_DEAD: usize = 32;

/// Below this many slots, memory is not worth giving back.
const SHRINK_MIN_SLOTS: usize = 1024;

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            heap: Vec::new(),
            slots: Vec::new(),
            free: NONE,
            live: 0,
            seq: 0,
            shrink_below: 0,
            gen_floor: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

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
                gen: self.gen_floor,
                next_free: NONE,
            });
            if self.slots.len() >= SHRINK_MIN_SLOTS {
                self.shrink_below = self.slots.len() / 4;
            }
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
        self.maybe_shrink();
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
    pub(crate) fn fire_due(
        &mut self,
        now: u64,
        out: &mut Vec<Waker>,
        local: impl Fn(crate::task::raw::TaskRef) -> bool,
    ) {
        while let Some(top) = self.heap.first().copied() {
            if top.deadline > now {
                break;
            }
            self.pop();
            if self.slots[top.slot as usize].gen == top.gen {
                if let Some(w) = self.free_slot(top.slot) {
                    crate::task::waker::wake_or_collect(w, out, &local);
                }
            }
        }
        self.maybe_shrink();
    }

    /// Removes every timer and hands back their wakers, for the caller to drop *after*
    /// releasing its borrow of the timers (a waker's `Drop` may touch this loop's timers).
    #[must_use = "drop the wakers after releasing the borrow"]
    pub(crate) fn take_all(&mut self) -> Vec<Waker> {
        let slots = std::mem::take(&mut self.slots);
        self.heap = Vec::new();
        self.free = NONE;
        self.live = 0;
        self.shrink_below = 0;
        // Keys of the removed slots must never match a slot made later.
        let floor = slots
            .iter()
            .map(|s| s.gen)
            .max()
            .map_or(0, |g| g.wrapping_add(1));
        self.gen_floor = self.gen_floor.max(floor);
        slots.into_iter().filter_map(|s| s.waker).collect()
    }

    /// The cheap check on the paths that free slots; the work is in `shrink`.
    #[inline]
    fn maybe_shrink(&mut self) {
        if self.live < self.shrink_below {
            self.shrink();
        }
    }

    #[cold]
    fn shrink(&mut self) {
        // Cut off trailing free slots, remembering their generations, when that frees at
        // least half of them: the rebuild of the free list and of the heap below then
        // costs no more than what was cut off.
        let len = self.slots.len();
        let mut keep = len;
        while keep > 0 && self.slots[keep - 1].waker.is_none() {
            keep -= 1;
        }
        if len - keep >= len / 2 {
            for s in &self.slots[keep..] {
                self.gen_floor = self.gen_floor.max(s.gen);
            }
            self.slots.truncate(keep);
            self.free = NONE;
            for i in (0..keep).rev() {
                if self.slots[i].waker.is_none() {
                    self.slots[i].next_free = self.free;
                    self.free = i as u32;
                }
            }
            // Dead heap entries go (their slot is free, or was cut off: both are stale).
            let slots = &self.slots;
            self.heap
                .retain(|e| slots.get(e.slot as usize).is_some_and(|s| s.gen == e.gen));
            for i in (0..self.heap.len()).rev() {
                self.sift_down(i);
            }
        }
        if self.slots.capacity() > 2 * self.slots.len() {
            self.slots.shrink_to(self.slots.len() * 3 / 2);
        }
        if self.heap.capacity() > 2 * self.heap.len() {
            self.heap.shrink_to(self.heap.len() * 3 / 2);
        }
        // Next attempt once the live count halves again (down to the last timer, whose
        // slot may be the one holding the tail), unless too little is left to matter.
        self.shrink_below = if self.slots.len() < SHRINK_MIN_SLOTS {
            0
        } else {
            self.live / 2 + 1
        };
    }

    fn maybe_compact(&mut self) {
        let dead = self.heap.len() - self.live;
        // More dead than live entries, and more than `COMPACT_MIN_DEAD` of them. (A larger
        // allowance makes compactions rarer but every pop of a dead root deeper: with a
        // timeout armed and cancelled per request, a small heap is cheaper overall.)
        if dead > COMPACT_MIN_DEAD && dead > self.live {
            let slots = &self.slots;
            self.heap.retain(|e| slots[e.slot as usize].gen == e.gen);
            // Heapify: sift down every parent, from the last one up (leaves are heaps).
            if self.heap.len() > 1 {
                for i in (0..=(self.heap.len() - 2) / ARITY).rev() {
                    self.sift_down(i);
                }
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
        let n: u64 = if cfg!(miri) { 200 } else { 1000 };
        for i in 0..n {
            let d = (i * 7919) % n;
            let (w, c) = waker(d as usize);
            t.insert(d, w);
            counters.push(c);
        }
        let mut out = Vec::new();
        for now in 0..n {
            t.fire_due(now, &mut out, |_| false);
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
        let dead = t.heap.len() - t.len();
        assert!(
            dead <= COMPACT_MIN_DEAD.max(t.len()) + 1,
            "compacted: {dead} dead"
        );
        assert_eq!(t.next_deadline(), Some(900));
        let mut out = Vec::new();
        t.fire_due(u64::MAX, &mut out, |_| false);
        assert_eq!(out.len(), 100);
    }

    #[test]
    fn a_timeout_per_request_keeps_the_heap_bounded() {
        // 50 connections, each arming a timeout per request and cancelling it when the
        // request arrives: the heap never holds more than the live timers plus the dead
        // allowance, and the earliest live deadline is always right.
        let mut t = Timers::new();
        let rounds: u64 = if cfg!(miri) { 1_000 } else { 20_000 };
        let mut live: Vec<TimerKey> = (0..50).map(|i| t.insert(1_000 + i, waker(0).0)).collect();
        for r in 0..rounds {
            let c = (r % 50) as usize;
            assert!(t.cancel(live[c]).is_some());
            live[c] = t.insert(2_000 + r, waker(0).0);
            assert!(
                t.heap.len() <= 50 + COMPACT_MIN_DEAD.max(50) + 1,
                "{}",
                t.heap.len()
            );
        }
        assert_eq!(t.len(), 50);
        assert_eq!(t.next_deadline(), Some(2_000 + rounds - 50));
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
        t.fire_due(5, &mut out, |_| false);
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
        t.fire_due(u64::MAX - 1, &mut out, |_| false);
        assert!(out.is_empty());
    }

    #[test]
    fn memory_goes_back_when_mostly_empty_and_stale_keys_stay_stale() {
        let n = if cfg!(miri) {
            2 * SHRINK_MIN_SLOTS
        } else {
            100_000
        };
        let mut t = Timers::new();
        let keys: Vec<_> = (0..n)
            .map(|i| t.insert(1000 + i as u64, Waker::noop().clone()))
            .collect();
        // Keep one early timer alive; cancel the rest.
        for k in &keys[1..] {
            t.cancel(*k);
        }
        assert_eq!(t.len(), 1);
        assert!(t.slots.capacity() < 64, "slots kept {}", t.slots.capacity());
        assert!(t.heap.capacity() < 64, "heap kept {}", t.heap.capacity());
        // New timers reuse the cut-off indices with newer generations.
        let fresh: Vec<_> = (0..n / 2)
            .map(|i| t.insert(5000 + i as u64, Waker::noop().clone()))
            .collect();
        for k in &keys[1..] {
            assert!(!t.is_pending(*k), "a stale key matched a recreated slot");
            assert!(t.cancel(*k).is_none());
        }
        assert!(fresh.iter().all(|k| t.is_pending(*k)));
        assert!(t.is_pending(keys[0]));
        assert_eq!(t.len(), 1 + n / 2);
        // Firing them all gives memory back too, and order is kept.
        let mut out = Vec::new();
        t.fire_due(1000, &mut out, |_| false);
        assert_eq!(out.len(), 1);
        t.fire_due(u64::MAX - 1, &mut out, |_| false);
        assert_eq!(out.len(), 1 + n / 2);
        assert!(t.is_empty());
        assert!(t.slots.capacity() < 64 && t.heap.capacity() < 64);
    }
}
