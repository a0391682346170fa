//! Handing jobs to a pool of loops from a plain thread: `runtime::LoopPool::spawn_pinned`
//! against tokio-util's `LocalPoolHandle::spawn_pinned`, in one run. Each job builds a
//! tiny `!Send` future on its worker (an `Rc`, one yield) and returns a number; the
//! driver submits all jobs, then waits for every result.
//!
//! ```text
//! cargo run --release -p runtime-benches --example pinned_bench -- [--jobs N] [--workers W] [--runs R]
//! ```
//!
//! Printed per job: wall time, and the process's CPU time (user + system, all threads:
//! the submitting thread, the workers, and their waits).

use std::rc::Rc;
use std::time::{Duration, Instant};

fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn ours(jobs: u64, workers: usize) -> u64 {
    let pool = runtime::LoopPool::new(workers).unwrap();
    let handles: Vec<_> = (0..jobs)
        .map(|i| {
            pool.spawn_pinned(move || {
                let local = Rc::new(i);
                async move {
                    runtime::yield_now().await;
                    *local
                }
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join_blocking().unwrap())
        .sum()
}

fn tokio_util(jobs: u64, workers: usize) -> u64 {
    let pool = tokio_util::task::LocalPoolHandle::new(workers);
    let handles: Vec<_> = (0..jobs)
        .map(|i| {
            pool.spawn_pinned(move || {
                let local = Rc::new(i);
                async move {
                    tokio::task::yield_now().await;
                    *local
                }
            })
        })
        .collect();
    futures_lite::future::block_on(async {
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    })
}

fn main() {
    let mut jobs = 200_000u64;
    let mut workers = 2usize;
    let mut runs = 3;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .expect("a number");
        match a.as_str() {
            "--jobs" => jobs = v,
            "--workers" => workers = v as usize,
            "--runs" => runs = v as usize,
            other => panic!("unknown argument {other}"),
        }
    }
    let want: u64 = (0..jobs).sum();
    println!("{jobs} jobs on {workers} workers, best of {runs}");
    println!("{:<28} {:>12} {:>12}", "", "wall ns/job", "cpu ns/job");
    type Peer = fn(u64, usize) -> u64;
    let peers: [(&str, Peer); 2] = [
        ("runtime LoopPool", ours),
        ("tokio-util LocalPoolHandle", tokio_util),
    ];
    for (name, f) in peers {
        let mut best = (f64::MAX, f64::MAX);
        for _ in 0..runs {
            let (c0, t0) = (cpu_time(), Instant::now());
            assert_eq!(f(jobs, workers), want);
            let wall = t0.elapsed().as_nanos() as f64 / jobs as f64;
            let cpu = (cpu_time() - c0).as_nanos() as f64 / jobs as f64;
            best = (best.0.min(wall), best.1.min(cpu));
        }
        println!("{name:<28} {:>12.0} {:>12.0}", best.0, best.1);
    }
}
