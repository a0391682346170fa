//! asyncio's producer/consumer with a `Queue`, `task_done` and `join`: one producer puts
//! jobs into a bounded queue, three workers take them; `join` returns once every job was
//! marked done, then the workers are cancelled (asyncio's classic pattern).
//!
//! ```text
//! cargo run --example producer_consumer
//! ```

use std::rc::Rc;
use std::time::Duration;

use runtime::sync::Queue;

async fn worker(name: &'static str, queue: Rc<Queue<u64>>) {
    loop {
        let Ok(job) = queue.get().await else { return };
        runtime::sleep(Duration::from_millis(job)).await;
        println!("{name} finished a {job} ms job");
        queue.task_done().expect("one task_done per job");
    }
}

#[runtime::main]
async fn main() {
    let queue = Rc::new(Queue::with_maxsize(3));
    let workers: Vec<_> = ["worker-1", "worker-2", "worker-3"]
        .into_iter()
        .map(|name| runtime::spawn(worker(name, queue.clone())))
        .collect();

    let start = std::time::Instant::now();
    for job in [30, 10, 20, 40, 10, 30] {
        queue.put(job).await.expect("queue open"); // waits while 3 are queued
    }
    queue.join().await; // every job done
    println!(
        "all jobs done in about {} ms",
        start.elapsed().as_millis() / 10 * 10
    );

    for w in &workers {
        w.cancel();
    }
    for w in workers {
        assert!(w.await.unwrap_err().is_cancelled());
    }
}
