//! Panics: never take the loop down; reach the awaiter; reported when nobody looks.

mod common;
use common::quiet_panics;
use std::process::Command;

#[test]
fn panic_reaches_the_awaiter_with_its_message() {
    quiet_panics();
    runtime::run(async {
        let t = runtime::spawn(async { panic!("on purpose: boom") });
        let err = t.await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("on purpose: boom"));
        assert!(err.to_string().contains("panicked: on purpose: boom"));
        // The loop keeps working.
        assert_eq!(runtime::spawn(async { 1 }).await.unwrap(), 1);
    });
}

#[test]
fn panic_payload_can_be_resumed() {
    quiet_panics();
    let payload = runtime::run(async {
        let t = runtime::spawn(async { std::panic::panic_any(42u32) });
        t.await.unwrap_err().try_into_panic().unwrap()
    });
    assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
}

#[test]
fn ignore_policy_drops_unobserved_panics() {
    quiet_panics();
    let rt = runtime::Builder::new()
        .unhandled_panic(runtime::UnhandledPanic::Ignore)
        .build()
        .unwrap();
    rt.block_on(async {
        runtime::spawn(async { panic!("on purpose: ignored") }).detach();
        runtime::yield_now().await;
        runtime::yield_now().await;
    });
}

#[test]
#[should_panic(expected = "runtime stopped")]
fn shutdown_policy_stops_block_on() {
    quiet_panics();
    let rt = runtime::Builder::new()
        .unhandled_panic(runtime::UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap();
    rt.block_on(async {
        runtime::spawn(async { panic!("on purpose: fatal") }).detach();
        std::future::pending::<()>().await;
    });
}

#[test]
fn shutdown_policy_ignores_observed_panics() {
    quiet_panics();
    let rt = runtime::Builder::new()
        .unhandled_panic(runtime::UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap();
    let err = rt.block_on(async { runtime::spawn(async { panic!("on purpose: seen") }).await });
    assert!(err.unwrap_err().is_panic());
}

/// Runs in a child process (see `unobserved_panic_is_reported_with_the_task_name`).
#[test]
fn child_report_unobserved() {
    if std::env::var_os("RUNTIME_TEST_CHILD").is_none() {
        return;
    }
    runtime::run(async {
        let t = runtime::task::Builder::new()
            .name("doomed")
            .spawn(async { panic!("on purpose: nobody looks") });
        runtime::yield_now().await;
        runtime::yield_now().await;
        drop(t); // finished, result never retrieved
        runtime::spawn(async { panic!("on purpose: detached") }).detach();
        runtime::yield_now().await;
    });
}

#[test]
#[cfg_attr(miri, ignore = "spawns a child process")]
fn unobserved_panic_is_reported_with_the_task_name() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_report_unobserved",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RUNTIME_TEST_CHILD", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "(\"doomed\") panicked and its result was never retrieved: on purpose: nobody looks"
        ),
        "{err}"
    );
    assert!(
        err.contains("panicked and its result was never retrieved: on purpose: detached"),
        "{err}"
    );
}

#[test]
fn task_error_converts_into_a_send_sync_error_and_keeps_its_payload() {
    fn boxed(e: runtime::TaskError) -> Box<dyn std::error::Error + Send + Sync> {
        e.into()
    }
    let (panicked, again) = runtime::run(async {
        let a = runtime::spawn(async { panic!("boom {}", 7) })
            .await
            .unwrap_err();
        let b = runtime::spawn(async { std::panic::panic_any(42u32) })
            .await
            .unwrap_err();
        (a, b)
    });
    assert_eq!(panicked.panic_message(), Some("boom 7"));
    // Shared between threads: the message is readable, the payload is not exposed.
    let shared = std::sync::Arc::new(panicked);
    let s = shared.clone();
    let msg = std::thread::spawn(move || s.panic_message().map(str::to_owned))
        .join()
        .unwrap();
    assert_eq!(msg.as_deref(), Some("boom 7"));
    let panicked = std::sync::Arc::try_unwrap(shared).unwrap();
    let id = panicked.id();
    assert_eq!(
        boxed(panicked).to_string(),
        format!("task {id} panicked: boom 7")
    );
    // A non-string payload comes back out intact.
    assert_eq!(again.panic_message(), None);
    let payload = again.try_into_panic().unwrap();
    assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
}
