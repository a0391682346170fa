//! The `tracing` feature: every task is a `runtime.spawn` span (target `runtime::task`)
//! with its id, name and spawn location, entered for each poll, so events inside a task
//! carry it; slow polls and unobserved panics are events. Run with
//! `cargo test -p runtime --features tracing --test debug_tracing` (CI does).
#![cfg(feature = "tracing")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

type SpanFields = HashMap<String, String>;

#[derive(Default)]
struct Log {
    next: u64,
    /// span id -> (name, target, fields)
    spans: HashMap<u64, (String, String, SpanFields)>,
    /// Per thread: the entered spans.
    stack: Vec<u64>,
    /// (level, message, the innermost span's fields)
    events: Vec<(String, String, Option<SpanFields>)>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Log>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut log = self.0.lock().unwrap();
        log.next += 1;
        let id = log.next;
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        let m = attrs.metadata();
        log.spans
            .insert(id, (m.name().to_owned(), m.target().to_owned(), fields));
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut log = self.0.lock().unwrap();
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let msg = fields.remove("message").unwrap_or_default();
        let span = log
            .stack
            .last()
            .and_then(|s| log.spans.get(s))
            .map(|s| s.2.clone());
        log.events
            .push((event.metadata().level().to_string(), msg, span));
    }
    fn enter(&self, span: &Id) {
        self.0.lock().unwrap().stack.push(span.into_u64());
    }
    fn exit(&self, span: &Id) {
        let mut log = self.0.lock().unwrap();
        if let Some(i) = log.stack.iter().rposition(|s| *s == span.into_u64()) {
            log.stack.remove(i);
        }
    }
}

/// Spawns a task named `name` and gives back where the spawn was written (the caller's
/// line: `#[track_caller]` carries it through, as it does for `spawn` itself).
#[track_caller]
fn spawn_named<F: std::future::Future + 'static>(
    name: &str,
    future: F,
) -> (
    runtime::Task<F::Output>,
    &'static std::panic::Location<'static>,
) {
    let task = runtime::task::Builder::new().name(name).spawn(future);
    (task, std::panic::Location::caller())
}

#[test]
fn tasks_are_spans_entered_for_each_poll_and_events_carry_them() {
    let rec = Recorder::default();
    let _guard = tracing::subscriber::set_default(rec.clone());
    let rt = runtime::Builder::new()
        .start_paused(true)
        .slow_poll_threshold(Some(Duration::from_millis(10)))
        .build()
        .unwrap();
    let mut line = 0;
    rt.block_on(async {
        let (t, at) = spawn_named("worker", async {
            tracing::info!("before");
            runtime::sleep(Duration::from_secs(1)).await;
            tracing::info!("after the await");
            std::thread::sleep(Duration::from_millis(30)); // a slow poll
        });
        line = at.line();
        let id = t.id();
        t.await.unwrap();
        // A panic nobody observes.
        runtime::spawn(async { panic!("lost") }).detach();
        runtime::yield_now().await;
        runtime::yield_now().await;
        id
    });
    let log = rec.0.lock().unwrap();
    let (name, target, fields) = log
        .spans
        .values()
        .find(|(_, _, f)| {
            f.get("task.name").map(String::as_str) == Some("Some(\"worker\")")
                || f.get("task.name").map(String::as_str) == Some("worker")
        })
        .expect("a span for the task");
    assert_eq!(
        (name.as_str(), target.as_str()),
        ("runtime.spawn", "runtime::task")
    );
    assert_eq!(fields["task.id"], "1");
    assert!(
        fields["loc.file"].ends_with("debug_tracing.rs"),
        "{fields:?}"
    );
    assert_eq!(fields["loc.line"], line.to_string());
    assert!(fields.contains_key("loc.col"));
    // Both events, before and after the await, were inside the task's span.
    for msg in ["before", "after the await"] {
        let (_, _, span) = log.events.iter().find(|e| e.1 == msg).expect(msg);
        assert_eq!(span.as_ref().unwrap()["task.id"], "1", "{msg}");
    }
    // The slow poll and the lost panic are events.
    assert!(
        log.events
            .iter()
            .any(|e| e.0 == "WARN" && e.1.contains("slow poll") && e.1.contains("\"worker\"")),
        "{:?}",
        log.events
    );
    assert!(
        log.events
            .iter()
            .any(|e| e.0 == "ERROR" && e.1.contains("panicked") && e.1.contains("lost")),
        "{:?}",
        log.events
    );
}
