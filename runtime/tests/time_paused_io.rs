//! T4 with I/O: a paused clock jumps only when nothing at all woke. I/O that is already
//! ready, remote wakes and blocking-pool completions are delivered first; an unrelated
//! timer neither fires early nor drags the clock along. A `Duration::MAX` deadline is no
//! deadline: a paused loop whose only hope is a wake from another thread waits for it.

mod common;
use common::{paused, tcp_pair};
use runtime::time::Instant;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

/// A task sleeping an hour that records whether it woke.
fn hour_sleeper() -> (runtime::Task<()>, Rc<Cell<bool>>) {
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    let t = runtime::spawn(async move {
        runtime::sleep(HOUR).await;
        f.set(true);
    });
    (t, fired)
}

#[test]
fn loopback_round_trips_take_no_virtual_time_beside_a_pending_timer() {
    paused().block_on(async {
        let (_sleeper, fired) = hour_sleeper();
        let (mut client, mut server) = tcp_pair().await;
        let echo = runtime::spawn(async move {
            let mut buf = [0u8; 5];
            for _ in 0..20 {
                server.read_exact(&mut buf).await.unwrap();
                server.write_all(&buf).await.unwrap();
            }
        });
        let start = Instant::now();
        for _ in 0..20 {
            client.write_all(b"hello").await.unwrap();
            let mut back = [0u8; 5];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"hello");
        }
        echo.await.unwrap();
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "virtual time moved during I/O"
        );
        assert!(!fired.get(), "the unrelated hour timer fired");
    });
}

#[test]
fn a_blocking_job_takes_no_virtual_time_beside_a_pending_timer() {
    paused().block_on(async {
        let (_sleeper, fired) = hour_sleeper();
        let start = Instant::now();
        let v = runtime::run_in_executor(|| {
            std::thread::sleep(Duration::from_millis(20));
            7
        })
        .await
        .unwrap();
        assert_eq!(v, 7);
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert!(!fired.get());
    });
}

#[test]
fn a_remote_wake_is_delivered_before_the_clock_jumps() {
    paused().block_on(async {
        let (_sleeper, fired) = hour_sleeper();
        let (tx, mut rx) = runtime::sync::cross_thread::unbounded();
        // Sent before the loop looks: already pending when the loop has nothing ready.
        std::thread::spawn(move || tx.send(1).unwrap())
            .join()
            .unwrap();
        let start = Instant::now();
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert!(!fired.get());
    });
}

#[test]
fn a_duration_max_deadline_never_fires_and_does_not_move_the_clock() {
    paused().block_on(async {
        let forever = runtime::spawn(runtime::sleep(Duration::MAX));
        let (tx, mut rx) = runtime::sync::cross_thread::unbounded();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(()).unwrap();
        });
        let start = Instant::now();
        // The only timer is Duration::MAX: the loop must wait for the other thread.
        assert_eq!(rx.recv().await, Some(()));
        sender.join().unwrap();
        assert!(!forever.is_done(), "a Duration::MAX sleep fired");
        assert!(
            start.elapsed() < HOUR,
            "the clock jumped to the end of time"
        );
        let t = Instant::now();
        runtime::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            t.elapsed(),
            Duration::from_secs(1),
            "later sleeps complete at once"
        );
        assert!(!forever.is_done());
    });
}
