//! Timers on virtual time: sleep, sleep_until, timeout, interval, advance, extremes.

mod common;
use common::{paused, Counts, Log, Probe};
use runtime::time::{self, Instant, MissedTickBehavior};
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

#[runtime::test(start_paused = true)]
async fn sleep_jumps_virtual_time_exactly() {
    let start = Instant::now();
    runtime::sleep(3600 * S).await;
    assert_eq!(start.elapsed(), 3600 * S);
}

#[runtime::test(start_paused = true)]
async fn sleepers_wake_in_deadline_order() {
    let log = Log::default();
    let tasks: Vec<_> = [3u64, 1, 2, 1]
        .into_iter()
        .enumerate()
        .map(|(i, secs)| {
            let l = log.clone();
            runtime::spawn(async move {
                runtime::sleep(Duration::from_secs(secs)).await;
                l.push(format!("{i}@{secs}"));
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // Equal deadlines fire in registration order.
    assert_eq!(log.take(), ["1@1", "3@1", "2@2", "0@3"]);
}

#[runtime::test(start_paused = true)]
async fn deadline_in_the_past_completes_at_once() {
    let now = Instant::now();
    time::sleep_until(now - 10 * S).await;
    time::sleep_until(Instant::from_std(std::time::Instant::now() - S)).await;
    runtime::sleep(Duration::ZERO).await;
    assert_eq!(Instant::now(), now, "no time passed");
}

#[runtime::test(start_paused = true)]
async fn far_future_deadlines_never_fire_and_never_panic() {
    let forever = runtime::sleep(Duration::MAX);
    assert!(runtime::timeout(10 * S, forever).await.is_err());
    let far = Instant::now() + Duration::MAX;
    assert!(runtime::timeout(S, time::sleep_until(far)).await.is_err());
    assert!(runtime::timeout(Duration::MAX, async { 5 }).await == Ok(5));
}

#[runtime::test(start_paused = true)]
async fn timeout_cancels_the_inner_future_on_expiry() {
    let counts = Counts::default();
    let mut p = Probe::new(&counts);
    p.park = true;
    let start = Instant::now();
    let r = runtime::timeout(2 * S, p).await;
    assert!(r.is_err());
    assert_eq!(start.elapsed(), 2 * S);
    assert_eq!(
        counts.drops(),
        1,
        "the inner future is dropped by the time the await returns"
    );
}

#[runtime::test(start_paused = true)]
async fn timeout_returns_the_output_when_in_time() {
    let r = runtime::timeout(2 * S, async {
        runtime::sleep(S).await;
        "in time"
    })
    .await;
    assert_eq!(r, Ok("in time"));
}

#[runtime::test(start_paused = true)]
async fn nested_timeouts_each_report_only_their_own_expiry() {
    let inner_expired = runtime::timeout(10 * S, runtime::timeout(S, runtime::sleep(5 * S))).await;
    assert_eq!(
        inner_expired.map(|r| r.is_err()),
        Ok(true),
        "the inner one expired"
    );
    let outer_expired = runtime::timeout(S, runtime::timeout(10 * S, runtime::sleep(5 * S))).await;
    assert!(outer_expired.is_err(), "the outer one expired");
}

#[runtime::test(start_paused = true)]
async fn sleep_reset_moves_the_deadline_of_a_waiting_task() {
    let start = Instant::now();
    let mut s = Box::pin(runtime::sleep(10 * S));
    // Register, then move the deadline earlier while registered.
    assert!(futures_poll(&mut s).is_pending());
    s.as_mut().reset(start + 2 * S);
    s.await;
    assert_eq!(start.elapsed(), 2 * S);
}

fn futures_poll<F: std::future::Future + Unpin>(f: &mut F) -> std::task::Poll<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    std::pin::Pin::new(f).poll(&mut cx)
}

#[runtime::test(start_paused = true)]
async fn interval_ticks_every_period_and_the_first_at_once() {
    let start = Instant::now();
    let mut iv = time::interval(S);
    assert_eq!(iv.tick().await, start);
    assert_eq!(iv.tick().await, start + S);
    assert_eq!(iv.tick().await, start + 2 * S);
}

async fn missed(behavior: MissedTickBehavior) -> Vec<Duration> {
    let start = Instant::now();
    let mut iv = time::interval(S);
    iv.set_missed_tick_behavior(behavior);
    iv.tick().await; // t = 0
    runtime::sleep(Duration::from_millis(3500)).await; // busy: misses ticks 1, 2, 3
    let mut at = Vec::new();
    for _ in 0..3 {
        let tick = iv.tick().await;
        at.push(tick - start);
    }
    at
}

#[runtime::test(start_paused = true)]
async fn interval_missed_tick_behaviours() {
    let ms = Duration::from_millis;
    assert_eq!(
        missed(MissedTickBehavior::Burst).await,
        [ms(1000), ms(2000), ms(3000)]
    );
    assert_eq!(
        missed(MissedTickBehavior::Skip).await,
        [ms(1000), ms(4000), ms(5000)]
    );
    assert_eq!(
        missed(MissedTickBehavior::Delay).await,
        [ms(1000), ms(4500), ms(5500)]
    );
}

#[test]
fn advance_fires_due_timers_and_runs_them_first() {
    let rt = paused();
    rt.block_on(async {
        let log = Log::default();
        let l = log.clone();
        let t = runtime::spawn(async move {
            runtime::sleep(5 * S).await;
            l.push("timer");
        });
        runtime::yield_now().await;
        time::advance(4 * S).await;
        assert!(!t.is_done());
        time::advance(S).await;
        log.push("after advance");
        assert_eq!(log.take(), ["timer", "after advance"]);
    });
}

#[test]
#[should_panic(expected = "the clock is not paused")]
fn advance_on_real_time_names_the_fix() {
    runtime::run(time::advance(S));
}

#[test]
#[cfg_attr(
    miri,
    ignore = "too slow under Miri; the timer heap's unit tests cover it"
)]
fn a_hundred_thousand_sleeps_on_virtual_time() {
    let rt = paused();
    let done = rt.block_on(async {
        let tasks: Vec<_> = (0..100_000u64)
            .map(|i| runtime::spawn(runtime::sleep(Duration::from_millis(i % 1000))))
            .collect();
        let n = tasks.len();
        for t in tasks {
            t.await.unwrap();
        }
        n
    });
    assert_eq!(done, 100_000);
}

#[test]
fn dropped_sleeps_cancel_their_timers() {
    // Many sleeps dropped before firing leave nothing behind to fire.
    let rt = paused();
    rt.block_on(async {
        for _ in 0..1000 {
            let mut s = Box::pin(runtime::sleep(S));
            assert!(futures_poll(&mut s).is_pending());
        }
        let start = Instant::now();
        runtime::sleep(2 * S).await;
        assert_eq!(start.elapsed(), 2 * S);
    });
}

#[test]
fn real_time_sleep_never_fires_early() {
    runtime::run(async {
        for ms in [1u64, 3, 7] {
            let start = std::time::Instant::now();
            runtime::sleep(Duration::from_millis(ms)).await;
            assert!(start.elapsed() >= Duration::from_millis(ms));
        }
    });
}

#[runtime::test(start_paused = true)]
async fn resume_keeps_the_clock_monotonic_and_sleeps_short() {
    runtime::sleep(3600 * S).await; // virtual time an hour ahead
    let before = Instant::now();
    let pending = runtime::sleep(Duration::from_millis(20));
    time::resume();
    let after = Instant::now();
    assert!(
        after >= before,
        "the clock went back by {:?}",
        before - after
    );
    assert!(after - before < 60 * S);
    // A sleep created while paused takes what was left of it, in real time (20 ms, not
    // an hour and 20 ms). Bounded by a generous real-time timeout, never timed exactly.
    runtime::timeout(30 * S, pending)
        .await
        .expect("a sleep from the paused clock took the whole virtual lead in real time");
}
