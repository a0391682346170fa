//! Reading a child's stdout to the end: `runtime::process::Command::output` against
//! `std::process::Command::output`, for a child that writes N MiB (default 200).
//!
//! ```text
//! cargo run --release -p runtime-benches --example child_output -- [MIB]
//! ```

use std::time::Instant;

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let bytes = (mib << 20).to_string();
    let args = ["-c", bytes.as_str(), "/dev/zero"];
    for round in 0..3 {
        let t = Instant::now();
        let out = std::process::Command::new("head")
            .args(args)
            .output()
            .unwrap();
        let std_time = t.elapsed();
        assert_eq!(out.stdout.len(), mib << 20);
        let t = Instant::now();
        let out = runtime::run(async {
            runtime::process::Command::new("head")
                .args(args)
                .output()
                .await
                .unwrap()
        });
        let ours = t.elapsed();
        assert_eq!(out.stdout.len(), mib << 20);
        println!(
            "round {round}: {mib} MiB of stdout: std {:.3} s, runtime {:.3} s ({:.2}x)",
            std_time.as_secs_f64(),
            ours.as_secs_f64(),
            ours.as_secs_f64() / std_time.as_secs_f64()
        );
    }
}
