//! The floor's workloads (`../shared/floor`), on the runtime, with the same definitions, so
//! that `benches/floor_compare.sh` counts both under callgrind side by side:
//!
//! - `spawnjoin N`: spawn N tasks returning their index, keep the handles, await each.
//! - `yieldrr T Y`: T tasks each yield Y times.
//!
//! (hackysack is the runtime's own `hackysack` example, the same workload.) Prints the
//! peak RSS (`VmHWM`) in KiB as the floor's binaries do.

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let rt = runtime::Runtime::new().expect("runtime");
    match args.get(1).map(String::as_str) {
        Some("spawnjoin") => {
            let n = arg(2, 1_000_000);
            let sum = rt.block_on(async move {
                let handles: Vec<_> = (0..n).map(|i| runtime::spawn(async move { i })).collect();
                let mut sum = 0usize;
                for h in handles {
                    sum = sum.wrapping_add(h.await.unwrap());
                }
                sum
            });
            assert_eq!(sum, (0..n).fold(0usize, |a, b| a.wrapping_add(b)));
            println!("bench=spawnjoin impl=runtime tasks={n} rss_kb={}", rss_kb());
        }
        Some("yieldrr") => {
            let (t, y) = (arg(2, 1000), arg(3, 1000));
            rt.block_on(async move {
                let hs: Vec<_> = (0..t)
                    .map(|_| {
                        runtime::spawn(async move {
                            for _ in 0..y {
                                runtime::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            });
            println!("bench=yieldrr impl=runtime tasks={t} yields={y}");
        }
        _ => panic!("usage: floor_workloads spawnjoin N | yieldrr T Y"),
    }
}
