//! asyncio's `run_in_executor`: a blocking function awaited from the loop in the seed's
//! three scenarios — the default pool, a thread pool of our own, and a process pool —
//! without blocking the loop.
//!
//! ```text
//! cargo run --example run_in_executor
//! ```
//!
//! Python original (the asyncio seed):
//! ```python
//! def func1():
//!     time.sleep(2)
//!     return "func1"
//!
//! async def main():
//!     loop = asyncio.get_running_loop()
//!     result = await loop.run_in_executor(None, func1)        # the default pool
//!     print(result)
//!     with concurrent.futures.ThreadPoolExecutor() as pool:   # a pool of our own
//!         result = await loop.run_in_executor(pool, func1)
//!         print(result)
//!     with concurrent.futures.ProcessPoolExecutor() as pool:  # worker processes
//!         result = await loop.run_in_executor(pool, func1)
//!         print(result)
//! ```

use std::time::Duration;

use runtime::pool::{ProcessPoolExecutor, ThreadPoolExecutor};

fn func1() -> &'static str {
    std::thread::sleep(Duration::from_millis(200)); // some blocking call
    "func1"
}

/// The same, as a function a worker process can run (no arguments: `()`).
fn func1_job(_: ()) -> String {
    func1().to_string()
}

runtime::process_functions! {
    static FUNCTIONS = [func1_job];
}

// `process_pool = ...` makes a worker process serve jobs instead of running `main`'s body.
#[runtime::main(process_pool = FUNCTIONS)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The loop stays free while the blocking calls run.
    let ticker = runtime::spawn(async {
        let mut ticks = 0;
        let mut iv = runtime::time::interval(Duration::from_millis(50));
        loop {
            iv.tick().await;
            ticks += 1;
            if ticks == 100 {
                return ticks;
            }
        }
    });

    // Scenario 1: the default pool (`run_in_executor(None, f)`).
    let result = runtime::run_in_executor(func1).await?;
    println!("{result}");

    // Scenario 2: a pool of our own (`with ThreadPoolExecutor() as pool:`).
    {
        let pool = ThreadPoolExecutor::builder()
            .thread_name_prefix("mine")
            .build();
        let result = runtime::run_in_executor_on(&pool, func1)?.await?;
        println!("{result}");
    } // dropping the pool = shutdown(wait=True)

    // Scenario 3: a process pool; its future is awaitable like any other.
    {
        let pool = ProcessPoolExecutor::new(1)?;
        let result: String = pool.submit("func1_job", &())?.await?;
        println!("{result}");
    } // the worker process is shut down and reaped

    ticker.cancel();
    Ok(())
}
