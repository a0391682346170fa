//! concurrent.futures' `ThreadPoolExecutor`: 3 workers, 6 jobs that sleep and log
//! "begin"/"finished" with the thread's name; the main thread checks `done()` every 2 s
//! and shuts the pool down once the first three are done — without any event loop.
//!
//! ```text
//! cargo run --example thread_pool            # 5 s jobs, as in the seed
//! cargo run --example thread_pool -- --fast  # everything 10x faster
//! ```
//!
//! Python original (the concurrent.futures seed):
//! ```python
//! def worker(n):
//!     logging.info("begin to work{}".format(n))
//!     time.sleep(5)
//!     logging.info("finished {}".format(n))
//!
//! exect = futures.ThreadPoolExecutor(max_workers=3)
//! fs = [exect.submit(worker, i) for i in range(3)]
//! for i in range(3, 6):
//!     exect.submit(worker, i)
//! while True:
//!     time.sleep(2)
//!     logging.info(threading.enumerate())
//!     flag = True
//!     for f in fs:
//!         logging.info(f.done())
//!         flag = flag and f.done()
//!     print("=" * 30)
//!     if flag:
//!         exect.shutdown()
//!         break
//! ```

use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use runtime::pool::ThreadPoolExecutor;

static START: OnceLock<Instant> = OnceLock::new();

fn log(msg: impl std::fmt::Display) {
    let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    let me = thread::current();
    println!(
        "{t:>7.3}s [MainProcess:{},{}] {msg}",
        me.name().unwrap_or("?"),
        std::process::id()
    );
}

fn main() {
    let scale = if std::env::args().any(|a| a == "--fast") {
        10
    } else {
        1
    };
    let job = Duration::from_secs(5) / scale;
    let poll = Duration::from_secs(2) / scale;
    START.get_or_init(Instant::now);

    let exect = ThreadPoolExecutor::builder()
        .max_workers(3)
        .thread_name_prefix("ThreadPoolExecutor-0")
        .build();
    let worker = move |n: u32| {
        log(format!("begin to work{n}"));
        thread::sleep(job);
        log(format!("finished {n}"));
    };
    let fs: Vec<_> = (0..3)
        .map(|i| exect.submit(move || worker(i)).expect("pool open"))
        .collect();
    for i in 3..6 {
        drop(exect.submit(move || worker(i)).expect("pool open")); // a PoolFuture does not cancel on drop
    }

    loop {
        thread::sleep(poll);
        log(format!("{} pool threads", exect.threads()));
        let mut flag = true;
        for f in &fs {
            log(f.done());
            flag = flag && f.done();
        }
        println!("{}", "=".repeat(30));
        if flag {
            exect.shutdown(true, false); // waits for jobs 3..5 too, like Python
            log(format!("{} pool threads after shutdown", exect.threads()));
            break;
        }
    }
}
