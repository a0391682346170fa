//! The task allocation: one heap block holding a [`Header`] and the future, whose slot
//! later holds the output. All of the task module's `unsafe` lives here and in `waker.rs`.
//!
//! See the rules in [`crate::task`]'s module doc (R1-R6); comments below cite them.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::refcount::RefCount;
use super::{TaskError, TaskId};
use crate::event_loop::shared::Shared;

/// In the ready queue (a loop-local owner, R2).
pub(crate) const SCHEDULED: u32 = 1 << 0;
/// Inside `poll` right now.
pub(crate) const RUNNING: u32 = 1 << 1;
/// The future is gone; the stage holds the output (or it was taken).
pub(crate) const COMPLETE: u32 = 1 << 2;
/// `cancel()` was called; the loop drops the future on its next visit.
pub(crate) const CANCELLED: u32 = 1 << 3;
/// The `Task<T>` handle is alive (a loop-local owner, R2).
pub(crate) const HANDLE: u32 = 1 << 4;
/// Listed in the loop's registry of live tasks (a loop-local owner, R2).
pub(crate) const REGISTERED: u32 = 1 << 5;
/// The handle took the output out of the stage.
pub(crate) const TAKEN: u32 = 1 << 6;

/// The task has a name, kept in the loop's name table (not in the header, to keep it small).
pub(crate) const NAMED: u32 = 1 << 7;

/// What the task's last poll reported waiting on (`task::dump`): how many labelled waits
/// (0, 1, 2 = "2 or more"; the first is in `Header::note`) and how many waker clones
/// loop-local primitives took (saturating at `NOTE_LOCAL_MAX`). Cleared when a poll starts.
pub(crate) const NOTE_LABELS_SHIFT: u32 = 9;
pub(crate) const NOTE_LABELS: u32 = 0b11 << NOTE_LABELS_SHIFT;
pub(crate) const NOTE_LOCAL_SHIFT: u32 = 11;
pub(crate) const NOTE_LOCAL_MAX: u32 = 0b1_1111;
pub(crate) const NOTE_LOCAL: u32 = NOTE_LOCAL_MAX << NOTE_LOCAL_SHIFT;
pub(crate) const NOTE_BITS: u32 = NOTE_LABELS | NOTE_LOCAL;

/// The loop-local owners. While any of these bits is set, the group holds one reference.
pub(crate) const LOCAL_OWNERS: u32 = SCHEDULED | HANDLE | REGISTERED;

/// The fixed part of every task. Fields marked "loop thread" are touched only by the
/// thread that runs the task's loop (R1); `refs` is the only field other threads touch.
#[repr(C)]
pub(crate) struct Header {
    /// One reference for the group of loop-local owners, plus one per `Waker` clone and
    /// per pending cross-thread wake (R2). The allocation is freed when it reaches zero.
    refs: RefCount,
    /// Loop thread: the state bits above.
    pub(crate) state: Cell<u32>,
    /// Loop thread: position in the loop's registry while `REGISTERED`.
    pub(crate) index: Cell<u32>,
    /// Loop thread: how many times the future was polled (wraps; for task dumps).
    pub(crate) polls: Cell<u32>,
    /// The type-specific operations.
    vtable: &'static Vtable,
    /// The loop's shared state: where cross-thread wakes go (R5). Immutable.
    pub(crate) shared: Arc<Shared>,
    /// Loop thread: the waker of whoever awaits the `Task<T>` handle.
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
    /// Immutable: the task's id, unique within its loop.
    pub(crate) id: TaskId,
    /// Loop thread: the first wait label of the last poll, encoded (`dump::Label`);
    /// valid while the state's `NOTE_LABELS` bits are set.
    pub(crate) note: Cell<u64>,
    /// Loop thread: the loop's coarse clock (ns since the loop started) at the last poll.
    pub(crate) last_poll: Cell<u64>,
    /// Where the task was spawned (`#[track_caller]`), for dumps and slow-poll reports.
    pub(crate) location: &'static std::panic::Location<'static>,
}

struct Vtable {
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> Poll<()>,
    cancel: unsafe fn(NonNull<Header>),
    read_output: unsafe fn(NonNull<Header>, *mut ()),
    peek_output: unsafe fn(NonNull<Header>) -> Peek,
    drop_output: unsafe fn(NonNull<Header>) -> Option<Box<dyn Any + Send>>,
    dealloc: unsafe fn(NonNull<Header>),
}

#[repr(C)]
struct TaskCell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

/// The future, then the outcome. A panic payload is boxed twice so that it takes one
/// word: a task whose future and output are small fits in 88 bytes.
enum Stage<F: Future> {
    Running(F),
    Finished(F::Output),
    Panicked(Box<Payload>),
    Cancelled,
    Taken,
}

type Payload = Box<dyn Any + Send>;

/// A non-owning pointer to a task. Who may hold one, and for how long, is rule R2.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TaskRef(NonNull<Header>);

impl TaskRef {
    /// The main future's place in the ready queue (L1): a marker that is never a task and
    /// is never dereferenced, only compared (a dangling, aligned pointer).
    #[inline]
    pub(crate) fn main_slot() -> TaskRef {
        TaskRef(NonNull::dangling())
    }

    /// True for [`TaskRef::main_slot`].
    #[inline]
    pub(crate) fn is_main_slot(self) -> bool {
        self.0 == NonNull::dangling()
    }

    /// Allocates a task in state `HANDLE | REGISTERED` with one reference (the local group).
    pub(crate) fn allocate<F: Future + 'static>(
        future: F,
        id: TaskId,
        shared: Arc<Shared>,
        named: bool,
        location: &'static std::panic::Location<'static>,
    ) -> TaskRef {
        let layout = std::alloc::Layout::new::<TaskCell<F>>();
        // SAFETY: the layout is not zero-sized (the header alone is 80 bytes).
        let cell = unsafe { std::alloc::alloc(layout) } as *mut TaskCell<F>;
        let Some(cell) = NonNull::new(cell) else {
            std::alloc::handle_alloc_error(layout)
        };
        let value = TaskCell {
            header: Header {
                refs: RefCount::new(1),
                state: Cell::new(HANDLE | REGISTERED | if named { NAMED } else { 0 }),
                index: Cell::new(0),
                polls: Cell::new(0),
                vtable: &Vtable {
                    poll: poll::<F>,
                    cancel: cancel::<F>,
                    read_output: read_output::<F>,
                    peek_output: peek_output::<F>,
                    drop_output: drop_output::<F>,
                    dealloc: dealloc_cell::<F>,
                },
                shared,
                join_waker: UnsafeCell::new(None),
                id,
                note: Cell::new(0),
                last_poll: Cell::new(0),
                location,
            },
            stage: UnsafeCell::new(Stage::Running(future)),
        };
        // SAFETY: freshly allocated with this type's layout; written once, before any use.
        unsafe { cell.as_ptr().write(value) };
        // `TaskCell` is `repr(C)` with the header first, so the cell pointer is a header pointer.
        TaskRef(cell.cast::<Header>())
    }

    /// Rebuilds a `TaskRef` from a waker's data pointer.
    ///
    /// # Safety
    /// `ptr` must come from [`TaskRef::as_ptr`] of a task that is still allocated.
    pub(crate) unsafe fn from_ptr(ptr: *const ()) -> TaskRef {
        // SAFETY: the caller promises `ptr` came from `as_ptr`, which is never null.
        TaskRef(unsafe { NonNull::new_unchecked(ptr as *mut Header) })
    }

    pub(crate) fn as_ptr(self) -> *const () {
        self.0.as_ptr() as *const ()
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a `TaskRef` is only used while the task is allocated (R2): its holder is
        // one of the owners, or is covered by one.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn state(self) -> u32 {
        self.header().state.get()
    }

    pub(crate) fn set_state(self, s: u32) {
        self.header().state.set(s)
    }

    pub(crate) fn id(self) -> TaskId {
        self.header().id
    }

    /// The task's name, from the loop's name table.
    pub(crate) fn name(self) -> Option<Arc<str>> {
        if self.state() & NAMED == 0 {
            return None;
        }
        self.header().shared.name_of(self.id())
    }

    /// Adds a reference (a waker clone, or a cross-thread wake in flight).
    #[inline]
    pub(crate) fn inc_ref(self) {
        self.header().refs.inc();
    }

    /// Drops a reference; frees the allocation when it was the last (R3).
    #[inline]
    pub(crate) fn drop_ref(self) {
        if !self.header().refs.dec() {
            return;
        }
        let dealloc = self.header().vtable.dealloc;
        // SAFETY: the count reached zero, so no other owner exists, and by R3 the stage
        // holds neither the future nor an output: only memory and the header remain.
        unsafe { dealloc(self.0) }
    }

    /// Clears loop-local owner bits; when the last local owner goes, the group's
    /// reference goes with it (R2). Loop thread only.
    #[inline]
    pub(crate) fn release_local(self, bits: u32) {
        let old = self.state();
        let new = old & !bits;
        self.set_state(new);
        if old & LOCAL_OWNERS != 0 && new & LOCAL_OWNERS == 0 {
            if new & NAMED != 0 {
                self.forget_name();
            }
            self.drop_ref();
        }
    }

    #[cold]
    fn forget_name(self) {
        self.header().shared.forget_name(self.id());
    }

    /// Polls the future once. `Ready` means the stage now holds the output. Loop thread only.
    ///
    /// # Safety
    /// The task must not be `COMPLETE` and the call must happen on the task's loop thread.
    #[inline(always)]
    pub(crate) unsafe fn poll(self, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: forwarded from the caller.
        unsafe { (self.header().vtable.poll)(self.0, cx) }
    }

    /// Drops the future and stores the cancellation (or the panic its drop raised).
    ///
    /// # Safety
    /// As for [`TaskRef::poll`].
    pub(crate) unsafe fn cancel_future(self) {
        // SAFETY: forwarded from the caller.
        unsafe { (self.header().vtable.cancel)(self.0) }
    }

    /// Moves the output out of the stage.
    ///
    /// # Safety
    /// The task must be `COMPLETE` and not `TAKEN`, and `T` must be its output type.
    #[inline]
    pub(crate) unsafe fn take_output<T>(self) -> Result<T, TaskError> {
        let mut out = std::mem::MaybeUninit::<Result<T, TaskError>>::uninit();
        // SAFETY: the caller promises the type matches; `read_output` initialises a
        // `Result<T, TaskError>` through the pointer (or panics, leaving it unread).
        unsafe {
            (self.header().vtable.read_output)(self.0, out.as_mut_ptr() as *mut ());
            out.assume_init()
        }
    }

    /// Looks at the outcome of a complete task without taking it. `Finished` carries a
    /// pointer to the output value, valid until the output is taken or dropped.
    ///
    /// # Safety
    /// The task must be `COMPLETE`; loop thread only.
    pub(crate) unsafe fn peek_output(self) -> Peek {
        // SAFETY: forwarded from the caller.
        unsafe { (self.header().vtable.peek_output)(self.0) }
    }

    /// Drops the output, if it is still there; a panic payload comes back for reporting,
    /// as does a panic raised while dropping the output value.
    ///
    /// # Safety
    /// The task must be `COMPLETE`; loop thread only.
    pub(crate) unsafe fn drop_output(self) -> Option<Box<dyn Any + Send>> {
        // SAFETY: forwarded from the caller.
        unsafe { (self.header().vtable.drop_output)(self.0) }
    }

    /// The join waker slot. Loop thread only (R1).
    pub(crate) fn take_join_waker(self) -> Option<Waker> {
        // SAFETY: R1: only the loop thread touches `join_waker`, and never re-entrantly.
        unsafe { (*self.header().join_waker.get()).take() }
    }

    /// Looks at the join waker. Loop thread only (R1).
    pub(crate) fn with_join_waker<R>(self, f: impl FnOnce(Option<&Waker>) -> R) -> R {
        // SAFETY: R1, as in `take_join_waker`; `f` only reads the waker.
        let slot = unsafe { &*self.header().join_waker.get() };
        f(slot.as_ref())
    }

    /// The reference count now (for the deadlock proof; exact only when no other thread
    /// holds a reference, which is what the proof checks).
    pub(crate) fn ref_count(self) -> u32 {
        self.header().refs.get()
    }

    /// Stores `w` as the join waker unless an equivalent one is already there.
    pub(crate) fn set_join_waker(self, w: &Waker) {
        // SAFETY: R1, as in `take_join_waker`.
        let slot = unsafe { &mut *self.header().join_waker.get() };
        match slot {
            Some(old) if old.will_wake(w) => {}
            _ => *slot = Some(w.clone()),
        }
    }
}

/// Runs `f`, catching a panic.
fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Box<dyn Any + Send>> {
    catch_unwind(AssertUnwindSafe(f))
}

/// # Safety
/// `ptr` is a live `TaskCell<F>` in stage `Running`, on its loop thread (R1, R4).
unsafe fn poll<F: Future>(ptr: NonNull<Header>, cx: &mut Context<'_>) -> Poll<()> {
    let cell = ptr.cast::<TaskCell<F>>();
    // SAFETY: the caller guarantees the cell is live and that nobody else borrows the stage.
    let stage = unsafe { &mut *cell.as_ref().stage.get() };
    let Stage::Running(fut) = stage else {
        unreachable!("a completed task was polled")
    };
    let fut: *mut F = fut;
    // SAFETY: the future lives in the heap cell and is never moved until dropped in place (R4).
    let pinned = unsafe { Pin::new_unchecked(&mut *fut) };
    let result = match catch(|| pinned.poll(cx)) {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(v)) => Stage::Finished(v),
        Err(payload) => Stage::Panicked(Box::new(payload)),
    };
    if !std::mem::needs_drop::<F>() {
        // Nothing to drop (no destructor can panic): overwrite the stage in place.
        // SAFETY: the future has no drop glue, so forgetting it is dropping it (R4).
        unsafe { ptr::write(stage, result) };
        return Poll::Ready(());
    }
    // SAFETY: drop the finished future in place (R4; the stage is `Running`, so the future
    // is all it holds), then overwrite the stage without dropping it again.
    let dropped = catch(|| unsafe { ptr::drop_in_place(fut) });
    let result = match dropped {
        Ok(()) => result,
        Err(payload) => {
            // The output is lost to the panic in the future's drop; drop it quietly.
            let _ = catch(move || drop(result));
            Stage::Panicked(Box::new(payload))
        }
    };
    // SAFETY: the old stage was dropped just above.
    unsafe { ptr::write(stage, result) };
    Poll::Ready(())
}

/// # Safety
/// As for [`poll`].
unsafe fn cancel<F: Future>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<TaskCell<F>>();
    // SAFETY: as in `poll`.
    let stage = unsafe { &mut *cell.as_ref().stage.get() };
    debug_assert!(matches!(stage, Stage::Running(_)));
    // SAFETY: drop the future in place (R4), then overwrite without a second drop.
    let result = match catch(|| unsafe { ptr::drop_in_place(stage as *mut Stage<F>) }) {
        Ok(()) => Stage::Cancelled,
        Err(payload) => Stage::Panicked(Box::new(payload)),
    };
    // SAFETY: the old stage was dropped just above.
    unsafe { ptr::write(stage, result) };
}

/// # Safety
/// `dst` points to a `Result<F::Output, TaskError>` to initialise; the cell is complete.
unsafe fn read_output<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    let cell = ptr.cast::<TaskCell<F>>();
    // SAFETY: as in `poll`.
    let stage = unsafe { &mut *cell.as_ref().stage.get() };
    // The common case, a returned value, without moving the whole stage around.
    if let Stage::Finished(v) = stage {
        // SAFETY: the value is moved out once: the stage is overwritten (without a drop)
        // right after, and the caller passes a pointer of exactly this type, uninitialised.
        unsafe {
            let v = ptr::read(v);
            ptr::write(stage, Stage::Taken);
            ptr::write(dst as *mut Result<F::Output, TaskError>, Ok(v));
        }
        return;
    }
    // SAFETY: forwarded.
    unsafe { read_failure::<F>(ptr, dst) }
}

/// `read_output` for a panicked or cancelled task.
///
/// # Safety
/// As for [`read_output`].
#[cold]
#[inline(never)]
unsafe fn read_failure<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    let cell = ptr.cast::<TaskCell<F>>();
    // SAFETY: as in `poll`.
    let (stage, id) = unsafe { (&mut *cell.as_ref().stage.get(), cell.as_ref().header.id) };
    let out = match std::mem::replace(stage, Stage::Taken) {
        Stage::Panicked(p) => Err(TaskError::panic(id, *p)),
        Stage::Cancelled => Err(TaskError::cancelled(id)),
        Stage::Finished(_) | Stage::Running(_) | Stage::Taken => {
            unreachable!("task output read before completion or twice")
        }
    };
    // SAFETY: the caller passes a pointer of exactly this type, uninitialised.
    unsafe { ptr::write(dst as *mut Result<F::Output, TaskError>, out) }
}

/// What a complete task's stage holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Peek {
    /// The output value, at this address.
    Finished(*const ()),
    /// The panic's payload, at this address.
    Panicked(*const (dyn Any + Send)),
    Cancelled,
    Taken,
}

/// # Safety
/// The cell is complete; loop thread.
unsafe fn peek_output<F: Future>(ptr: NonNull<Header>) -> Peek {
    let cell = ptr.cast::<TaskCell<F>>();
    // SAFETY: as in `poll`; only a shared borrow of the stage is taken.
    let stage = unsafe { &*cell.as_ref().stage.get() };
    match stage {
        Stage::Finished(v) => Peek::Finished(v as *const F::Output as *const ()),
        Stage::Panicked(p) => Peek::Panicked(&***p as *const (dyn Any + Send)),
        Stage::Cancelled => Peek::Cancelled,
        Stage::Taken => Peek::Taken,
        Stage::Running(_) => unreachable!("peek_output on a running task"),
    }
}

/// # Safety
/// The cell is complete; loop thread.
unsafe fn drop_output<F: Future>(ptr: NonNull<Header>) -> Option<Box<dyn Any + Send>> {
    let cell = ptr.cast::<TaskCell<F>>();
    // SAFETY: as in `poll`.
    let stage = unsafe { &mut *cell.as_ref().stage.get() };
    match std::mem::replace(stage, Stage::Taken) {
        Stage::Panicked(p) => Some(*p),
        Stage::Finished(v) => catch(move || drop(v)).err(),
        Stage::Cancelled | Stage::Taken => None,
        Stage::Running(_) => unreachable!("drop_output on a running task"),
    }
}

/// # Safety
/// The reference count reached zero; the stage holds no future and no output (R3).
unsafe fn dealloc_cell<F: Future>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<TaskCell<F>>().as_ptr();
    // SAFETY: the cell came from `alloc` with this layout in `allocate`, and nobody else
    // refers to it.
    // By R3 the stage holds nothing to drop (`Taken` or `Cancelled`) and the join waker
    // was taken when the task completed (it is never set after), so the header's
    // `Arc<Shared>` is all that needs dropping before the memory goes back.
    unsafe {
        debug_assert!(matches!(
            *(*cell).stage.get(),
            Stage::Taken | Stage::Cancelled
        ));
        debug_assert!((*(*cell).header.join_waker.get()).is_none());
        ptr::drop_in_place(ptr::addr_of_mut!((*cell).header.shared));
        std::alloc::dealloc(cell as *mut u8, std::alloc::Layout::new::<TaskCell<F>>());
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Locks the memory budget per task: a task with a small future and output is one
    /// 96-byte block (a 112-byte malloc chunk): 80 bytes of bookkeeping, of which the
    /// poll count, the last poll's time, the wait note and the spawn location serve task
    /// dumps and slow-poll reports.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn task_block_stays_small() {
        type F = std::future::Ready<()>;
        assert_eq!(std::mem::size_of::<Header>(), 80);
        assert_eq!(std::mem::size_of::<Stage<F>>(), 16);
        assert_eq!(std::mem::size_of::<TaskCell<F>>(), 96);
    }
}
