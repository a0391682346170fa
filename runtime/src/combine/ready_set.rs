//! `ReadySet`: one waker per member of a collection, so that a combinator learns *which*
//! member woke and never re-polls the others (rule C1: O(1) work per completion).
//!
//! All members share one reference-counted block: a member's waker is a pointer to its
//! `Member` record (no allocation per member, no allocation per clone), and cloning or
//! dropping a waker counts references on the shared block. Members live in chunks that
//! are never moved or freed before the block, so those pointers stay valid.

use std::mem::ManuallyDrop;
use std::task::{Context, RawWaker, RawWakerVTable, Waker};

// std's types, or loom's under the loom model (`tests/loom_ready_set.rs`).
use super::ready_set_sync::{Arc, AtomicBool, Mutex, Ordering};

struct Shared {
    /// Indices woken since the last drain, each at most once (see `Member::queued`).
    woken: Mutex<Vec<usize>>,
    /// The waker of the task that polls the combinator.
    parent: Mutex<Option<Waker>>,
    /// Owns the member records (boxed slices turned into raw pointers, so that pointers
    /// to members stay valid; freed in `Drop`). Only `ReadySet::grow` adds to it.
    chunks: Mutex<Vec<*mut [Member]>>,
}

impl Shared {
    /// Wakes the task polling the combinator (outside the lock: waking may take others).
    fn wake_parent(&self) {
        let parent = self
            .parent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(w) = parent {
            w.wake();
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        for chunk in self
            .chunks
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            // SAFETY: each chunk came from `Box::into_raw` in `grow` and is freed once,
            // here, when the last reference to the block is gone.
            drop(unsafe { Box::from_raw(chunk) });
        }
    }
}

struct Member {
    /// The block this member belongs to (an `Arc<Shared>` pointer, not counted here).
    shared: *const Shared,
    index: usize,
    /// True while the index sits in `woken`, so repeated wakes queue it once.
    queued: AtomicBool,
}

impl Member {
    fn shared(&self) -> &Shared {
        // SAFETY: a member is reachable only through a waker or a `ReadySet`, each of
        // which holds a counted reference to the block, so the block is alive.
        unsafe { &*self.shared }
    }

    fn wake(&self) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = self.shared();
        shared
            .woken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.index);
        shared.wake_parent();
    }
}

pub(crate) static VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// # Safety (all four)
/// `data` points to a `Member` whose block is kept alive by the waker being used.
unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: see above; the clone takes its own counted reference to the block.
    unsafe { Arc::increment_strong_count((*(data as *const Member)).shared) };
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: see `clone`; this waker owns one reference, released after waking.
    unsafe {
        wake_by_ref(data);
        drop_waker(data);
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: see `clone`.
    unsafe { (*(data as *const Member)).wake() }
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: see `clone`; this waker owned one reference to the block.
    unsafe { Arc::decrement_strong_count((*(data as *const Member)).shared) }
}

/// Per-member wakers and the list of members woken since the last look.
pub(crate) struct ReadySet {
    shared: Arc<Shared>,
    /// Stable pointers into `shared.chunks`.
    members: Vec<*const Member>,
    /// Room left in the last chunk.
    spare: Vec<*const Member>,
}

// SAFETY: the raw pointers point into the `Arc<Shared>` this set holds; `Shared` is made
// of mutexes and atomics, and `Member` is only read (its flag is atomic), so sharing or
// sending the set across threads is as safe as sending the `Arc`.
unsafe impl Send for ReadySet {}
// SAFETY: as above.
unsafe impl Sync for ReadySet {}
// SAFETY: `Shared` holds `*const Shared` only inside members, which point back at itself;
// every other field is thread-safe.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl ReadySet {
    pub(crate) fn new() -> ReadySet {
        ReadySet::with_capacity(0)
    }

    /// A set with room for `n` members in one block.
    pub(crate) fn with_capacity(n: usize) -> ReadySet {
        let mut set = ReadySet {
            shared: Arc::new(Shared {
                woken: Mutex::new(Vec::with_capacity(n)),
                parent: Mutex::new(None),
                chunks: Mutex::new(Vec::new()),
            }),
            members: Vec::with_capacity(n),
            spare: Vec::new(),
        };
        if n > 0 {
            set.grow(n);
        }
        set
    }

    fn grow(&mut self, n: usize) {
        let base = self.members.len();
        let shared_ptr = Arc::as_ptr(&self.shared);
        let chunk: Box<[Member]> = (0..n)
            .map(|i| Member {
                shared: shared_ptr,
                index: base + i,
                queued: AtomicBool::new(true),
            })
            .collect();
        // The chunk's heap block never moves; members are addressed from the raw pointer.
        let raw: *mut [Member] = Box::into_raw(chunk);
        let first = raw as *mut Member as *const Member;
        // SAFETY: `i < n`, the chunk's length, so each pointer is in bounds.
        self.spare = (0..n).rev().map(|i| unsafe { first.add(i) }).collect();
        self.shared
            .chunks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(raw);
    }

    /// Adds a member; it starts out woken, so that it is polled once.
    pub(crate) fn push(&mut self) -> usize {
        if self.spare.is_empty() {
            self.grow(self.members.len().max(8));
        }
        let m = self.spare.pop().expect("grown above");
        let index = self.members.len();
        self.members.push(m);
        self.shared
            .woken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(index);
        index
    }

    /// Wakes whoever polls the combinator (e.g. a member was added from elsewhere).
    pub(crate) fn wake_parent(&self) {
        self.shared.wake_parent();
    }

    /// Records the waker of the polling task (call at the start of each poll).
    pub(crate) fn set_parent(&self, cx: &Context<'_>) {
        let mut p = self.shared.parent.lock().unwrap_or_else(|e| e.into_inner());
        match &*p {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *p = Some(cx.waker().clone()),
        }
    }

    /// Moves the woken indices into `out` (in wake order) and re-arms their wakers.
    pub(crate) fn drain_woken(&self, out: &mut Vec<usize>) {
        {
            let mut woken = self.shared.woken.lock().unwrap_or_else(|e| e.into_inner());
            out.append(&mut woken);
        }
        for &i in out.iter() {
            // A read-modify-write, not a plain store: if the member was woken again after
            // its index was taken (its `swap(true)` found it still queued and pushed
            // nothing), this acquires that wake, so the poll that follows sees whatever
            // the waker did before waking (modelled in `tests/loom_ready_set.rs`).
            // SAFETY: member pointers stay valid while `self.shared` is held.
            unsafe { &*self.members[i] }
                .queued
                .swap(false, Ordering::AcqRel);
        }
    }

    /// The waker of member `i`, borrowed from the set (it takes no reference; clone it
    /// to keep it).
    pub(crate) fn waker(&self, i: usize) -> ManuallyDrop<Waker> {
        let data = self.members[i] as *const ();
        // SAFETY: the vtable's contract holds while the set (which owns a reference to
        // the block) is alive; `ManuallyDrop` keeps the borrowed waker from releasing a
        // reference it never took.
        ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn wakes_are_reported_once_per_member_in_order() {
        let mut set = ReadySet::new();
        for _ in 0..20 {
            set.push(); // crosses chunk boundaries
        }
        let mut out = Vec::new();
        set.drain_woken(&mut out);
        assert_eq!(
            out,
            (0..20).collect::<Vec<_>>(),
            "every member starts woken"
        );
        out.clear();
        set.waker(12).wake_by_ref();
        set.waker(12).wake_by_ref();
        let stored: Waker = (*set.waker(0)).clone();
        stored.wake(); // by value, as a stored waker is woken
        set.drain_woken(&mut out);
        assert_eq!(out, [12, 0]);
        out.clear();
        set.drain_woken(&mut out);
        assert!(out.is_empty());
        set.waker(2).wake_by_ref();
        set.drain_woken(&mut out);
        assert_eq!(out, [2], "re-armed after the drain");
    }

    #[test]
    fn wakers_outlive_the_set() {
        let mut set = ReadySet::with_capacity(3);
        for _ in 0..3 {
            set.push();
        }
        let kept: Waker = (*set.waker(1)).clone();
        let other_thread = kept.clone();
        drop(set);
        kept.wake_by_ref();
        std::thread::spawn(move || other_thread.wake())
            .join()
            .unwrap();
        drop(kept);
    }
}
