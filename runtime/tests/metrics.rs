//! `RuntimeMetrics` after known work.

mod common;
use common::paused;
use std::time::Duration;

#[test]
fn metrics_count_what_the_loop_did() {
    let rt = paused();
    let m0 = rt.metrics();
    assert_eq!((m0.tasks_spawned, m0.tasks_alive, m0.polls), (0, 0, 0));
    rt.block_on(async {
        // Ten tasks that yield twice: three polls each.
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                runtime::spawn(async {
                    runtime::yield_now().await;
                    runtime::yield_now().await;
                })
            })
            .collect();
        let m = runtime::metrics();
        assert_eq!((m.tasks_spawned, m.tasks_alive), (10, 10));
        for t in tasks {
            t.await.unwrap();
        }
        let m = runtime::metrics();
        assert_eq!((m.tasks_spawned, m.tasks_alive), (10, 0));
        assert!(m.polls >= 30, "{m:?}");
        assert!(m.turns >= 3, "{m:?}");
        // A pending timer and a registered socket show as gauges.
        let sleeper = runtime::spawn(runtime::sleep(Duration::from_secs(60)));
        runtime::yield_now().await;
        let listener = runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let m = runtime::metrics();
        assert_eq!(m.timers_pending, 1);
        assert_eq!(m.io_sources, 1);
        sleeper.cancel();
        drop(listener);
        runtime::yield_now().await;
        let m = runtime::metrics();
        assert_eq!((m.timers_pending, m.io_sources), (0, 0));
        // Work from another thread counts as remote wakes; a blocking job as pool work.
        let before = m.remote_wakes;
        assert_eq!(runtime::run_in_executor(|| 5).await.unwrap(), 5);
        let m = runtime::metrics();
        assert!(m.remote_wakes > before, "{m:?}");
        assert!(m.blocking_threads >= 1);
        assert_eq!(m.blocking_jobs_queued, 0);
    });
    let m = rt.metrics();
    assert!(m.busy_time > Duration::ZERO);
    assert_eq!(m.slow_polls, 0);
}

#[test]
fn an_idle_loop_counts_parks_and_idle_time() {
    runtime::run(async {
        let before = runtime::metrics();
        // Real time: the loop parks in epoll_wait until the timer is due.
        runtime::sleep(Duration::from_millis(30)).await;
        let m = runtime::metrics();
        assert!(m.parks > before.parks, "{m:?}");
        assert!(
            m.idle_time >= before.idle_time + Duration::from_millis(20),
            "{m:?}"
        );
    });
}
