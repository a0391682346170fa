//! The debugging tools on a small program: a slow poll, a task dump, and a deadlock
//! caught by the loop. `cargo run --example debugging` (a debug build reports polls
//! over 100 ms; `RUNTIME_SLOW_POLL_MS` changes that).

use std::rc::Rc;
use std::time::Duration;

use runtime::sync::{Lock, Queue};

fn main() {
    runtime::run(async {
        // 1. A task that blocks the loop: reported on stderr ("runtime: slow poll: ...").
        runtime::task::Builder::new()
            .name("blocker")
            .spawn(async { std::thread::sleep(Duration::from_millis(150)) })
            .await
            .unwrap();

        // 2. What is everybody waiting for?
        let jobs = Rc::new(Queue::<u32>::new());
        let lock = Rc::new(Lock::new(()));
        let guard = lock.lock().await;
        let j = jobs.clone();
        let worker = runtime::task::Builder::new()
            .name("worker")
            .spawn(async move { j.get().await });
        let l = lock.clone();
        let saver = runtime::task::Builder::new()
            .name("saver")
            .spawn(async move { drop(l.lock().await) });
        let ticker = runtime::spawn(runtime::sleep(Duration::from_secs(30)));
        runtime::task::wait_all_blocked().await;
        println!("{}", runtime::task::dump());
        drop(guard);
        saver.await.unwrap();
        worker.cancel();
        ticker.cancel();
        println!("metrics: {:?}", runtime::metrics());
    });

    // 3. A program that can never finish: the loop proves it and says so.
    let stuck = std::panic::catch_unwind(|| {
        runtime::run(async {
            let (tx, mut rx) = runtime::sync::mpsc::unbounded::<u32>();
            let reply = runtime::spawn(async move { rx.recv().await });
            let _keep = tx; // the sender lives on, but nobody will ever send
            reply.await.unwrap()
        })
    });
    assert!(stuck.is_err());
}
