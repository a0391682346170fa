//! The thread-local pointer to the loop running on this thread, and the wake dispatch
//! that uses it (rule L2 in [`crate::event_loop`]).

use std::cell::Cell;
use std::ptr;
use std::sync::Arc;

use super::core::Core;
use super::shared::{Injected, RemoteWake};
use crate::task::raw::TaskRef;

thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

/// The message for every API that needs a running loop.
pub(crate) const NO_LOOP: &str = "there is no running event loop on this thread: \
    call this from inside `runtime::run`, `#[runtime::main]`, `#[runtime::test]` or \
    `Runtime::block_on`";

/// Runs `f` with the loop running on this thread, if any.
#[inline]
pub(crate) fn with_core<R>(f: impl FnOnce(Option<&Core>) -> R) -> R {
    let p = CURRENT.with(|c| c.get());
    // SAFETY: L2: `CURRENT` is non-null only while an `Enter` guard for that core is
    // alive, and the guard borrows the core, so the pointer is valid for this call.
    f(unsafe { p.as_ref() })
}

/// Like [`with_core`] but panics with [`NO_LOOP`] outside a loop.
#[inline]
#[track_caller]
pub(crate) fn expect_core<R>(f: impl FnOnce(&Core) -> R) -> R {
    let p = CURRENT.with(|c| c.get());
    // SAFETY: L2, as in `with_core`.
    match unsafe { p.as_ref() } {
        Some(core) => f(core),
        None => panic!("{NO_LOOP}"),
    }
}

/// Proof that `core` is the running loop of this thread; restores the previous state on drop.
pub(crate) struct Enter<'a> {
    _core: &'a Core,
    prev: *const Core,
}

impl<'a> Enter<'a> {
    /// Returns `None` if a loop is already running on this thread.
    pub(crate) fn new(core: &'a Core) -> Option<Enter<'a>> {
        CURRENT.with(|c| {
            if !c.get().is_null() {
                return None;
            }
            c.set(core as *const Core);
            Some(Enter {
                _core: core,
                prev: ptr::null(),
            })
        })
    }

    /// Enters `core` even if another loop is running here (used only to tear a loop down
    /// from inside another one); the other loop is restored on drop.
    pub(crate) fn nested_for_teardown(core: &'a Core) -> Enter<'a> {
        let prev = CURRENT.with(|c| c.replace(core as *const Core));
        Enter { _core: core, prev }
    }
}

impl Drop for Enter<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

/// Schedules `task`: on its own running loop, straight onto the ready queue (no atomics);
/// from anywhere else, through the loop's injection queue (R5).
#[inline]
pub(crate) fn schedule(task: TaskRef) {
    with_core(|core| match core {
        Some(core)
            if ptr::eq(
                Arc::as_ptr(&core.shared),
                Arc::as_ptr(&task.header().shared),
            ) =>
        {
            core.schedule_local(task)
        }
        _ => schedule_remote(task),
    })
}

#[cold]
fn schedule_remote(task: TaskRef) {
    task.inc_ref();
    let shared = task.header().shared.clone();
    // A closed loop hands the wake back; dropping it releases the reference (a wake after
    // the runtime is gone is a no-op).
    let _ = shared.inject(Injected::Wake(RemoteWake(task)));
}

/// Wakes `waker` so that its task runs next, before the rest of the ready queue, when it
/// is a task of the loop running here; any other waker is woken normally.
pub(crate) fn wake_next(waker: &std::task::Waker) {
    if let Some(task) = crate::task::waker::as_task(waker) {
        let handled = with_core(|core| match core {
            Some(core)
                if ptr::eq(
                    Arc::as_ptr(&core.shared),
                    Arc::as_ptr(&task.header().shared),
                ) =>
            {
                core.schedule_front(task);
                true
            }
            _ => false,
        });
        if handled {
            return;
        }
    }
    waker.wake_by_ref();
}
