//! Peer comparison: runtime vs tokio's current-thread runtime vs smol's `LocalExecutor`,
//! in one process run, interleaved, as medians and ratios.
//!
//! ```text
//! cargo run --release -p runtime-benches --example compare            # everything
//! cargo run --release -p runtime-benches --example compare -- --quick # smaller N
//! cargo run --release -p runtime-benches --example compare -- --only spawn --peers ours --runs 1 --n 100000
//! ```
//!
//! Workloads (the foundation issue's):
//! - `spawn`: spawn N trivial tasks, then await every handle (ns per task);
//! - `yield`: 1,000 tasks each yielding 1,000 times (ns per yield);
//! - `timers`: N tasks each sleeping a random time in [0, 1 s] (wall time over 1 s, and
//!   peak heap);
//! - `parked`: N tasks parked on a future that never resolves (peak heap per task);
//! - `gather`: `gather` of 100,000 trivial futures (tokio: `futures::future::join_all`);
//! - `wait`: spawn 100,000 tasks and `wait` for all (tokio: a `JoinSet`);
//! - `hackysack`: Stackless's game, 10 / 1,000 / 100,000 / 1,000,000 players x 1,000,000
//!   kicks, one unbounded channel per player (tokio mpsc, async-channel, and OS threads with
//!   std mpsc up to 1,000 players), ns per kick, and peak RSS at 1,000,000 players;
//! - `pingpong`: two tasks, two unbounded channels, round trips (plus our rendezvous
//!   `Channel`);
//! - `queue`: `Queue(maxsize=100)` put/get between two tasks (peers: bounded channels);
//! - `blocking`: 100,000 tiny jobs through `run_in_executor`, at most 1,000 in flight
//!   (tokio `spawn_blocking`, smol `blocking::unblock`): jobs per second and threads used.
//!
//! Memory is the peak of live heap bytes, counted by a global allocator wrapper, so each
//! runtime's figure is its own even within one process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        CURRENT.fetch_sub(l.size(), Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = CURRENT.fetch_add(new - l.size(), Relaxed) + new - l.size();
                PEAK.fetch_max(now, Relaxed);
            } else {
                CURRENT.fetch_sub(l.size() - new, Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns (its result, peak heap bytes above the heap at the start).
fn measure_heap<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let r = f();
    (r, PEAK.load(Relaxed) - base)
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Peer {
    Ours,
    Tokio,
    Smol,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Ours => "runtime",
            Peer::Tokio => "tokio-ct",
            Peer::Smol => "smol-local",
        }
    }

    fn block_on<F: Future + 'static>(self, f: impl FnOnce() -> F) -> F::Output {
        match self {
            Peer::Ours => {
                let mut b = runtime::Builder::new();
                // For experiments only: RUNTIME_BENCH_MAX_BLOCKING caps the blocking pool.
                if let Some(n) = std::env::var("RUNTIME_BENCH_MAX_BLOCKING")
                    .ok()
                    .and_then(|v| v.parse().ok())
                {
                    b = b.max_blocking_threads(n);
                }
                b.build().unwrap().block_on(f())
            }
            Peer::Tokio => tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap()
                .block_on(f()),
            Peer::Smol => {
                let ex = std::rc::Rc::new(async_executor::LocalExecutor::new());
                SMOL.with(|s| *s.borrow_mut() = Some(ex.clone()));
                let out = async_io::block_on(ex.run(f()));
                SMOL.with(|s| *s.borrow_mut() = None);
                out
            }
        }
    }
}

thread_local! {
    static SMOL: std::cell::RefCell<Option<std::rc::Rc<async_executor::LocalExecutor<'static>>>> =
        const { std::cell::RefCell::new(None) };
}

fn smol_spawn<F: Future + 'static>(f: F) -> async_executor::Task<F::Output> {
    SMOL.with(|s| s.borrow().as_ref().unwrap().spawn(f))
}

/// Deterministic pseudo-random durations in [0, 1 s].
fn random_durations(n: usize) -> Vec<Duration> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_nanos(x % 1_000_000_001)
        })
        .collect()
}

fn spawn_join(peer: Peer, n: usize) -> Duration {
    peer.block_on(move || async move {
        let start = Instant::now();
        match peer {
            Peer::Ours => {
                let hs: Vec<_> = (0..n).map(|i| runtime::spawn(async move { i })).collect();
                for h in hs {
                    std::hint::black_box(h.await.unwrap());
                }
            }
            Peer::Tokio => {
                let hs: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
                for h in hs {
                    std::hint::black_box(h.await.unwrap());
                }
            }
            Peer::Smol => {
                let hs: Vec<_> = (0..n).map(|i| smol_spawn(async move { i })).collect();
                for h in hs {
                    std::hint::black_box(h.await);
                }
            }
        }
        start.elapsed()
    })
}

fn yields(peer: Peer, tasks: usize, per_task: usize) -> Duration {
    peer.block_on(move || async move {
        let start = Instant::now();
        match peer {
            Peer::Ours => {
                let hs: Vec<_> = (0..tasks)
                    .map(|_| {
                        runtime::spawn(async move {
                            for _ in 0..per_task {
                                runtime::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            }
            Peer::Tokio => {
                let hs: Vec<_> = (0..tasks)
                    .map(|_| {
                        tokio::spawn(async move {
                            for _ in 0..per_task {
                                tokio::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            }
            Peer::Smol => {
                let hs: Vec<_> = (0..tasks)
                    .map(|_| {
                        smol_spawn(async move {
                            for _ in 0..per_task {
                                futures_lite::future::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await;
                }
            }
        }
        start.elapsed()
    })
}

fn timers(peer: Peer, durations: &[Duration]) -> (Duration, usize) {
    let ds = durations.to_vec();
    measure_heap(move || {
        peer.block_on(move || async move {
            let start = Instant::now();
            match peer {
                Peer::Ours => {
                    let hs: Vec<_> = ds
                        .into_iter()
                        .map(|d| runtime::spawn(runtime::sleep(d)))
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                }
                Peer::Tokio => {
                    let hs: Vec<_> = ds
                        .into_iter()
                        .map(|d| tokio::spawn(tokio::time::sleep(d)))
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                }
                Peer::Smol => {
                    let hs: Vec<_> = ds
                        .into_iter()
                        .map(|d| {
                            smol_spawn(async move {
                                async_io::Timer::after(d).await;
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await;
                    }
                }
            }
            start.elapsed()
        })
    })
}

fn parked(peer: Peer, n: usize) -> usize {
    let ((), bytes) = measure_heap(move || {
        peer.block_on(move || async move {
            let never = || async { std::future::pending::<()>().await };
            match peer {
                Peer::Ours => {
                    let hs: Vec<_> = (0..n).map(|_| runtime::spawn(never())).collect();
                    runtime::yield_now().await; // every task polled once and parked
                    drop(hs);
                }
                Peer::Tokio => {
                    let hs: Vec<_> = (0..n).map(|_| tokio::spawn(never())).collect();
                    tokio::task::yield_now().await;
                    drop(hs);
                }
                Peer::Smol => {
                    let hs: Vec<_> = (0..n).map(|_| smol_spawn(never())).collect();
                    futures_lite::future::yield_now().await;
                    for h in hs {
                        h.detach();
                    }
                }
            }
        })
    });
    bytes / n
}

/// `gather` of `n` trivial futures inside one task (tokio: `futures::future::join_all`).
fn gather_bench(peer: Peer, n: usize) -> Duration {
    peer.block_on(move || async move {
        let start = Instant::now();
        let futs = (0..n).map(|i| async move { std::hint::black_box(i) });
        let out = match peer {
            Peer::Ours => runtime::gather(futs).await,
            _ => futures_util::future::join_all(futs).await,
        };
        assert_eq!(out.len(), n);
        start.elapsed()
    })
}

/// Spawn `n` tasks and wait for all of them (tokio: a `JoinSet` drained with `join_next`).
fn wait_bench(peer: Peer, n: usize) -> Duration {
    peer.block_on(move || async move {
        let start = Instant::now();
        match peer {
            Peer::Ours => {
                let tasks: Vec<_> = (0..n).map(|i| runtime::spawn(async move { i })).collect();
                let (done, pending) = runtime::wait(tasks).await;
                assert_eq!((done.len(), pending.len()), (n, 0));
            }
            _ => {
                let mut set = tokio::task::JoinSet::new();
                for i in 0..n {
                    set.spawn(async move { i });
                }
                let mut count = 0;
                while let Some(r) = set.join_next().await {
                    r.unwrap();
                    count += 1;
                }
                assert_eq!(count, n);
            }
        }
        start.elapsed()
    })
}

/// Stackless hackysack: `players` tasks, one channel each, `kicks` kicks; returns the play
/// time (first kick to every player gone home).
fn hackysack(peer: Peer, players: usize, kicks: u64) -> Duration {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    fn next(rng: &mut u64, n: usize) -> usize {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        (*rng % n as u64) as usize
    }
    const EXIT: u32 = u32::MAX;

    match peer {
        Peer::Ours => peer.block_on(move || async move {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..players)
                .map(|_| runtime::sync::mpsc::unbounded::<u32>())
                .unzip();
            let circle = Rc::new(txs);
            let count = Rc::new(Cell::new(0u64));
            let tasks: Vec<_> = rxs
                .into_iter()
                .enumerate()
                .map(|(me, mut rx)| {
                    let (circle, count) = (circle.clone(), count.clone());
                    runtime::spawn(async move {
                        let mut rng = (me as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                        while let Some(m) = rx.recv().await {
                            if m == EXIT {
                                return;
                            }
                            count.set(count.get() + 1);
                            if count.get() >= kicks {
                                for (i, p) in circle.iter().enumerate() {
                                    if i != me {
                                        let _ = p.send(EXIT);
                                    }
                                }
                                return;
                            }
                            let _ = circle[next(&mut rng, players)].send(me as u32);
                        }
                    })
                })
                .collect();
            let start = Instant::now();
            circle[0].send(0).unwrap();
            for t in tasks {
                t.await.unwrap();
            }
            start.elapsed()
        }),
        Peer::Tokio => peer.block_on(move || async move {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..players)
                .map(|_| tokio::sync::mpsc::unbounded_channel::<u32>())
                .unzip();
            let circle = Arc::new(txs);
            let count = Arc::new(AtomicU64::new(0));
            let tasks: Vec<_> = rxs
                .into_iter()
                .enumerate()
                .map(|(me, mut rx)| {
                    let (circle, count) = (circle.clone(), count.clone());
                    tokio::spawn(async move {
                        let mut rng = (me as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                        while let Some(m) = rx.recv().await {
                            if m == EXIT {
                                return;
                            }
                            if count.fetch_add(1, Relaxed) + 1 >= kicks {
                                for (i, p) in circle.iter().enumerate() {
                                    if i != me {
                                        let _ = p.send(EXIT);
                                    }
                                }
                                return;
                            }
                            let _ = circle[next(&mut rng, players)].send(me as u32);
                        }
                    })
                })
                .collect();
            let start = Instant::now();
            circle[0].send(0).unwrap();
            for t in tasks {
                t.await.unwrap();
            }
            start.elapsed()
        }),
        Peer::Smol => peer.block_on(move || async move {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..players)
                .map(|_| async_channel::unbounded::<u32>())
                .unzip();
            let circle = Rc::new(txs);
            let count = Rc::new(Cell::new(0u64));
            let tasks: Vec<_> = rxs
                .into_iter()
                .enumerate()
                .map(|(me, rx)| {
                    let (circle, count) = (circle.clone(), count.clone());
                    smol_spawn(async move {
                        let mut rng = (me as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                        while let Ok(m) = rx.recv().await {
                            if m == EXIT {
                                return;
                            }
                            count.set(count.get() + 1);
                            if count.get() >= kicks {
                                for (i, p) in circle.iter().enumerate() {
                                    if i != me {
                                        let _ = p.try_send(EXIT);
                                    }
                                }
                                return;
                            }
                            let _ = circle[next(&mut rng, players)].try_send(me as u32);
                        }
                    })
                })
                .collect();
            let start = Instant::now();
            circle[0].try_send(0).unwrap();
            for t in tasks {
                t.await;
            }
            start.elapsed()
        }),
    }
}

/// The same game on OS threads with `std::sync::mpsc` (the seed's threaded version).
fn hackysack_threads(players: usize, kicks: u64) -> Duration {
    use std::sync::atomic::AtomicU64;
    use std::sync::{mpsc, Arc};
    const EXIT: u32 = u32::MAX;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..players).map(|_| mpsc::channel::<u32>()).unzip();
    let circle = Arc::new(txs);
    let count = Arc::new(AtomicU64::new(0));
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let handles: Vec<_> = rxs
        .into_iter()
        .enumerate()
        .map(|(me, rx)| {
            let (circle, count, ready) = (circle.clone(), count.clone(), ready_tx.clone());
            std::thread::spawn(move || {
                let mut rng = (me as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                ready.send(()).unwrap();
                while let Ok(m) = rx.recv() {
                    if m == EXIT {
                        return;
                    }
                    if count.fetch_add(1, Relaxed) + 1 >= kicks {
                        for (i, p) in circle.iter().enumerate() {
                            if i != me {
                                let _ = p.send(EXIT);
                            }
                        }
                        return;
                    }
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let _ = circle[(rng % players as u64) as usize].send(me as u32);
                }
            })
        })
        .collect();
    for _ in 0..players {
        ready_rx.recv().unwrap();
    }
    let start = Instant::now();
    circle[0].send(0).unwrap();
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

/// Two tasks bounce a number over two unbounded channels, `rounds` round trips.
fn pingpong(peer: Peer, rounds: u64) -> Duration {
    peer.block_on(move || async move {
        let start = Instant::now();
        match peer {
            Peer::Ours => {
                let (to_pong, mut pong_rx) = runtime::sync::mpsc::unbounded::<u64>();
                let (to_ping, mut ping_rx) = runtime::sync::mpsc::unbounded::<u64>();
                let pong = runtime::spawn(async move {
                    while let Some(n) = pong_rx.recv().await {
                        let _ = to_ping.send(n);
                    }
                });
                for i in 0..rounds {
                    to_pong.send(i).unwrap();
                    assert_eq!(ping_rx.recv().await, Some(i));
                }
                drop(to_pong);
                pong.await.unwrap();
            }
            Peer::Tokio => {
                let (to_pong, mut pong_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
                let (to_ping, mut ping_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
                let pong = tokio::spawn(async move {
                    while let Some(n) = pong_rx.recv().await {
                        let _ = to_ping.send(n);
                    }
                });
                for i in 0..rounds {
                    to_pong.send(i).unwrap();
                    assert_eq!(ping_rx.recv().await, Some(i));
                }
                drop(to_pong);
                pong.await.unwrap();
            }
            Peer::Smol => {
                let (to_pong, pong_rx) = async_channel::unbounded::<u64>();
                let (to_ping, ping_rx) = async_channel::unbounded::<u64>();
                let pong = smol_spawn(async move {
                    while let Ok(n) = pong_rx.recv().await {
                        let _ = to_ping.try_send(n);
                    }
                });
                for i in 0..rounds {
                    to_pong.try_send(i).unwrap();
                    assert_eq!(ping_rx.recv().await, Ok(i));
                }
                drop(to_pong);
                pong.await;
            }
        }
        start.elapsed()
    })
}

/// The same over Stackless rendezvous channels (ours only).
fn pingpong_rendezvous(rounds: u64) -> Duration {
    Peer::Ours.block_on(move || async move {
        let start = Instant::now();
        let to_pong = runtime::sync::Channel::new();
        let to_ping = runtime::sync::Channel::new();
        let (rx, tx) = (to_pong.clone(), to_ping.clone());
        let pong = runtime::spawn(async move {
            while let Ok(n) = rx.receive().await {
                if tx.send(n).await.is_err() {
                    break;
                }
            }
        });
        for i in 0..rounds {
            to_pong.send(i).await.unwrap();
            assert_eq!(to_ping.receive().await, Ok(i));
        }
        to_pong.close();
        pong.await.unwrap();
        start.elapsed()
    })
}

/// A producer puts `n` items through a bounded queue of 100 to a consumer (asyncio
/// `Queue`; tokio: a bounded mpsc channel; smol: a bounded async-channel).
fn queue_bench(peer: Peer, n: u64) -> Duration {
    peer.block_on(move || async move {
        let start = Instant::now();
        match peer {
            Peer::Ours => {
                let q = std::rc::Rc::new(runtime::sync::Queue::with_maxsize(100));
                let qq = q.clone();
                let consumer = runtime::spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(v) = qq.get().await {
                        sum += v;
                    }
                    sum
                });
                for i in 0..n {
                    q.put(i).await.unwrap();
                }
                q.shutdown(false);
                assert_eq!(consumer.await.unwrap(), n * (n - 1) / 2);
            }
            Peer::Tokio => {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(100);
                let consumer = tokio::spawn(async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                });
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
                drop(tx);
                assert_eq!(consumer.await.unwrap(), n * (n - 1) / 2);
            }
            Peer::Smol => {
                let (tx, rx) = async_channel::bounded::<u64>(100);
                let consumer = smol_spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                });
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
                drop(tx);
                assert_eq!(consumer.await, n * (n - 1) / 2);
            }
        }
        start.elapsed()
    })
}

static EPOCH: AtomicUsize = AtomicUsize::new(0);
static THREADS_SEEN: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static COUNTED_IN: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// A tiny blocking job that counts the distinct threads that ran jobs in this run.
fn tiny_job(i: u64) -> u64 {
    let epoch = EPOCH.load(Relaxed);
    COUNTED_IN.with(|c| {
        if c.get() != epoch {
            c.set(epoch);
            THREADS_SEEN.fetch_add(1, Relaxed);
        }
    });
    std::hint::black_box(i.wrapping_mul(31))
}

/// `n` tiny jobs through the blocking pool, at most `window` in flight; returns (jobs/s,
/// threads used).
fn blocking_bench(peer: Peer, n: u64, window: usize) -> (f64, usize) {
    EPOCH.fetch_add(1, Relaxed);
    THREADS_SEEN.store(0, Relaxed);
    let elapsed = peer.block_on(move || async move {
        let start = Instant::now();
        let mut sum = 0u64;
        match peer {
            Peer::Ours => {
                let mut inflight = std::collections::VecDeque::new();
                for i in 0..n {
                    if inflight.len() == window {
                        let f: runtime::pool::Blocking<u64> = inflight.pop_front().unwrap();
                        sum = sum.wrapping_add(f.await.unwrap());
                    }
                    inflight.push_back(runtime::run_in_executor(move || tiny_job(i)));
                }
                for f in inflight {
                    sum = sum.wrapping_add(f.await.unwrap());
                }
            }
            Peer::Tokio => {
                let mut inflight = std::collections::VecDeque::new();
                for i in 0..n {
                    if inflight.len() == window {
                        let f: tokio::task::JoinHandle<u64> = inflight.pop_front().unwrap();
                        sum = sum.wrapping_add(f.await.unwrap());
                    }
                    inflight.push_back(tokio::task::spawn_blocking(move || tiny_job(i)));
                }
                for f in inflight {
                    sum = sum.wrapping_add(f.await.unwrap());
                }
            }
            Peer::Smol => {
                let mut inflight = std::collections::VecDeque::new();
                for i in 0..n {
                    if inflight.len() == window {
                        let f: blocking::Task<u64> = inflight.pop_front().unwrap();
                        sum = sum.wrapping_add(f.await);
                    }
                    inflight.push_back(blocking::unblock(move || tiny_job(i)));
                }
                for f in inflight {
                    sum = sum.wrapping_add(f.await);
                }
            }
        }
        std::hint::black_box(sum);
        start.elapsed()
    });
    (n as f64 / elapsed.as_secs_f64(), THREADS_SEEN.load(Relaxed))
}

fn status_kib(field: &str) -> usize {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// In a child process: runs one workload and prints its wall time, peak heap and the
/// growth of peak RSS (VmHWM) over the RSS before the workload.
fn child(workload: &str, peer: Peer, n: usize) {
    let ds = random_durations(n);
    let base = status_kib("VmRSS:");
    let (wall, heap) = match workload {
        "timers" => timers(peer, &ds),
        "hackysack" => measure_heap(|| hackysack(peer, n, 1_000_000)),
        "parked" => (Duration::ZERO, parked(peer, n) * n),
        other => panic!("unknown child workload {other}"),
    };
    let rss = status_kib("VmHWM:").saturating_sub(base);
    println!("wall_ns={} heap={} rss_kib={}", wall.as_nanos(), heap, rss);
}

/// Runs a workload in a fresh process, so that each runtime's peak RSS is its own.
fn in_child(workload: &str, peer: Peer, n: usize) -> (Duration, usize, usize) {
    let peer_arg = match peer {
        Peer::Ours => "ours",
        Peer::Tokio => "tokio",
        Peer::Smol => "smol",
    };
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--child", workload, peer_arg, &n.to_string()])
        .output()
        .expect("re-run the bench binary");
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let get = |k: &str| -> usize {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(k))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (
        Duration::from_nanos(get("wall_ns=") as u64),
        get("heap="),
        get("rss_kib=") * 1024,
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

struct Args {
    only: Option<String>,
    peers: Vec<Peer>,
    runs: usize,
    n: usize,
    quick: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        only: None,
        peers: vec![Peer::Ours, Peer::Tokio, Peer::Smol],
        runs: 5,
        n: 1_000_000,
        quick: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--child" => {
                let w = it.next().unwrap();
                let p = match it.next().unwrap().as_str() {
                    "ours" => Peer::Ours,
                    "tokio" => Peer::Tokio,
                    _ => Peer::Smol,
                };
                let n = it.next().unwrap().parse().unwrap();
                child(&w, p, n);
                std::process::exit(0);
            }
            "--only" => a.only = it.next(),
            "--runs" => a.runs = it.next().and_then(|s| s.parse().ok()).expect("--runs N"),
            "--n" => a.n = it.next().and_then(|s| s.parse().ok()).expect("--n N"),
            "--quick" => {
                a.quick = true;
                a.n = 100_000;
                a.runs = 3;
            }
            "--peers" => {
                a.peers = it
                    .next()
                    .expect("--peers ours,tokio,smol")
                    .split(',')
                    .map(|p| match p {
                        "ours" | "runtime" => Peer::Ours,
                        "tokio" => Peer::Tokio,
                        "smol" => Peer::Smol,
                        other => panic!("unknown peer {other}"),
                    })
                    .collect()
            }
            "--bench" => {} // passed by `cargo bench`
            other => panic!("unknown argument {other}; see the file's doc comment"),
        }
    }
    a
}

fn report(title: &str, unit: &str, peers: &[Peer], results: &[Vec<f64>]) {
    println!("\n{title}");
    let ours = peers
        .iter()
        .position(|p| *p == Peer::Ours)
        .map(|i| median(results[i].clone()));
    for (i, p) in peers.iter().enumerate() {
        let m = median(results[i].clone());
        let ratio = match ours {
            Some(o) if *p != Peer::Ours => format!("  (runtime = {:.2}x this)", o / m),
            _ => String::new(),
        };
        println!("  {:<11} {:>10.1} {unit}{ratio}", p.name(), m);
    }
}

fn main() {
    let a = parse_args();
    let want = |w: &str| a.only.as_deref().is_none_or(|o| o == w);
    let n = a.n;
    println!(
        "peer comparison: N = {n}, {} interleaved runs each, medians{}",
        a.runs,
        if a.quick { " (quick)" } else { "" }
    );

    if want("spawn") {
        let mut res = vec![Vec::new(); a.peers.len()];
        for _ in 0..a.runs {
            for (i, p) in a.peers.iter().enumerate() {
                res[i].push(spawn_join(*p, n).as_nanos() as f64 / n as f64);
            }
        }
        report(
            &format!("spawn-and-join {n} trivial tasks"),
            "ns/task",
            &a.peers,
            &res,
        );
    }
    if want("yield") {
        let (tasks, per) = if a.quick { (1000, 100) } else { (1000, 1000) };
        let mut res = vec![Vec::new(); a.peers.len()];
        for _ in 0..a.runs {
            for (i, p) in a.peers.iter().enumerate() {
                res[i].push(yields(*p, tasks, per).as_nanos() as f64 / (tasks * per) as f64);
            }
        }
        report(
            &format!("{tasks} tasks x {per} yields"),
            "ns/yield",
            &a.peers,
            &res,
        );
    }
    let toolkit_peers: Vec<Peer> = a
        .peers
        .iter()
        .copied()
        .filter(|p| *p != Peer::Smol)
        .collect();
    if want("gather") {
        let m = 100_000;
        let mut res = vec![Vec::new(); toolkit_peers.len()];
        for _ in 0..a.runs {
            for (i, p) in toolkit_peers.iter().enumerate() {
                res[i].push(gather_bench(*p, m).as_nanos() as f64 / m as f64);
            }
        }
        report(
            &format!("gather {m} trivial futures (tokio: futures::join_all)"),
            "ns/future",
            &toolkit_peers,
            &res,
        );
    }
    if want("wait") {
        let m = 100_000;
        let mut res = vec![Vec::new(); toolkit_peers.len()];
        for _ in 0..a.runs {
            for (i, p) in toolkit_peers.iter().enumerate() {
                res[i].push(wait_bench(*p, m).as_nanos() as f64 / m as f64);
            }
        }
        report(
            &format!("spawn + wait on {m} tasks (tokio: JoinSet)"),
            "ns/task",
            &toolkit_peers,
            &res,
        );
    }
    if want("blocking") {
        let n = 100_000;
        let mut rate = vec![Vec::new(); a.peers.len()];
        let mut threads = vec![Vec::new(); a.peers.len()];
        for _ in 0..a.runs.min(3) {
            for (i, p) in a.peers.iter().enumerate() {
                let (r, t) = blocking_bench(*p, n, 1000);
                rate[i].push(r / 1000.0);
                threads[i].push(t as f64);
            }
        }
        println!("\n{n} tiny jobs through the blocking pool, at most 1,000 in flight (tokio spawn_blocking, smol blocking::unblock)");
        for (i, p) in a.peers.iter().enumerate() {
            println!(
                "  {:<11} {:>10.1} k jobs/s  {:>5} threads",
                p.name(),
                median(rate[i].clone()),
                median(threads[i].clone())
            );
        }
    }
    if want("pingpong") {
        let rounds = if a.quick { 100_000 } else { 1_000_000 };
        let mut res = vec![Vec::new(); a.peers.len()];
        let mut rdv = Vec::new();
        for _ in 0..a.runs {
            for (i, p) in a.peers.iter().enumerate() {
                res[i].push(pingpong(*p, rounds).as_nanos() as f64 / rounds as f64);
            }
            rdv.push(pingpong_rendezvous(rounds).as_nanos() as f64 / rounds as f64);
        }
        report(
            &format!("ping-pong {rounds} round trips over two unbounded channels"),
            "ns/round trip",
            &a.peers,
            &res,
        );
        println!(
            "  {:<11} {:>10.1} ns/round trip (Stackless rendezvous Channel)",
            "runtime",
            median(rdv)
        );
    }
    if want("queue") {
        let n = if a.quick { 100_000 } else { 1_000_000 };
        let mut res = vec![Vec::new(); a.peers.len()];
        for _ in 0..a.runs {
            for (i, p) in a.peers.iter().enumerate() {
                res[i].push(queue_bench(*p, n).as_nanos() as f64 / n as f64);
            }
        }
        report(
            &format!("Queue(maxsize=100) put/get of {n} items (tokio/smol: bounded channel)"),
            "ns/item",
            &a.peers,
            &res,
        );
    }
    if want("hackysack") {
        let kicks = if a.quick { 100_000 } else { 1_000_000 };
        let sizes: &[usize] = if a.quick {
            &[10, 1000, 100_000]
        } else {
            &[10, 1000, 100_000, 1_000_000]
        };
        for &players in sizes {
            let mut res = vec![Vec::new(); a.peers.len()];
            let mut thr = Vec::new();
            for _ in 0..a.runs.min(3) {
                for (i, p) in a.peers.iter().enumerate() {
                    res[i].push(hackysack(*p, players, kicks).as_nanos() as f64 / kicks as f64);
                }
                if players <= 1000 {
                    thr.push(hackysack_threads(players, kicks).as_nanos() as f64 / kicks as f64);
                }
            }
            report(
                &format!("hackysack {players} players x {kicks} kicks"),
                "ns/kick",
                &a.peers,
                &res,
            );
            if !thr.is_empty() {
                let t = median(thr);
                let ours = a
                    .peers
                    .iter()
                    .position(|p| *p == Peer::Ours)
                    .map(|i| median(res[i].clone()));
                let ratio = ours
                    .map(|o| format!("  (runtime = {:.3}x this)", o / t))
                    .unwrap_or_default();
                println!("  {:<11} {:>10.1} ns/kick{ratio}", "os-threads", t);
            }
        }
        if !a.quick {
            let mut rss = vec![Vec::new(); a.peers.len()];
            for (i, p) in a.peers.iter().enumerate() {
                let (_, _, r) = in_child("hackysack", *p, 1_000_000);
                rss[i].push(r as f64 / (1024.0 * 1024.0));
            }
            report(
                "hackysack 1000000 players: peak RSS growth",
                "MiB",
                &a.peers,
                &rss,
            );
        }
    }
    if want("timers") {
        let runs = a.runs.min(3);
        let mut over = vec![Vec::new(); a.peers.len()];
        let mut heap = vec![Vec::new(); a.peers.len()];
        let mut rss = vec![Vec::new(); a.peers.len()];
        for _ in 0..runs {
            for (i, p) in a.peers.iter().enumerate() {
                let (wall, h, r) = in_child("timers", *p, n);
                over[i].push(wall.saturating_sub(Duration::from_secs(1)).as_secs_f64() * 1e3);
                heap[i].push(h as f64 / (1024.0 * 1024.0));
                rss[i].push(r as f64 / (1024.0 * 1024.0));
            }
        }
        report(
            &format!("{n} tasks sleeping random [0, 1 s]: wall time over 1 s"),
            "ms",
            &a.peers,
            &over,
        );
        report(
            &format!("{n} tasks sleeping random [0, 1 s]: peak heap"),
            "MiB",
            &a.peers,
            &heap,
        );
        report(
            &format!("{n} tasks sleeping random [0, 1 s]: peak RSS growth"),
            "MiB",
            &a.peers,
            &rss,
        );
    }
    if want("parked") {
        let mut heap = vec![Vec::new(); a.peers.len()];
        let mut rss = vec![Vec::new(); a.peers.len()];
        for _ in 0..a.runs.min(3) {
            for (i, p) in a.peers.iter().enumerate() {
                let (_, h, r) = in_child("parked", *p, n);
                heap[i].push((h / n) as f64);
                rss[i].push((r / n) as f64);
            }
        }
        report(
            &format!("{n} tasks parked forever: peak heap per task"),
            "bytes",
            &a.peers,
            &heap,
        );
        report(
            &format!("{n} tasks parked forever: peak RSS growth per task"),
            "bytes",
            &a.peers,
            &rss,
        );
    }
}
