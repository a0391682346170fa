//! Task wakers: `Send + Sync`, one pointer wide, no allocation.
//!
//! A wake on the task's own loop thread (while that loop runs) pushes the task onto the
//! local ready queue with no atomic operation (R5). From anywhere else it takes a
//! reference and goes through the loop's thread-safe injection queue.

use std::mem::ManuallyDrop;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::raw::TaskRef;
use crate::event_loop::context;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

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
