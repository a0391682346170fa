//! concurrent.futures' `ProcessPoolExecutor`: the thread-pool story with worker
//! processes: 3 workers, 6 jobs that log "begin"/"finished" with their process id and
//! return n + 100; the main process checks `done()` every 2 s, shuts the pool down when
//! the first three are done, and prints the results.
//!
//! ```text
//! cargo run --example process_pool            # 5 s jobs, as in the seed
//! cargo run --example process_pool -- --fast  # everything 10x faster
//! ```
//!
//! The workers are this same program started in worker mode: `worker_main` at the top of
//! `main` serves jobs there and never returns (Python's `if __name__ == '__main__':`).

use std::time::{Duration, Instant};

use runtime::pool::ProcessPoolExecutor;

/// Runs in a worker process: (job number, seconds to sleep) -> n + 100.
fn worker((n, millis): (u64, u64)) -> u64 {
    let pid = std::process::id();
    println!("[SpawnProcess:{pid}] begin to work{n}");
    std::thread::sleep(Duration::from_millis(millis));
    println!("[SpawnProcess:{pid}] finished {n}");
    n + 100
}

runtime::process_functions! {
    static FUNCTIONS = [worker];
}

fn main() -> std::io::Result<()> {
    runtime::pool::process::worker_main(&FUNCTIONS);

    let scale = if std::env::args().any(|a| a == "--fast") {
        10
    } else {
        1
    };
    let job_ms = 5000 / scale;
    let poll = Duration::from_millis(2000 / scale);
    let start = Instant::now();
    let me = std::process::id();

    let exect = ProcessPoolExecutor::new(3)?;
    let fs: Vec<_> = (0..3)
        .map(|i| {
            exect
                .submit::<u64, _>("worker", &(i, job_ms))
                .expect("pool open")
        })
        .collect();
    let rest: Vec<_> = (3..6)
        .map(|i| {
            exect
                .submit::<u64, _>("worker", &(i, job_ms))
                .expect("pool open")
        })
        .collect();

    loop {
        std::thread::sleep(poll);
        let t = start.elapsed().as_secs_f64();
        println!(
            "[MainProcess:{me}] {t:.1}s workers: {:?}",
            exect.worker_pids().len()
        );
        let mut flag = true;
        for f in &fs {
            println!("[MainProcess:{me}] {}", f.done());
            flag = flag && f.done();
        }
        println!("{}", "=".repeat(30));
        if flag {
            exect.shutdown(true, false); // waits for jobs 3..5 and reaps the workers
            break;
        }
    }
    let results: Vec<u64> = fs
        .into_iter()
        .chain(rest)
        .map(|f| f.into_result().expect("job failed"))
        .collect();
    println!("results: {results:?}");
    Ok(())
}
