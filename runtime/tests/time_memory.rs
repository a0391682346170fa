//! T5: timers give their memory back. A million sleeps registered and then dropped leave
//! the process within a few MiB of where it started (alone in this binary, so that no
//! other test moves the RSS).

mod common;

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Duration;

fn rss_kib() -> usize {
    common::rss_kib("self")
}

#[test]
#[cfg_attr(miri, ignore = "a million timers")]
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc/self/status")]
fn a_million_dropped_sleeps_give_their_memory_back() {
    let rt = runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let base = rss_kib();
        let mut cx = Context::from_waker(Waker::noop());
        let mut sleeps: Vec<_> = (0..1_000_000u64)
            .map(|i| runtime::sleep(Duration::from_secs(10 + i % 1000)))
            .collect();
        for s in &mut sleeps {
            assert!(Pin::new(s).poll(&mut cx).is_pending()); // registered
        }
        let peak = rss_kib();
        drop(sleeps);
        let after = rss_kib();
        eprintln!("RSS: base {base} KiB, with 1M timers {peak} KiB, after dropping {after} KiB");
        if std::env::var_os("RUNTIME_SANITIZER").is_some() {
            // ASan keeps freed memory in quarantine: RSS says nothing there.
            let _ = writeln!(std::io::stderr(), "RSS not asserted under a sanitizer");
            return;
        }
        assert!(
            peak > base + 30 * 1024,
            "the timers did not take memory: {peak} KiB"
        );
        assert!(
            after < base + 4 * 1024,
            "1M dropped timers kept {} KiB resident",
            after.saturating_sub(base)
        );
    });
}
