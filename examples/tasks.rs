//! asyncio's `create_task`: two tasks created in `main`, which prints "main start" and
//! "main end" before either task runs; both tasks print 1, sleep, print 2 and return.
//!
//! ```text
//! cargo run --example tasks
//! ```
//!
//! Python original (the asyncio seed, "Task objects"):
//! ```python
//! async def func():
//!     print(1)
//!     await asyncio.sleep(2)
//!     print(2)
//!     return "return value"
//!
//! async def main():
//!     print("main start")
//!     task1 = asyncio.create_task(func())
//!     task2 = asyncio.create_task(func())
//!     print("main end")
//!     ret1 = await task1
//!     ret2 = await task2
//!     print(ret1, ret2)
//!
//! asyncio.run(main())
//! ```

use std::time::Duration;

async fn func() -> &'static str {
    println!("1");
    runtime::sleep(Duration::from_secs(2)).await;
    println!("2");
    "return value"
}

#[runtime::main]
async fn main() -> Result<(), runtime::TaskError> {
    println!("main start");
    let task1 = runtime::spawn(func());
    let task2 = runtime::spawn(func());
    println!("main end");
    let ret1 = task1.await?;
    let ret2 = task2.await?;
    println!("{ret1} {ret2}");
    Ok(())
}
