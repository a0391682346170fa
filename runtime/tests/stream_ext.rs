//! Async iterators: adapters, constructors, generators.

mod common;
use common::{paused, Counts, Probe};
use runtime::stream::{self, StreamExt};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

#[test]
fn adapters_compose() {
    runtime::run(async {
        let v: Vec<(usize, i32)> = stream::iter(1..=20)
            .skip(2)
            .filter(|x| x % 3 == 0)
            .map(|x| x * 2)
            .take_while(|x| *x < 30)
            .enumerate()
            .collect()
            .await;
        assert_eq!(v, [(0, 6), (1, 12), (2, 18), (3, 24)]);
        let s = stream::iter([1, 2])
            .chain(stream::iter([3]))
            .zip(stream::iter("abc".chars()));
        let z: Vec<(i32, char)> = s.collect().await;
        assert_eq!(z, [(1, 'a'), (2, 'b'), (3, 'c')]);
        let sum = stream::iter(1..=4).fold(0, |a, x| a + x).await;
        assert_eq!(sum, 10);
        let fm: Vec<u8> = stream::iter(["1", "x", "3"])
            .filter_map(|s| s.parse::<u8>().ok())
            .collect()
            .await;
        assert_eq!(fm, [1, 3]);
        let mut seen = Vec::new();
        stream::iter([5, 6]).for_each(|x| seen.push(x)).await;
        assert_eq!(seen, [5, 6]);
        let t: Vec<i32> = stream::iter([1, 2])
            .then(|x| async move {
                runtime::yield_now().await;
                x + 100
            })
            .collect()
            .await;
        assert_eq!(t, [101, 102]);
    });
}

#[test]
fn constructors() {
    runtime::run(async {
        assert_eq!(stream::once(7).collect::<Vec<_>>().await, [7]);
        assert!(stream::empty::<u8>().collect::<Vec<_>>().await.is_empty());
        let mut n = 0;
        let r: Vec<i32> = stream::repeat_with(|| {
            n += 1;
            n
        })
        .take(3)
        .collect()
        .await;
        assert_eq!(r, [1, 2, 3]);
        let u: Vec<u64> = stream::unfold((0u64, 1u64), |(a, b)| async move {
            (a < 20).then_some((a, (b, a + b)))
        })
        .collect()
        .await;
        assert_eq!(u, [0, 1, 1, 2, 3, 5, 8, 13]);
        let mut left = 2;
        let p: Vec<u8> = stream::poll_fn(|_| {
            left -= 1;
            std::task::Poll::Ready((left >= 0).then_some(1))
        })
        .collect()
        .await;
        assert_eq!(p, [1, 1]);
    });
}

#[test]
fn buffered_limits_concurrency_and_keeps_order() {
    let rt = paused();
    rt.block_on(async {
        let running = Rc::new(Cell::new(0));
        let peak = Rc::new(Cell::new(0));
        let jobs = stream::iter([3u64, 1, 2, 1, 1]).map(|secs| {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                running.set(running.get() + 1);
                peak.set(peak.get().max(running.get()));
                runtime::sleep(Duration::from_secs(secs)).await;
                running.set(running.get() - 1);
                secs
            }
        });
        let out: Vec<u64> = jobs.buffered(2).collect().await;
        assert_eq!(out, [3, 1, 2, 1, 1], "stream order");
        assert_eq!(peak.get(), 2);
    });
}

#[test]
fn buffer_unordered_yields_in_completion_order() {
    let rt = paused();
    rt.block_on(async {
        let jobs = stream::iter([3u64, 1, 2]).map(|secs| async move {
            runtime::sleep(Duration::from_secs(secs)).await;
            secs
        });
        let out: Vec<u64> = jobs.buffer_unordered(3).collect().await;
        assert_eq!(out, [1, 2, 3]);
    });
}

#[test]
fn generator_yields_across_awaits() {
    let rt = paused();
    rt.block_on(async {
        let s = runtime::stream! {
            for i in 0..3 {
                runtime::sleep(Duration::from_secs(1)).await;
                yield i * 10;
            }
        };
        let start = runtime::time::Instant::now();
        let v: Vec<i32> = s.collect().await;
        assert_eq!(v, [0, 10, 20]);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    });
}

#[test]
fn dropping_a_generator_mid_stream_drops_its_locals() {
    let counts = Counts::default();
    runtime::run(async {
        let c = counts.clone();
        let mut s = Box::pin(runtime::stream! {
            let _guard = Probe::new(&c); // a local the generator owns
            let mut i = 0;
            loop {
                i += 1;
                yield i;
            }
        });
        assert_eq!(s.next().await, Some(1));
        assert_eq!(s.next().await, Some(2));
        assert_eq!(counts.drops(), 0);
        drop(s);
        assert_eq!(
            counts.drops(),
            1,
            "the suspended generator's locals were dropped"
        );
    });
}

#[test]
fn try_stream_yields_ok_then_the_error_and_ends() {
    runtime::run(async {
        let s = runtime::try_stream! {
            for x in ["1", "2", "oops", "4"] {
                let n: u32 = x.parse()?;
                yield n;
            }
        };
        let v: Vec<Result<u32, std::num::ParseIntError>> = s.collect().await;
        assert_eq!(v.len(), 3);
        assert_eq!(v[0], Ok(1));
        assert_eq!(v[1], Ok(2));
        assert!(v[2].is_err());
    });
}

#[test]
fn generator_that_never_yields_is_empty() {
    runtime::run(async {
        let s = runtime::stream! {
            let _x: u8 = 1;
            if false {
                yield 0u8;
            }
        };
        assert!(s.collect::<Vec<u8>>().await.is_empty());
    });
}
