//! Signals on the reactor: delivered while the loop is parked and while it is busy,
//! coalescing, the disposition restored after the last listener, and `run` cancelling
//! its main future on Ctrl-C (checked in a child process). Each test uses its own
//! signal: the counters are process-wide.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use runtime::signal::{Signal, SignalKind};

fn raise_later(sig: libc::c_int, after: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(after);
        // SAFETY: sending a signal to our own process, which listens for it.
        unsafe { libc::kill(libc::getpid(), sig) };
    })
}

fn disposition_is_default(sig: libc::c_int) -> bool {
    // SAFETY: querying (not changing) the current action.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old);
        old.sa_sigaction == libc::SIG_DFL
    }
}

#[runtime::test]
async fn a_signal_wakes_a_parked_loop() {
    let mut s = Signal::new(SignalKind::USER1).unwrap();
    // Nothing else is runnable: the loop parks in epoll_wait until the pipe turns
    // readable.
    let t = raise_later(libc::SIGUSR1, Duration::from_millis(30));
    s.recv().await;
    t.join().unwrap();
}

#[runtime::test]
async fn a_busy_loop_still_sees_signals() {
    let mut s = Signal::new(SignalKind::WINDOW_CHANGE).unwrap();
    let busy = runtime::spawn(async {
        let mut n = 0u64;
        loop {
            n += 1;
            runtime::yield_now().await;
            if n == u64::MAX {
                return n;
            }
        }
    });
    let t = raise_later(libc::SIGWINCH, Duration::from_millis(30));
    s.recv().await;
    busy.cancel();
    t.join().unwrap();
}

#[runtime::test]
async fn deliveries_before_a_look_coalesce_and_later_ones_count() {
    let mut s = Signal::new(SignalKind::HANGUP).unwrap();
    for _ in 0..3 {
        // SAFETY: as above.
        unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
    }
    // kill() may deliver to another thread a moment later: give all three time to land
    // before looking (blocking the loop on purpose).
    std::thread::sleep(Duration::from_millis(50));
    s.recv().await;
    let second = runtime::timeout(Duration::from_millis(50), s.recv()).await;
    assert!(second.is_err(), "three quick deliveries are one item");
    // SAFETY: as above.
    unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
    s.recv().await;
}

#[runtime::test]
async fn every_listener_sees_each_delivery() {
    let mut a = Signal::new(SignalKind::ALARM).unwrap();
    let mut b = Signal::new(SignalKind::ALARM).unwrap();
    let other = runtime::spawn(async move {
        b.recv().await;
    });
    runtime::yield_now().await;
    // SAFETY: as above.
    unsafe { libc::kill(libc::getpid(), libc::SIGALRM) };
    a.recv().await;
    other.await.unwrap();
}

#[test]
fn the_last_listener_restores_the_default_action() {
    runtime::run(async {
        assert!(disposition_is_default(libc::SIGTERM));
        let a = Signal::new(SignalKind::TERMINATE).unwrap();
        let b = Signal::new(SignalKind::TERMINATE).unwrap();
        assert!(!disposition_is_default(libc::SIGTERM));
        drop(a);
        assert!(!disposition_is_default(libc::SIGTERM), "b still listens");
        drop(b);
        assert!(disposition_is_default(libc::SIGTERM));
    });
}

#[runtime::test]
async fn uncatchable_signals_are_a_typed_error() {
    for bad in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, 99] {
        let e = Signal::new(SignalKind::from_raw(bad)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "signal {bad}");
    }
}

/// In the child: `run` a main future that never ends; report readiness and whether
/// its destructor ran.
#[test]
fn ctrl_c_child() {
    if std::env::var_os("RUNTIME_CTRL_C_CHILD").is_none() {
        return;
    }
    struct Guard;
    impl Drop for Guard {
        fn drop(&mut self) {
            println!("main dropped");
        }
    }
    runtime::run(async {
        let _g = Guard;
        runtime::spawn(async {
            struct Other;
            impl Drop for Other {
                fn drop(&mut self) {
                    println!("other task cancelled");
                }
            }
            let _o = Other;
            std::future::pending::<()>().await
        })
        .detach();
        runtime::yield_now().await; // the other task runs first and holds its guard
        println!("ready");
        std::future::pending::<()>().await
    });
    println!("run returned"); // must not happen
}

/// Runs the test `name` of this binary in a child process (which acts only when
/// `RUNTIME_CTRL_C_CHILD` is set), with SIGINT at its default action; waits for it to
/// print a line ending in "ready" and sends it Ctrl-C, then once more on each later
/// "ready". Returns its remaining stdout, its stderr and its exit status.
fn ctrl_c_child_run(name: &str) -> (String, String, std::process::ExitStatus) {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("RUNTIME_CTRL_C_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A background shell job (CI) starts us with SIGINT ignored, and the child would
    // inherit that; `run` (like asyncio) leaves an ignored SIGINT alone. Give the child
    // the default action a terminal would.
    // SAFETY: signal() is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    // A watchdog: a wedged child fails the test instead of hanging it.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        // SAFETY: signalling our own child (harmless if it is gone).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut rest = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        if line.trim_end().ends_with("ready") {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGINT) };
        } else {
            rest.push_str(&line);
        }
        line.clear();
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (rest, err, status)
}

#[test]
fn run_cancels_the_main_future_on_ctrl_c() {
    let (rest, err, status) = ctrl_c_child_run("ctrl_c_child");
    assert!(rest.contains("main dropped"), "stdout: {rest}");
    assert!(rest.contains("other task cancelled"), "stdout: {rest}");
    assert!(!rest.contains("run returned"), "stdout: {rest}");
    assert!(err.contains("KeyboardInterrupt"), "stderr: {err}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
}

/// In the child: the program: handle Ctrl-C with `ctrl_c()`, then clean up with
/// an await; with `LONG_CLEANUP`, the cleanup asks for a second Ctrl-C and waits long.
#[test]
fn ctrl_c_handled_child() {
    if std::env::var_os("RUNTIME_CTRL_C_CHILD").is_none() {
        return;
    }
    let long = std::env::args().any(|a| a == "ctrl_c_handled_long_child");
    runtime::run(async move {
        let handled = runtime::signal::ctrl_c();
        let mut handled = std::pin::pin!(handled);
        // Poll once so that the listener exists before we say we are ready.
        assert!(futures_poll_once(handled.as_mut()).await.is_pending());
        println!("ready");
        handled.await.unwrap();
        println!("got Ctrl-C, cleaning up");
        if long {
            println!("cleanup ready"); // the parent sends a second Ctrl-C
            runtime::sleep(Duration::from_secs(20)).await;
        } else {
            runtime::sleep(Duration::from_millis(10)).await;
        }
        println!("clean exit");
    });
    println!("run returned");
}

#[test]
fn ctrl_c_handled_long_child() {
    ctrl_c_handled_child()
}

async fn futures_poll_once<F: std::future::Future>(
    f: std::pin::Pin<&mut F>,
) -> std::task::Poll<F::Output> {
    let mut f = Some(f);
    std::future::poll_fn(move |cx| std::task::Poll::Ready(f.take().unwrap().poll(cx))).await
}

#[test]
fn a_program_that_handles_ctrl_c_can_await_its_cleanup_inside_run() {
    let (rest, err, status) = ctrl_c_child_run("ctrl_c_handled_child");
    assert!(
        rest.contains("got Ctrl-C, cleaning up\nclean exit\nrun returned\n"),
        "stdout: {rest}\nstderr: {err}"
    );
    assert!(!err.contains("KeyboardInterrupt"), "stderr: {err}");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_second_ctrl_c_during_a_long_cleanup_still_ends_the_program() {
    let (rest, err, status) = ctrl_c_child_run("ctrl_c_handled_long_child");
    assert!(rest.contains("got Ctrl-C, cleaning up"), "stdout: {rest}");
    assert!(!rest.contains("clean exit"), "stdout: {rest}");
    assert!(err.contains("KeyboardInterrupt"), "stderr: {err}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
}

#[runtime::test]
async fn a_storm_of_deliveries_never_wedges_the_loop() {
    // SIGURG: its default action is to ignore it, so a delivery still pending when the
    // test ends cannot kill the test binary.
    // A thread fires 5,000 signals as fast as it can while the loop keeps receiving; the
    // self-pipe fills up (writes then fail with EAGAIN) without losing the last wake-up.
    let mut s = Signal::new(SignalKind::from_raw(libc::SIGURG)).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let storm = std::thread::spawn({
        let done = done.clone();
        move || {
            for _ in 0..5_000 {
                // SAFETY: as above.
                unsafe { libc::kill(libc::getpid(), libc::SIGURG) };
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let mut items = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        if runtime::timeout(Duration::from_millis(100), s.recv())
            .await
            .is_ok()
        {
            items += 1;
        }
    }
    storm.join().unwrap();
    assert!(items >= 1);
    // After the storm: one more delivery is still seen.
    let t = raise_later(libc::SIGURG, Duration::from_millis(10));
    while runtime::timeout(Duration::from_millis(20), s.recv())
        .await
        .is_ok()
    {}
    t.join().unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(libc::getpid(), libc::SIGURG) };
    runtime::timeout(Duration::from_secs(10), s.recv())
        .await
        .expect("the delivery after the storm arrives");
}

#[test]
fn loops_on_several_threads_each_see_a_delivery() {
    let ready = std::sync::Arc::new(std::sync::Barrier::new(5));
    let loops: Vec<_> = (0..4)
        .map(|_| {
            let ready = ready.clone();
            std::thread::spawn(move || {
                runtime::Runtime::new().unwrap().block_on(async move {
                    let mut s = Signal::new(SignalKind::CHILD).unwrap();
                    ready.wait();
                    runtime::timeout(Duration::from_secs(10), s.recv())
                        .await
                        .is_ok()
                })
            })
        })
        .collect();
    ready.wait();
    // SAFETY: as above (SIGCHLD's default action is to ignore it anyway).
    unsafe { libc::kill(libc::getpid(), libc::SIGCHLD) };
    for l in loops {
        assert!(l.join().unwrap(), "a loop missed the signal");
    }
}
