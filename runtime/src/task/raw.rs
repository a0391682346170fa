//! The task allocation: one heap block holding a [`Header`] and the future, whose slot
//! later holds the output. All of the task module's `unsafe` lives here and in `waker.rs`.
//!
//! See the rules in [`crate::task`]'s module doc (R1-R6); comments below cite them.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::refcount::RefCount;
use super::{TaskError, TaskId};
use crate::event_loop::shared::Shared;

/// In the ready queue (a loop-local owner, R2).
pub(crate) const SCHEDULED: u32 = 1 << 0;
/// Inside `poll` right now, or having its future dropped by the loop (a loop-local owner,
/// R2: it holds a task that is not registered yet).
pub(crate) const RUNNING: u32 = 1 << 1;
/// The future is gone; the stage holds the output (or it was taken).
pub(crate) const COMPLETE: u32 = 1 << 2;
/// `cancel()` was called; the loop drops the future on its next visit.
pub(crate) const CANCELLED: u32 = 1 << 3;
/// The `Task<T>` handle is alive (a loop-local owner, R2).
pub(crate) const HANDLE: u32 = 1 << 4;
/// Listed in the loop's registry of tasks that wait (a loop-local owner, R2): set when a
/// poll first returns `Pending`, cleared when the task completes.
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
pub(crate) const LOCAL_OWNERS: u32 = SCHEDULED | RUNNING | HANDLE | REGISTERED;

/// The fixed part of every task. Fields marked "loop thread" are touched only by the
/// thread that runs the task's loop (R1); `refs` is the only field other threads touch.
#[repr(C)]
pub(crate) struct Header {
    /// One reference for the group of loop-local owners, plus one per `Waker` clone and
    /// per pending cross-thread wake (R2). The allocation is freed when it reaches zero.
    refs: RefCount,
    /// Loop thread: the state bits above.
    pub(crate) state: Cell<u32>,
    /// Loop thread: position in the loop's registry while `REGISTERED` (the registry
    /// entry holds the last poll's time and wait note, see `Core::park`).
    pub(crate) index: Cell<u32>,
    /// Loop thread: how many times the future was polled (wraps; for task dumps).
    pub(crate) polls: Cell<u32>,
    /// The type-specific operations.
    vtable: &'static Vtable,
    /// The loop's shared state: where cross-thread wakes go (R5). Immutable.
    pub(crate) shared: Arc<Shared>,
    /// Loop thread: the waker of whoever awaits the `Task<T>` handle, in one word.
    join_waker: JoinWaker,
    /// Immutable: the task's id, unique within its loop.
    pub(crate) id: TaskId,
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

/// Where the stage is, in the state word (bits 16-18): what [`Stage`] holds. Written
/// only by the stage functions below, which read the state afresh, and kept by every
/// other writer of the state (they all change single bits of the value they read).
const STAGE_SHIFT: u32 = 16;
const STAGE_MASK: u32 = 0b111 << STAGE_SHIFT;
/// The stage holds the future.
const STAGE_RUNNING: u32 = 0;
/// The stage holds the output value.
const STAGE_FINISHED: u32 = 1 << STAGE_SHIFT;
/// The stage holds a panic's payload.
const STAGE_PANICKED: u32 = 2 << STAGE_SHIFT;
/// The future was dropped by a cancellation; the stage holds nothing.
const STAGE_CANCELLED: u32 = 3 << STAGE_SHIFT;
/// The outcome was taken or dropped; the stage holds nothing.
const STAGE_TAKEN: u32 = 4 << STAGE_SHIFT;

#[repr(C)]
struct TaskCell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

/// The future, then the outcome: a union whose tag is in the state word (`STAGE_*`), so
/// that it takes no word of its own (an enum's tag costs 8 bytes when the future has no
/// niche, as async blocks do not). A panic payload is boxed twice so that it takes one
/// word: a task whose future and output are small fits in 72 bytes (an 80-byte malloc
/// chunk).
union Stage<F: Future> {
    running: ManuallyDrop<F>,
    finished: ManuallyDrop<F::Output>,
    panicked: ManuallyDrop<Box<Payload>>,
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

    /// Allocates a task in state `HANDLE | SCHEDULED` (the caller queues it) with one
    /// reference (the local group). It is registered if it ever waits.
    pub(crate) fn allocate<F: Future + 'static>(
        future: F,
        id: TaskId,
        shared: Arc<Shared>,
        named: bool,
        location: &'static std::panic::Location<'static>,
    ) -> TaskRef {
        let layout = std::alloc::Layout::new::<TaskCell<F>>();
        // SAFETY: the layout is not zero-sized (the header alone is 56 bytes).
        let cell = unsafe { std::alloc::alloc(layout) } as *mut TaskCell<F>;
        let Some(cell) = NonNull::new(cell) else {
            std::alloc::handle_alloc_error(layout)
        };
        let value = TaskCell {
            header: Header {
                refs: RefCount::new(1),
                state: Cell::new(HANDLE | SCHEDULED | if named { NAMED } else { 0 }),
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
                join_waker: JoinWaker::new(),
                id,
                location,
            },
            stage: UnsafeCell::new(Stage {
                running: ManuallyDrop::new(future),
            }),
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
    #[inline]
    pub(crate) fn take_join_waker(self) -> Option<Waker> {
        self.header().join_waker.take()
    }

    /// Looks at the join waker. Loop thread only (R1).
    pub(crate) fn with_join_waker<R>(self, f: impl FnOnce(Option<&Waker>) -> R) -> R {
        self.header().join_waker.with(f)
    }

    /// The reference count now (for the deadlock proof; exact only when no other thread
    /// holds a reference, which is what the proof checks).
    pub(crate) fn ref_count(self) -> u32 {
        self.header().refs.get()
    }

    /// Stores `w` as the join waker unless an equivalent one is already there.
    #[inline]
    pub(crate) fn set_join_waker(self, w: &Waker) {
        self.header().join_waker.set(w)
    }
}

/// The join waker in one word (it keeps the header at 56 bytes; BENCHMARKS, issue 15):
/// null when there is none; otherwise an owned waker's data pointer with, in its two low
/// bits, the index of its vtable in [`known_vtables`], or [`JOIN_BOXED`] for any other
/// waker, which is kept whole in a `Box`. Loop thread only (R1): a `Cell`, never
/// borrowed across a call that could reach the slot again.
struct JoinWaker(Cell<*const ()>);

/// The tag of a waker kept in a `Box<Waker>`.
const JOIN_BOXED: usize = 3;
const JOIN_TAG: usize = 3;

/// The runtime's own waker vtables, whose wakers a join slot keeps as a bare data pointer:
/// a task's (a task awaiting a task), a `ReadySet` member's (`gather`, `wait`,
/// `as_completed`) and main's. Their data pointers are all at least 4-aligned (a task
/// header, a `Member`, an `Arc<MainWake>`'s value), which `set` checks anyway.
#[inline(always)]
fn known_vtables() -> [&'static RawWakerVTable; 3] {
    [
        &super::waker::VTABLE,
        &crate::combine::ready_set::VTABLE,
        &crate::event_loop::core::MAIN_VTABLE,
    ]
}

impl JoinWaker {
    fn new() -> JoinWaker {
        JoinWaker(Cell::new(ptr::null()))
    }

    fn is_empty(&self) -> bool {
        self.0.get().is_null()
    }

    /// Stores a clone of `w` unless the slot holds a waker that wakes the same task.
    #[inline]
    fn set(&self, w: &Waker) {
        let word = self.0.get();
        if !word.is_null() && self.with(|old| old.is_some_and(|old| old.will_wake(w))) {
            return;
        }
        // The clone first: a foreign waker's clone is user code, which could come back to
        // this slot; the slot is only read and replaced after it.
        let new = w.clone();
        let (data, vtable) = (new.data(), new.vtable());
        let kinds = known_vtables();
        let tag = kinds.iter().position(|k| ptr::eq(*k, vtable));
        let word = match tag {
            Some(tag) if data.addr() & JOIN_TAG == 0 && !data.is_null() => {
                // The slot now owns the clone's count; `take` rebuilds the waker.
                std::mem::forget(new);
                data.map_addr(|a| a | tag)
            }
            _ => {
                let boxed = Box::into_raw(Box::new(new)) as *const ();
                boxed.map_addr(|a| a | JOIN_BOXED)
            }
        };
        let old = self.0.replace(word);
        if !old.is_null() {
            // SAFETY: `old` came from `set`, and the slot no longer holds it, so it is
            // rebuilt once. Dropped last: a waker's drop may be user code.
            drop(unsafe { decode(old) });
        }
    }

    /// Takes the waker out, leaving the slot empty.
    #[inline]
    fn take(&self) -> Option<Waker> {
        let word = self.0.replace(ptr::null());
        if word.is_null() {
            return None;
        }
        // SAFETY: `word` came from `set`, which gave the slot ownership of the waker it
        // encodes; the slot is now empty, so it is rebuilt exactly once.
        Some(unsafe { decode(word) })
    }

    /// Calls `f` with the waker in the slot, if any (borrowed: `f` must not touch the slot).
    fn with<R>(&self, f: impl FnOnce(Option<&Waker>) -> R) -> R {
        let word = self.0.get();
        if word.is_null() {
            return f(None);
        }
        let (data, tag) = split(word);
        if tag == JOIN_BOXED {
            // SAFETY: `set` made this pointer with `Box::into_raw` of a `Box<Waker>` the
            // slot still owns; `f` only borrows it.
            return f(Some(unsafe { &*(data as *const Waker) }));
        }
        // SAFETY: `set` forgot a waker with this data pointer and this vtable (the tag is
        // its index); the rebuilt waker is not dropped (`ManuallyDrop`), so the slot keeps
        // the count it owns.
        let w = std::mem::ManuallyDrop::new(unsafe {
            Waker::from_raw(RawWaker::new(data, known_vtables()[tag]))
        });
        f(Some(&w))
    }
}

/// A join slot's word as its data pointer and its tag.
#[inline(always)]
fn split(word: *const ()) -> (*const (), usize) {
    (word.map_addr(|a| a & !JOIN_TAG), word.addr() & JOIN_TAG)
}

/// Rebuilds the waker a join slot's word encodes.
///
/// # Safety
/// `word` is non-null and came from `JoinWaker::set`; the caller decides who owns the
/// result (it carries the count, or the box, the slot held).
unsafe fn decode(word: *const ()) -> Waker {
    let (data, tag) = split(word);
    if tag == JOIN_BOXED {
        // SAFETY: `set` made this pointer with `Box::into_raw` of a `Box<Waker>`.
        *unsafe { Box::from_raw(data as *mut Waker) }
    } else {
        // SAFETY: `set` forgot a waker with this data pointer and this vtable (the tag is
        // its index), so rebuilding it restores that waker and the count it owned.
        unsafe { Waker::from_raw(RawWaker::new(data, known_vtables()[tag])) }
    }
}

/// Runs `f`, catching a panic.
fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Box<dyn Any + Send>> {
    catch_unwind(AssertUnwindSafe(f))
}

/// The stage's tag (`STAGE_*`).
#[inline(always)]
fn stage_of(header: &Header) -> u32 {
    header.state.get() & STAGE_MASK
}

/// Sets the stage's tag, keeping the other state bits.
#[inline(always)]
fn set_stage(header: &Header, tag: u32) {
    header.state.set((header.state.get() & !STAGE_MASK) | tag);
}

/// Writes the outcome into a stage that holds nothing (the future was just dropped or
/// forgotten) and tags it.
///
/// # Safety
/// `stage` is the cell's stage, holding nothing that still needs a drop; loop thread.
#[inline(always)]
unsafe fn store_outcome<F: Future>(
    header: &Header,
    stage: *mut Stage<F>,
    outcome: Result<F::Output, Box<Payload>>,
) {
    // SAFETY: the caller guarantees the stage is free to overwrite; the tag written next
    // says which field is live.
    unsafe {
        match outcome {
            Ok(v) => {
                ptr::write(
                    stage,
                    Stage {
                        finished: ManuallyDrop::new(v),
                    },
                );
                set_stage(header, STAGE_FINISHED);
            }
            Err(p) => {
                ptr::write(
                    stage,
                    Stage {
                        panicked: ManuallyDrop::new(p),
                    },
                );
                set_stage(header, STAGE_PANICKED);
            }
        }
    }
}

/// # Safety
/// `ptr` is a live `TaskCell<F>` in stage `Running`, on its loop thread (R1, R4).
unsafe fn poll<F: Future>(ptr: NonNull<Header>, cx: &mut Context<'_>) -> Poll<()> {
    let cell = ptr.cast::<TaskCell<F>>();
    // SAFETY: the caller guarantees the cell is live; loop thread (R1).
    let (header, stage) = unsafe { (&cell.as_ref().header, cell.as_ref().stage.get()) };
    debug_assert_eq!(
        stage_of(header),
        STAGE_RUNNING,
        "a completed task was polled"
    );
    // `ManuallyDrop<F>` has `F`'s layout, so the field's address is the future's.
    let fut = stage as *mut F;
    // SAFETY: the stage holds the future (the caller's promise); it lives in the heap cell
    // and is never moved until dropped in place (R4); nobody else borrows it.
    let pinned = unsafe { Pin::new_unchecked(&mut *fut) };
    let outcome = match catch(|| pinned.poll(cx)) {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(v)) => Ok(v),
        Err(payload) => Err(Box::new(payload)),
    };
    if std::mem::needs_drop::<F>() {
        // SAFETY: drop the finished future in place (R4); it is not touched again.
        if let Err(payload) = catch(|| unsafe { ptr::drop_in_place(fut) }) {
            // The output is lost to the panic in the future's drop; drop it quietly.
            let _ = catch(move || drop(outcome));
            // SAFETY: the future is gone; the stage is free.
            unsafe { store_outcome::<F>(header, stage, Err(Box::new(payload))) };
            return Poll::Ready(());
        }
    }
    // SAFETY: the future was dropped above or has no drop glue (forgetting it is
    // dropping it, R4); the stage is free.
    unsafe { store_outcome::<F>(header, stage, outcome) };
    Poll::Ready(())
}

/// # Safety
/// As for [`poll`].
unsafe fn cancel<F: Future>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<TaskCell<F>>();
    // SAFETY: as in `poll`.
    let (header, stage) = unsafe { (&cell.as_ref().header, cell.as_ref().stage.get()) };
    debug_assert_eq!(stage_of(header), STAGE_RUNNING);
    // SAFETY: drop the future in place (R4); it is not touched again.
    match catch(|| unsafe { ptr::drop_in_place(stage as *mut F) }) {
        Ok(()) => set_stage(header, STAGE_CANCELLED),
        // SAFETY: the future is gone; the stage is free.
        Err(payload) => unsafe { store_outcome::<F>(header, stage, Err(Box::new(payload))) },
    }
}

/// # Safety
/// `dst` points to a `Result<F::Output, TaskError>` to initialise; the cell is complete.
unsafe fn read_output<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    let cell = ptr.cast::<TaskCell<F>>();
    // SAFETY: as in `poll`.
    let (header, stage) = unsafe { (&cell.as_ref().header, cell.as_ref().stage.get()) };
    // The common case, a returned value.
    if stage_of(header) == STAGE_FINISHED {
        // SAFETY: the tag says the stage holds the output; it is moved out once (the tag
        // becomes `TAKEN` right after), and the caller passes a pointer of exactly this
        // type, uninitialised.
        unsafe {
            let v = ptr::read(stage as *const F::Output);
            set_stage(header, STAGE_TAKEN);
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
    let (header, stage) = unsafe { (&cell.as_ref().header, cell.as_ref().stage.get()) };
    let out = match stage_of(header) {
        STAGE_PANICKED => {
            // SAFETY: the tag says the stage holds the payload; moved out once.
            let p = unsafe { ptr::read(stage as *const Box<Payload>) };
            Err(TaskError::panic(header.id, *p))
        }
        STAGE_CANCELLED => Err(TaskError::cancelled(header.id)),
        _ => unreachable!("task output read before completion or twice"),
    };
    set_stage(header, STAGE_TAKEN);
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
    // SAFETY: as in `poll`; only shared borrows of the stage are taken.
    let (header, stage) = unsafe { (&cell.as_ref().header, cell.as_ref().stage.get()) };
    match stage_of(header) {
        STAGE_FINISHED => Peek::Finished(stage as *const F::Output as *const ()),
        // SAFETY: the tag says the stage holds the payload.
        STAGE_PANICKED => Peek::Panicked(unsafe { &***(stage as *const Box<Payload>) }),
        STAGE_CANCELLED => Peek::Cancelled,
        STAGE_TAKEN => Peek::Taken,
        _ => unreachable!("peek_output on a running task"),
    }
}

/// # Safety
/// The cell is complete; loop thread.
unsafe fn drop_output<F: Future>(ptr: NonNull<Header>) -> Option<Box<dyn Any + Send>> {
    let cell = ptr.cast::<TaskCell<F>>();
    // SAFETY: as in `poll`.
    let (header, stage) = unsafe { (&cell.as_ref().header, cell.as_ref().stage.get()) };
    let tag = stage_of(header);
    match tag {
        STAGE_FINISHED | STAGE_PANICKED | STAGE_CANCELLED | STAGE_TAKEN => {}
        _ => unreachable!("drop_output on a running task"),
    }
    // Marked empty before the value's drop runs (user code).
    set_stage(header, STAGE_TAKEN);
    match tag {
        STAGE_FINISHED => {
            // SAFETY: the tag said the stage held the output; moved out once.
            let v = unsafe { ptr::read(stage as *const F::Output) };
            catch(move || drop(v)).err()
        }
        // SAFETY: the tag said the stage held the payload; moved out once.
        STAGE_PANICKED => Some(*unsafe { ptr::read(stage as *const Box<Payload>) }),
        _ => None,
    }
}

/// # Safety
/// The reference count reached zero; the stage holds no future and no output (R3).
unsafe fn dealloc_cell<F: Future>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<TaskCell<F>>().as_ptr();
    // SAFETY: the cell came from `alloc` with this layout in `allocate`, and nobody else
    // refers to it.
    // By R3 the stage holds nothing to drop (`TAKEN` or `CANCELLED`) and the join waker
    // was taken when the task completed (it is never set after), so the header's
    // `Arc<Shared>` is all that needs dropping before the memory goes back.
    unsafe {
        debug_assert!(matches!(
            stage_of(&(*cell).header),
            STAGE_TAKEN | STAGE_CANCELLED
        ));
        debug_assert!((*cell).header.join_waker.is_empty());
        ptr::drop_in_place(ptr::addr_of_mut!((*cell).header.shared));
        std::alloc::dealloc(cell as *mut u8, std::alloc::Layout::new::<TaskCell<F>>());
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Locks the memory budget per task: a task with a small future and output (the
    /// floor's spawn-join task, `async move { i }`) is one 72-byte block, an 80-byte malloc
    /// chunk: 56 bytes of header, of which the poll count, the spawn location and the
    /// registry index serve task dumps and slow-poll reports (the rest of their
    /// bookkeeping is kept only for tasks that wait, in the registry).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn task_block_stays_small() {
        fn cell_size<F: Future>(_: &F) -> usize {
            std::mem::size_of::<TaskCell<F>>()
        }
        let i = 7usize;
        assert_eq!(std::mem::size_of::<Header>(), 56);
        assert_eq!(cell_size(&async move { i }), 56 + 16);
        assert_eq!(cell_size(&std::future::ready(())), 56 + 8);
    }
}
