#![doc = include_str!("../../README.md")]
//!
//! # Layout
//! - [`event_loop`]: the loop ([`Runtime`], [`Builder`], [`run`], [`Handle`]) and its turn.
//! - [`task`]: the task allocation, wakers, [`spawn`], [`Task`], [`TaskError`], [`yield_now`].
//! - [`combine`]: `wait`, `gather`, `as_completed`, `TaskGroup`, `shield`, `Promise`, `select`.
//! - [`mod@stream`]: async iterators: `StreamExt`, constructors, `stream!`/`try_stream!`.
//! - [`pool`]: thread and process pools with concurrent.futures semantics, `run_in_executor`.
//! - [`sync`]: Stackless channels, mpsc/oneshot channels, queues, locks, events.
//! - [`time`]: the clock, virtual time, the timer heap, [`sleep`], [`timeout`], [`time::interval`].
//! - `reactor`: the `mio::Poll`, the slab of I/O registrations, the cross-thread waker.
//! - [`io`]: [`io::Source`] (any mio source on the loop), [`io::Fd`], the `futures_io`
//!   traits with their extensions, `BufReader`/`BufWriter`, `copy`, `split`.
//! - [`net`]: TCP, UDP and Unix sockets, `TcpSocket`, `lookup_host`, asyncio-style streams.
//! - [`signal`]: `ctrl_c` and `Signal` streams on per-loop self-pipes.
//! - [`process`]: `Command`/`Child` with async pipes, exits seen through pidfds.
//! - [`fs`]: file operations on the blocking pool.
//! - `runtime-macros`: `#[runtime::main]` and `#[runtime::test]`.
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

// Lets the macros' `::runtime::...` paths resolve inside this crate's own tests.
extern crate self as runtime;

pub mod combine;
pub mod compat;
pub mod event_loop;
pub mod fs;
pub mod io;
pub mod net;
pub mod pool;
pub mod process;
mod reactor;
pub mod signal;
pub mod stream;
pub mod sync;
mod sys;
pub mod task;
pub mod time;
#[cfg(feature = "tracing")]
mod trace;

pub use combine::{
    as_completed, gather, gather_settled, gather_tasks, race, select, shield, try_gather, wait,
    ChildError, ChildHandle, ChildInfo, ChildOutcome, Either, GroupError, GroupSpawner,
    InvalidState, Outcome, Promise, PromiseError, ReturnWhen, SpawnError, TaskGroup,
};
pub use event_loop::{
    run, run_per_core, AlreadyRunning, Builder, Handle, LoopClosed, LoopPool, LoopPoolBuilder,
    LoopPoolError, RemoteTask, Runtime, RuntimeMetrics, UnhandledPanic,
};

/// A snapshot of the running loop's counters (see [`RuntimeMetrics`]).
///
/// # Panics
///
/// Outside a running loop.
pub fn metrics() -> RuntimeMetrics {
    event_loop::context::expect_core(|core| core.metrics())
}
/// tokio's name for [`run_in_executor`] (the same function).
pub use pool::run_in_executor as spawn_blocking;
pub use pool::{run_in_executor, run_in_executor_on, run_in_executor_with_token};
pub use task::{spawn, yield_now, Task, TaskError, TaskId};
pub use time::{sleep, timeout, Elapsed};

/// Marks `async fn main` as the program's entry point: it runs on a fresh loop with
/// [`run`] (asyncio's `asyncio.run(main())`). `main` may return anything `main` may
/// return, such as `()` or `Result<(), E>`.
///
/// ```
/// #[runtime::main]
/// async fn main() {
///     runtime::sleep(std::time::Duration::from_millis(1)).await;
///     println!("hello");
/// }
/// ```
///
/// The expansion is `fn main() -> R { ::runtime::run(async move { <body> }) }`.
pub use runtime_macros::main;

/// Marks `async fn` as a test that runs on a fresh loop. Options:
/// `start_paused = true` starts the clock paused (virtual time, see
/// [`Builder::start_paused`]); `seed = N` runs tasks that are ready together in an order
/// drawn from `N` (see [`Builder::seed`]; `RUNTIME_SEED` overrides `N`, and a failing
/// test prints its seed).
///
/// ```
/// #[runtime::test(start_paused = true)]
/// async fn a_day_in_no_time() {
///     runtime::sleep(std::time::Duration::from_secs(86_400)).await;
/// }
///
/// #[runtime::test(start_paused = true, seed = 7)]
/// async fn one_interleaving_of_many() {
///     let a = runtime::spawn(async { 1 });
///     let b = runtime::spawn(async { 2 });
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// }
/// # fn main() {}
/// ```
///
/// The expansion is a `#[test] fn` whose body runs
/// `Builder::new().start_paused(..).seed(..).build()?.block_on(async move { <body> })`.
pub use runtime_macros::test;

/// An async generator (`async def` with `yield`): `yield value;` inside the block emits an
/// item; the result is a `futures_core::Stream`. Dropping the stream mid-way drops the
/// generator's locals at its current `yield` (nothing leaks).
///
/// ```
/// use runtime::stream::StreamExt;
///
/// runtime::run(async {
///     let evens = runtime::stream! {
///         for i in 0..10 {
///             if i % 2 == 0 {
///                 yield i;
///             }
///         }
///     };
///     let v: Vec<i32> = evens.collect().await;
///     assert_eq!(v, [0, 2, 4, 6, 8]);
/// });
/// ```
pub use runtime_macros::stream;

/// Like [`stream!`], with `?` in the body: the stream yields `Ok(item)` for each `yield`,
/// and a last `Err(e)` if the body fails with `?`.
///
/// ```
/// use runtime::stream::StreamExt;
///
/// runtime::run(async {
///     let parsed = runtime::try_stream! {
///         for s in ["1", "2", "x", "4"] {
///             let n: i32 = s.parse()?;
///             yield n;
///         }
///     };
///     let v: Vec<Result<i32, std::num::ParseIntError>> = parsed.collect().await;
///     assert_eq!(v.len(), 3);
///     assert!(v[2].is_err());
/// });
/// ```
pub use runtime_macros::try_stream;

#[doc(hidden)]
pub mod __private {
    //! Used by the macros' expansions; not a public API.
    use std::future::Future;

    /// Runs a test body on a fresh loop configured by the macro's options.
    pub fn run_test<F: Future>(start_paused: bool, seed: Option<u64>, body: F) -> F::Output {
        let mut b = crate::Builder::new().start_paused(start_paused);
        if let Some(seed) = seed {
            b = b.seed(seed);
        }
        b.build()
            .expect("runtime::test: cannot create the event loop")
            .block_on(body)
    }
}
