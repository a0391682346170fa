//! asyncio's `gather`, on the seed's concurrent image downloads: three requests go out at
//! once ("send" x3), the downloads finish in whatever order the network allows
//! ("download" x3), and the results come back in input order. The network is simulated
//! with sleeps (the `download` example fetches over real HTTP).
//!
//! ```text
//! cargo run --example gather
//! ```
//!
//! Python original (the asyncio seed, with aiohttp):
//! ```python
//! async def download_image(session, url):
//!     print("send")
//!     async with session.get(url) as response:
//!         content = await response.content.read()
//!         ...
//!         print("download")
//!
//! async def main():
//!     tasks = [asyncio.create_task(download_image(session, url)) for url in images]
//!     await asyncio.wait(tasks)
//!
//! asyncio.run(main())
//! print("over")
//! ```

use std::time::Duration;

/// Pretends to fetch `url`: the "server" takes `latency_ms` to answer.
async fn download_image(url: &str, latency_ms: u64) -> (String, usize) {
    println!("send");
    runtime::sleep(Duration::from_millis(latency_ms)).await;
    let file_name = url.rsplit('/').next().unwrap_or(url).to_string();
    println!("download");
    (file_name, latency_ms as usize * 1024) // the "bytes" we got
}

#[runtime::main]
async fn main() {
    let images = [
        (
            "https://picx.zhimg.com/v2-2c501d26e3a3511ae71057008c4f3984_720w.jpg",
            300,
        ),
        (
            "https://pic1.zhimg.com/v2-e18dd0d67c5f6074b33628b456ced6a0_b.jpg",
            100,
        ),
        (
            "https://pic3.zhimg.com/v2-4137087ac7fd7bb11c2ab15a438afbce_b.jpg",
            200,
        ),
    ];
    let results = runtime::gather(images.iter().map(|(url, ms)| download_image(url, *ms))).await;
    for (name, bytes) in results {
        println!("{name}: {bytes} bytes");
    }
    println!("over");
}
