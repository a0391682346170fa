//! Instrumented futures shared by the behaviour tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::ThreadId;

/// Counts polls and drops of a future, and records the thread it was dropped on.
#[derive(Clone, Default)]
pub struct Counts {
    pub polls: Arc<AtomicUsize>,
    pub drops: Arc<AtomicUsize>,
    pub drop_thread: Arc<Mutex<Option<ThreadId>>>,
}

impl Counts {
    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }
    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
    pub fn dropped_on(&self) -> Option<ThreadId> {
        *self.drop_thread.lock().unwrap()
    }
}

/// A future that stays pending `pending_polls` times (waking itself each time unless
/// `park` is set), then returns `value`; it can panic in poll or in drop.
pub struct Probe {
    pub counts: Counts,
    pub pending_polls: usize,
    pub park: bool,
    pub panic_in_poll: bool,
    pub panic_in_drop: bool,
    pub value: u32,
}

impl Probe {
    pub fn new(counts: &Counts) -> Probe {
        Probe {
            counts: counts.clone(),
            pending_polls: 0,
            park: false,
            panic_in_poll: false,
            panic_in_drop: false,
            value: 7,
        }
    }
}

impl Future for Probe {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.counts.polls.fetch_add(1, Ordering::SeqCst);
        if self.panic_in_poll {
            panic!("probe panicked in poll");
        }
        if self.park {
            return Poll::Pending;
        }
        if self.pending_polls > 0 {
            self.pending_polls -= 1;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(self.value)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.counts.drops.fetch_add(1, Ordering::SeqCst);
        *self.counts.drop_thread.lock().unwrap() = Some(std::thread::current().id());
        if self.panic_in_drop && !std::thread::panicking() {
            panic!("probe panicked in drop");
        }
    }
}

/// A shared, ordered log for tests of scheduling order.
#[derive(Clone, Default)]
pub struct Log(pub Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn push(&self, s: impl Into<String>) {
        self.0.borrow_mut().push(s.into());
    }
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// A paused-clock runtime.
pub fn paused() -> runtime::Runtime {
    runtime::Builder::new().start_paused(true).build().unwrap()
}

/// Silences the default panic message for panics the tests provoke on purpose.
pub fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if !msg.contains("probe panicked") && !msg.contains("on purpose") {
                prev(info);
            }
        }));
    });
}

/// A connected TCP pair on loopback: (client, server side).
pub async fn tcp_pair() -> (runtime::net::TcpStream, runtime::net::TcpStream) {
    let listener = runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let connect =
        runtime::spawn(async move { runtime::net::TcpStream::connect(addr).await.unwrap() });
    let (server, _) = listener.accept().await.unwrap();
    (connect.await.unwrap(), server)
}

/// A small seeded generator (xorshift) for property tests: the same seed, the same cases.
pub struct Rng(pub u64);

impl Rng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The resident set size of process `pid` ("self" for this one), in KiB (Linux: /proc).
pub fn rss_kib(pid: &str) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
