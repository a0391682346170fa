//! Task wakers: `Send + Sync`, one pointer wide, no allocation.
//!
//! A wake on the task's own loop thread (while that loop runs) pushes the task onto the
//! local ready queue with no atomic operation (R5). From anywhere else it takes a
//! reference and goes through the loop's thread-safe injection queue.

use std::mem::ManuallyDrop;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::raw::TaskRef;
use crate::event_loop::context;

pub(crate) static VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker that borrows the task's reference instead of owning one: used for polls,
/// where the loop's own ownership keeps the task alive. Never drop it as a `Waker`.
pub(crate) fn borrowed_waker(task: TaskRef) -> ManuallyDrop<Waker> {
    // SAFETY: the vtable's contract holds for a live task pointer; `ManuallyDrop` keeps the
    // borrowed waker from releasing a reference it never took (R2).
    ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(task.as_ptr(), &VTABLE)) })
}

/// The task behind `waker`, if it is one of ours. The reference is borrowed from the
/// waker: use it only while `waker` is alive.
pub(crate) fn as_task(waker: &Waker) -> Option<TaskRef> {
    if std::ptr::eq(waker.vtable(), &VTABLE) {
        // SAFETY: our vtable means the data pointer is a live task's (the waker holds or
        // borrows a reference to it).
        Some(unsafe { TaskRef::from_ptr(waker.data()) })
    } else {
        None
    }
}

unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: a waker's pointer always names a live task (it holds or borrows a reference).
    let task = unsafe { TaskRef::from_ptr(ptr) };
    task.inc_ref();
    RawWaker::new(ptr, &VTABLE)
}

unsafe fn wake(ptr: *const ()) {
    // SAFETY: as in `clone`; this waker owns one reference, released after scheduling.
    let task = unsafe { TaskRef::from_ptr(ptr) };
    context::schedule(task);
    task.drop_ref();
}

unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: as in `clone`.
    let task = unsafe { TaskRef::from_ptr(ptr) };
    context::schedule(task);
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: as in `clone`; this waker owns one reference.
    let task = unsafe { TaskRef::from_ptr(ptr) };
    task.drop_ref();
}

/// For the loop's collectors (I/O events, due timers), which hold a borrow of their own
/// structure while they take wakers out of it: wakes `w` now if it is a task waker of
/// this runtime and nothing is collected yet; otherwise collects it into `out`, to be
/// woken once the borrow is released. A task waker runs no user code (it queues the
/// task, here or on its own loop, and drops a reference, which frees at most a finished
/// task's memory), so it is safe inside the borrow; anything else might not be. Waking
/// directly only while `out` is empty keeps the wake order: once one waker waits in
/// `out`, the rest queue behind it. `local` queues a task of the calling loop (true)
/// without the thread-local lookup a waker makes.
#[inline(always)]
pub(crate) fn wake_or_collect(w: Waker, out: &mut Vec<Waker>, local: &impl Fn(TaskRef) -> bool) {
    if out.is_empty() {
        if let Some(task) = as_task(&w) {
            if local(task) {
                // The waker's reference goes with it (what its drop does, without the
                // indirect call); the queue's hold is its own (R2).
                std::mem::forget(w);
                task.drop_ref();
            } else {
                w.wake();
            }
            return;
        }
    }
    out.push(w);
}
