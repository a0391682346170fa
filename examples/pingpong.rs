//! Stackless ping-pong: two tasklets bounce a message over two channels for N rounds,
//! without the stack growth that recursive coroutines would suffer. Memory use is printed
//! at the start and at the end: it stays flat however large N is.
//!
//! ```text
//! cargo run --release --example pingpong -- [rounds]     # default 1000000
//! ```

use std::time::Instant;

use runtime::sync::Channel;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[runtime::main]
async fn main() {
    let rounds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let to_pong = Channel::new();
    let to_ping = Channel::new();

    println!("memory at start: {} KiB", rss_kib());
    let start = Instant::now();
    let (rx, tx) = (to_pong.clone(), to_ping.clone());
    let pong = runtime::spawn(async move {
        while let Ok(n) = rx.receive().await {
            if tx.send(n).await.is_err() {
                break;
            }
        }
    });
    for i in 0..rounds {
        to_pong.send(i).await.expect("pong is listening");
        let back = to_ping.receive().await.expect("pong answers");
        assert_eq!(back, i);
    }
    to_pong.close();
    pong.await.expect("pong failed");
    let elapsed = start.elapsed();
    println!(
        "{rounds} round trips in {:.3} s ({:.1} ns each)",
        elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / rounds as f64
    );
    println!("memory at end:   {} KiB", rss_kib());
}
