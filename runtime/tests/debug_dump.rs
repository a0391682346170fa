//! Task dumps: what each task waits on, for every primitive of the runtime, the
//! "awaited by" edges, states and counts, and a dump taken from another thread.

use std::rc::Rc;
use std::time::Duration;

use runtime::sync::{mpsc, oneshot, Barrier, Channel, Condition, Event, Lock, Notify, Queue};
use runtime::task::{TaskDump, TaskState};
use runtime::{Builder, Promise};

fn paused() -> runtime::Runtime {
    Builder::new().start_paused(true).build().unwrap()
}

/// The one label of task `t` in `dump`.
fn waits(dump: &TaskDump, t: &runtime::Task<impl Sized>) -> String {
    let e = dump.task(t.id()).unwrap_or_else(|| panic!("{dump}"));
    assert_eq!(e.state, TaskState::Waiting, "{dump}");
    assert_eq!(e.waiting_on.len(), 1, "{dump}");
    e.waiting_on[0].clone()
}

#[test]
fn every_primitive_labels_its_wait() {
    paused().block_on(async {
        let queue = Rc::new(Queue::<u32>::new());
        let full = Rc::new(Queue::<u32>::with_maxsize(1));
        full.try_put(1).unwrap();
        let lock = Rc::new(Lock::new(()));
        let sem = Rc::new(runtime::sync::Semaphore::new(0));
        let event = Rc::new(Event::new());
        let notify = Rc::new(Notify::new());
        let barrier = Rc::new(Barrier::new(2));
        let cond = Rc::new(Condition::new(0));
        let chan = Rc::new(Channel::<u32>::new());
        let chan2 = Rc::new(Channel::<u32>::new());
        let (_tx, mut rx) = mpsc::unbounded::<u32>();
        let (btx, _brx) = mpsc::channel::<u32>(1);
        btx.try_send(1).unwrap();
        let (_otx, orx) = oneshot::channel::<u32>();
        let promise = Promise::<u32>::new();
        let listener = runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = runtime::net::TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();

        let guard = lock.lock().await; // held, so `lock()` waits
        let q = queue.clone();
        let t_get = runtime::spawn(async move { q.get().await });
        let f = full.clone();
        let t_put = runtime::spawn(async move { f.put(2).await });
        let l = lock.clone();
        let t_lock = runtime::spawn(async move { drop(l.lock().await) });
        let s = sem.clone();
        let t_sem = runtime::spawn(async move { drop(s.acquire().await) });
        let e = event.clone();
        let t_event = runtime::spawn(async move { e.wait().await });
        let n = notify.clone();
        let t_notify = runtime::spawn(async move { n.notified().await });
        let b = barrier.clone();
        let t_barrier = runtime::spawn(async move { b.wait().await.ok() });
        let c = cond.clone();
        let t_cond = runtime::spawn(async move {
            let g = c.lock().await;
            drop(c.wait(g).await);
        });
        let ch = chan.clone();
        let t_recv = runtime::spawn(async move { ch.receive().await.ok() });
        let ch2 = chan2.clone();
        let t_send = runtime::spawn(async move { ch2.send(5).await.ok() });
        let t_mpsc = runtime::spawn(async move { rx.recv().await });
        let t_mpsc_send = runtime::spawn(async move { btx.send(2).await.ok() });
        let t_oneshot = runtime::spawn(async move { orx.await.ok() });
        let p = promise.clone();
        let t_promise = runtime::spawn(async move { p.await.ok() });
        let t_sleep = runtime::spawn(runtime::sleep(Duration::from_secs(90)));
        let t_read = runtime::spawn(async move {
            let mut buf = [0u8; 8];
            server.read(&mut buf).await.ok()
        });
        let t_accept = runtime::spawn(async move { listener.accept().await.ok().map(|_| ()) });
        let t_job = runtime::spawn(runtime::run_in_executor(|| {
            std::thread::sleep(Duration::from_millis(50))
        }));
        let inner = runtime::spawn(std::future::pending::<()>());
        let inner_id = inner.id();
        let t_join = runtime::spawn(async move { inner.await.ok() });

        for _ in 0..3 {
            runtime::yield_now().await;
        }
        let dump = runtime::task::dump();
        assert_eq!(waits(&dump, &t_get), "Queue::get");
        assert_eq!(waits(&dump, &t_put), "Queue::put");
        assert_eq!(waits(&dump, &t_lock), "Lock::lock");
        assert_eq!(waits(&dump, &t_sem), "Semaphore::acquire");
        assert_eq!(waits(&dump, &t_event), "Event::wait");
        assert_eq!(waits(&dump, &t_notify), "Notify::notified");
        assert_eq!(waits(&dump, &t_barrier), "Barrier::wait");
        assert_eq!(waits(&dump, &t_cond), "Condition::wait");
        assert_eq!(waits(&dump, &t_recv), "Channel::receive");
        assert_eq!(waits(&dump, &t_send), "Channel::send");
        assert_eq!(waits(&dump, &t_mpsc), "mpsc::Receiver::recv");
        assert_eq!(waits(&dump, &t_mpsc_send), "mpsc::Sender::send");
        assert_eq!(waits(&dump, &t_oneshot), "oneshot::Receiver");
        assert_eq!(waits(&dump, &t_promise), "Promise");
        let sleep = waits(&dump, &t_sleep);
        assert!(
            sleep.starts_with("sleep until 90.") && sleep.ends_with("(in 90.000s)"),
            "{sleep}"
        );
        assert_eq!(waits(&dump, &t_read), "TcpStream read");
        assert_eq!(waits(&dump, &t_accept), "TcpListener accept");
        assert_eq!(waits(&dump, &t_job), "run_in_executor job");
        assert_eq!(waits(&dump, &t_join), format!("Task {inner_id}"));
        // The join's other side: the inner task is awaited by the joining task.
        let inner_entry = dump.task(inner_id).unwrap();
        assert_eq!(inner_entry.awaited_by, [Some(t_join.id())]);
        assert!(inner_entry.waiting_on.is_empty(), "{dump}"); // `pending()` has no label

        // The dump's text: one line per task, with its label.
        let text = dump.to_string();
        assert!(
            text.starts_with(&format!("{} tasks", dump.tasks.len() - 1)),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.contains(&format!("task {}", t_lock.id()))
                    && l.contains("waiting on Lock::lock")
                    && l.contains("debug_dump.rs:")),
            "{text}"
        );

        // Once woken, a task is ready and its old label is gone.
        queue.try_put(7).unwrap();
        let dump = runtime::task::dump();
        let e = dump.task(t_get.id()).unwrap();
        assert_eq!(e.state, TaskState::Ready);
        assert!(e.waiting_on.is_empty());
        assert_eq!(t_get.await.unwrap().unwrap(), 7);

        drop(guard);
        drop(client);
        t_job.await.unwrap().unwrap();
    });
}

/// Spawns a task named `name` and gives back where the spawn was written (the caller's
/// line: `#[track_caller]` carries it through, as it does for `spawn` itself).
#[track_caller]
fn spawn_named<F: std::future::Future + 'static>(
    name: &str,
    future: F,
) -> (
    runtime::Task<F::Output>,
    &'static std::panic::Location<'static>,
) {
    let task = runtime::task::Builder::new().name(name).spawn(future);
    (task, std::panic::Location::caller())
}

#[test]
fn entries_carry_state_polls_location_and_edges() {
    paused().block_on(async {
        let (worker, at) = spawn_named("worker", async {
            for _ in 0..4 {
                runtime::yield_now().await;
            }
            std::future::pending::<()>().await
        });
        let fresh = runtime::spawn(async {});
        let dump = runtime::task::dump();
        // Main first, running (it took the dump); then the tasks by id, not yet polled.
        let main = &dump.tasks[0];
        assert_eq!((main.id, main.state), (None, TaskState::Running));
        assert_eq!(main.name.as_deref(), Some("main"));
        let w = dump.task(worker.id()).unwrap();
        assert_eq!(
            (w.state, w.polls, w.since_last_poll),
            (TaskState::Ready, 0, None)
        );
        let loc = w.spawned_at.unwrap();
        assert!(loc.file().ends_with("debug_dump.rs"), "{loc}");
        assert_eq!(loc, at);
        assert_eq!(dump.task(fresh.id()).unwrap().state, TaskState::Ready);

        // Main awaits `fresh`: an edge from main.
        fresh.await.unwrap();
        runtime::task::wait_all_blocked().await;
        let dump = runtime::task::dump();
        let w = dump.task(worker.id()).unwrap();
        assert_eq!((w.state, w.polls), (TaskState::Waiting, 5));
        assert!(w.since_last_poll.is_some());
        assert!(dump.to_string().contains("\"worker\""), "{dump}");

        // A join from main shows as "awaited by main" while main waits; the dump is
        // taken from another thread, at the loop's next turn.
        let h = runtime::Handle::current();
        let (tx, mut rx) = runtime::sync::cross_thread::unbounded();
        let worker_id = worker.id();
        let th = std::thread::spawn(move || {
            tx.send(h.dump().join_blocking().unwrap()).unwrap();
        });
        let remote: TaskDump =
            match runtime::combine::select(std::pin::pin!(worker), std::pin::pin!(rx.recv())).await
            {
                runtime::combine::Either::Right(d) => d.unwrap(),
                runtime::combine::Either::Left(_) => unreachable!("the worker never ends"),
            };
        th.join().unwrap();
        let main = remote.main().unwrap();
        assert_eq!(main.state, TaskState::Waiting);
        assert!(
            main.waiting_on[0].starts_with(&format!("Task {worker_id}")),
            "{remote}"
        );
        assert_eq!(remote.task(worker_id).unwrap().awaited_by, [None]);
    });
}

#[test]
fn handle_dump_answers_from_a_plain_thread_and_fails_once_the_loop_is_gone() {
    let rt = Builder::new().build().unwrap();
    let h = rt.handle();
    let t = rt.spawn(std::future::pending::<()>());
    let th = std::thread::spawn(move || h.dump().join_blocking());
    rt.block_on(async {
        while !th.is_finished() {
            runtime::sleep(Duration::from_millis(1)).await;
        }
    });
    let dump = th.join().unwrap().unwrap();
    assert!(dump.task(t.id()).is_some(), "{dump}");
    let h = rt.handle();
    drop(t);
    drop(rt);
    assert!(h.dump().join_blocking().is_err());
}

/// A task in its first poll is not registered yet (it registers when it first waits),
/// yet it dumps itself as running, polled once, with its spawn location; after it
/// waited, its entry carries the wait label and the time of that poll.
#[test]
fn a_task_in_its_first_poll_dumps_itself_as_running() {
    paused().block_on(async {
        let (task, at) = spawn_named("first", async {
            let me = runtime::task::dump();
            let e = me
                .tasks
                .iter()
                .find(|e| e.name.as_deref() == Some("first"))
                .cloned();
            runtime::sleep(Duration::from_secs(5)).await;
            e
        });
        runtime::task::wait_all_blocked().await;
        let dump = runtime::task::dump();
        let w = dump.task(task.id()).unwrap();
        assert_eq!((w.state, w.polls), (TaskState::Waiting, 1));
        assert!(w.since_last_poll.is_some());
        assert!(
            w.waiting_on.iter().any(|l| l.starts_with("sleep until")),
            "{:?}",
            w.waiting_on
        );
        let e = task.await.unwrap().expect("the task saw itself");
        assert_eq!((e.state, e.polls), (TaskState::Running, 1));
        assert!(e.since_last_poll.is_some());
        assert_eq!(e.spawned_at, Some(at));
    });
}
