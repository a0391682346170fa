//! The loop's two task lists without `RefCell`'s borrow flag: the ready queue and the
//! registry are touched several times per poll, and each `RefCell` borrow costs a flag
//! check, a set and a reset (about a tenth of a yield's instructions).
//!
//! Sound without the flag because no method hands out a reference into the collection
//! and nothing can run while one executes: the items are `Copy` (no `Drop`, no user code),
//! the closures never escape, and the cell is `!Sync` (one thread). A method is one
//! complete operation on the collection, so two calls can never overlap.

use std::cell::UnsafeCell;
use std::collections::VecDeque;

/// A FIFO of `Copy` items owned by one thread.
pub(crate) struct LocalDeque<T: Copy>(UnsafeCell<VecDeque<T>>);

impl<T: Copy> LocalDeque<T> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        LocalDeque(UnsafeCell::new(VecDeque::with_capacity(n)))
    }

    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut VecDeque<T>) -> R) -> R {
        // SAFETY: see the module doc: the only `&mut` is this one, alive for one method of
        // `VecDeque` on `Copy` items, during which nothing else on this thread can run
        // (no drop, no callback), and the cell is not `Sync`.
        f(unsafe { &mut *self.0.get() })
    }

    #[inline(always)]
    pub(crate) fn push_back(&self, item: T) {
        self.with(|q| q.push_back(item))
    }

    #[inline(always)]
    pub(crate) fn push_front(&self, item: T) {
        self.with(|q| q.push_front(item))
    }

    #[inline(always)]
    pub(crate) fn pop_front(&self) -> Option<T> {
        self.with(|q| q.pop_front())
    }

    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.with(|q| q.len())
    }

    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.with(|q| q.is_empty())
    }

    pub(crate) fn swap(&self, i: usize, j: usize) {
        self.with(|q| q.swap(i, j))
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
