//! `LoopPool`, `spawn_pinned`, `run_per_core`/`run_per_loop` and `bind_reuseport`:
//! placement, `!Send` state, results and panics, cross-loop jobs, bounded shutdown that
//! drops every future on its own loop, one port served by every loop, Ctrl-C.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runtime::net::{TcpListener, TcpSocket};
use runtime::LoopPool;

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

#[test]
fn jobs_run_on_the_pools_named_threads_with_non_send_state() {
    let pool = LoopPool::builder()
        .loops(3)
        .thread_name_prefix("pool")
        .build()
        .unwrap();
    assert_eq!(pool.len(), 3);
    assert_eq!(pool.handles().len(), 3);
    for i in 0..3 {
        let (name, sum) = pool
            .spawn_pinned_on(i, || {
                let local = Rc::new(std::cell::RefCell::new(vec![1, 2])); // !Send
                async move {
                    runtime::yield_now().await;
                    local.borrow_mut().push(3);
                    let sum: i32 = local.borrow().iter().sum();
                    (thread_name(), sum)
                }
            })
            .join_blocking()
            .unwrap();
        assert_eq!((name, sum), (format!("pool-{i}"), 6));
    }
    pool.shutdown(Duration::from_secs(10)).unwrap();
}

#[test]
fn placement_goes_to_the_loop_with_fewest_live_jobs() {
    let pool = LoopPool::new(4).unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let jobs: Vec<_> = (0..100)
        .map(|_| {
            let release = release.clone();
            pool.spawn_pinned(move || async move {
                let name = thread_name();
                while !release.load(Ordering::SeqCst) {
                    runtime::sleep(Duration::from_millis(2)).await;
                }
                name
            })
        })
        .collect();
    release.store(true, Ordering::SeqCst);
    let mut per_loop = std::collections::HashMap::<String, usize>::new();
    for j in jobs {
        *per_loop.entry(j.join_blocking().unwrap()).or_default() += 1;
    }
    // Every job stays live while the others are placed: an even spread.
    assert_eq!(per_loop.len(), 4, "{per_loop:?}");
    assert!(per_loop.values().all(|&n| n == 25), "{per_loop:?}");
    // Finished jobs no longer count: the next ones go round-robin.
    let names: Vec<String> = (0..4)
        .map(|_| {
            pool.spawn_pinned(|| async { thread_name() })
                .join_blocking()
                .unwrap()
        })
        .collect();
    let distinct: std::collections::HashSet<_> = names.iter().collect();
    assert!(distinct.len() > 1, "{names:?}");
}

#[test]
fn results_and_panics_come_back_and_loops_can_hand_jobs_to_each_other() {
    let pool = Arc::new(LoopPool::new(2).unwrap());
    let err = pool
        .spawn_pinned(|| async { panic!("job failed") })
        .join_blocking()
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("job failed"));
    // A panic while building the future on the loop is the job's panic too.
    let err = pool
        .spawn_pinned(|| -> std::future::Ready<()> { panic!("make failed") })
        .join_blocking()
        .unwrap_err();
    assert_eq!(err.panic_message(), Some("make failed"));
    // From loop 0, a job onto loop 1, awaited there.
    let p = pool.clone();
    let (outer, inner) = pool
        .spawn_pinned_on(0, move || async move {
            let inner = p
                .spawn_pinned_on(1, || async { thread_name() })
                .await
                .unwrap();
            (thread_name(), inner)
        })
        .join_blocking()
        .unwrap();
    assert_eq!(
        (outer.as_str(), inner.as_str()),
        ("runtime-loop-0", "runtime-loop-1")
    );
}

/// Records the thread it is dropped on.
struct DropSpy(Arc<Mutex<Vec<String>>>);

impl Drop for DropSpy {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(thread_name());
    }
}

#[test]
fn shutdown_drops_every_future_on_its_loop_and_is_bounded_by_its_timeout() {
    let pool = LoopPool::new(2).unwrap();
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let mut jobs = Vec::new();
    for i in 0..6 {
        let spy = dropped.clone();
        jobs.push(pool.spawn_pinned_on(i % 2, move || {
            let spy = DropSpy(spy);
            async move {
                let _spy = spy;
                std::future::pending::<()>().await
            }
        }));
    }
    // A blocking job that outlives the shutdown's limit.
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    let blocking = pool.spawn_pinned_on(0, move || async move {
        runtime::run_in_executor(move || {
            s.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(3));
        })
        .await
    });
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let t0 = Instant::now();
    let limit = Duration::from_secs(1);
    let r = pool.shutdown(limit);
    let took = t0.elapsed();
    assert!(r.is_ok(), "{r:?}");
    // Bounded: the 3 s job gets half the limit, then is left on its thread.
    assert!(
        took < limit + Duration::from_millis(500),
        "shutdown took {took:?}"
    );
    let mut names = dropped.lock().unwrap().clone();
    names.sort();
    assert_eq!(
        names,
        [
            "runtime-loop-0",
            "runtime-loop-0",
            "runtime-loop-0",
            "runtime-loop-1",
            "runtime-loop-1",
            "runtime-loop-1"
        ]
    );
    for j in jobs {
        assert!(j.join_blocking().unwrap_err().is_cancelled());
    }
    assert!(blocking.join_blocking().is_err());
}

#[test]
fn a_loop_that_does_not_stop_in_time_is_reported() {
    let pool = LoopPool::new(2).unwrap();
    let frozen = Arc::new(AtomicBool::new(true));
    let started = Arc::new(AtomicBool::new(false));
    let (f, s) = (frozen.clone(), started.clone());
    let _job = pool.spawn_pinned_on(1, move || async move {
        s.store(true, Ordering::SeqCst);
        while f.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5)); // blocks loop 1 itself
        }
    });
    // Loop 1 is blocked before the shutdown starts (a fixed sleep could end first on a
    // loaded machine, and the job would be cancelled before it ran).
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let err = pool.shutdown(Duration::from_millis(100)).unwrap_err();
    assert_eq!(err.timed_out, [1]);
    assert!(err.to_string().contains("did not stop in time"), "{err}");
    frozen.store(false, Ordering::SeqCst); // let the detached loop end
}

#[test]
fn every_loop_serves_connections_on_one_shared_port() {
    let probe = TcpSocket::new_v4().unwrap();
    probe.set_reuseport(true).unwrap();
    probe.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = probe.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let bound = Arc::new(AtomicUsize::new(0));
    let (d, b) = (done.clone(), bound.clone());
    let client = std::thread::spawn(move || {
        while b.load(Ordering::SeqCst) < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        for _ in 0..64 {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.write_all(b"x").unwrap();
            let mut one = [0u8; 1];
            c.read_exact(&mut one).unwrap();
        }
        d.store(true, Ordering::SeqCst);
    });
    let counts = LoopPool::builder()
        .loops(2)
        .run_per_loop(move |_i| {
            let (done, bound) = (done.clone(), bound.clone());
            async move {
                let listener = TcpListener::bind_reuseport(addr).unwrap();
                bound.fetch_add(1, Ordering::SeqCst);
                let mut served = 0usize;
                while !done.load(Ordering::SeqCst) {
                    let accepted =
                        runtime::timeout(Duration::from_millis(20), listener.accept()).await;
                    if let Ok(Ok((mut conn, _))) = accepted {
                        served += 1;
                        let mut one = [0u8; 1];
                        conn.read_exact(&mut one).await.unwrap();
                        conn.write_all(b"y").await.unwrap();
                    }
                }
                served
            }
        })
        .unwrap();
    client.join().unwrap();
    drop(probe);
    assert_eq!(counts.iter().sum::<usize>(), 64, "{counts:?}");
    assert!(
        counts.iter().all(|&n| n > 0),
        "every loop served some: {counts:?}"
    );
}

#[test]
fn a_panic_in_one_main_cancels_the_others_and_reaches_the_caller() {
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let spy = dropped.clone();
    let r = std::panic::catch_unwind(move || {
        runtime::LoopPool::new(3).unwrap().run_per_loop(move |i| {
            let spy = DropSpy(spy.clone());
            async move {
                let _spy = spy;
                if i == 1 {
                    runtime::sleep(Duration::from_millis(10)).await;
                    panic!("main 1 failed");
                }
                std::future::pending::<()>().await
            }
        })
    });
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"main 1 failed"));
    let mut names = dropped.lock().unwrap().clone();
    names.sort();
    assert_eq!(
        names,
        ["runtime-loop-0", "runtime-loop-1", "runtime-loop-2"]
    );
}

#[test]
fn run_per_core_uses_one_loop_per_cpu() {
    let names = runtime::run_per_core(|i| async move { (i, thread_name()) });
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert_eq!(names.len(), cpus);
    for (k, (i, name)) in names.iter().enumerate() {
        assert_eq!((*i, name.clone()), (k, format!("runtime-loop-{k}")));
    }
}

/// In a child: every main waits forever; Ctrl-C must cancel them all.
#[test]
fn ctrl_c_child() {
    if std::env::var_os("RUNTIME_LOOP_POOL_CHILD").is_none() {
        return;
    }
    struct Guard(usize);
    impl Drop for Guard {
        fn drop(&mut self) {
            println!("main {} dropped", self.0);
        }
    }
    let started = Arc::new(AtomicUsize::new(0));
    LoopPool::new(2).unwrap().run_per_loop(move |i| {
        let started = started.clone();
        async move {
            let _g = Guard(i);
            if started.fetch_add(1, Ordering::SeqCst) == 1 {
                println!("ready");
            }
            std::future::pending::<()>().await
        }
    });
    println!("run_per_loop returned"); // must not happen
}

#[test]
fn ctrl_c_cancels_every_main() {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "ctrl_c_child", "--nocapture", "--test-threads=1"])
        .env("RUNTIME_LOOP_POOL_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: signal() is async-signal-safe, as pre_exec requires; the child gets the
    // default Ctrl-C action a terminal would give it.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        // SAFETY: signalling our own child (harmless if it is gone).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.contains("ready") {
        line.clear();
    }
    std::thread::sleep(Duration::from_millis(50)); // the main thread waits in `run`
                                                   // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGINT), "{rest}\n{err}");
    assert!(
        rest.contains("main 0 dropped") && rest.contains("main 1 dropped"),
        "{rest}"
    );
    assert!(!rest.contains("run_per_loop returned"), "{rest}");
    assert!(err.contains("KeyboardInterrupt"), "{err}");
}
