//! Loop-local synchronization: Stackless [`Channel`]s, mpsc channels, queues, locks,
//! events. Everything here lives on the loop's thread (`!Send`), so no atomics or mutexes
//! sit on these paths; [`cross_thread`] is the one door for plain threads.
//!
//! # Rules
//! - **S1 FIFO.** Waiters are served in the order they started waiting.
//! - **S2 No lost wake-ups.** A waiter cancelled (dropped) after it was woken but before
//!   it ran passes its wake-up (and any value or permit handed to it) on to the next one.
//! - **S3 Closed means closed.** Sending on a closed channel gives the value back in the
//!   error; receivers drain what is left, then see the end.
//! - **S4 Guards are context managers.** `async with lock:` is `let guard =
//!   lock.lock().await;` and the release is the guard's drop.

mod barrier;
mod channel;
mod condition;
pub mod cross_thread;
mod event;
mod lock;
pub mod mpsc;
pub mod oneshot;
mod queue;
mod semaphore;
mod waiters;

pub use barrier::{Barrier, BarrierWait, BrokenBarrier};
pub use channel::{Channel, Receive, RecvError, Send, SendError};
pub use condition::Condition;
pub use event::{Event, EventWait, Notified, Notify};
pub use lock::{Acquire, Lock, LockGuard};
pub use queue::{
    BaseQueue, Fifo, Get, GetError, Lifo, LifoQueue, Priority, PriorityQueue, Put, PutError, Queue,
    QueueJoin, Store, TooManyTaskDone,
};
pub use semaphore::{AcquirePermit, BoundedSemaphore, Semaphore, SemaphorePermit, TooManyReleases};
