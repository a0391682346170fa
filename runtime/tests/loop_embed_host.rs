//! A host that owns the thread's wait (`poll(2)` here) steps the runtime only when the
//! runtime's descriptor is readable or its next deadline has come: remote wakes, callbacks,
//! sockets and timers all make progress that way, and an idle runtime leaves the
//! descriptor quiet (the host does not spin).

use std::os::fd::AsRawFd;
use std::time::Duration;

use runtime::time::Instant;
use runtime::Runtime;

/// Waits like a host: on the runtime's descriptor, until its next deadline (forever when
/// it has none). True if the descriptor turned readable.
fn host_wait(rt: &Runtime, cap: Duration) -> bool {
    let timeout = match rt.next_deadline() {
        Some(due) => due.duration_since(Instant::now()).min(cap),
        None => cap,
    };
    let mut fds = [libc::pollfd {
        fd: rt.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    let ms = timeout.as_micros().div_ceil(1000) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    n > 0
}

/// Runs the host loop until `done`, stepping only on readiness or a due deadline; returns
/// how many times it stepped. `cap` bounds each wait so that a bug fails the test instead
/// of hanging it; a wait that reaches the cap with nothing due counts as a failure.
fn host_loop(rt: &Runtime, mut done: impl FnMut() -> bool) -> u32 {
    let mut steps = 0;
    let mut idle_caps = 0;
    while !done() {
        let readable = host_wait(rt, Duration::from_secs(10));
        let due = rt.next_deadline().is_some_and(|d| d <= Instant::now());
        if readable || due {
            rt.turn(Duration::ZERO);
            steps += 1;
        } else {
            idle_caps += 1;
            assert!(
                idle_caps < 3,
                "the host waited 10 s with nothing to wake it"
            );
        }
        assert!(
            steps < 10_000,
            "the host is spinning: the descriptor stays readable"
        );
    }
    steps
}

#[test]
fn an_idle_runtime_leaves_the_descriptor_quiet() {
    let rt = Runtime::new().unwrap();
    rt.turn(Duration::ZERO);
    assert_eq!(rt.next_deadline(), None);
    assert!(!host_wait(&rt, Duration::from_millis(1)));
}

#[test]
fn a_remote_wake_makes_the_descriptor_readable() {
    let rt = Runtime::new().unwrap();
    let (tx, mut rx) = runtime::sync::cross_thread::unbounded::<u32>();
    let task = rt.spawn(async move { rx.recv().await });
    rt.turn(Duration::ZERO); // the task waits on the channel
    assert_eq!(
        rt.next_deadline(),
        None,
        "nothing due: only the thread can wake it"
    );
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        tx.send(7).unwrap();
    });
    let steps = host_loop(&rt, || task.is_done());
    sender.join().unwrap();
    assert!(steps <= 3, "stepped {steps} times for one wake");
    assert_eq!(rt.block_on(task).unwrap(), Some(7));
}

#[test]
fn call_soon_threadsafe_and_handle_spawn_reach_a_host_driven_loop() {
    let rt = Runtime::new().unwrap();
    rt.turn(Duration::ZERO);
    let handle = rt.handle();
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spawned_ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (r, s) = (ran.clone(), spawned_ran.clone());
    let worker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        handle
            .call_soon_threadsafe(move || r.store(true, std::sync::atomic::Ordering::SeqCst))
            .unwrap();
        handle.spawn(async move {
            s.store(true, std::sync::atomic::Ordering::SeqCst);
            6 * 7
        })
    });
    // Done when both ran on the loop (not when the thread exits: that is no runtime
    // event, and a host waiting on the runtime would not see it).
    host_loop(&rt, || {
        ran.load(std::sync::atomic::Ordering::SeqCst)
            && spawned_ran.load(std::sync::atomic::Ordering::SeqCst)
    });
    let answer = worker.join().unwrap();
    assert_eq!(answer.join_blocking().unwrap(), 42);
}

#[test]
fn a_socket_read_makes_progress_only_through_host_steps() {
    let rt = Runtime::new().unwrap();
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let task = rt.spawn(async move {
        let mut s = runtime::net::UnixStream::from_std(ours).unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).await.unwrap();
        buf
    });
    rt.turn(Duration::ZERO);
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut theirs = theirs;
        std::thread::sleep(Duration::from_millis(10));
        theirs.write_all(b"he").unwrap();
        std::thread::sleep(Duration::from_millis(10));
        theirs.write_all(b"llo").unwrap();
        theirs
    });
    host_loop(&rt, || task.is_done());
    drop(writer.join().unwrap());
    assert_eq!(&rt.block_on(task).unwrap(), b"hello");
}

#[test]
fn timers_fire_at_the_deadline_the_host_was_given() {
    let rt = Runtime::new().unwrap();
    let start = Instant::now();
    let task = rt.spawn(async move {
        for _ in 0..3 {
            runtime::sleep(Duration::from_millis(10)).await;
        }
        Instant::now()
    });
    rt.turn(Duration::ZERO);
    let due = rt.next_deadline().expect("a timer is armed");
    assert!(due >= start + Duration::from_millis(10));
    let steps = host_loop(&rt, || task.is_done());
    assert!(steps <= 12, "stepped {steps} times for three timers");
    let end = rt.block_on(task).unwrap();
    assert!(end.duration_since(start) >= Duration::from_millis(30));
}

#[test]
fn ready_tasks_make_the_deadline_now() {
    let rt = Runtime::new().unwrap();
    let _t = rt.spawn(async {});
    let due = rt.next_deadline().expect("a task is ready");
    assert!(due <= Instant::now());
    rt.turn(Duration::ZERO);
    assert_eq!(rt.next_deadline(), None);
}
