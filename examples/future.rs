//! asyncio's `loop.create_future()`: a task sets a future's result after a sleep; `main`
//! awaits the future (a `runtime::Promise`).
//!
//! ```text
//! cargo run --example future
//! ```
//!
//! Python original (the asyncio seed):
//! ```python
//! async def set_after(fut):
//!     await asyncio.sleep(2)
//!     fut.set_result("ok")
//!
//! async def main():
//!     loop = asyncio.get_running_loop()
//!     fut = loop.create_future()
//!     await loop.create_task(set_after(fut))
//!     data = await fut
//!     print(data)
//!
//! asyncio.run(main())
//! ```

use std::time::Duration;

use runtime::Promise;

async fn set_after(fut: Promise<&'static str>) {
    runtime::sleep(Duration::from_secs(2)).await;
    fut.set_result("ok").expect("the future was set only once");
}

#[runtime::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fut = Promise::new();
    runtime::spawn(set_after(fut.clone())).await?;
    let data = fut.await?;
    println!("{data}");
    Ok(())
}
