//! `gather`, `try_gather`, `gather_settled`, `join!`, `select`, `race`, `shield`, and
//! timeout scopes, on virtual time.

mod common;
use common::{quiet_panics, Counts, Probe};
use runtime::time::{timeout_scope, timeout_scope_at, Instant};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

async fn after(secs: u64, v: u64) -> u64 {
    runtime::sleep(Duration::from_secs(secs)).await;
    v
}

type BoxFut<T> = Pin<Box<dyn Future<Output = T>>>;

#[runtime::test(start_paused = true)]
async fn gather_keeps_input_order_and_runs_concurrently() {
    let start = Instant::now();
    let out = runtime::gather([after(3, 30), after(1, 10), after(2, 20)]).await;
    assert_eq!(out, [30, 10, 20]);
    assert_eq!(
        start.elapsed(),
        3 * S,
        "concurrent: the longest, not the sum"
    );
}

#[runtime::test(start_paused = true)]
async fn gather_of_borrowing_futures() {
    let names = ["a".to_string(), "b".to_string()];
    let out = runtime::gather(names.iter().map(|n| async move { n.len() })).await;
    assert_eq!(out, [1, 1]);
}

#[runtime::test(start_paused = true)]
async fn gather_of_nothing_is_empty() {
    let out = runtime::gather(Vec::<BoxFut<u8>>::new()).await;
    assert!(out.is_empty());
}

#[runtime::test(start_paused = true)]
async fn dropping_a_gather_cancels_its_children() {
    let counts = Counts::default();
    let futs: Vec<BoxFut<u32>> = (0..3)
        .map(|_| {
            let mut p = Probe::new(&counts);
            p.park = true;
            Box::pin(p) as BoxFut<u32>
        })
        .collect();
    let r = runtime::timeout(S, runtime::gather(futs)).await;
    assert!(r.is_err());
    assert_eq!(counts.drops(), 3);
}

#[runtime::test(start_paused = true)]
async fn try_gather_fails_fast_and_drops_the_rest() {
    let counts = Counts::default();
    let mut futs: Vec<BoxFut<Result<u32, &str>>> = Vec::new();
    futs.push(Box::pin(async { Ok(1) }));
    futs.push(Box::pin(async {
        runtime::sleep(S).await;
        Err("second failed")
    }));
    for _ in 0..2 {
        let mut p = Probe::new(&counts);
        p.park = true;
        futs.push(Box::pin(async move { Ok(p.await) }));
    }
    let start = Instant::now();
    assert_eq!(runtime::try_gather(futs).await, Err("second failed"));
    assert_eq!(start.elapsed(), S);
    assert_eq!(counts.drops(), 2, "the still-running futures were dropped");
}

#[runtime::test(start_paused = true)]
async fn try_gather_all_ok_keeps_order() {
    let futs: Vec<BoxFut<Result<u64, ()>>> = vec![
        Box::pin(async { Ok(after(2, 2).await) }),
        Box::pin(async { Ok(after(1, 1).await) }),
    ];
    assert_eq!(runtime::try_gather(futs).await, Ok(vec![2, 1]));
}

#[runtime::test(start_paused = true)]
async fn gather_settled_collects_panics_like_return_exceptions() {
    quiet_panics();
    let futs: Vec<BoxFut<u64>> = vec![
        Box::pin(after(1, 1)),
        Box::pin(async { panic!("on purpose: one bad apple") }),
        Box::pin(after(2, 3)),
    ];
    let out = runtime::gather_settled(futs).await;
    assert_eq!(*out[0].as_ref().unwrap(), 1);
    assert!(out[1].is_err());
    assert_eq!(*out[2].as_ref().unwrap(), 3);
}

#[runtime::test(start_paused = true)]
async fn join_mixes_types_and_try_join_fails_fast() {
    let (a, b, c) = runtime::join!(after(2, 1), async { "two" }, async { 3.0 });
    assert_eq!((a, b, c), (1, "two", 3.0));
    let counts = Counts::default();
    let mut p = Probe::new(&counts);
    p.park = true;
    let r: Result<(u32, u32), &str> = runtime::try_join!(async { Ok(p.await) }, async {
        runtime::sleep(S).await;
        Err("nope")
    });
    assert_eq!(r, Err("nope"));
    assert_eq!(counts.drops(), 1);
}

#[runtime::test(start_paused = true)]
async fn select_drops_the_loser_and_prefers_the_left_on_ties() {
    let counts = Counts::default();
    let mut p = Probe::new(&counts);
    p.park = true;
    let r = runtime::select(after(1, 1), p).await;
    assert_eq!(r, runtime::Either::Left(1));
    assert_eq!(counts.drops(), 1, "the loser is dropped");
    let tie = runtime::select(async { "left" }, async { "right" }).await;
    assert_eq!(tie, runtime::Either::Left("left"));
}

#[runtime::test(start_paused = true)]
async fn race_returns_the_first() {
    assert_eq!(
        runtime::race([after(3, 3), after(1, 1), after(2, 2)]).await,
        1
    );
}

#[runtime::test(start_paused = true)]
async fn shield_keeps_running_when_its_awaiter_is_cancelled() {
    let counts = Counts::default();
    let c = counts.clone();
    let shielded = runtime::shield(async move {
        runtime::sleep(5 * S).await;
        let _p = Probe::new(&c);
        "saved"
    });
    let id = shielded.id();
    assert!(runtime::timeout(S, shielded).await.is_err());
    runtime::sleep(10 * S).await;
    assert_eq!(counts.drops(), 1, "the shielded work reached its end");
    let _ = id;
}

#[runtime::test(start_paused = true)]
async fn nested_timeouts_only_convert_their_own_expiry() {
    // Inner expires first: the outer sees Ok(Err(Elapsed)).
    let r = runtime::timeout(10 * S, runtime::timeout(S, after(5, 5))).await;
    assert!(matches!(r, Ok(Err(_))));
    // Outer expires first: Err at the outer level.
    let r = runtime::timeout(S, runtime::timeout(10 * S, after(5, 5))).await;
    assert!(r.is_err());
    // Scopes nest the same way.
    let outer = timeout_scope(10 * S);
    let r = outer
        .run(async { timeout_scope(S).run(after(5, 5)).await })
        .await;
    assert!(matches!(r, Ok(Err(_))));
}

#[runtime::test(start_paused = true)]
async fn scope_deadline_can_be_read_and_moved_while_running() {
    let start = Instant::now();
    let scope = timeout_scope(2 * S);
    let h = scope.handle();
    assert_eq!(h.when(), Some(start + 2 * S));
    let h2 = h.clone();
    let r = scope
        .run(async move {
            runtime::sleep(S).await;
            h2.reschedule(Some(Instant::now() + 5 * S)); // later
            runtime::sleep(3 * S).await;
            "made it"
        })
        .await;
    assert_eq!(r, Ok("made it"));
    assert!(!h.expired());

    // Moving it earlier wakes the scope at the new time.
    let scope = timeout_scope(100 * S);
    let h = scope.handle();
    let h2 = h.clone();
    runtime::spawn(async move {
        runtime::sleep(S).await;
        h2.reschedule(Some(Instant::now() + S));
    })
    .detach();
    let start = Instant::now();
    let r = scope.run(after(50, 0)).await;
    assert!(r.is_err());
    assert!(h.expired());
    assert_eq!(start.elapsed(), 2 * S);
}

#[runtime::test(start_paused = true)]
async fn scope_without_deadline_never_expires_until_rescheduled() {
    let scope = timeout_scope_at(None);
    let h = scope.handle();
    assert_eq!(scope.run(after(1000, 7)).await, Ok(7));
    assert!(!h.expired());
}

/// A `!Unpin` future that records its own address when first polled and checks, when
/// dropped, that it was never moved since (Pin's drop guarantee).
struct AddressBound {
    at: std::cell::Cell<usize>,
    _pin: std::marker::PhantomPinned,
}

impl std::future::Future for AddressBound {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.at.set(&*self as *const Self as usize);
        std::task::Poll::Pending
    }
}

impl Drop for AddressBound {
    fn drop(&mut self) {
        let at = self.at.get();
        assert!(
            at == 0 || at == self as *const Self as usize,
            "a pinned future was moved"
        );
    }
}

#[test]
fn maybe_done_take_before_the_end_panics_without_moving_the_future() {
    use runtime::combine::join::MaybeDone;
    let mut md = std::pin::pin!(MaybeDone::new(AddressBound {
        at: std::cell::Cell::new(0),
        _pin: std::marker::PhantomPinned,
    }));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(!md.as_mut().poll_done(&mut cx));
    let taken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| md.as_mut().take()));
    assert!(taken.is_err(), "take() of a running future must panic");
    // Dropping `md` here drops the future where it was pinned.
}
