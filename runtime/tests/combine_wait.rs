//! `wait` and `as_completed` on virtual time.

mod common;
use common::quiet_panics;
use runtime::ReturnWhen::{AllCompleted, FirstCompleted, FirstException};
use runtime::Task;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

fn sleeper(secs: u64, out: Result<u64, String>) -> Task<Result<u64, String>> {
    runtime::spawn(async move {
        runtime::sleep(Duration::from_secs(secs)).await;
        out
    })
}

fn ids<T>(ts: &[Task<T>]) -> Vec<u64> {
    ts.iter().map(|t| t.id().as_u64()).collect()
}

#[runtime::test(start_paused = true)]
async fn all_completed_returns_every_task_in_done() {
    let ts = vec![sleeper(2, Ok(2)), sleeper(1, Ok(1))];
    let want = ids(&ts);
    let (mut done, pending) = runtime::wait(ts).return_when(AllCompleted).await;
    assert!(pending.is_empty());
    assert_eq!(ids(&done), want, "the same handles, in input order");
    assert_eq!(done[0].try_result().unwrap().unwrap(), Ok(2));
    assert_eq!(done[1].try_result().unwrap().unwrap(), Ok(1));
}

#[runtime::test(start_paused = true)]
async fn first_completed_returns_as_soon_as_one_finishes() {
    let start = runtime::time::Instant::now();
    let ts = vec![sleeper(3, Ok(3)), sleeper(1, Ok(1)), sleeper(2, Ok(2))];
    let want = ids(&ts);
    let (done, pending) = runtime::wait(ts).return_when(FirstCompleted).await;
    assert_eq!(start.elapsed(), S);
    assert_eq!(ids(&done), [want[1]]);
    assert_eq!(ids(&pending), [want[0], want[2]]);
    // Nothing was cancelled: the pending ones still finish.
    let (done, pending) = runtime::wait(pending).await;
    assert_eq!((done.len(), pending.len()), (2, 0));
}

#[runtime::test(start_paused = true)]
async fn timeout_returns_what_is_done_and_cancels_nothing() {
    let start = runtime::time::Instant::now();
    let (done, pending) = runtime::wait(vec![sleeper(5, Ok(5)), sleeper(6, Ok(6))])
        .timeout(S)
        .await;
    assert_eq!(start.elapsed(), S);
    assert!(done.is_empty());
    assert_eq!(pending.len(), 2);
    let mut outs = Vec::new();
    for t in pending {
        assert!(!t.is_done());
        outs.push(t.await.unwrap().unwrap());
    }
    assert_eq!(outs, [5, 6], "the timed-out tasks ran to the end");
}

#[runtime::test(start_paused = true)]
async fn first_exception_stops_at_the_first_err() {
    let start = runtime::time::Instant::now();
    let ts = vec![
        sleeper(1, Ok(1)),
        sleeper(2, Err("bad".into())),
        sleeper(3, Ok(3)),
    ];
    let (done, pending) = runtime::wait(ts).return_when(FirstException).await;
    assert_eq!(start.elapsed(), 2 * S);
    assert_eq!((done.len(), pending.len()), (2, 1));
}

#[runtime::test(start_paused = true)]
async fn first_exception_counts_panics() {
    quiet_panics();
    let boom = runtime::spawn(async {
        runtime::sleep(S).await;
        panic!("on purpose: boom");
    });
    let slow = runtime::spawn(async {
        runtime::sleep(10 * S).await;
    });
    let (mut done, pending) = runtime::wait([boom, slow])
        .return_when(FirstException)
        .await;
    assert_eq!((done.len(), pending.len()), (1, 1));
    assert!(done[0].try_result().unwrap().unwrap_err().is_panic());
}

#[runtime::test(start_paused = true)]
async fn first_exception_ignores_cancellation_and_cancelled_counts_as_done() {
    let victim = sleeper(1, Ok(1));
    victim.cancel();
    let other = sleeper(3, Ok(3));
    let start = runtime::time::Instant::now();
    let (mut done, pending) = runtime::wait([victim, other])
        .return_when(FirstException)
        .await;
    assert_eq!(
        start.elapsed(),
        3 * S,
        "a cancellation is not a failure: waited for all"
    );
    assert!(pending.is_empty());
    assert!(done[0].is_cancelled());
    assert!(done[0].try_result().unwrap().unwrap_err().is_cancelled());

    let victim = sleeper(1, Ok(1));
    victim.cancel();
    let (done, pending) = runtime::wait([victim, sleeper(3, Ok(3))])
        .return_when(FirstCompleted)
        .await;
    assert_eq!(
        (done.len(), pending.len()),
        (1, 1),
        "cancelled counts as completed"
    );
}

#[runtime::test(start_paused = true)]
async fn empty_wait_returns_at_once() {
    let (done, pending) = runtime::wait(Vec::<Task<()>>::new()).await;
    assert!(done.is_empty() && pending.is_empty());
}

#[runtime::test(start_paused = true)]
async fn already_finished_tasks_are_done_without_waiting() {
    let t = runtime::spawn(async { 1u32 });
    runtime::yield_now().await;
    let (done, _) = runtime::wait([t]).return_when(FirstCompleted).await;
    assert_eq!(done.len(), 1);
}

#[runtime::test(start_paused = true)]
async fn wait_on_many_tasks_finishes_each_once() {
    let n: u64 = if cfg!(miri) { 50 } else { 2000 };
    let ts: Vec<_> = (0..n).map(|i| sleeper(i % 7, Ok(i))).collect();
    let (done, pending) = runtime::wait(ts).await;
    assert!(pending.is_empty());
    let mut total = 0;
    for t in done {
        total += t.await.unwrap().unwrap();
    }
    assert_eq!(total, (0..n).sum::<u64>());
}

#[runtime::test(start_paused = true)]
async fn as_completed_yields_in_completion_order() {
    let ts = vec![sleeper(3, Ok(3)), sleeper(1, Ok(1)), sleeper(2, Ok(2))];
    let mut stream = runtime::as_completed(ts);
    assert_eq!(stream.remaining(), 3);
    let mut order = Vec::new();
    while let Some(t) = stream.next().await {
        order.push(t.await.unwrap().unwrap());
    }
    assert_eq!(order, [1, 2, 3]);
    assert!(stream.next().await.is_none());
}

#[runtime::test(start_paused = true)]
async fn as_completed_is_a_stream() {
    use futures_core::Stream;
    let mut stream = runtime::as_completed(vec![sleeper(1, Ok(1))]);
    assert_eq!(stream.size_hint(), (1, Some(1)));
    let t = std::future::poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_next(cx)).await;
    assert!(t.unwrap().is_done());
}

#[test]
fn as_completed_with_a_timeout_raises_at_the_deadline_and_gives_the_rest_back() {
    let rt = runtime::Builder::new().start_paused(true).build().unwrap();
    rt.block_on(async {
        let start = runtime::time::Instant::now();
        let tasks = [5u64, 1, 3].map(|s| {
            runtime::spawn(async move {
                runtime::sleep(Duration::from_secs(s)).await;
                s
            })
        });
        let mut within = runtime::as_completed(tasks).timeout(Duration::from_secs(4));
        let mut events = Vec::new();
        while let Some(item) = within.next().await {
            let at = start.elapsed().as_secs();
            match item {
                Ok(t) => events.push(format!("{} at {at} s", t.await.unwrap())),
                Err(_) => events.push(format!("timeout at {at} s")),
            }
        }
        assert_eq!(events, ["1 at 1 s", "3 at 3 s", "timeout at 4 s"]);
        // Nothing was cancelled: the rest comes back and finishes.
        let left = within.into_remaining();
        assert_eq!(left.len(), 1);
        assert_eq!(
            runtime::gather(left)
                .await
                .into_iter()
                .map(|r| r.unwrap())
                .collect::<Vec<_>>(),
            [5]
        );
        assert_eq!(start.elapsed().as_secs(), 5);
    });
}
