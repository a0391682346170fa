//! L3 under `block_on`, which runs batch after batch without returning between them: a
//! task that is always ready (it wakes itself on every poll) starves neither I/O, nor
//! timers, nor wakes from other threads, nor the unhandled-panic policy; and tasks woken
//! during a batch still run in the next one, FIFO.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::{quiet_panics, Log};

/// Spawns a task that yields forever, counting its polls.
fn spinner() -> (Rc<Cell<u64>>, runtime::Task<()>) {
    let spins = Rc::new(Cell::new(0u64));
    let s = spins.clone();
    let task = runtime::spawn(async move {
        loop {
            s.set(s.get() + 1);
            runtime::yield_now().await;
        }
    });
    (spins, task)
}

#[test]
fn a_spinning_task_does_not_starve_a_socket() {
    let rt = runtime::Runtime::new().unwrap();
    let spins = rt.block_on(async {
        let (spins, spinner) = spinner();
        let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let mut b = runtime::net::UnixStream::from_std(b).unwrap();
        a.write_all(b"ping").unwrap(); // readable before the first batch runs
        let mut buf = [0u8; 4];
        runtime::io::AsyncReadExt::read_exact(&mut b, &mut buf)
            .await
            .unwrap();
        assert_eq!(&buf, b"ping");
        spinner.cancel();
        spins.get()
    });
    // I/O is collected at least every 64 polls while tasks stay ready (one spin and, once
    // woken, main per batch): the read completes within the first few checks.
    assert!(
        spins <= 3 * 64,
        "the spinner ran {spins} times before the read"
    );
}

#[test]
fn a_spinning_task_does_not_starve_a_timer() {
    let rt = runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (spins, spinner) = spinner();
        runtime::sleep(Duration::from_millis(2)).await;
        assert!(spins.get() > 0, "the spinner ran while main slept");
        spinner.cancel();
    });
}

#[test]
fn a_spinning_task_does_not_starve_a_wake_from_another_thread() {
    let rt = runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // The thread sends only once the spinner spins (not after a sleep: on a loaded
        // machine the send could come before main waits, and nothing would be starved).
        let (spinning_tx, spinning) = std::sync::mpsc::channel::<()>();
        let spins = Rc::new(Cell::new(0u64));
        let s = spins.clone();
        let spinner = runtime::spawn(async move {
            loop {
                s.set(s.get() + 1);
                if s.get() == 1 {
                    spinning_tx.send(()).unwrap();
                }
                runtime::yield_now().await;
            }
        });
        let (tx, mut rx) = runtime::sync::cross_thread::unbounded::<u32>();
        let sender = std::thread::spawn(move || {
            spinning.recv().unwrap();
            tx.send(7).unwrap();
        });
        assert_eq!(rx.recv().await, Some(7));
        sender.join().unwrap();
        assert!(spins.get() > 0);
        spinner.cancel();
    });
}

#[test]
fn tasks_woken_during_a_batch_run_in_the_next_one_under_block_on() {
    let rt = runtime::Runtime::new().unwrap();
    let log = Log::default();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for name in ["a", "b", "c"] {
            let l = log.clone();
            tasks.push(runtime::spawn(async move {
                for round in 0..3 {
                    l.push(format!("{name}{round}"));
                    runtime::yield_now().await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(
        log.take(),
        ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]
    );
}

#[test]
fn after_a_detached_panic_no_later_batch_runs() {
    quiet_panics();
    let rt = runtime::Builder::new()
        .unhandled_panic(runtime::UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap();
    let spins = Rc::new(Cell::new(0u64));
    let s = spins.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async move {
            runtime::spawn(async { panic!("on purpose: fatal") }).detach();
            runtime::spawn(async move {
                loop {
                    s.set(s.get() + 1);
                    runtime::yield_now().await;
                }
            })
            .detach();
            std::future::pending::<()>().await;
        })
    }));
    let msg = match r.expect_err("the loop stops").downcast::<String>() {
        Ok(s) => *s,
        Err(_) => String::new(),
    };
    assert!(msg.starts_with("runtime stopped"), "{msg}");
    // The panicking task and the spinner ran in the first batch; the report stops the
    // busy loop before the second.
    assert_eq!(spins.get(), 1);
}
