//! Rule S1 with woken waiters: a waiter that was woken (an item arrived, a slot freed, a
//! permit was handed over) but has not run yet is still ahead of a newcomer. First the
//! exact reproducers, then seeded property tests where newcomers race woken waiters under
//! random cancellation: nothing is lost, FIFO is kept, nobody waits while they could go.

mod common;
use common::{paused, Rng};
use runtime::sync::{mpsc, LifoQueue, Lock, PriorityQueue, Queue, Semaphore};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

/// Polls `fut` exactly once from inside a task.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx))).await
}

#[test]
fn a_fresh_get_does_not_take_the_item_of_a_woken_getter() {
    paused().block_on(async {
        let q = Rc::new(Queue::new());
        let a = {
            let q = q.clone();
            runtime::spawn(async move { q.get().await.unwrap() })
        };
        runtime::yield_now().await; // A waits in get()
        q.try_put(1).unwrap(); // wakes A
        let mut newcomer = pin!(q.get());
        assert!(
            poll_once(&mut newcomer).await.is_pending(),
            "the newcomer barged"
        );
        assert_eq!(
            q.try_get(),
            Err(runtime::sync::GetError::Empty),
            "try_get barged"
        );
        assert_eq!(a.await.unwrap(), 1);
        q.try_put(2).unwrap();
        assert_eq!(newcomer.await.unwrap(), 2);
    });
}

#[test]
fn lifo_and_priority_queues_keep_the_woken_getters_item() {
    paused().block_on(async {
        let q = Rc::new(LifoQueue::new());
        let a = {
            let q = q.clone();
            runtime::spawn(async move { q.get().await.unwrap() })
        };
        runtime::yield_now().await;
        q.try_put("a").unwrap();
        let mut newcomer = pin!(q.get());
        assert!(poll_once(&mut newcomer).await.is_pending());
        assert_eq!(a.await.unwrap(), "a");

        let q = Rc::new(PriorityQueue::new());
        let a = {
            let q = q.clone();
            runtime::spawn(async move { q.get().await.unwrap() })
        };
        runtime::yield_now().await;
        q.try_put(5).unwrap();
        let mut newcomer = pin!(q.get());
        assert!(poll_once(&mut newcomer).await.is_pending());
        assert_eq!(a.await.unwrap(), 5);
    });
}

#[test]
fn a_fresh_put_does_not_take_the_slot_of_a_woken_putter() {
    paused().block_on(async {
        let q = Rc::new(Queue::with_maxsize(1));
        q.try_put(0).unwrap();
        let a = {
            let q = q.clone();
            runtime::spawn(async move { q.put(1).await.unwrap() })
        };
        runtime::yield_now().await; // A waits for room
        assert_eq!(q.try_get(), Ok(0)); // frees the slot: wakes A
        let mut newcomer = pin!(q.put(2));
        assert!(
            poll_once(&mut newcomer).await.is_pending(),
            "the newcomer barged"
        );
        assert!(q.try_put(3).is_err(), "try_put barged");
        a.await.unwrap();
        assert_eq!(q.try_get(), Ok(1));
        newcomer.await.unwrap();
        assert_eq!(q.try_get(), Ok(2));
    });
}

#[test]
fn a_fresh_send_does_not_take_the_slot_of_a_woken_sender() {
    paused().block_on(async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.try_send(0).unwrap();
        let a = {
            let tx = tx.clone();
            runtime::spawn(async move { tx.send(1).await.unwrap() })
        };
        runtime::yield_now().await; // A waits for room
        assert_eq!(rx.try_recv(), Ok(0)); // wakes A
        let mut newcomer = pin!(tx.send(2));
        assert!(
            poll_once(&mut newcomer).await.is_pending(),
            "the newcomer barged"
        );
        assert!(tx.try_send(3).is_err(), "try_send barged");
        a.await.unwrap();
        assert_eq!(rx.recv().await, Some(1));
        newcomer.await.unwrap();
        assert_eq!(rx.recv().await, Some(2));
    });
}

#[test]
fn a_woken_getter_cancelled_before_it_runs_passes_the_item_on() {
    paused().block_on(async {
        let q = Rc::new(Queue::new());
        let a = {
            let q = q.clone();
            runtime::spawn(async move { q.get().await.unwrap() })
        };
        runtime::yield_now().await;
        q.try_put(1).unwrap(); // wakes A ...
        let mut newcomer = pin!(q.get());
        assert!(poll_once(&mut newcomer).await.is_pending());
        a.cancel(); // ... which is cancelled before it runs: the item goes to the newcomer
        assert_eq!(newcomer.await.unwrap(), 1);
        assert!(a.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn handed_over_permits_and_locks_are_not_taken_by_newcomers() {
    paused().block_on(async {
        let sem = Rc::new(Semaphore::new(1));
        let held = sem.acquire().await;
        let a = {
            let sem = sem.clone();
            runtime::spawn(async move { sem.acquire().await.forget() })
        };
        runtime::yield_now().await;
        drop(held); // handed to A
        assert!(sem.try_acquire().is_none());
        let mut newcomer = pin!(sem.acquire());
        assert!(poll_once(&mut newcomer).await.is_pending());
        a.await.unwrap();
        sem.release(); // the newcomer's turn
        drop(newcomer.await);
        // A released permit while a woken waiter has not run yet is free for anybody:
        // the woken waiter already owns its own (hand-off).
        let held = sem.acquire().await;
        let b = {
            let sem = sem.clone();
            runtime::spawn(async move { sem.acquire().await.forget() })
        };
        runtime::yield_now().await;
        drop(held); // handed to B
        sem.release(); // nobody waits: stored
        assert!(
            sem.try_acquire().is_some(),
            "a free permit must not wait behind B"
        );
        b.await.unwrap();

        let lock = Rc::new(Lock::new(0));
        let held = lock.lock().await;
        let a = {
            let lock = lock.clone();
            runtime::spawn(async move { *lock.lock().await += 1 })
        };
        runtime::yield_now().await;
        drop(held); // handed to A
        assert!(lock.try_lock().is_none());
        let mut newcomer = pin!(lock.lock());
        assert!(poll_once(&mut newcomer).await.is_pending());
        a.await.unwrap();
        assert_eq!(*newcomer.await, 1);
    });
}

// ---- property tests ----

const CASES: u64 = if cfg!(miri) { 20 } else { 3000 };

#[derive(Clone, Copy, Debug)]
enum Op {
    Get,
    TryGet,
    Put,
    TryPut,
}

#[derive(Clone, Copy, Debug)]
struct Actor {
    /// Arrives at this second (many actors share a second: newcomers meet woken waiters).
    at: u64,
    op: Op,
    /// Cancelled at this second, possibly right after it was woken and before it ran.
    cancel_at: Option<u64>,
}

fn actors(rng: &mut Rng) -> Vec<Actor> {
    (0..2 + rng.below(12))
        .map(|_| Actor {
            at: rng.below(5),
            op: match rng.below(6) {
                0 | 1 => Op::Get,
                2 | 3 => Op::Put,
                4 => Op::TryGet,
                _ => Op::TryPut,
            },
            cancel_at: (rng.below(3) == 0).then(|| rng.below(6)),
        })
        .collect()
}

#[derive(Default)]
struct Record {
    arrivals: Cell<u64>,
    /// (getter's arrival, value) for every value a getter took.
    got: RefCell<Vec<(u64, u64)>>,
    /// Values stored by a put.
    stored: RefCell<Vec<u64>>,
}

impl Record {
    fn arrive(&self) -> u64 {
        let n = self.arrivals.get();
        self.arrivals.set(n + 1);
        n
    }
}

/// Checks the rules once every actor ran as far as it could.
fn check(seed: u64, rec: &Record, left: Vec<u64>, pending: &[(Op, bool)], full: bool) {
    let ctx = || format!("seed {seed}: got {:?}", rec.got.borrow());
    // FIFO: getters are served in arrival order, puts are stored in arrival order
    // (values are the putters' arrivals), so by getter arrival, values only increase.
    let mut got = rec.got.borrow().clone();
    got.sort();
    assert!(
        got.windows(2).all(|w| w[0].1 < w[1].1),
        "FIFO broken: {}",
        ctx()
    );
    // Nothing lost or duplicated: what was stored was taken or is still queued.
    let mut out: Vec<u64> = got
        .iter()
        .map(|g| g.1)
        .chain(left.iter().copied())
        .collect();
    out.sort();
    let mut stored = rec.stored.borrow().clone();
    stored.sort();
    assert_eq!(out, stored, "lost or duplicated: {}", ctx());
    // Nobody waits while they could go.
    for &(op, is_pending) in pending {
        if is_pending {
            match op {
                Op::Get => assert!(left.is_empty(), "a getter waits beside items: {}", ctx()),
                Op::Put => assert!(full, "a putter waits beside room: {}", ctx()),
                _ => unreachable!("try_ operations never wait"),
            }
        }
    }
}

/// Plays `plan` on the running loop: each actor arrives at its second and acts through
/// `act(actor, arrival)`; those with a `cancel_at` are cancelled then. After 10 s of
/// virtual time, gives each actor's op and whether it still waits, and the tasks.
async fn play<F, Fut>(
    plan: &[Actor],
    rec: &Rc<Record>,
    act: F,
) -> (Vec<(Op, bool)>, Vec<runtime::Task<()>>)
where
    F: Fn(Actor, u64) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let tasks: Vec<_> = plan
        .iter()
        .map(|&a| {
            let (rec, act) = (rec.clone(), act.clone());
            runtime::spawn(async move {
                runtime::sleep(Duration::from_secs(a.at)).await;
                let me = rec.arrive();
                act(a, me).await;
            })
        })
        .collect();
    for (a, t) in plan.iter().zip(&tasks) {
        if let Some(at) = a.cancel_at {
            let handle = t.cancel_handle();
            runtime::spawn(async move {
                runtime::sleep(Duration::from_secs(at)).await;
                handle.cancel();
            })
            .detach();
        }
    }
    runtime::sleep(Duration::from_secs(10)).await;
    let pending = plan
        .iter()
        .zip(&tasks)
        .map(|(a, t)| (a.op, !t.is_done()))
        .collect();
    (pending, tasks)
}

/// Cancels every actor and lets the cancellations run.
async fn stop(tasks: Vec<runtime::Task<()>>) {
    for t in &tasks {
        t.cancel();
    }
    runtime::yield_now().await;
}

#[test]
fn queue_newcomers_never_pass_woken_waiters_under_random_cancellation() {
    for seed in 0..CASES {
        let mut rng = Rng::new(seed);
        let maxsize = rng.below(3) as usize; // 0: unbounded
        let plan = actors(&mut rng);
        let rec = Rc::new(Record::default());
        let q = Rc::new(Queue::with_maxsize(maxsize));
        paused().block_on(async {
            let (qa, ra) = (q.clone(), rec.clone());
            let act = move |a: Actor, me: u64| {
                let (q, rec) = (qa.clone(), ra.clone());
                async move {
                    match a.op {
                        Op::Get => {
                            let v = q.get().await.unwrap();
                            rec.got.borrow_mut().push((me, v));
                        }
                        Op::TryGet => {
                            if let Ok(v) = q.try_get() {
                                rec.got.borrow_mut().push((me, v));
                            }
                        }
                        Op::Put => {
                            q.put(me).await.unwrap();
                            rec.stored.borrow_mut().push(me);
                        }
                        Op::TryPut => {
                            if q.try_put(me).is_ok() {
                                rec.stored.borrow_mut().push(me);
                            }
                        }
                    }
                }
            };
            let (pending, tasks) = play(&plan, &rec, act).await;
            let full = q.is_full();
            stop(tasks).await;
            let mut left = Vec::new();
            while let Ok(v) = q.try_get() {
                left.push(v);
            }
            check(seed, &rec, left, &pending, full);
        });
    }
}

#[test]
fn mpsc_senders_never_pass_woken_senders_under_random_cancellation() {
    for seed in 0..CASES {
        let mut rng = Rng::new(seed ^ 0xABCD);
        let cap = 1 + rng.below(2) as usize;
        let plan = actors(&mut rng);
        let rec = Rc::new(Record::default());
        let (tx, rx) = mpsc::channel::<u64>(cap);
        let rx = Rc::new(RefCell::new(rx));
        paused().block_on(async {
            let (ta, rxa, ra) = (tx.clone(), rx.clone(), rec.clone());
            let act = move |a: Actor, me: u64| {
                let (tx, rx, rec) = (ta.clone(), rxa.clone(), ra.clone());
                async move {
                    match a.op {
                        // One receiver: a receive is a try_recv at its arrival.
                        Op::Get | Op::TryGet => {
                            if let Ok(v) = rx.borrow_mut().try_recv() {
                                rec.got.borrow_mut().push((me, v));
                            }
                        }
                        Op::Put => {
                            tx.send(me).await.unwrap();
                            rec.stored.borrow_mut().push(me);
                        }
                        Op::TryPut => {
                            if tx.try_send(me).is_ok() {
                                rec.stored.borrow_mut().push(me);
                            }
                        }
                    }
                }
            };
            let (pending, tasks) = play(&plan, &rec, act).await;
            // Only senders can wait (receives are try_recv).
            let pending: Vec<_> = pending
                .into_iter()
                .map(|(op, p)| {
                    (
                        if matches!(op, Op::Put) {
                            Op::Put
                        } else {
                            Op::TryPut
                        },
                        p,
                    )
                })
                .collect();
            let full = rx.borrow().len() == cap;
            stop(tasks).await;
            let mut left = Vec::new();
            while let Ok(v) = rx.borrow_mut().try_recv() {
                left.push(v);
            }
            check(seed, &rec, left, &pending, full);
        });
    }
}

#[test]
fn a_stackless_receiver_handed_a_value_keeps_it_against_a_newcomer() {
    paused().block_on(async {
        let ch = runtime::sync::Channel::new();
        let a = {
            let ch = ch.clone();
            runtime::spawn(async move { ch.receive().await.unwrap() })
        };
        runtime::yield_now().await; // A waits to receive
        let sender = {
            let ch = ch.clone();
            runtime::spawn(async move { ch.send(1).await.unwrap() })
        };
        runtime::yield_now().await; // the value is handed to A, which has not run yet
        let mut newcomer = pin!(ch.receive());
        assert!(
            poll_once(&mut newcomer).await.is_pending(),
            "the newcomer barged"
        );
        assert_eq!(a.await.unwrap(), 1);
        sender.await.unwrap();
        ch.send(2).await.unwrap();
        assert_eq!(newcomer.await.unwrap(), 2);
    });
}

/// The second half of the barging bug: a getter that took its item must not wake the next
/// getter "for the rest" when the rest is already owed to another woken getter; the woken
/// one would find nothing and lose its place to a newcomer.
#[test]
fn a_getter_woken_for_an_item_owed_to_another_keeps_its_place() {
    use common::Log;
    let log = Log::default();
    paused().block_on(async {
        let q = Rc::new(Queue::new());
        let getter = |name: &'static str| {
            let (q, l) = (q.clone(), log.clone());
            runtime::spawn(async move {
                let v = q.get().await.unwrap();
                l.push(format!("{name} got {v}"));
            })
        };
        let g0 = getter("g0");
        let g1 = getter("g1");
        let g2 = getter("g2");
        runtime::yield_now().await; // g0, g1, g2 wait, in that order
        q.try_put(1).unwrap(); // owed to g0
        q.try_put(2).unwrap(); // owed to g1
        let g3 = getter("g3"); // a newcomer, queued behind g0 and g1
        runtime::yield_now().await; // g0, g1 take theirs; g3 arrives and waits
        runtime::yield_now().await;
        q.try_put(3).unwrap(); // g2 waited longest
        q.try_put(4).unwrap();
        for t in [g0, g1, g2, g3] {
            t.await.unwrap();
        }
    });
    assert_eq!(log.take(), ["g0 got 1", "g1 got 2", "g2 got 3", "g3 got 4"]);
}
