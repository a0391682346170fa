//! asyncio's hello world: `asyncio.run` of a coroutine that prints, sleeps and prints.
//!
//! ```text
//! cargo run --example hello
//! ```
//!
//! Python original:
//! ```python
//! async def main():
//!     print("hello")
//!     await asyncio.sleep(1)
//!     print("world")
//! asyncio.run(main())
//! ```

use std::time::Duration;

#[runtime::main]
async fn main() {
    println!("hello");
    runtime::sleep(Duration::from_secs(1)).await;
    println!("world");
}
