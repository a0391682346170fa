//! Queues, locks, semaphores, events, conditions, barriers.

mod common;
use common::{paused, Log};
use runtime::sync::{
    Barrier, BoundedSemaphore, BrokenBarrier, Condition, Event, GetError, LifoQueue, Lock, Notify,
    PriorityQueue, PutError, Queue, Semaphore, TooManyTaskDone,
};
use std::rc::Rc;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

#[test]
fn queue_kinds_order_items() {
    runtime::run(async {
        let q = Queue::new();
        let l = LifoQueue::new();
        let p = PriorityQueue::new();
        for v in [3, 1, 2] {
            q.put(v).await.unwrap();
            l.put(v).await.unwrap();
            p.put((v, "item")).await.unwrap();
        }
        let mut got = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..3 {
            got.0.push(q.get().await.unwrap());
            got.1.push(l.get().await.unwrap());
            got.2.push(p.get().await.unwrap().0);
        }
        assert_eq!(got, (vec![3, 1, 2], vec![2, 1, 3], vec![1, 2, 3]));
    });
}

#[test]
fn try_put_and_try_get_report_full_and_empty() {
    runtime::run(async {
        let q = Queue::with_maxsize(1);
        assert_eq!(q.try_get(), Err(GetError::Empty));
        q.try_put(1).unwrap();
        assert!(q.is_full());
        assert_eq!(q.try_put(2), Err(PutError::Full(2)));
        assert_eq!(q.try_get(), Ok(1));
        assert_eq!(q.maxsize(), 1);
    });
}

#[test]
fn waiting_getters_are_served_fifo() {
    runtime::run(async {
        let q = Rc::new(Queue::new());
        let log = Log::default();
        let getters: Vec<_> = (0..3)
            .map(|i| {
                let (q, l) = (q.clone(), log.clone());
                runtime::spawn(async move {
                    let v = q.get().await.unwrap();
                    l.push(format!("getter {i} got {v}"));
                })
            })
            .collect();
        runtime::yield_now().await;
        for v in ["a", "b", "c"] {
            q.put(v).await.unwrap();
        }
        for g in getters {
            g.await.unwrap();
        }
        assert_eq!(
            log.take(),
            ["getter 0 got a", "getter 1 got b", "getter 2 got c"]
        );
    });
}

#[test]
fn cancelled_getter_never_swallows_an_item() {
    runtime::run(async {
        let q = Rc::new(Queue::new());
        let (q1, q2) = (q.clone(), q.clone());
        let first = runtime::spawn(async move { q1.get().await });
        let second = runtime::spawn(async move { q2.get().await });
        runtime::yield_now().await;
        q.put(42).await.unwrap(); // wakes `first`...
        first.cancel(); // ...which is cancelled before it runs
        assert!(first.await.unwrap_err().is_cancelled());
        assert_eq!(second.await.unwrap(), Ok(42));
    });
}

#[test]
fn task_done_and_join() {
    let rt = paused();
    rt.block_on(async {
        let q = Rc::new(Queue::new());
        q.put(1).await.unwrap();
        q.put(2).await.unwrap();
        let qq = q.clone();
        let worker = runtime::spawn(async move {
            while let Ok(_v) = qq.get().await {
                runtime::sleep(S).await;
                qq.task_done().unwrap();
            }
        });
        let start = runtime::time::Instant::now();
        q.join().await;
        assert_eq!(start.elapsed(), 2 * S);
        assert_eq!(q.task_done(), Err(TooManyTaskDone));
        q.shutdown(false);
        worker.await.unwrap();
    });
}

#[test]
fn shutdown_wakes_waiters_with_shut_down() {
    runtime::run(async {
        // Graceful: getters drain what is left, then fail; putters fail.
        let q = Rc::new(Queue::with_maxsize(1));
        q.put(1).await.unwrap();
        let qq = q.clone();
        let putter = runtime::spawn(async move { qq.put(2).await });
        runtime::yield_now().await;
        q.shutdown(false);
        assert_eq!(putter.await.unwrap(), Err(PutError::ShutDown(2)));
        assert_eq!(q.get().await, Ok(1));
        assert_eq!(q.get().await, Err(GetError::ShutDown));
        assert!(q.try_put(3).is_err());

        // Immediate: items dropped, blocked getters fail at once, join returns.
        let q = Rc::new(Queue::<u8>::new());
        let qq = q.clone();
        let getter = runtime::spawn(async move { qq.get().await });
        runtime::yield_now().await;
        q.shutdown(true);
        assert_eq!(getter.await.unwrap(), Err(GetError::ShutDown));
        let q = Queue::new();
        q.put(5).await.unwrap();
        q.shutdown(true);
        assert!(q.is_empty());
        q.join().await; // unfinished count was reduced
    });
}

#[test]
fn lock_is_fifo_and_handed_over_on_release() {
    runtime::run(async {
        let lock = Rc::new(Lock::new(Vec::new()));
        let guard = lock.lock().await;
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let l = lock.clone();
                runtime::spawn(async move { l.lock().await.push(i) })
            })
            .collect();
        runtime::yield_now().await;
        assert!(lock.try_lock().is_none(), "no barging while others wait");
        drop(guard);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*lock.lock().await, [0, 1, 2]);
        assert!(!lock.is_locked(), "released when the last guard dropped");
    });
}

#[test]
fn cancelled_lock_waiter_passes_the_lock_on() {
    runtime::run(async {
        let lock = Rc::new(Lock::new(0));
        let guard = lock.lock().await;
        let (l1, l2) = (lock.clone(), lock.clone());
        let a = runtime::spawn(async move { *l1.lock().await += 1 });
        let b = runtime::spawn(async move { *l2.lock().await += 10 });
        runtime::yield_now().await;
        drop(guard); // handed to `a`...
        a.cancel(); // ...which is cancelled before it runs
        b.await.unwrap();
        assert_eq!(*lock.lock().await, 10, "`a` never ran; `b` got the lock");
        assert!(
            !lock.is_locked(),
            "the lock was not leaked by the cancelled waiter"
        );
    });
}

#[test]
fn semaphore_fair_and_no_permit_lost_under_cancellation() {
    runtime::run(async {
        let sem = Rc::new(Semaphore::new(1));
        let permit = sem.acquire().await;
        let log = Log::default();
        let waiters: Vec<_> = (0..3)
            .map(|i| {
                let (s, l) = (sem.clone(), log.clone());
                runtime::spawn(async move {
                    let _p = s.acquire().await;
                    l.push(format!("w{i}"));
                })
            })
            .collect();
        runtime::yield_now().await;
        assert!(sem.is_locked());
        drop(permit); // handed to w0...
        waiters[0].cancel(); // ...cancelled before it runs: w1 must get it
        for w in waiters {
            let _ = w.await;
        }
        assert_eq!(log.take(), ["w1", "w2"]);
        assert_eq!(sem.available_permits(), 1, "no permit lost");
    });
}

#[test]
fn bounded_semaphore_refuses_extra_releases() {
    let s = BoundedSemaphore::new(2);
    assert!(s.release().is_err());
    let p = s.try_acquire().unwrap();
    p.forget();
    assert!(s.release().is_ok());
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn event_wakes_all_waiters_even_if_cleared_before_they_run() {
    runtime::run(async {
        let ev = Rc::new(Event::new());
        let ws: Vec<_> = (0..3)
            .map(|_| {
                let e = ev.clone();
                runtime::spawn(async move { e.wait().await })
            })
            .collect();
        runtime::yield_now().await;
        ev.set();
        ev.clear();
        for w in ws {
            w.await.unwrap();
        }
        assert!(!ev.is_set());
    });
}

#[test]
fn notify_stores_one_permit_and_hands_it_on() {
    runtime::run(async {
        let n = Rc::new(Notify::new());
        let (n1, n2) = (n.clone(), n.clone());
        let a = runtime::spawn(async move { n1.notified().await });
        let b = runtime::spawn(async move { n2.notified().await });
        runtime::yield_now().await;
        n.notify_one(); // to `a`...
        a.cancel(); // ...cancelled: `b` gets it
        b.await.unwrap();
        n.notify_one();
        n.notified().await; // the stored permit
    });
}

#[test]
fn condition_reacquires_the_lock_and_notifies_fifo() {
    runtime::run(async {
        let cond = Rc::new(Condition::new(Vec::<u32>::new()));
        let log = Log::default();
        let waiters: Vec<_> = (0..2)
            .map(|i| {
                let (c, l) = (cond.clone(), log.clone());
                runtime::spawn(async move {
                    let g = c.lock().await;
                    let mut g = c.wait_for(g, |v| !v.is_empty()).await;
                    assert!(c.as_lock().is_locked(), "woken with the lock held");
                    let v = g.pop().unwrap();
                    l.push(format!("waiter {i} took {v}"));
                })
            })
            .collect();
        runtime::yield_now().await;
        let mut g = cond.lock().await;
        g.push(1);
        cond.notify(&g, 1);
        drop(g);
        runtime::yield_now().await;
        runtime::yield_now().await;
        let mut g = cond.lock().await;
        g.push(2);
        cond.notify_all(&g);
        drop(g);
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(log.take(), ["waiter 0 took 1", "waiter 1 took 2"]);
    });
}

#[test]
fn barrier_releases_together_and_breaks_on_abort() {
    runtime::run(async {
        let b = Rc::new(Barrier::new(2));
        let bb = b.clone();
        let first = runtime::spawn(async move { bb.wait().await });
        runtime::yield_now().await;
        assert_eq!(b.n_waiting(), 1);
        assert_eq!(b.wait().await, Ok(1));
        assert_eq!(first.await.unwrap(), Ok(0));
        // Round two: one waits, the barrier is aborted.
        let bb = b.clone();
        let w = runtime::spawn(async move { bb.wait().await });
        runtime::yield_now().await;
        b.abort();
        assert_eq!(w.await.unwrap(), Err(BrokenBarrier));
        assert_eq!(b.wait().await, Err(BrokenBarrier));
        b.reset();
        assert!(!b.is_broken());
    });
}

#[test]
fn barrier_waiter_cancelled_before_the_trip_unarrives() {
    runtime::run(async {
        let b = Rc::new(Barrier::new(2));
        let bb = b.clone();
        let w = runtime::spawn(async move { bb.wait().await });
        runtime::yield_now().await;
        w.cancel();
        runtime::yield_now().await;
        assert_eq!(b.n_waiting(), 0);
    });
}

#[test]
fn a_notify_waiters_wake_up_is_not_stored_when_its_waiter_is_dropped() {
    use runtime::sync::Notify;
    use std::rc::Rc;
    paused().block_on(async {
        let n = Rc::new(Notify::new());
        let waiter = {
            let n = n.clone();
            runtime::spawn(async move { n.notified().await })
        };
        runtime::yield_now().await; // waits
        n.notify_waiters(); // wakes it ...
        waiter.cancel(); // ... and it is dropped before it runs
        assert!(waiter.await.unwrap_err().is_cancelled());
        // Nobody called notify_one: nothing may be stored.
        let later = runtime::timeout(std::time::Duration::from_secs(1), n.notified()).await;
        assert!(
            later.is_err(),
            "a notify_waiters wake-up turned into a stored permit"
        );
        // A notify_one wake-up, on the other hand, is passed on (and stored).
        let waiter = {
            let n = n.clone();
            runtime::spawn(async move { n.notified().await })
        };
        runtime::yield_now().await;
        n.notify_one();
        waiter.cancel();
        let _ = waiter.await;
        runtime::timeout(std::time::Duration::from_secs(1), n.notified())
            .await
            .expect("a notify_one is passed on");
    });
}

#[test]
fn waiters_released_by_reset_or_abort_get_broken_barrier() {
    use runtime::sync::{Barrier, BrokenBarrier};
    use std::rc::Rc;
    for abort_first in [false, true] {
        paused().block_on(async {
            let b = Rc::new(Barrier::new(3));
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let b = b.clone();
                    runtime::spawn(async move { b.wait().await })
                })
                .collect();
            runtime::yield_now().await; // two of three wait
            if abort_first {
                b.abort();
            }
            b.reset(); // before the waiters run: their outcome is already decided
            for w in waiters {
                assert_eq!(
                    w.await.unwrap(),
                    Err(BrokenBarrier),
                    "abort first: {abort_first}"
                );
            }
            // The barrier works again after the reset.
            let again: Vec<_> = (0..3)
                .map(|_| {
                    let b = b.clone();
                    runtime::spawn(async move { b.wait().await })
                })
                .collect();
            for w in again {
                assert!(w.await.unwrap().is_ok());
            }
        });
    }
}

#[test]
fn condition_notify_requires_its_own_lock_held() {
    paused().block_on(async {
        let cond = Condition::new(0);
        let other = Condition::new(0);
        let g = other.lock().await;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cond.notify(&g, 1)));
        let msg = r.unwrap_err();
        let msg = msg.downcast_ref::<String>().unwrap();
        assert!(msg.contains("different lock"), "{msg}");
        drop(g);
        let g = cond.lock().await;
        cond.notify_all(&g); // its own guard: fine
    });
}
