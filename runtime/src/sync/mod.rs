//! Loop-local synchronization: Stackless [`Channel`]s, mpsc channels, queues, locks,
//! events. No atomics or mutexes sit on these paths (`Cell`/`RefCell` state); [`cross_thread`]
//! is the one door for plain threads.
//!
//! What may cross threads: [`Lock`], the queues, [`Semaphore`], [`BoundedSemaphore`],
//! [`Event`], [`Notify`], [`Barrier`] and [`Condition`] are `Send` but not `Sync`: each owns
//! all of its state (no shared handle), so moving one to another thread (before it is
//! shared with `Rc` there) moves all of it, and it is only ever used from one thread at a
//! time; its waiters' wakers are `Send + Sync`. [`Channel`], [`mpsc`], [`oneshot`] and
//! [`Promise`](crate::Promise) share their state through an `Rc` between handles, so they
//! are `!Send`:
//!
//! ```compile_fail
//! fn send<T: Send>(_: T) {}
//! send(runtime::sync::Channel::<u32>::new());
//! ```
//!
//! ```compile_fail
//! fn send<T: Send>(_: T) {}
//! send(runtime::sync::mpsc::unbounded::<u32>().0);
//! ```
//!
//! ```compile_fail
//! fn send<T: Send>(_: T) {}
//! send(runtime::sync::oneshot::channel::<u32>().1);
//! ```
//!
//! ```compile_fail
//! fn send<T: Send>(_: T) {}
//! send(runtime::Promise::<u32>::new());
//! ```
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
