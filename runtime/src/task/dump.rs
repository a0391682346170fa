//! Task dumps: what every task of a loop is doing, and what it waits on.
//!
//! The runtime's own primitives label their waits: when a wait returns `Pending` it tells
//! the loop what it waits on with a static label (no allocation), and whether the wait is
//! *loop-local* (only code on this loop's thread can end it: a `Queue`, a `Lock`, a
//! `Promise`, a `Task` join). The loop keeps the first label of a task's last poll in
//! one header word and the counts in state bits (ARCHITECTURE D1); "awaited by" edges
//! come from the tasks' join slots.

use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::time::Duration;

use super::raw;
use super::TaskId;
use crate::event_loop::context;

/// What a wait is on, as a primitive reports it. Static strings only: labelling a wait
/// costs no allocation.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Label {
    /// A primitive's operation, e.g. `&"Queue::get"` (a pointer to a static string, so
    /// that a label is two words).
    Op(&'static &'static str),
    /// Readiness of an I/O source (its type and direction; see [`io_site`]).
    Io(&'static IoSite),
    /// A join: the task with this id.
    Join(TaskId),
    /// A timer, with its deadline on the loop's clock (ns).
    Sleep(u64),
}

/// An I/O source's type and direction, as a static (one per type and direction).
#[derive(Debug)]
pub(crate) struct IoSite {
    ty: fn() -> &'static str,
    write: bool,
}

struct IoSites<S: ?Sized>(std::marker::PhantomData<S>);

impl<S: ?Sized> IoSites<S> {
    const READ: &'static IoSite = &IoSite {
        ty: std::any::type_name::<S>,
        write: false,
    };
    const WRITE: &'static IoSite = &IoSite {
        ty: std::any::type_name::<S>,
        write: true,
    };
}

/// The static site of waiting on an `S` for reading or writing.
#[inline]
pub(crate) fn io_site<S: ?Sized>(write: bool) -> &'static IoSite {
    if write {
        IoSites::<S>::WRITE
    } else {
        IoSites::<S>::READ
    }
}

const TAG_OP: u64 = 0;
const TAG_IO: u64 = 1;
const TAG_JOIN: u64 = 2;
const TAG_SLEEP: u64 = 3;

impl Label {
    /// One word: a static's address (8-byte aligned) or a value shifted left by 3, with
    /// the kind in the low 3 bits; never 0 for a label.
    #[inline]
    pub(crate) fn encode(self) -> u64 {
        match self {
            Label::Op(s) => s as *const &'static str as usize as u64 | TAG_OP,
            Label::Io(site) => site as *const IoSite as usize as u64 | TAG_IO,
            Label::Join(id) => (id.0 << 3) | TAG_JOIN,
            Label::Sleep(ns) => (ns.min(u64::MAX >> 3) << 3) | TAG_SLEEP,
        }
    }

    /// The label `encode` made (`None` for 0).
    ///
    /// # Safety
    /// `word` is 0 or came from [`Label::encode`].
    pub(crate) unsafe fn decode(word: u64) -> Option<Label> {
        if word == 0 {
            return None;
        }
        Some(match word & 7 {
            // SAFETY: such words come from `encode`, which took these addresses from
            // `&'static` references.
            TAG_OP => Label::Op(unsafe { &*((word & !7) as usize as *const &'static str) }),
            // SAFETY: as above.
            TAG_IO => Label::Io(unsafe { &*((word & !7) as usize as *const IoSite) }),
            TAG_JOIN => Label::Join(TaskId(word >> 3)),
            _ => Label::Sleep(word >> 3),
        })
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Label::Op(s) => f.write_str(s),
            Label::Join(id) => write!(f, "Task {id}"),
            Label::Sleep(ns) => write!(f, "sleep until {}", fmt_duration(Duration::from_nanos(ns))),
            Label::Io(&IoSite { ty, write }) => {
                let short = short_type_name(ty());
                if short.ends_with("Listener") && !write {
                    write!(f, "{short} accept")
                } else if write {
                    write!(f, "{short} write")
                } else {
                    write!(f, "{short} read")
                }
            }
        }
    }
}

/// `mio::net::tcp::stream::TcpStream` -> `TcpStream` (generic arguments kept).
fn short_type_name(ty: &'static str) -> &'static str {
    let end = ty.find('<').unwrap_or(ty.len());
    match ty[..end].rfind("::") {
        Some(i) => &ty[i + 2..],
        None => ty,
    }
}

/// What one poll reported: its first label, whether there were more, and how many waker
/// clones loop-local primitives took during it (the deadlock proof counts them against
/// the task's reference count; `NOTE_LOCAL_MAX` means "too many to tell").
#[derive(Clone, Copy, Debug)]
pub(crate) struct WaitNote {
    pub(crate) label: Option<Label>,
    pub(crate) more: bool,
    pub(crate) local: u32,
}

/// Adds a wait to a note kept as `bits` (laid out as the task state's `NOTE_BITS`) and
/// `word` (the first label, encoded); returns the new bits. `label: None` counts a
/// loop-local waker clone that dumps do not show. Tasks keep their note in their header
/// and state; the main future in two cells of the core.
#[inline]
pub(crate) fn add_to_note(bits: u32, word: &Cell<u64>, label: Option<Label>, local: bool) -> u32 {
    let mut labels = (bits & raw::NOTE_LABELS) >> raw::NOTE_LABELS_SHIFT;
    if let Some(label) = label {
        if labels == 0 {
            word.set(label.encode());
        }
        labels = (labels + 1).min(2); // 2 = "more than one"
    }
    let local = (((bits & raw::NOTE_LOCAL) >> raw::NOTE_LOCAL_SHIFT) + u32::from(local))
        .min(raw::NOTE_LOCAL_MAX);
    (bits & !raw::NOTE_BITS) | (labels << raw::NOTE_LABELS_SHIFT) | (local << raw::NOTE_LOCAL_SHIFT)
}

/// The note that [`add_to_note`] built in `bits` and `word`.
pub(crate) fn read_note(bits: u32, word: &Cell<u64>) -> WaitNote {
    let labels = (bits & raw::NOTE_LABELS) >> raw::NOTE_LABELS_SHIFT;
    WaitNote {
        label: if labels == 0 {
            None
        } else {
            // SAFETY: the labels count is set only by `add_to_note`, which wrote the word
            // with `Label::encode` first.
            unsafe { Label::decode(word.get()) }
        },
        more: labels > 1,
        local: (bits & raw::NOTE_LOCAL) >> raw::NOTE_LOCAL_SHIFT,
    }
}

/// Tells the running loop that the future being polled waits on `label` and returns
/// `Pending`. `local`: the wait holds one clone of the waker in a loop-local place that
/// only this loop's thread can reach (then a deadlock can be proved). Outside a loop, or
/// from a poll that is not a task's or main's, it does nothing.
#[inline]
pub(crate) fn note_wait(label: Label, local: bool) {
    context::with_core(|c| {
        if let Some(c) = c {
            c.note_wait(Some(label), local)
        }
    })
}

/// Like [`note_wait`] for a loop-local wait of the runtime's own that dumps do not show
/// (`run`'s Ctrl-C listener): it only counts for the deadlock proof.
pub(crate) fn note_hidden_local_wait() {
    context::with_core(|c| {
        if let Some(c) = c {
            c.note_wait(None, true)
        }
    })
}

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// In the ready queue: it runs in this batch or the next.
    Ready,
    /// Being polled right now (the task that took the dump).
    Running,
    /// Blocked until something wakes it.
    Waiting,
    /// Finished; its output is waiting for its handle.
    Done,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Ready => "ready",
            TaskState::Running => "running",
            TaskState::Waiting => "waiting",
            TaskState::Done => "done",
        })
    }
}

/// One line of a [`TaskDump`]: a task, or the loop's main future.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskEntry {
    /// The task's id; `None` for the main future (the one given to `block_on` / `run`).
    pub id: Option<TaskId>,
    /// The task's name ([`Builder::name`](crate::task::Builder::name)); `"main"` for the
    /// main future.
    pub name: Option<String>,
    /// Where it was spawned (`file:line:column` of the `spawn` call); `None` for main.
    pub spawned_at: Option<&'static Location<'static>>,
    /// Ready, running, waiting or done.
    pub state: TaskState,
    /// How many times it was polled.
    pub polls: u64,
    /// Time since its last poll began (`None`: never polled). Measured with a coarse
    /// clock that the loop reads when it parks, every 64 polls, and around each poll
    /// when slow-poll detection is on.
    pub since_last_poll: Option<Duration>,
    /// What it waits on, as the runtime's primitives name it: `Queue::get`, `Lock::lock`,
    /// `Task #7` (a join), `sleep until 12.000s (in 2.000s)`, `TcpStream read`,
    /// `run_in_executor job`, ... The first wait its last poll registered, with
    /// `(and more)` when it registered several (a `select`, a `timeout`). Empty when the
    /// task is not waiting or waits on something of its own.
    pub waiting_on: Vec<String>,
    /// The tasks (`Some(id)`) or the main future (`None`) that await this task's handle.
    pub awaited_by: Vec<Option<TaskId>>,
}

/// A snapshot of every task of a loop and the main future: ids, names, where each was
/// spawned, state, polls, and what each waits on ([`dump`](crate::task::dump),
/// [`Handle::dump`](crate::Handle::dump)). Printing it gives one line per task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskDump {
    /// The main future first (when a `block_on` runs), then the tasks by id.
    pub tasks: Vec<TaskEntry>,
}

impl TaskDump {
    /// The entry of task `id`, if it is alive.
    pub fn task(&self, id: TaskId) -> Option<&TaskEntry> {
        self.tasks.iter().find(|t| t.id == Some(id))
    }

    /// The main future's entry, if a `block_on` runs.
    pub fn main(&self) -> Option<&TaskEntry> {
        self.tasks.iter().find(|t| t.id.is_none())
    }
}

impl fmt::Display for TaskEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            Some(id) => write!(f, "task {id}")?,
            None => f.write_str("main")?,
        }
        if let (Some(name), Some(_)) = (&self.name, self.id) {
            write!(f, " {name:?}")?;
        }
        if let Some(loc) = self.spawned_at {
            write!(f, " at {loc}")?;
        }
        write!(f, ": {}", self.state)?;
        if !self.waiting_on.is_empty() {
            write!(f, " on {}", self.waiting_on.join(" | "))?;
        }
        write!(
            f,
            ", {} poll{}",
            self.polls,
            if self.polls == 1 { "" } else { "s" }
        )?;
        if let Some(d) = self.since_last_poll {
            write!(f, ", last {} ago", fmt_duration(d))?;
        }
        if !self.awaited_by.is_empty() {
            f.write_str(", awaited by ")?;
            for (i, w) in self.awaited_by.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                match w {
                    Some(id) => write!(f, "{id}")?,
                    None => f.write_str("main")?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.tasks.iter().filter(|t| t.id.is_some()).count();
        write!(f, "{n} task{}", if n == 1 { "" } else { "s" })?;
        for t in &self.tasks {
            write!(f, "\n  {t}")?;
        }
        Ok(())
    }
}

/// `1.234s`, `12.3ms`, `45us`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.3}s", d.as_secs_f64())
    } else if d >= Duration::from_millis(1) {
        format!("{:.1}ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{}us", d.as_micros())
    }
}

/// A snapshot of every task of the running loop and of its main future: what each is
/// doing and what it waits on (asyncio `all_tasks` with `print_stack`, or `python -m
/// asyncio ps`). See [`TaskDump`]. From another thread, use
/// [`Handle::dump`](crate::Handle::dump); from outside the program, start it with
/// [`Builder::dump_on_signal`](crate::Builder::dump_on_signal).
///
/// # Panics
///
/// Outside a running loop.
///
/// # Examples
///
/// ```
/// use runtime::sync::Queue;
///
/// runtime::run(async {
///     let queue = std::rc::Rc::new(Queue::<u32>::new());
///     let q = queue.clone();
///     let consumer = runtime::task::Builder::new()
///         .name("consumer")
///         .spawn(async move { q.get().await });
///     runtime::task::wait_all_blocked().await;
///
///     let dump = runtime::task::dump();
///     let entry = dump.task(consumer.id()).unwrap();
///     assert_eq!(entry.name.as_deref(), Some("consumer"));
///     assert_eq!(entry.state, runtime::task::TaskState::Waiting);
///     assert_eq!(entry.waiting_on, ["Queue::get"]);
///     println!("{dump}");
///     // 1 task
///     //   main: running, 2 polls, last 15us ago
///     //   task #1 "consumer" at src/main.rs:7:10: waiting on Queue::get, 1 poll, last 12us ago
///     consumer.cancel();
/// });
/// ```
#[track_caller]
pub fn dump() -> TaskDump {
    context::expect_core(|core| core.dump())
}

#[cfg(test)]
mod tests {
    /// A label is two words, so that noting a wait stays cheap.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn labels_are_small() {
        assert_eq!(std::mem::size_of::<Option<super::Label>>(), 16);
    }
}
