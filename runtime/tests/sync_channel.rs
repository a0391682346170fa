//! Stackless channels and the mpsc / oneshot / cross-thread channels.

mod common;
use common::{paused, Log};
use runtime::sync::{cross_thread, mpsc, oneshot, Channel};
use std::time::Duration;

fn tasklets(log: &Log, ch: &Channel<&'static str>) -> [runtime::Task<()>; 3] {
    let (l, c) = (log.clone(), ch.clone());
    let receiver = runtime::spawn(async move {
        l.push("Receiving tasklet started");
        l.push(c.receive().await.unwrap());
        l.push("Receiving tasklet finished");
    });
    let (l, c) = (log.clone(), ch.clone());
    let sender = runtime::spawn(async move {
        l.push("Sending tasklet started");
        c.send("send from sending_tasklet").await.unwrap();
        l.push("sending tasklet finished");
    });
    let l = log.clone();
    let another = runtime::spawn(async move { l.push("Just another tasklet in the scheduler") });
    [receiver, sender, another]
}

#[test]
fn rendezvous_receiver_runs_next_and_sender_goes_to_the_back() {
    let log = Log::default();
    runtime::run(async {
        let ch = Channel::new();
        for t in tasklets(&log, &ch) {
            t.await.unwrap();
        }
    });
    assert_eq!(
        log.take(),
        [
            "Receiving tasklet started",
            "Sending tasklet started",
            "send from sending_tasklet",
            "Receiving tasklet finished",
            "Just another tasklet in the scheduler",
            "sending tasklet finished",
        ]
    );
}

#[test]
fn sender_blocks_until_a_receiver_comes() {
    let log = Log::default();
    let rt = runtime::Runtime::new().unwrap();
    let ch: Channel<&'static str> = Channel::new();
    let [_, sender, another] = {
        // Only the sender and "another" at first: drop the receiver task right away.
        let (l, c) = (log.clone(), ch.clone());
        let sender = rt.spawn(async move {
            l.push("Sending tasklet started");
            c.send("send from sending_tasklet").await.unwrap();
            l.push("sending tasklet finished");
        });
        let l = log.clone();
        let another = rt.spawn(async move { l.push("Just another tasklet in the scheduler") });
        [rt.spawn(async {}), sender, another]
    };
    rt.block_on(another).unwrap();
    assert_eq!(ch.balance(), 1, "one sender blocked");
    assert_eq!(
        log.take(),
        [
            "Sending tasklet started",
            "Just another tasklet in the scheduler"
        ]
    );
    let (l, c) = (log.clone(), ch.clone());
    let receiver = rt.spawn(async move {
        l.push("Receiving tasklet started");
        l.push(c.receive().await.unwrap());
        l.push("Receiving tasklet finished");
    });
    rt.block_on(receiver).unwrap();
    rt.block_on(sender).unwrap();
    assert_eq!(ch.balance(), 0);
    assert_eq!(
        log.take(),
        [
            "Receiving tasklet started",
            "send from sending_tasklet",
            "Receiving tasklet finished",
            "sending tasklet finished"
        ]
    );
}

#[test]
fn balance_counts_blocked_receivers_negative() {
    runtime::run(async {
        let ch: Channel<u8> = Channel::new();
        let rs: Vec<_> = (0..3)
            .map(|_| {
                let c = ch.clone();
                runtime::spawn(async move { c.receive().await })
            })
            .collect();
        runtime::yield_now().await;
        assert_eq!(ch.balance(), -3);
        ch.close();
        for r in rs {
            assert_eq!(r.await.unwrap(), Err(runtime::sync::RecvError));
        }
        assert_eq!(ch.send(1).await, Err(runtime::sync::SendError(1)));
    });
}

#[test]
fn close_gives_blocked_senders_their_values_back() {
    runtime::run(async {
        let ch: Channel<String> = Channel::new();
        let c = ch.clone();
        let s = runtime::spawn(async move { c.send("mine".to_string()).await });
        runtime::yield_now().await;
        assert_eq!(ch.balance(), 1);
        ch.close();
        assert_eq!(
            s.await.unwrap(),
            Err(runtime::sync::SendError("mine".to_string()))
        );
    });
}

#[test]
fn cancelled_receiver_hands_its_value_to_the_next() {
    runtime::run(async {
        let ch: Channel<u32> = Channel::new();
        let (c1, c2) = (ch.clone(), ch.clone());
        let first = runtime::spawn(async move { c1.receive().await });
        let second = runtime::spawn(async move { c2.receive().await });
        runtime::yield_now().await; // both wait
                                    // In one poll of main: hand 7 to `first` (which is queued to run next)...
        let mut send = std::pin::pin!(ch.send(7));
        let first_poll = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::future::Future::poll(send.as_mut(), cx))
        })
        .await;
        assert!(first_poll.is_pending());
        first.cancel(); // ...and cancel it before it runs
        send.await.unwrap();
        assert!(first.await.unwrap_err().is_cancelled());
        assert_eq!(
            second.await.unwrap(),
            Ok(7),
            "the value went to the next receiver"
        );
    });
}

#[test]
fn cancelled_sender_withdraws_its_value() {
    runtime::run(async {
        let ch: Channel<u32> = Channel::new();
        let c = ch.clone();
        let s = runtime::spawn(async move { c.send(1).await });
        runtime::yield_now().await;
        s.cancel();
        runtime::yield_now().await;
        assert_eq!(ch.balance(), 0);
        let c = ch.clone();
        let r = runtime::spawn(async move { c.receive().await });
        runtime::yield_now().await;
        assert_eq!(ch.balance(), -1, "nothing was left behind");
        ch.send(2).await.unwrap();
        assert_eq!(r.await.unwrap(), Ok(2));
    });
}

#[test]
fn mpsc_unbounded_order_and_end_after_last_sender() {
    runtime::run(async {
        let (tx, mut rx) = mpsc::unbounded();
        let tx2 = tx.clone();
        tx.send(1).unwrap();
        tx2.send(2).unwrap();
        drop(tx);
        tx2.send(3).unwrap();
        drop(tx2);
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        assert_eq!(got, [1, 2, 3]);
        assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Closed));
    });
}

#[test]
fn mpsc_send_on_closed_gives_the_value_back() {
    runtime::run(async {
        let (tx, rx) = mpsc::unbounded::<String>();
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send("v".into()).unwrap_err().0, "v");
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        rx.close();
        assert_eq!(tx.try_send(1), Err(mpsc::TrySendError::Closed(1)));
        assert_eq!(tx.send(2).await.unwrap_err().0, 2);
    });
}

#[test]
fn bounded_senders_wait_for_room_in_fifo_order() {
    let rt = paused();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        tx.try_send(0).unwrap();
        assert_eq!(tx.try_send(9), Err(mpsc::TrySendError::Full(9)));
        let log = Log::default();
        let senders: Vec<_> = (1..=3)
            .map(|i| {
                let (tx, l) = (tx.clone(), log.clone());
                runtime::spawn(async move {
                    tx.send(i).await.unwrap();
                    l.push(format!("sent {i}"));
                })
            })
            .collect();
        runtime::yield_now().await;
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(rx.recv().await.unwrap());
            runtime::yield_now().await;
        }
        assert_eq!(got, [0, 1, 2, 3]);
        for s in senders {
            s.await.unwrap();
        }
        assert_eq!(log.take(), ["sent 1", "sent 2", "sent 3"]);
    });
}

#[test]
fn cancelled_bounded_sender_passes_its_turn_on() {
    runtime::run(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        tx.try_send(0).unwrap();
        let (t1, t2) = (tx.clone(), tx.clone());
        let a = runtime::spawn(async move { t1.send(1).await });
        let b = runtime::spawn(async move { t2.send(2).await });
        runtime::yield_now().await;
        assert_eq!(rx.recv().await, Some(0)); // room: `a` is woken...
        a.cancel(); // ...and cancelled before it sends
        assert!(a.await.unwrap_err().is_cancelled());
        assert_eq!(rx.recv().await, Some(2), "`b` got the room");
        b.await.unwrap().unwrap();
    });
}

#[test]
fn receiver_is_a_stream() {
    use runtime::stream::StreamExt;
    runtime::run(async {
        let (tx, rx) = mpsc::unbounded();
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        drop(tx);
        let v: Vec<i32> = rx.map(|x| x * 2).collect().await;
        assert_eq!(v, [0, 2, 4, 6, 8]);
    });
}

#[test]
fn oneshot_value_and_dropped_sender() {
    runtime::run(async {
        let (tx, rx) = oneshot::channel();
        tx.send("x").unwrap();
        assert_eq!(rx.await, Ok("x"));
        let (tx, rx) = oneshot::channel::<u8>();
        drop(tx);
        assert!(rx.await.is_err());
        let (tx, rx) = oneshot::channel::<u8>();
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send(5), Err(5));
    });
}

#[test]
fn cross_thread_senders_from_many_std_threads() {
    const THREADS: usize = if cfg!(miri) { 2 } else { 8 };
    const EACH: usize = if cfg!(miri) { 20 } else { 5000 };
    runtime::run(async {
        let (tx, mut rx) = cross_thread::unbounded::<(usize, usize)>();
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        tx.send((t, i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut next = [0; THREADS];
        let mut n = 0;
        while let Some((t, i)) = rx.recv().await {
            assert_eq!(i, next[t], "per-sender order kept");
            next[t] += 1;
            n += 1;
        }
        assert_eq!(n, THREADS * EACH, "nothing lost");
        for th in threads {
            th.join().unwrap();
        }
    });
}

#[test]
fn cross_thread_send_after_receiver_dropped_gives_value_back() {
    let (tx, rx) = cross_thread::unbounded::<u8>();
    drop(rx);
    assert_eq!(tx.send(3).unwrap_err().0, 3);
}

#[test]
fn hackysack_small_game_counts_every_kick() {
    use std::cell::Cell;
    use std::rc::Rc;
    const KICKS: u32 = if cfg!(miri) { 300 } else { 10_000 };
    let kicks = runtime::run(async {
        let n = 50;
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::unbounded::<bool>()).unzip();
        let circle = Rc::new(txs);
        let count = Rc::new(Cell::new(0u32));
        let tasks: Vec<_> = rxs
            .into_iter()
            .enumerate()
            .map(|(me, mut rx)| {
                let (circle, count) = (circle.clone(), count.clone());
                runtime::spawn(async move {
                    let mut rng = me as u64 * 7 + 1;
                    while let Some(sack) = rx.recv().await {
                        if !sack {
                            return;
                        }
                        count.set(count.get() + 1);
                        if count.get() == KICKS {
                            for (i, p) in circle.iter().enumerate() {
                                if i != me {
                                    p.send(false).unwrap();
                                }
                            }
                            return;
                        }
                        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                        circle[(rng >> 33) as usize % n].send(true).unwrap();
                    }
                })
            })
            .collect();
        circle[0].send(true).unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        count.get()
    });
    assert_eq!(kicks, KICKS);
}

#[test]
fn timeout_on_a_blocked_receive_cancels_cleanly() {
    let rt = paused();
    rt.block_on(async {
        let ch: Channel<u8> = Channel::new();
        assert!(runtime::timeout(Duration::from_secs(1), ch.receive())
            .await
            .is_err());
        assert_eq!(ch.balance(), 0);
    });
}

#[test]
fn dropping_a_cross_thread_receiver_that_holds_a_reply_sender_does_not_deadlock() {
    // The reply-to pattern: a queued value owns a Sender of the same channel.
    struct Request(#[allow(dead_code)] cross_thread::Sender<Request>);
    let (tx, rx) = cross_thread::unbounded::<Request>();
    tx.send(Request(tx.clone())).unwrap();
    drop(rx); // dropped the queued Sender under the channel's lock before the fix
    assert!(tx.send(Request(tx.clone())).is_err());
}

#[test]
fn dropping_an_mpsc_receiver_drops_the_queued_values_at_once() {
    paused().block_on(async {
        // Request/reply: the request carries the reply's sender.
        let (tx, rx) = mpsc::channel::<oneshot::Sender<u32>>(4);
        let (reply_tx, reply_rx) = oneshot::channel();
        tx.send(reply_tx).await.unwrap();
        drop(rx); // the server goes away with the request unread
                  // The client learns at once (before, it waited as long as `tx` lived).
        let r = runtime::timeout(Duration::from_secs(1), reply_rx).await;
        assert!(matches!(r, Ok(Err(_))), "the reply sender was kept alive");
        drop(tx);
    });
}

#[test]
fn a_queued_item_whose_drop_uses_the_queue_survives_shutdown_immediate() {
    use runtime::sync::Queue;
    use std::rc::{Rc, Weak};
    struct Item(Weak<Queue<Item>>);
    impl Drop for Item {
        fn drop(&mut self) {
            if let Some(q) = self.0.upgrade() {
                let _ = q.len(); // borrowed the queue again: "already borrowed" before
            }
        }
    }
    let q = Rc::new(Queue::new());
    q.try_put(Item(Rc::downgrade(&q))).unwrap();
    q.shutdown(true);
    assert!(q.is_empty());
}
