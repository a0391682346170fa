//! The loop's two task lists without `RefCell`'s borrow flag: the ready queue and the
//! registry are touched several times per poll, and each `RefCell` borrow costs a flag
//! check, a set and a reset (about a tenth of a yield's instructions).
//!
//! Sound without the flag because no method hands out a reference into the collection
//! and nothing can run while one executes: the items are `Copy` (no `Drop`, no user code),
//! the closures never escape, and the cell is `!Sync` (one thread). A method is one
//! complete operation on the collection, so two calls can never overlap.

use std::cell::UnsafeCell;

/// A FIFO of `Copy` items owned by one thread: a ring buffer whose capacity is a power
/// of two, so a position is a masked counter (cheaper than `VecDeque`'s wrap-around
/// arithmetic, on every wake and every poll).
pub(crate) struct LocalDeque<T: Copy>(UnsafeCell<Ring<T>>);

struct Ring<T> {
    /// Every slot holds a valid item (unused slots hold stale copies); the length is zero
    /// or a power of two.
    buf: Vec<T>,
    /// Free-running positions (wrapping): the items are `head..tail`, slot `pos & mask`.
    head: usize,
    tail: usize,
}

impl<T: Copy> Ring<T> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.tail.wrapping_sub(self.head)
    }

    #[inline(always)]
    fn mask(&self) -> usize {
        self.buf.len().wrapping_sub(1)
    }

    /// The slot at `i`, a position already masked, in a ring that is not empty or was
    /// just grown: `buf.len()` is then a power of two, so `i <= mask < buf.len()`.
    #[inline(always)]
    fn slot(&mut self, i: usize) -> &mut T {
        debug_assert!(i < self.buf.len());
        // SAFETY: see above: every caller masks with `buf.len() - 1` of a non-empty buffer
        // (a push grows an empty one first; a pop returns early when the ring is empty,
        // and a ring that ever held an item keeps its buffer).
        unsafe { self.buf.get_unchecked_mut(i) }
    }

    /// Doubles the capacity (16 at first) when full, keeping the order; `fill` pads the
    /// new slots. The buffer grows in place (`realloc`), and the part of the ring that
    /// had wrapped around to the start moves up behind the rest.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, fill: T) {
        let old = self.buf.len();
        debug_assert_eq!(self.len(), old);
        let start = if old == 0 { 0 } else { self.head & self.mask() };
        self.buf.resize((old * 2).max(16), fill);
        self.buf.copy_within(0..start, old);
        self.head = start;
        self.tail = start + old;
    }
}

impl<T: Copy> LocalDeque<T> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        let ring = Ring {
            buf: Vec::with_capacity(n.next_power_of_two()),
            head: 0,
            tail: 0,
        };
        LocalDeque(UnsafeCell::new(ring))
    }

    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut Ring<T>) -> R) -> R {
        // SAFETY: see the module doc: the only `&mut` is this one, alive for one method
        // on `Copy` items, during which nothing else on this thread can run (no drop, no
        // callback), and the cell is not `Sync`.
        f(unsafe { &mut *self.0.get() })
    }

    #[inline(always)]
    pub(crate) fn push_back(&self, item: T) {
        self.with(|r| {
            if r.len() == r.buf.len() {
                r.grow(item);
            }
            let i = r.tail & r.mask();
            *r.slot(i) = item;
            r.tail = r.tail.wrapping_add(1);
        })
    }

    #[inline(always)]
    pub(crate) fn push_front(&self, item: T) {
        self.with(|r| {
            if r.len() == r.buf.len() {
                r.grow(item);
            }
            r.head = r.head.wrapping_sub(1);
            let i = r.head & r.mask();
            *r.slot(i) = item;
        })
    }

    #[inline(always)]
    pub(crate) fn pop_front(&self) -> Option<T> {
        self.with(|r| {
            if r.head == r.tail {
                return None;
            }
            let item = *r.slot(r.head & r.mask());
            r.head = r.head.wrapping_add(1);
            Some(item)
        })
    }

    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.with(|r| r.len())
    }

    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.with(|r| r.head == r.tail)
    }

    /// Takes every item out, front to back, leaving the deque empty (with its buffer).
    pub(crate) fn take(&self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(item) = self.pop_front() {
            out.push(item);
        }
        out
    }

    /// A copy of the items, front to back.
    pub(crate) fn to_vec(&self) -> Vec<T> {
        self.with(|r| {
            let mask = r.mask();
            (0..r.len())
                .map(|i| r.buf[r.head.wrapping_add(i) & mask])
                .collect()
        })
    }

    /// Swaps the items at positions `i` and `j` from the front (both `< len`).
    pub(crate) fn swap(&self, i: usize, j: usize) {
        self.with(|r| {
            assert!(i < r.len() && j < r.len(), "LocalDeque::swap out of range");
            let mask = r.mask();
            r.buf
                .swap(r.head.wrapping_add(i) & mask, r.head.wrapping_add(j) & mask)
        })
    }
}

/// A vector of `Copy` items owned by one thread.
pub(crate) struct LocalVec<T: Copy>(UnsafeCell<Vec<T>>);

impl<T: Copy> LocalVec<T> {
    pub(crate) fn new() -> Self {
        LocalVec(UnsafeCell::new(Vec::new()))
    }

    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut Vec<T>) -> R) -> R {
        // SAFETY: as for `LocalDeque::with`.
        f(unsafe { &mut *self.0.get() })
    }

    /// Appends `item`; returns its index.
    #[inline(always)]
    pub(crate) fn push(&self, item: T) -> usize {
        self.with(|v| {
            v.push(item);
            v.len() - 1
        })
    }

    /// Removes the item at `i`, moving the last one into its place; returns the moved item.
    #[inline(always)]
    pub(crate) fn swap_remove(&self, i: usize) -> (T, Option<T>) {
        self.with(|v| {
            let removed = v.swap_remove(i);
            (removed, v.get(i).copied())
        })
    }

    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> Option<T> {
        self.with(|v| v.get(i).copied())
    }

    /// Replaces the item at `i`, with no bounds check.
    ///
    /// # Safety
    /// `i < len`.
    #[inline(always)]
    pub(crate) unsafe fn set_unchecked(&self, i: usize, item: T) {
        self.with(|v| {
            debug_assert!(i < v.len());
            // SAFETY: the caller promises `i < len`.
            unsafe { *v.get_unchecked_mut(i) = item }
        })
    }

    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.with(|v| v.len())
    }

    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.with(|v| v.is_empty())
    }

    /// Takes every item out, leaving the vector empty (its capacity goes with them).
    pub(crate) fn take(&self) -> Vec<T> {
        self.with(std::mem::take)
    }

    /// A copy of the items.
    pub(crate) fn to_vec(&self) -> Vec<T> {
        self.with(|v| v.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deque_is_fifo_and_front_pushes_jump_the_queue() {
        let q = LocalDeque::with_capacity(2);
        for i in 0..5 {
            q.push_back(i);
        }
        q.push_front(9);
        q.swap(1, 2);
        let mut out = Vec::new();
        while let Some(i) = q.pop_front() {
            out.push(i);
        }
        assert_eq!(out, [9, 1, 0, 2, 3, 4]);
        assert!(q.is_empty());
    }

    #[test]
    fn deque_keeps_order_across_growth_and_wrap_around() {
        let q = LocalDeque::with_capacity(0);
        let mut model = std::collections::VecDeque::new();
        let mut next = 0u32;
        // Mixed pushes and pops so that head and tail wrap the ring many times while it
        // grows from 16 to 64 slots.
        for round in 0..2_000u32 {
            let pushes = 1 + round % 5;
            for _ in 0..pushes {
                if next % 7 == 0 {
                    q.push_front(next);
                    model.push_front(next);
                } else {
                    q.push_back(next);
                    model.push_back(next);
                }
                next += 1;
            }
            let pops = if round % 50 < 25 {
                pushes - 1
            } else {
                pushes + 1
            };
            for _ in 0..pops {
                assert_eq!(q.pop_front(), model.pop_front());
            }
            assert_eq!(q.len(), model.len());
        }
        while let Some(v) = model.pop_front() {
            assert_eq!(q.pop_front(), Some(v));
        }
        assert!(q.is_empty() && q.pop_front().is_none());
    }

    #[test]
    fn vec_swap_remove_reports_the_moved_item() {
        let v = LocalVec::new();
        assert_eq!(v.push('a'), 0);
        assert_eq!(v.push('b'), 1);
        assert_eq!(v.push('c'), 2);
        assert_eq!(v.swap_remove(0), ('a', Some('c')));
        assert_eq!(v.swap_remove(1), ('b', None));
        assert_eq!(v.to_vec(), ['c']);
        assert_eq!(v.take(), ['c']);
        assert!(v.is_empty() && v.get(0).is_none());
    }
}
