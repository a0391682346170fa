//! The task-lifecycle matrix: panic in poll or in drop x handle dropped at each stage x
//! cancel at each stage. Every future is dropped exactly once, on the loop thread, and
//! the handle (when kept) sees the outcome the rules predict.

mod common;
use common::{quiet_panics, Counts, Probe};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Ok,
    Cancelled,
    Panic,
}

/// Stages: 0 = before the first poll, 1 = after the first poll, 2 = after the second
/// turn, 3 = never.
fn expected(panic_in_poll: bool, panic_in_drop: bool, cancel_at: u8) -> Outcome {
    let dropped = |o| if panic_in_drop { Outcome::Panic } else { o };
    if cancel_at == 0 {
        return dropped(Outcome::Cancelled);
    }
    if panic_in_poll {
        return Outcome::Panic;
    }
    if cancel_at == 1 {
        return dropped(Outcome::Cancelled);
    }
    dropped(Outcome::Ok)
}

#[test]
fn lifecycle_matrix() {
    quiet_panics();
    let loop_thread = std::thread::current().id();
    let mut cases = 0;
    for panic_in_poll in [false, true] {
        for panic_in_drop in [false, true] {
            for drop_at in 0..4u8 {
                for cancel_at in 0..4u8 {
                    cases += 1;
                    let what = format!(
                        "panic_in_poll={panic_in_poll} panic_in_drop={panic_in_drop} \
                         drop_at={drop_at} cancel_at={cancel_at}"
                    );
                    let counts = Counts::default();
                    let mut probe = Probe::new(&counts);
                    probe.pending_polls = 1;
                    probe.panic_in_poll = panic_in_poll;
                    probe.panic_in_drop = panic_in_drop;
                    let rt = runtime::Builder::new()
                        .unhandled_panic(runtime::UnhandledPanic::Ignore)
                        .build()
                        .unwrap();
                    let mut handle = Some(rt.spawn(probe));
                    let mut cancel_result = None;
                    for stage in 0..3u8 {
                        if cancel_at == stage {
                            cancel_result = Some(handle.as_ref().map(|h| h.cancel()));
                        }
                        if drop_at == stage {
                            handle = None;
                        }
                        rt.turn(Duration::ZERO);
                    }
                    if cancel_at == 2 {
                        if let Some(Some(c)) = cancel_result {
                            assert!(!c, "{what}: cancel after completion reports false");
                        }
                    }
                    while rt.alive_tasks() > 0 {
                        rt.turn(Duration::ZERO);
                    }
                    if let Some(mut h) = handle.take() {
                        assert!(h.is_done(), "{what}");
                        let got = match h.try_result().expect("result available") {
                            Ok(v) => {
                                assert_eq!(v, 7);
                                Outcome::Ok
                            }
                            Err(e) if e.is_cancelled() => Outcome::Cancelled,
                            Err(e) => {
                                assert!(e.is_panic(), "{what}");
                                Outcome::Panic
                            }
                        };
                        assert_eq!(
                            got,
                            expected(panic_in_poll, panic_in_drop, cancel_at),
                            "{what}"
                        );
                    }
                    assert_eq!(counts.drops(), 1, "{what}: future dropped exactly once");
                    assert_eq!(
                        counts.dropped_on(),
                        Some(loop_thread),
                        "{what}: on the loop thread"
                    );
                    drop(rt);
                    assert_eq!(counts.drops(), 1, "{what}: not dropped again at teardown");
                }
            }
        }
    }
    assert_eq!(cases, 64);
}

#[test]
fn cancel_before_first_poll_never_polls() {
    let counts = Counts::default();
    runtime::run(async {
        let t = runtime::spawn(Probe::new(&counts));
        assert!(t.cancel());
        assert!(!t.is_done(), "the drop happens on the loop's next turn");
        let err = t.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(!err.is_panic());
    });
    assert_eq!(counts.polls(), 0);
    assert_eq!(counts.drops(), 1);
}

#[test]
fn cancel_at_a_suspension_point_drops_the_future() {
    let counts = Counts::default();
    runtime::run(async {
        let mut probe = Probe::new(&counts);
        probe.park = true;
        let t = runtime::spawn(probe);
        runtime::yield_now().await;
        assert_eq!(counts.polls(), 1);
        assert!(t.cancel());
        assert!(t.cancel(), "a second cancel is harmless");
        let err = t.await.unwrap_err();
        assert!(err.is_cancelled());
    });
    assert_eq!(counts.drops(), 1);
}

#[test]
fn cancel_after_completion_returns_false_and_keeps_the_result() {
    runtime::run(async {
        let t = runtime::spawn(async { 5 });
        runtime::yield_now().await;
        assert!(t.is_done());
        assert!(!t.cancel());
        assert!(!t.is_cancelled());
        assert_eq!(t.await.unwrap(), 5);
    });
}

#[test]
fn is_cancelled_once_the_cancellation_took_effect() {
    runtime::run(async {
        let t = runtime::spawn(std::future::pending::<()>());
        t.cancel();
        assert!(!t.is_cancelled());
        runtime::yield_now().await;
        runtime::yield_now().await;
        assert!(t.is_done());
        assert!(t.is_cancelled());
    });
}

#[test]
fn a_task_can_cancel_itself_through_its_own_handle() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let counts = Counts::default();
    runtime::run(async {
        let slot: Rc<RefCell<Option<runtime::Task<()>>>> = Rc::default();
        let s = slot.clone();
        let c = counts.clone();
        let t = runtime::spawn(async move {
            let _probe = Probe::new(&c); // dropped with the task
            runtime::yield_now().await;
            let me = s.borrow_mut().take().unwrap();
            assert!(me.cancel());
            *s.borrow_mut() = Some(me);
            std::future::pending::<()>().await;
        });
        *slot.borrow_mut() = Some(t);
        while !slot.borrow().as_ref().is_some_and(|t| t.is_done()) {
            runtime::yield_now().await;
        }
        let t = slot.borrow_mut().take().unwrap();
        assert!(t.await.unwrap_err().is_cancelled());
    });
    assert_eq!(counts.drops(), 1);
}

#[test]
fn dropping_the_handle_detaches_the_task() {
    let counts = Counts::default();
    let rt = runtime::Runtime::new().unwrap();
    let mut probe = Probe::new(&counts);
    probe.pending_polls = 3;
    drop(rt.spawn(probe));
    rt.block_on(async {
        for _ in 0..10 {
            runtime::yield_now().await;
        }
    });
    assert_eq!(counts.polls(), 4, "kept running to completion");
    assert_eq!(counts.drops(), 1);
}

#[test]
#[should_panic(expected = "polled after it already gave its result")]
fn awaiting_a_task_twice_panics_with_a_clear_message() {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    runtime::run(async {
        let mut t = runtime::spawn(async {});
        runtime::yield_now().await;
        std::future::poll_fn(|cx: &mut Context<'_>| {
            assert!(Pin::new(&mut t).poll(cx).is_ready());
            let _ = Pin::new(&mut t).poll(cx);
            Poll::Ready(())
        })
        .await;
    });
}

/// A waker the runtime does not know, counting its wakes and its live clones.
struct Foreign {
    wakes: std::sync::atomic::AtomicUsize,
}

impl std::task::Wake for Foreign {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.wakes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The join slot keeps the runtime's own wakers as one word and any other waker boxed:
/// whichever kind waits, exactly the last one registered is woken, once, and every clone
/// the slot took is released (none leaks, none is dropped twice).
#[test]
fn the_join_slot_wakes_exactly_the_last_waiter_of_any_kind() {
    use std::sync::atomic::Ordering::SeqCst;
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};
    let rt = runtime::Builder::new().start_paused(true).build().unwrap();
    rt.block_on(async {
        let (a, b) = (
            Arc::new(Foreign { wakes: 0.into() }),
            Arc::new(Foreign { wakes: 0.into() }),
        );
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        let mut task = runtime::spawn(async {
            runtime::yield_now().await;
            7
        });
        let mut poll_with = |w: &Waker| {
            let mut cx = Context::from_waker(w);
            std::pin::Pin::new(&mut task).poll(&mut cx)
        };
        use std::future::Future;
        // A foreign waker, registered twice (kept once), then replaced by another one.
        assert!(poll_with(&wa).is_pending());
        assert!(poll_with(&wa).is_pending());
        assert_eq!(Arc::strong_count(&a), 3, "one clone in the slot");
        assert!(poll_with(&wb).is_pending());
        assert_eq!(Arc::strong_count(&a), 2, "the replaced clone was released");
        runtime::sleep(Duration::from_millis(1)).await;
        assert_eq!(a.wakes.load(SeqCst), 0);
        assert_eq!(b.wakes.load(SeqCst), 1, "the last waiter was woken once");
        assert_eq!(Arc::strong_count(&b), 2, "the woken clone was released");
        assert!(matches!(poll_with(&wb), Poll::Ready(Ok(7))));
        // A task's waker and a gather member's waker, each awaiting an unfinished task.
        let slow = runtime::spawn(async {
            runtime::sleep(Duration::from_millis(5)).await;
            1
        });
        let waiter = runtime::spawn(async move { slow.await.unwrap() + 1 });
        let all = runtime::gather(vec![waiter, runtime::spawn(async { 3 })]).await;
        assert_eq!(
            all.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
            [2, 3]
        );
        // Main awaiting an unfinished task.
        let last = runtime::spawn(async {
            runtime::sleep(Duration::from_millis(1)).await;
            4
        });
        assert_eq!(last.await.unwrap(), 4);
    });
}

/// A task is registered only when it first waits; until then the loop's hold on it is
/// the queue's, then the poll's. A task that drops its own handle during its first poll
/// (and then finishes, waits, or is woken and finishes) is dropped exactly once, and the
/// live count covers tasks that are queued, running and waiting.
#[test]
fn a_task_dropping_its_own_handle_in_its_first_poll_lives_until_it_finishes() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let rt = runtime::Builder::new().start_paused(true).build().unwrap();
    rt.block_on(async {
        let counts = Counts::default();
        for waits in [false, true] {
            let slot: Rc<RefCell<Option<runtime::Task<u32>>>> = Rc::default();
            let (s, probe) = (slot.clone(), Probe::new(&counts));
            let task = runtime::spawn(async move {
                let _probe = probe;
                drop(s.borrow_mut().take()); // its own handle, during the first poll
                if waits {
                    runtime::sleep(Duration::from_secs(1)).await;
                }
                1
            });
            *slot.borrow_mut() = Some(task);
            assert_eq!(runtime::metrics().tasks_alive, 1, "queued, not polled");
            runtime::yield_now().await;
            assert!(slot.borrow().is_none());
            let alive = if waits { 1 } else { 0 };
            assert_eq!(runtime::metrics().tasks_alive, alive);
            runtime::sleep(Duration::from_secs(2)).await;
            assert_eq!(runtime::metrics().tasks_alive, 0);
        }
        assert_eq!(counts.drops(), 2);
    });
}
