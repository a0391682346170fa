//! Slow-poll reports, the watchdog, their off switches, task dumps on a signal, and the
//! seed printed by a failing seeded test. Each case runs in a child process (this test
//! binary, re-run with `RUNTIME_DEBUG_CHILD` naming the case) so that its stderr can be
//! read.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use runtime::Builder;

/// The command that runs case `case` in a child, its stdout and stderr piped.
fn child_command(case: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_case", "--nocapture", "--test-threads=1"])
        .env("RUNTIME_DEBUG_CHILD", case)
        .env_remove("RUNTIME_SLOW_POLL_MS")
        .env_remove("RUNTIME_SEED")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs case `case` in a child with `env`; returns its stdout, stderr and success.
fn child(case: &str, env: &[(&str, &str)]) -> (String, String, bool) {
    let mut cmd = child_command(case);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

/// The lines of `stderr` that are slow-poll reports.
fn reports(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("runtime: slow poll:"))
        .collect()
}

/// The cases, run in the child.
#[test]
fn child_case() {
    let Ok(case) = std::env::var("RUNTIME_DEBUG_CHILD") else {
        return;
    };
    let sleepy = |ms| async move { std::thread::sleep(Duration::from_millis(ms)) };
    match case.as_str() {
        // Defaults (debug build: 100 ms, or RUNTIME_SLOW_POLL_MS): a 150 ms poll.
        "default" => Builder::new().build().unwrap().block_on(async {
            runtime::task::Builder::new()
                .name("sleeper")
                .spawn(sleepy(150))
                .await
                .unwrap();
            println!("slow_polls={}", runtime::metrics().slow_polls);
        }),
        // An explicit threshold wins over the environment, both ways.
        "explicit_on" => Builder::new()
            .slow_poll_threshold(Some(Duration::from_millis(30)))
            .build()
            .unwrap()
            .block_on(async { runtime::spawn(sleepy(60)).await.unwrap() }),
        "explicit_off" => Builder::new()
            .slow_poll_threshold(None)
            .build()
            .unwrap()
            .block_on(async { runtime::spawn(sleepy(60)).await.unwrap() }),
        // A poll that does not return for a long time: the watchdog names it while it
        // runs, and it is not reported a second time when it returns.
        "watchdog" => Builder::new()
            .slow_poll_threshold(Some(Duration::from_millis(20)))
            .build()
            .unwrap()
            .block_on(async {
                let frozen = runtime::task::Builder::new().name("frozen").spawn(async {
                    // Frozen until the parent has read the watchdog's line on our stderr
                    // and says so on stdin (20 s at most: then the test fails).
                    let started = std::time::Instant::now();
                    while started.elapsed() < Duration::from_secs(20) {
                        std::thread::sleep(Duration::from_millis(5));
                        if WATCHDOG_SPOKE.load(std::sync::atomic::Ordering::SeqCst) {
                            break;
                        }
                    }
                });
                std::thread::spawn(|| {
                    let mut line = String::new();
                    let _ = std::io::stdin().read_line(&mut line);
                    WATCHDOG_SPOKE.store(true, std::sync::atomic::Ordering::SeqCst);
                });
                frozen.await.unwrap();
                println!("slow_polls={}", runtime::metrics().slow_polls);
            }),
        // The main future and a call_soon_threadsafe callback are timed too.
        "main_and_callback" => {
            let rt = Builder::new()
                .slow_poll_threshold(Some(Duration::from_millis(20)))
                .build()
                .unwrap();
            let h = rt.handle();
            rt.block_on(async move {
                std::thread::sleep(Duration::from_millis(40));
                let (tx, mut rx) = runtime::sync::cross_thread::unbounded();
                h.call_soon_threadsafe(move || {
                    std::thread::sleep(Duration::from_millis(40));
                    tx.send(()).unwrap();
                })
                .unwrap();
                rx.recv().await;
            })
        }
        // A task dump on SIGUSR1, printed while the program runs on.
        "dump_on_signal" => Builder::new()
            .dump_on_signal(runtime::signal::SignalKind::USER1)
            .run(async {
                let q = std::rc::Rc::new(runtime::sync::Queue::<u32>::new());
                let q2 = q.clone();
                let _consumer = runtime::task::Builder::new()
                    .name("consumer")
                    .spawn(async move { q2.get().await });
                let mut done =
                    runtime::signal::Signal::new(runtime::signal::SignalKind::USER2).unwrap();
                runtime::yield_now().await;
                println!("ready");
                done.recv().await;
            }),
        // A seeded run that fails prints its seed; RUNTIME_SEED replaces the seed.
        "seeded_failure" => Builder::new().seed(4242).build().unwrap().block_on(async {
            panic!("the test failed");
        }),
        "seed_order" => {
            let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
            Builder::new().seed(1).build().unwrap().block_on(async {
                let tasks: Vec<_> = (0..8)
                    .map(|i| {
                        let log = log.clone();
                        runtime::spawn(async move { log.borrow_mut().push(i) })
                    })
                    .collect();
                runtime::gather_tasks(tasks).await;
            });
            println!("order={:?}", log.borrow());
        }
        other => panic!("unknown case {other}"),
    }
}

static WATCHDOG_SPOKE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[test]
fn a_slow_poll_is_reported_once_with_the_task_its_spawn_site_and_its_duration() {
    let (out, err, ok) = child("default", &[]);
    assert!(ok, "{err}");
    let r = reports(&err);
    assert_eq!(r.len(), 1, "{err}");
    let line = r[0];
    assert!(line.contains("task #1 \"sleeper\""), "{line}");
    assert!(
        line.contains("(spawned at runtime/tests/debug_slow_poll.rs:"),
        "{line}"
    );
    // At least the 150 ms it slept (more on a loaded machine: no upper bound; past three
    // thresholds the watchdog may speak first, "has been running for", and the report
    // when the poll returns is left out).
    let took = line
        .split(" took ")
        .nth(1)
        .or_else(|| line.split(" has been running for ").nth(1))
        .and_then(|t| t.split(' ').next());
    let ms = took.and_then(|t| match t.strip_suffix("ms") {
        Some(ms) => ms.parse::<f64>().ok(),
        None => t.strip_suffix('s')?.parse::<f64>().ok().map(|s| s * 1e3),
    });
    assert!(ms.is_some_and(|ms| ms >= 150.0), "{line}");
    assert!(line.contains("(threshold 100.0ms)"), "{line}"); // the debug-build default
    assert!(out.contains("slow_polls=1"), "{out}");
}

#[test]
fn the_environment_sets_or_disables_the_default_and_the_builder_wins() {
    // RUNTIME_SLOW_POLL_MS=0: off.
    let (out, err, ok) = child("default", &[("RUNTIME_SLOW_POLL_MS", "0")]);
    assert!(ok && reports(&err).is_empty(), "{err}");
    assert!(out.contains("slow_polls=0"), "{out}");
    // A lower threshold from the environment.
    let (_, err, ok) = child("default", &[("RUNTIME_SLOW_POLL_MS", "40")]);
    assert!(ok, "{err}");
    let r = reports(&err);
    assert!(r.len() == 1 && r[0].contains("threshold 40.0ms)"), "{err}");
    // The builder beats the environment, on and off.
    let (_, err, ok) = child("explicit_on", &[("RUNTIME_SLOW_POLL_MS", "0")]);
    assert!(ok && reports(&err).len() == 1, "{err}");
    let (_, err, ok) = child("explicit_off", &[("RUNTIME_SLOW_POLL_MS", "10")]);
    assert!(ok && reports(&err).is_empty(), "{err}");
}

#[test]
fn the_watchdog_names_a_poll_that_does_not_return() {
    // The child's poll returns only once its watchdog line has been read here (no sleep
    // to guess how long the watchdog takes on a loaded machine).
    let mut c = child_command("watchdog")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let mut err = String::new();
    for line in BufReader::new(c.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        err.push_str(&line);
        err.push('\n');
        if line.contains("has not returned (watchdog") {
            std::io::Write::write_all(&mut stdin, b"go\n").unwrap();
        }
    }
    drop(stdin);
    let out = c.wait_with_output().unwrap();
    let ok = out.status.success();
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(ok, "{err}");
    let r = reports(&err);
    assert_eq!(r.len(), 1, "reported once: {err}");
    assert!(r[0].contains("task #1 \"frozen\""), "{}", r[0]);
    assert!(r[0].contains("has not returned (watchdog"), "{}", r[0]);
    assert!(r[0].contains("debug_slow_poll.rs:"), "{}", r[0]);
    assert!(out.contains("slow_polls=1"), "counted once: {out}");
}

#[test]
fn the_main_future_and_callbacks_are_timed() {
    let (_, err, ok) = child("main_and_callback", &[]);
    assert!(ok, "{err}");
    let r = reports(&err);
    // "took" when the poll returns, or the watchdog's "has been running" if a loaded
    // machine stretched the 40 ms past three thresholds: timed either way.
    assert!(
        r.iter()
            .any(|l| l.contains("the main future (block_on / run) took")
                || l.contains("the main future (block_on / run) has been running")),
        "{err}"
    );
    assert!(
        r.iter()
            .any(|l| l.contains("a call_soon_threadsafe callback took")
                || l.contains("a call_soon_threadsafe callback has been running")),
        "{err}"
    );
}

#[test]
fn a_signal_prints_a_task_dump_and_the_program_goes_on() {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_case", "--nocapture", "--test-threads=1"])
        .env("RUNTIME_DEBUG_CHILD", "dump_on_signal")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut c = cmd.spawn().unwrap();
    let pid = c.id() as libc::pid_t;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        // SAFETY: signalling our own child (harmless if it is gone).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    });
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.contains("ready") {
        line.clear();
    }
    let mut err = BufReader::new(c.stderr.take().unwrap());
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    let mut dump = String::new();
    let mut l = String::new();
    while err.read_line(&mut l).unwrap() > 0 {
        dump.push_str(&l);
        if l.contains("\"consumer\"") {
            break;
        }
        l.clear();
    }
    // SAFETY: as above; USR2 ends the child's main.
    unsafe { libc::kill(pid, libc::SIGUSR2) };
    assert!(c.wait().unwrap().success());
    assert!(dump.contains("runtime: task dump (on signal):"), "{dump}");
    assert!(
        dump.contains("task #")
            && dump.contains("\"consumer\"")
            && dump.contains("waiting on Queue::get"),
        "{dump}"
    );
}

#[test]
fn a_failing_seeded_run_prints_its_seed_and_runtime_seed_replays_another() {
    let (_, err, ok) = child("seeded_failure", &[]);
    assert!(!ok);
    assert!(
        err.contains("this loop ran with seed 4242: replay with RUNTIME_SEED=4242"),
        "{err}"
    );
    let (_, err, _) = child("seeded_failure", &[("RUNTIME_SEED", "99")]);
    assert!(err.contains("RUNTIME_SEED=99"), "{err}");
    // The override changes the order, and the same override gives the same order.
    // Only the order line is compared: the test harness's own output around it carries
    // timings ("finished in 0.01s").
    let order = |out: String| {
        out.lines()
            .find_map(|l| l.find("order=[").map(|i| l[i..].to_string()))
            .unwrap_or_else(|| panic!("no order line in {out:?}"))
    };
    let a = order(child("seed_order", &[]).0);
    let b = order(child("seed_order", &[("RUNTIME_SEED", "12345")]).0);
    let c = order(child("seed_order", &[("RUNTIME_SEED", "12345")]).0);
    assert_ne!(a, b);
    assert_eq!(b, c);
}
