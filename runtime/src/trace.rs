//! The `tracing` feature: every task is a span, entered for each of its polls.

use std::future::Future;
use std::panic::Location;

use crate::task::TaskId;

/// Wraps a task's future in its `runtime.spawn` span (target `runtime::task`, level
/// INFO), with the fields `task.id`, `task.name`, `loc.file`, `loc.line` and `loc.col`.
/// The span is entered for each poll and for the future's drop, so events a task emits
/// carry it, and spans opened inside the task follow it across awaits.
pub(crate) fn instrument<F: Future>(
    future: F,
    id: TaskId,
    name: Option<&str>,
    location: &'static Location<'static>,
) -> tracing::instrument::Instrumented<F> {
    let span = tracing::info_span!(
        target: "runtime::task",
        "runtime.spawn",
        task.id = id.0,
        task.name = name,
        loc.file = location.file(),
        loc.line = location.line(),
        loc.col = location.column(),
    );
    tracing::Instrument::instrument(future, span)
}
