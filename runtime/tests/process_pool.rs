//! The process pool, in a test binary of its own (no libtest harness): the pool starts
//! this same executable as its workers, which must not run the tests.

use std::time::Duration;

use runtime::pool::{PoolError, ProcessPoolExecutor, ShutDownError};

fn square(x: u64) -> u64 {
    x * x
}

fn add((a, b): (i64, i64)) -> i64 {
    a + b
}

fn boom(_: ()) -> u32 {
    panic!("on purpose: boom in a worker")
}

fn die(_: ()) -> u32 {
    std::process::abort()
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn slow(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

runtime::process_functions! {
    static FUNCS = [square, add, boom, die, pid, slow];
}

fn reaped(pid: u32) -> bool {
    // A zombie still answers kill(pid, 0) until its parent waits for it; a reaped pid
    // gives ESRCH (portable, unlike /proc).
    // SAFETY: signal 0 only checks that the pid exists; nothing is delivered.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

fn submits_and_maps_in_order() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    assert_eq!(
        pool.submit::<u64, _>("square", &12u64)
            .unwrap()
            .result(None),
        Ok(144)
    );
    assert_eq!(
        pool.submit::<i64, _>("add", &(40, 2)).unwrap().result(None),
        Ok(42)
    );
    let out: Vec<u64> = pool.map("square", 1..=6u64).map(Result::unwrap).collect();
    assert_eq!(out, [1, 4, 9, 16, 25, 36]);
    let worker = pool
        .submit::<u32, _>("pid", &())
        .unwrap()
        .result(None)
        .unwrap();
    assert_ne!(worker, std::process::id(), "ran in another process");
    assert!(pool.worker_pids().contains(&worker));
}

fn panics_fail_the_job_and_the_worker_lives() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let before = pool.worker_pids();
    let r = pool.submit::<u32, _>("boom", &()).unwrap().result(None);
    assert_eq!(
        r,
        Err(PoolError::Panicked("on purpose: boom in a worker".into()))
    );
    assert_eq!(pool.worker_pids(), before, "same worker");
    assert_eq!(
        pool.submit::<u64, _>("square", &3u64).unwrap().result(None),
        Ok(9)
    );
}

fn unknown_function_is_an_error() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    // Checked before anything is sent (this program called worker_main): done at once.
    let f = pool.submit::<u64, _>("nope", &1u64).unwrap();
    assert!(f.done());
    let r = f.result(None);
    assert!(
        matches!(&r, Err(PoolError::UnknownFunction(m)) if m.contains("no function named \"nope\"")),
        "{r:?}"
    );
}

fn undecodable_arguments_and_results_have_their_own_errors() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let r = pool
        .submit::<u64, _>("square", &"not a number")
        .unwrap()
        .result(None);
    assert!(matches!(&r, Err(PoolError::BadArguments(_))), "{r:?}");
    let r = pool
        .submit::<String, _>("square", &3u64)
        .unwrap()
        .result(None);
    assert!(
        matches!(&r, Err(PoolError::BadResult(m)) if m.contains("does not decode")),
        "{r:?}"
    );
    // The worker is fine afterwards.
    assert_eq!(
        pool.submit::<u64, _>("square", &4u64).unwrap().result(None),
        Ok(16)
    );
}

fn a_dead_worker_fails_its_job_and_is_replaced_and_reaped() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let old = pool.worker_pids();
    let r = pool.submit::<u32, _>("die", &()).unwrap().result(None);
    assert!(matches!(r, Err(PoolError::BrokenProcessPool(_))), "{r:?}");
    assert_eq!(
        pool.submit::<u64, _>("square", &5u64).unwrap().result(None),
        Ok(25),
        "replaced"
    );
    let new = pool.worker_pids();
    assert_ne!(old, new);
    assert!(reaped(old[0]), "the dead worker was waited for");
}

fn max_tasks_per_child_replaces_workers() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .max_tasks_per_child(2)
        .build()
        .unwrap();
    let pids: Vec<u32> = (0..4)
        .map(|_| {
            pool.submit::<u32, _>("pid", &())
                .unwrap()
                .result(None)
                .unwrap()
        })
        .collect();
    assert_eq!(pids[0], pids[1]);
    assert_eq!(pids[2], pids[3]);
    assert_ne!(pids[1], pids[2]);
    assert!(reaped(pids[0]));
}

fn shutdown_reaps_every_worker_and_refuses_jobs() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let slow = pool.submit::<u64, _>("slow", &50u64).unwrap();
    let pids = pool.worker_pids();
    assert_eq!(pids.len(), 2);
    pool.shutdown(true, false);
    assert_eq!(slow.result(None), Ok(50), "running jobs finish");
    for p in pids {
        assert!(reaped(p), "worker {p} left as a zombie");
    }
    assert_eq!(
        pool.submit::<u64, _>("square", &1u64).unwrap_err(),
        ShutDownError
    );
}

fn shutdown_can_cancel_queued_jobs() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let running = pool.submit::<u64, _>("slow", &100u64).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let queued = pool.submit::<u64, _>("square", &2u64).unwrap();
    pool.shutdown(true, true);
    assert_eq!(running.result(None), Ok(100));
    assert!(queued.cancelled());
}

fn dropping_the_pool_is_shutdown_with_wait() {
    let pids;
    {
        let pool = ProcessPoolExecutor::new(2).unwrap();
        pids = pool.worker_pids();
        drop(pool.submit::<u64, _>("slow", &20u64).unwrap()); // does not cancel the job
    }
    for p in pids {
        assert!(reaped(p));
    }
}

fn awaitable_on_the_loop() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let out = runtime::run(async { pool.submit::<u64, _>("square", &9u64).unwrap().await });
    assert_eq!(out, Ok(81));
}

/// Run as a child of the test: starts a pool, prints its workers' pids, dies abruptly.
fn orphan_maker() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    assert_eq!(
        pool.submit::<u64, _>("square", &2u64).unwrap().result(None),
        Ok(4)
    );
    println!("{:?}", pool.worker_pids());
    std::process::abort(); // no shutdown, no destructors
}

fn workers_exit_when_the_parent_dies() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("PROCESS_POOL_TEST_ORPHAN", "1")
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the parent aborted");
    let text = String::from_utf8_lossy(&out.stdout);
    let pids: Vec<u32> = text
        .trim()
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|p| p.trim().parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2);
    // Orphaned workers read end-of-file on their socket and exit. (Reaping them is then
    // the job of whatever adopted them, so a zombie counts as exited here.)
    let exited = |pid: u32| {
        // Gone, or (where /proc tells) a zombie waiting for its adopter.
        reaped(pid)
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| {
                st.rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z'))
            })
    };
    for _ in 0..500 {
        if pids.iter().all(|p| exited(*p)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("workers {pids:?} outlived their parent");
}

fn main() {
    runtime::pool::process::worker_main(&FUNCS);
    if std::env::var_os("PROCESS_POOL_TEST_ORPHAN").is_some() {
        orphan_maker();
    }
    // Keep the default hook quiet about the panics provoked on purpose in workers.
    let tests: &[(&str, fn())] = &[
        ("submits_and_maps_in_order", submits_and_maps_in_order),
        (
            "panics_fail_the_job_and_the_worker_lives",
            panics_fail_the_job_and_the_worker_lives,
        ),
        ("unknown_function_is_an_error", unknown_function_is_an_error),
        (
            "undecodable_arguments_and_results_have_their_own_errors",
            undecodable_arguments_and_results_have_their_own_errors,
        ),
        (
            "a_dead_worker_fails_its_job_and_is_replaced_and_reaped",
            a_dead_worker_fails_its_job_and_is_replaced_and_reaped,
        ),
        (
            "max_tasks_per_child_replaces_workers",
            max_tasks_per_child_replaces_workers,
        ),
        (
            "shutdown_reaps_every_worker_and_refuses_jobs",
            shutdown_reaps_every_worker_and_refuses_jobs,
        ),
        (
            "shutdown_can_cancel_queued_jobs",
            shutdown_can_cancel_queued_jobs,
        ),
        (
            "dropping_the_pool_is_shutdown_with_wait",
            dropping_the_pool_is_shutdown_with_wait,
        ),
        ("awaitable_on_the_loop", awaitable_on_the_loop),
        (
            "workers_exit_when_the_parent_dies",
            workers_exit_when_the_parent_dies,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut passed = 0;
    let mut failed = 0;
    println!("\nrunning {} tests", tests.len());
    for (name, f) in tests {
        if !filter.is_empty() && !filter.iter().any(|p| name.contains(p.as_str())) {
            continue;
        }
        match std::panic::catch_unwind(f) {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!("\ntest result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out\n");
    if failed > 0 {
        std::process::exit(101);
    }
}
