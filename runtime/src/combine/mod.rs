//! asyncio's concurrency toolkit: [`wait`](crate::wait), [`gather`](crate::gather),
//! [`as_completed`](crate::as_completed), [`TaskGroup`], [`shield`](crate::shield),
//! [`Promise`], [`select`](crate::select) and [`race`], [`join!`](macro@crate::join).
//!
//! # Rules
//! - **C1 O(1) per completion.** Combinators over many members give each member its own
//!   waker (`ready_set.rs`) and look only at the members that woke.
//! - **C2 Who cancels.** `wait`, `as_completed` and `shield` never cancel. `gather`,
//!   `try_gather`, `join!`, `select`, `race` run futures in place and drop the ones still
//!   running when they themselves are dropped or return early. `TaskGroup` cancels its
//!   children on the first failure and when dropped.
//! - **C3 Failure.** A task has failed when it panicked or, per [`Outcome`], returned a
//!   failure (`Err`). A cancelled task is done but has not failed.

mod as_completed;
mod gather;
#[doc(hidden)]
pub mod join;
mod outcome;
mod promise;
pub(crate) mod ready_set;
/// The synchronisation types `ready_set` uses (loom's in its model).
mod ready_set_sync {
    pub(crate) use std::sync::atomic::{AtomicBool, Ordering};
    pub(crate) use std::sync::{Arc, Mutex};
}
mod select;
mod shield;
mod task_group;
mod wait;

pub use as_completed::{as_completed, AsCompleted, AsCompletedWithin};
pub use gather::{
    gather, gather_settled, gather_tasks, try_gather, Gather, GatherSettled, TryGather,
};
pub use outcome::Outcome;
pub use promise::{InvalidState, Promise, PromiseError, PromiseStateError};
pub use select::{race, select, Either, Race, Select};
pub use shield::shield;
pub use task_group::{
    ChildError, ChildHandle, ChildInfo, ChildOutcome, GroupError, GroupSpawner, Join, SpawnError,
    TaskGroup,
};
pub use wait::{wait, ReturnWhen, Wait};
