//! Task dumps: what every task of a loop is doing, and what it waits on.
//!
//! The runtime's own primitives label their waits: when a wait returns `Pending` it tells
//! the loop what it waits on with a static label (no allocation), and whether the wait is
//! *loop-local* (only code on this loop's thread can end it: a `Queue`, a `Lock`, a
//! `Promise`, a `Task` join). The loop keeps the first label of a task's last poll. Joins
//! and sleeps need no label: a dump finds them in the join slots and in the timers.

use std::fmt;
use std::panic::Location;
use std::time::Duration;

use super::TaskId;
use crate::event_loop::context;

/// What a wait is on, as a primitive reports it. Static strings only: labelling a wait
/// costs no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Label {
    /// A primitive's operation, e.g. `"Queue::get"`.
    Op(&'static str),
    /// Readiness of an I/O source of this type (its `type_name`), reading or writing.
    Io(&'static str, bool),
    /// A join: the task with this id.
    Join(TaskId),
    /// A timer, with its deadline on the loop's clock (ns).
    Sleep(u64),
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Label::Op(s) => f.write_str(s),
            Label::Join(id) => write!(f, "Task {id}"),
            Label::Sleep(ns) => write!(f, "sleep until {}", fmt_duration(Duration::from_nanos(ns))),
            Label::Io(ty, write) => {
                let short = short_type_name(ty);
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

/// What one poll reported: its first label, and how many waker clones loop-local
/// primitives took during it (the deadlock proof counts them against the task's
/// reference count).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct WaitNote {
    pub(crate) label: Option<Label>,
    pub(crate) labels: u16,
    pub(crate) local: u16,
}

impl WaitNote {
    pub(crate) const EMPTY: WaitNote = WaitNote {
        label: None,
        labels: 0,
        local: 0,
    };
}

/// A task's last note, valid while `stamp` equals the task's poll count.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StoredWait {
    pub(crate) note: WaitNote,
    pub(crate) stamp: u32,
}

/// Tells the running loop that the future being polled waits on `label` and returns
/// `Pending`. `local`: the wait holds one clone of the waker in a loop-local place that
/// only this loop's thread can reach (then a deadlock can be proved). Outside a loop, or
/// from a poll that is not a task's or main's, it does nothing.
#[inline]
pub(crate) fn note_wait(label: Label, local: bool) {
    context::with_core(|c| {
        if let Some(c) = c {
            c.note_wait(label, local)
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
    /// What it waits on, one item per wait its last poll registered, as the runtime's
    /// primitives name them: `Queue::get`, `Lock::lock`, `Task #7` (a join),
    /// `sleep until 12.000s (in 2.000s)`, `TcpStream read`, `run_in_executor job`, ...
    /// Empty when the task is not waiting or waits on something of its own.
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
