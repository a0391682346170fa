//! `LoopPool::spawn_pinned`: 10,000 jobs spread over a pool of loops (one per CPU). Each
//! job builds its future on the loop it was placed on, so it may keep `!Send` state;
//! the pool places each job on the loop with the fewest jobs still running.
//!
//! ```text
//! cargo run --release --example pinned -- [--loops N]
//! ```

use std::cell::Cell;
use std::rc::Rc;

fn main() {
    let mut args = std::env::args().skip(1);
    let loops = match (args.next().as_deref(), args.next()) {
        (Some("--loops"), Some(n)) => n.parse().expect("--loops N"),
        _ => std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let pool = runtime::LoopPool::new(loops).expect("start the loops");
    let jobs: Vec<_> = (0..10_000u64)
        .map(|i| {
            pool.spawn_pinned(move || {
                let steps = Rc::new(Cell::new(0)); // loop-local state: never crosses threads
                async move {
                    steps.set(steps.get() + i % 3);
                    runtime::yield_now().await;
                    let name = std::thread::current().name().unwrap_or("?").to_owned();
                    (name, steps.get())
                }
            })
        })
        .collect();
    let mut per_loop = std::collections::BTreeMap::<String, usize>::new();
    for job in jobs {
        let (name, _) = job.join_blocking().expect("the job ran");
        *per_loop.entry(name).or_default() += 1;
    }
    for (name, n) in &per_loop {
        println!("{name}: {n} jobs");
    }
    println!(
        "total: {} jobs on {} loops",
        per_loop.values().sum::<usize>(),
        loops
    );
}
