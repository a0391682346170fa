//! `TaskError`: why a task did not give its output.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;

use super::TaskId;

/// Why awaiting a [`Task`](crate::Task) did not give the task's output.
///
/// A task either was cancelled ([`Task::cancel`](crate::Task::cancel), or the runtime shut
/// down while it was still pending) or panicked. A panic never takes the loop down: it is
/// caught and handed to whoever awaits the task.
///
/// # Examples
///
/// ```
/// let err = runtime::run(async {
///     let task = runtime::spawn(async { panic!("boom") });
///     let _: () = match task.await { Ok(v) => v, Err(e) => return e };
///     unreachable!()
/// });
/// assert!(err.is_panic());
/// assert_eq!(err.panic_message(), Some("boom"));
/// ```
pub struct TaskError {
    id: TaskId,
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// The payload, and its message read at the panic (so that `panic_message` need not
    /// touch the payload, which is not `Sync`). Boxed: a `TaskError` (and so every
    /// `Result<T, TaskError>` a join hands over) stays two words.
    Panic(Box<PanicData>),
}

struct PanicData {
    payload: SyncPayload,
    message: Option<Cow<'static, str>>,
}

/// A panic payload in a `TaskError` that is `Sync`, so that the error converts into
/// `Box<dyn Error + Send + Sync>` and `anyhow::Error` (as tokio's `JoinError` does).
struct SyncPayload(Box<dyn Any + Send + 'static>);

// SAFETY: the payload is reachable only by value (`try_into_panic` moves it out), never
// through a shared reference, so a `&TaskError` shared between threads gives no access to
// the (possibly `!Sync`) payload.
unsafe impl Sync for SyncPayload {}

impl TaskError {
    pub(crate) fn cancelled(id: TaskId) -> Self {
        TaskError {
            id,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(id: TaskId, payload: Box<dyn Any + Send + 'static>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            Some(Cow::Borrowed(*s))
        } else {
            payload
                .downcast_ref::<String>()
                .map(|s| Cow::Owned(s.clone()))
        };
        TaskError {
            id,
            repr: Repr::Panic(Box::new(PanicData {
                payload: SyncPayload(payload),
                message,
            })),
        }
    }

    /// True if the task was cancelled before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the task panicked (in `poll`, or while its future was dropped).
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(..))
    }

    /// The id of the task this error came from.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The panic message, when the task panicked with a `&str` or `String` payload.
    pub fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(p) => p.message.as_deref(),
            Repr::Cancelled => None,
        }
    }

    /// The panic payload, to re-raise the panic with [`std::panic::resume_unwind`].
    ///
    /// # Errors
    ///
    /// Gives `self` back when the task was cancelled rather than panicked.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.payload.0),
            Repr::Cancelled => Err(self),
        }
    }
}

/// The message of a panic payload, when it is a `&str` or a `String`.
pub(crate) fn payload_message(p: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = p.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        p.downcast_ref::<String>().map(|s| s.as_str())
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "TaskError::Cancelled({})", self.id),
            Repr::Panic(..) => write!(
                f,
                "TaskError::Panic({}, {:?})",
                self.id,
                self.panic_message().unwrap_or("<non-string payload>")
            ),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(..) => write!(
                f,
                "task {} panicked: {}",
                self.id,
                self.panic_message().unwrap_or("<non-string payload>")
            ),
        }
    }
}

impl std::error::Error for TaskError {}

// `TaskError` goes into `Box<dyn Error + Send + Sync>` (and `anyhow::Error`) with `?`, and
// stays small (it travels inside every join's `Result`).
const _: fn() = || {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<TaskError>();
};
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<TaskError>() == 16);
