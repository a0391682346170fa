//! `run` and dropping a `Runtime` cancel and drop every task still alive, on the loop
//! thread.

mod common;
use common::{Counts, Probe};

#[test]
fn run_cancels_tasks_still_alive_when_main_returns() {
    let counts = Counts::default();
    let c = counts.clone();
    let out = runtime::run(async move {
        let mut p = Probe::new(&c);
        p.park = true;
        runtime::spawn(p).detach();
        runtime::yield_now().await;
        "main done"
    });
    assert_eq!(out, "main done");
    assert_eq!(counts.polls(), 1);
    assert_eq!(counts.drops(), 1);
    assert_eq!(counts.dropped_on(), Some(std::thread::current().id()));
}

#[test]
fn dropping_a_runtime_drops_unstarted_tasks_and_keeps_handles_valid() {
    let counts = Counts::default();
    let rt = runtime::Runtime::new().unwrap();
    let mut t = rt.spawn(Probe::new(&counts));
    drop(rt);
    assert_eq!(counts.polls(), 0);
    assert_eq!(counts.drops(), 1);
    assert!(t.is_done());
    assert!(t.try_result().unwrap().unwrap_err().is_cancelled());
}

#[test]
fn tasks_spawned_while_tearing_down_are_dropped_too() {
    struct SpawnOnDrop(Counts);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let mut p = Probe::new(&self.0);
            p.park = true;
            runtime::spawn(p).detach();
        }
    }
    let counts = Counts::default();
    let c = counts.clone();
    runtime::run(async move {
        runtime::spawn(async move {
            let _guard = SpawnOnDrop(c);
            std::future::pending::<()>().await;
        })
        .detach();
        runtime::yield_now().await;
    });
    assert_eq!(counts.drops(), 1);
}

#[test]
fn runtime_can_be_dropped_inside_another_loop() {
    let counts = Counts::default();
    let c = counts.clone();
    runtime::run(async move {
        let inner = runtime::Runtime::new().unwrap();
        let mut p = Probe::new(&c);
        p.park = true;
        inner.spawn(p).detach();
        drop(inner); // tears down the inner loop without disturbing the outer one
        assert_eq!(runtime::spawn(async { 1 }).await.unwrap(), 1);
    });
    assert_eq!(counts.drops(), 1);
    assert_eq!(counts.polls(), 0);
}
