//! Starting a loop inside a running loop fails clearly; spawning outside a loop panics
//! with a message naming the fix.

mod common;
use common::quiet_panics;

#[test]
fn block_on_inside_a_task_fails_and_the_outer_loop_keeps_working() {
    quiet_panics();
    runtime::run(async {
        let t = runtime::spawn(async {
            let inner = runtime::Runtime::new().unwrap();
            inner.block_on(async { 1 })
        });
        let err = t.await.unwrap_err();
        let msg = err.panic_message().unwrap().to_owned();
        assert!(msg.contains("already running"), "{msg}");
        assert!(msg.contains("`.await` the future instead"), "{msg}");
        assert_eq!(
            runtime::spawn(async { 2 }).await.unwrap(),
            2,
            "outer loop still works"
        );
    });
}

#[test]
fn try_block_on_returns_a_typed_error() {
    runtime::run(async {
        let inner = runtime::Runtime::new().unwrap();
        let err = inner.try_block_on(async { 1 }).unwrap_err();
        assert!(err
            .to_string()
            .contains("This event loop is already running"));
        // The inner runtime is still usable later, outside the running loop.
        drop(inner);
    });
}

#[test]
fn run_inside_run_panics_with_the_reason() {
    quiet_panics();
    let r = std::panic::catch_unwind(|| {
        runtime::run(async {
            runtime::run(async {});
        })
    });
    let p = r.unwrap_err();
    let msg = p.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("runtime::run") && msg.contains("already running"),
        "{msg}"
    );
}

#[test]
fn spawn_outside_a_loop_names_the_fix() {
    quiet_panics();
    let p = std::panic::catch_unwind(|| drop(runtime::spawn(async {}))).unwrap_err();
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .unwrap_or_else(|| p.downcast_ref::<String>().unwrap().clone());
    assert!(msg.contains("no running event loop"), "{msg}");
    assert!(
        msg.contains("runtime::run")
            && msg.contains("#[runtime::main]")
            && msg.contains("Runtime::block_on"),
        "{msg}"
    );
}

#[test]
fn sleep_outside_a_loop_names_the_fix() {
    quiet_panics();
    let p = std::panic::catch_unwind(|| {
        use std::future::Future;
        let mut s = std::pin::pin!(runtime::sleep(std::time::Duration::from_secs(1)));
        let w = std::task::Waker::noop();
        let _ = s.as_mut().poll(&mut std::task::Context::from_waker(w));
    })
    .unwrap_err();
    let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("no running event loop"), "{msg}");
}

#[test]
fn a_runtime_can_block_on_many_times_and_keeps_its_tasks() {
    let rt = runtime::Runtime::new().unwrap();
    let t = rt.spawn(async {
        runtime::yield_now().await;
        3
    });
    rt.block_on(async {});
    assert_eq!(rt.alive_tasks(), 1);
    assert_eq!(rt.block_on(t).unwrap(), 3);
    assert_eq!(rt.alive_tasks(), 0);
}

#[test]
fn turn_waits_for_the_next_timer_instead_of_spinning() {
    let rt = runtime::Runtime::new().unwrap();
    // A stale wake of a previous block_on's future must not make `turn` spin.
    let waker = rt.block_on(std::future::poll_fn(|cx| {
        std::task::Poll::Ready(cx.waker().clone())
    }));
    waker.wake();
    let t = rt.spawn(runtime::sleep(std::time::Duration::from_millis(30)));
    let mut turns = 0;
    while !t.is_done() {
        rt.turn(std::time::Duration::from_secs(10));
        turns += 1;
    }
    assert!(
        turns <= 3,
        "turn returned {turns} times for one timer: it did not wait"
    );
}

#[test]
fn turn_with_a_paused_clock_jumps_to_the_timer() {
    let rt = runtime::Builder::new().start_paused(true).build().unwrap();
    let t = rt.spawn(runtime::sleep(std::time::Duration::from_secs(3600)));
    let mut turns = 0;
    while !t.is_done() {
        rt.turn(std::time::Duration::from_secs(10));
        turns += 1;
    }
    assert!(turns <= 3, "{turns}");
}
