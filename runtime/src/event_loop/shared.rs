//! The part of a loop that other threads can reach: the injection queue, the OS waker
//! that interrupts a blocking `poll`, and the unhandled-panic policy.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::remote::{Pushed, Remote};
use super::UnhandledPanic;
use crate::task::raw::TaskRef;
use crate::task::TaskId;

/// Work handed to the loop from outside its thread.
pub(crate) enum Injected {
    /// A task woken from another thread (holds a counted reference).
    Wake(RemoteWake),
    /// A closure to run on the loop (`call_soon_threadsafe`).
    Call(Box<dyn FnOnce() + Send>),
}

/// A counted reference to a task, on its way to the task's loop.
pub(crate) struct RemoteWake(pub(crate) TaskRef);

// SAFETY: a `RemoteWake` owns one counted reference, and the only field it touches off
// the loop thread is the atomic reference count (R1, R5); the loop-thread fields are read
// only after the loop thread drains it.
unsafe impl Send for RemoteWake {}

impl Drop for RemoteWake {
    fn drop(&mut self) {
        self.0.drop_ref();
    }
}

static NEXT_LOOP_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) struct Shared {
    /// Unique per loop in this process.
    pub(crate) id: u64,
    pub(crate) remote: Remote<Injected>,
    /// Registered with the loop's `mio::Poll`; written only when the loop is parked.
    pub(crate) waker: mio::Waker,
    /// A clone of the loop's `mio::Registry`: sources dropped off the loop deregister
    /// through it (thread-safe; the slab stays loop-local, IO3).
    pub(crate) registry: mio::Registry,
    pub(crate) policy: UnhandledPanic,
    /// Set when the policy is `ShutdownRuntime` and a panic went unobserved.
    pub(crate) fatal_flag: AtomicBool,
    pub(crate) fatal: Mutex<Option<String>>,
    /// Names of named tasks, kept out of the task header (most tasks have none).
    names: Mutex<HashMap<u64, Arc<str>>>,
    /// Live `Handle`s: while one exists, another thread may spawn or call into the loop
    /// (the deadlock proof needs none).
    handles: AtomicUsize,
}

impl Shared {
    pub(crate) fn new(
        waker: mio::Waker,
        registry: mio::Registry,
        policy: UnhandledPanic,
    ) -> Shared {
        Shared {
            id: NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed),
            remote: Remote::new(),
            waker,
            registry,
            policy,
            fatal_flag: AtomicBool::new(false),
            fatal: Mutex::new(None),
            names: Mutex::new(HashMap::new()),
            handles: AtomicUsize::new(0),
        }
    }

    /// How many `Handle`s are alive.
    pub(crate) fn handles(&self) -> usize {
        self.handles.load(Ordering::Acquire)
    }

    pub(crate) fn handle_created(&self) {
        self.handles.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn handle_dropped(&self) {
        self.handles.fetch_sub(1, Ordering::AcqRel);
    }

    pub(crate) fn set_name(&self, id: TaskId, name: String) {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.0, name.into());
    }

    pub(crate) fn name_of(&self, id: TaskId) -> Option<Arc<str>> {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id.0)
            .cloned()
    }

    pub(crate) fn forget_name(&self, id: TaskId) {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id.0);
    }

    /// Queues `item`; wakes the loop if it is parked. Gives the item back if the loop is gone.
    pub(crate) fn inject(&self, item: Injected) -> Result<(), Injected> {
        match self.remote.push(item)? {
            Pushed::WakeLoop => self.wake_loop(),
            Pushed::Done => {}
        }
        Ok(())
    }

    /// Signals pending work without an item (e.g. the main future was woken).
    pub(crate) fn notify(&self) {
        if self.remote.notify() == Pushed::WakeLoop {
            self.wake_loop();
        }
    }

    fn wake_loop(&self) {
        // An error here means the eventfd is full or gone; the loop is then already
        // awake or closed, so there is nothing left to do.
        let _ = self.waker.wake();
    }

    /// Under `UnhandledPanic::ShutdownRuntime`, after a detached task panicked: stops the
    /// loop by panicking with the task's message (once).
    #[inline(always)]
    pub(crate) fn check_fatal(&self) {
        if self.fatal_flag.load(Ordering::Acquire) {
            self.fatal();
        }
    }

    #[cold]
    #[inline(never)]
    fn fatal(&self) {
        self.fatal_flag.store(false, Ordering::Relaxed);
        let msg = self
            .fatal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default();
        panic!(
            "runtime stopped: {msg} (the unhandled-panic policy is ShutdownRuntime; await \
             the task's handle to handle its panic)"
        );
    }

    /// Reports a panic that nobody observed, according to the loop's policy.
    pub(crate) fn report_unhandled(
        &self,
        id: TaskId,
        name: Option<&str>,
        payload: Box<dyn Any + Send>,
    ) {
        let msg = crate::task::error::payload_message(payload.as_ref())
            .unwrap_or("<non-string panic payload>")
            .to_owned();
        let who = match name {
            Some(n) => format!("task {id} ({n:?})"),
            None => format!("task {id}"),
        };
        #[cfg(feature = "tracing")]
        tracing::error!(
            target: "runtime::task",
            task_id = id.0,
            task_name = name,
            "{who} panicked and its result was never retrieved: {msg}"
        );
        match self.policy {
            UnhandledPanic::Ignore => {}
            UnhandledPanic::Report => eprintln!(
                "runtime: {who} panicked and its result was never retrieved: {msg}\n\
                 (await the task's `Task` handle to handle the panic, or set \
                 `Builder::unhandled_panic`)"
            ),
            UnhandledPanic::ShutdownRuntime => {
                eprintln!("runtime: {who} panicked and its result was never retrieved: {msg}");
                let mut fatal = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
                fatal.get_or_insert_with(|| format!("{who} panicked: {msg}"));
                self.fatal_flag.store(true, Ordering::Release);
                drop(fatal);
                // The loop looks at the flag when it starts a batch the long way, which
                // pending remote work forces.
                self.notify();
            }
        }
        // Dropping a payload can itself panic; never let that escape into the loop.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
    }
}
