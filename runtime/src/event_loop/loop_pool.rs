//! `LoopPool`: thread-per-core. One loop per thread, work handed to a loop from anywhere
//! ([`LoopPool::spawn_pinned`]), and the multi-loop `asyncio.run` ([`run_per_core`]).

use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::Poll;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Builder, Handle, RemoteTask};
use crate::sync::cross_thread;

/// How long dropping a [`LoopPool`] waits for its loops to stop.
const DROP_TIMEOUT: Duration = Duration::from_secs(10);

/// A pool of event loops, one per thread (thread-per-core, as glommio and monoio do, or
/// tokio-util's `LocalPoolHandle`): each loop keeps its tasks on its own thread, so they
/// may be `!Send`; work reaches a loop through [`spawn_pinned`](LoopPool::spawn_pinned),
/// its [`Handle`], or a listener of its own on a shared port
/// ([`TcpListener::bind_reuseport`](crate::net::TcpListener::bind_reuseport)).
///
/// [`shutdown`](LoopPool::shutdown) (or dropping the pool) cancels every loop's tasks and
/// drops their futures on their own threads, then joins the threads, within a time limit.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// let pool = runtime::LoopPool::new(2).unwrap();
/// let job = pool.spawn_pinned(|| {
///     let local = Rc::new(vec![1, 2, 3]); // not `Send`: it never leaves its loop
///     async move {
///         runtime::yield_now().await;
///         local.iter().sum::<i32>()
///     }
/// });
/// assert_eq!(job.join_blocking().unwrap(), 6);
/// pool.shutdown(std::time::Duration::from_secs(5)).unwrap();
/// ```
pub struct LoopPool {
    handles: Vec<Handle>,
    members: Vec<Member>,
    /// Round-robin start of the placement scan.
    cursor: AtomicUsize,
    /// Exits of loop threads (`Mutex`: the pool is shared between threads).
    exits: Mutex<mpsc::Receiver<Exit>>,
    stopped: bool,
}

struct Member {
    /// Jobs of `spawn_pinned` placed on this loop and not finished.
    live: Arc<AtomicUsize>,
    stop: Option<cross_thread::Sender<Duration>>,
    thread: Option<JoinHandle<()>>,
}

struct Exit {
    index: usize,
    panic: Option<String>,
}

/// Decrements a loop's count of live pinned jobs when the job ends (or is dropped).
struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Configures a [`LoopPool`]: how many loops, their threads' names, each loop's
/// [`Builder`] options, and whether to pin each thread to a CPU.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let pool = runtime::LoopPool::builder()
///     .loops(2)
///     .thread_name_prefix("worker")
///     .runtime(runtime::Builder::new().max_blocking_threads(4))
///     .build()
///     .unwrap();
/// let name = pool
///     .spawn_pinned_on(1, || async { std::thread::current().name().map(String::from) })
///     .join_blocking()
///     .unwrap();
/// assert_eq!(name.as_deref(), Some("worker-1"));
/// pool.shutdown(Duration::from_secs(5)).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct LoopPoolBuilder {
    loops: usize,
    prefix: String,
    runtime: Builder,
    pin: bool,
}

impl Default for LoopPoolBuilder {
    fn default() -> Self {
        LoopPoolBuilder {
            loops: available_cores(),
            prefix: "runtime-loop".to_owned(),
            runtime: Builder::new(),
            pin: false,
        }
    }
}

/// The number of CPUs this process may use (1 if unknown).
fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl LoopPoolBuilder {
    /// How many loops (default: one per available CPU).
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    pub fn loops(mut self, n: usize) -> Self {
        assert!(n > 0, "a LoopPool needs at least one loop");
        self.loops = n;
        self
    }

    /// Threads are named `<prefix>-<index>` (default `runtime-loop`).
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The options every loop is built with (blocking-pool size, panic policy, ...).
    pub fn runtime(mut self, builder: Builder) -> Self {
        self.runtime = builder;
        self
    }

    /// Pins loop `i`'s thread to CPU `i % CPUs` (Linux; elsewhere a note on stderr and no
    /// pinning). Default off.
    pub fn pin_threads(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// Starts the loops.
    ///
    /// # Errors
    ///
    /// If a thread or a loop cannot be created; the loops already started are stopped.
    pub fn build(&self) -> io::Result<LoopPool> {
        let (exit_tx, exit_rx) = mpsc::channel();
        let mut pool = LoopPool {
            handles: Vec::with_capacity(self.loops),
            members: Vec::with_capacity(self.loops),
            cursor: AtomicUsize::new(0),
            exits: Mutex::new(exit_rx),
            stopped: false,
        };
        let cpus = available_cores();
        for index in 0..self.loops {
            let (ready_tx, ready_rx) = mpsc::channel();
            let builder = self.runtime.clone();
            let exit_tx = exit_tx.clone();
            let pin = self.pin.then_some(index % cpus);
            let thread = std::thread::Builder::new()
                .name(format!("{}-{index}", self.prefix))
                .spawn(move || loop_thread(index, builder, pin, ready_tx, exit_tx))?;
            let (handle, stop) = ready_rx
                .recv()
                .map_err(|_| io::Error::other("a loop thread died while starting"))??;
            pool.handles.push(handle);
            pool.members.push(Member {
                live: Arc::default(),
                stop: Some(stop),
                thread: Some(thread),
            });
        }
        Ok(pool)
    }

    /// Builds the pool, runs `f(index)` as the main future of every loop, and returns the
    /// results in loop order (see [`LoopPool::run_per_loop`]); then stops the pool.
    ///
    /// # Errors
    ///
    /// As [`build`](LoopPoolBuilder::build).
    ///
    /// # Panics
    ///
    /// As [`LoopPool::run_per_loop`].
    pub fn run_per_loop<F, Fut>(&self, f: F) -> io::Result<Vec<Fut::Output>>
    where
        F: Fn(usize) -> Fut + Send + Clone + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let pool = self.build()?;
        let out = pool.run_per_loop(f);
        if let Err(e) = pool.shutdown(DROP_TIMEOUT) {
            eprintln!("runtime: run_per_loop: {e}");
        }
        Ok(out)
    }
}

type Ready = io::Result<(Handle, cross_thread::Sender<Duration>)>;

/// The body of loop `index`'s thread: build the loop, report its handle, run until told
/// to stop, then tear the loop down here (its futures are dropped on this thread).
fn loop_thread(
    index: usize,
    builder: Builder,
    pin: Option<usize>,
    ready: mpsc::Sender<Ready>,
    exit: mpsc::Sender<Exit>,
) {
    if let Some(cpu) = pin {
        if let Err(e) = crate::sys::pin_current_thread(cpu) {
            eprintln!("runtime: LoopPool: loop {index} not pinned to CPU {cpu}: {e}");
        }
    }
    let mut rt = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let (stop_tx, mut stop_rx) = cross_thread::unbounded::<Duration>();
    if ready.send(Ok((rt.handle(), stop_tx))).is_err() {
        return;
    }
    let ran = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { stop_rx.recv().await })
    }));
    let (limit, mut panic) = match ran {
        Ok(limit) => (limit.unwrap_or(DROP_TIMEOUT), None),
        Err(p) => {
            let msg = crate::task::error::payload_message(p.as_ref())
                .unwrap_or("<non-string panic payload>")
                .to_owned();
            eprintln!("runtime: LoopPool: loop {index} stopped by a panic: {msg}");
            (DROP_TIMEOUT, Some(msg))
        }
    };
    // Teardown on this thread: every task cancelled, every future dropped here; blocking
    // jobs get half the shutdown's limit, so that the thread still ends within it.
    rt.blocking_shutdown_timeout = limit / 2;
    if let Err(p) = catch_unwind(AssertUnwindSafe(move || drop(rt))) {
        let msg = crate::task::error::payload_message(p.as_ref())
            .unwrap_or("<non-string panic payload>")
            .to_owned();
        eprintln!("runtime: LoopPool: loop {index} panicked while shutting down: {msg}");
        panic.get_or_insert(msg);
    }
    let _ = exit.send(Exit { index, panic });
}

impl LoopPool {
    /// A pool of `n` loops with the default options.
    ///
    /// # Errors
    ///
    /// As [`LoopPoolBuilder::build`].
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    pub fn new(n: usize) -> io::Result<LoopPool> {
        LoopPool::builder().loops(n).build()
    }

    /// A builder (default: one loop per available CPU).
    pub fn builder() -> LoopPoolBuilder {
        LoopPoolBuilder::default()
    }

    /// How many loops the pool has.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Always false: a pool has at least one loop.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The loops' handles, by index: talk to a chosen loop (`spawn`, `spawn_with`,
    /// `call_soon_threadsafe`, `dump`).
    pub fn handles(&self) -> &[Handle] {
        &self.handles
    }

    /// Runs a job on one loop of the pool: `make` is sent there and called on the loop's
    /// thread, and the future it returns runs as a task of that loop, so it need not be
    /// `Send` (it may hold `Rc`s and the loop's primitives). The output comes back
    /// through the [`RemoteTask`]: `.await` it on any loop, or
    /// [`join_blocking`](RemoteTask::join_blocking) from a plain thread; a panic comes
    /// back as the task's error.
    ///
    /// Placement: the loop with the fewest jobs of this pool still running, ties broken
    /// round-robin.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = runtime::LoopPool::new(2).unwrap();
    /// let jobs: Vec<_> = (0..4).map(|i| pool.spawn_pinned(move || async move { i * 10 })).collect();
    /// let out: Vec<_> = jobs.into_iter().map(|j| j.join_blocking().unwrap()).collect();
    /// assert_eq!(out, [0, 10, 20, 30]);
    /// ```
    #[track_caller]
    pub fn spawn_pinned<M, F>(&self, make: M) -> RemoteTask<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let index = self.pick();
        self.spawn_pinned_on(index, make)
    }

    /// [`spawn_pinned`](LoopPool::spawn_pinned) on loop `index`.
    ///
    /// # Panics
    ///
    /// If `index` is not below [`len`](LoopPool::len).
    #[track_caller]
    pub fn spawn_pinned_on<M, F>(&self, index: usize, make: M) -> RemoteTask<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let Some(member) = self.members.get(index) else {
            panic!(
                "LoopPool::spawn_pinned_on: no loop {index} in a pool of {}",
                self.len()
            );
        };
        member.live.fetch_add(1, Ordering::Relaxed);
        let live = Live(member.live.clone());
        self.handles[index].spawn_with(move || {
            let future = make();
            async move {
                let _live = live;
                future.await
            }
        })
    }

    /// The loop with the fewest live jobs, scanning from a round-robin start.
    fn pick(&self) -> usize {
        let n = self.members.len();
        let start = self.cursor.fetch_add(1, Ordering::Relaxed) % n;
        let mut best = (usize::MAX, start);
        for k in 0..n {
            let i = (start + k) % n;
            let load = self.members[i].live.load(Ordering::Relaxed);
            if load < best.0 {
                best = (load, i);
            }
        }
        best.1
    }

    /// Runs `f(index)` as a main future on every loop and returns the outputs in loop
    /// order: the multi-loop `asyncio.run`. The calling thread waits (it must not be a
    /// loop's). The first main to panic cancels the others (their futures are dropped on
    /// their loops), then its panic resumes here. Ctrl-C, unless the program handles
    /// `SIGINT` itself, cancels every main and ends the process as [`run`](crate::run)
    /// does.
    ///
    /// # Panics
    ///
    /// If called on a thread that runs a loop; with the first main's panic; if a loop
    /// stops (say, its panic policy shut it down) before its main finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = runtime::LoopPool::new(3).unwrap();
    /// let names = pool.run_per_loop(|i| async move {
    ///     runtime::sleep(std::time::Duration::from_millis(1)).await;
    ///     format!("loop {i} on {}", std::thread::current().name().unwrap())
    /// });
    /// assert_eq!(names[2], "loop 2 on runtime-loop-2");
    /// ```
    pub fn run_per_loop<F, Fut>(&self, f: F) -> Vec<Fut::Output>
    where
        F: Fn(usize) -> Fut + Send + Clone + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let mut mains = Mains {
            cancels: Vec::new(),
            tasks: Vec::new(),
        };
        for i in 0..self.len() {
            let (cancel_tx, mut cancel_rx) = cross_thread::unbounded::<()>();
            let f = f.clone();
            mains.cancels.push(cancel_tx);
            mains.tasks.push(Some(self.spawn_pinned_on(i, move || {
                let main = f(i);
                async move {
                    let cancelled = cancel_rx.recv();
                    match crate::combine::select(std::pin::pin!(main), std::pin::pin!(cancelled))
                        .await
                    {
                        crate::combine::Either::Left(v) => Some(v),
                        crate::combine::Either::Right(_) => None,
                    }
                }
            })));
        }
        // The waiting runs under `run` on this thread: Ctrl-C drops this future, and
        // `Mains`' drop cancels every loop's main and waits for them to go.
        crate::run(async move {
            let mut mains = mains;
            let n = mains.tasks.len();
            let mut out: Vec<Option<Fut::Output>> = (0..n).map(|_| None).collect();
            let mut failure: Option<crate::TaskError> = None;
            std::future::poll_fn(|cx| {
                for (i, slot) in mains.tasks.iter_mut().enumerate() {
                    let Some(task) = slot else { continue };
                    let Poll::Ready(r) = Pin::new(task).poll(cx) else {
                        continue;
                    };
                    *slot = None;
                    match r {
                        Ok(v) => out[i] = v,
                        Err(e) => {
                            if failure
                                .as_ref()
                                .is_none_or(|f| !f.is_panic() && e.is_panic())
                            {
                                failure = Some(e);
                            }
                            for c in &mains.cancels {
                                let _ = c.send(());
                            }
                        }
                    }
                }
                if mains.tasks.iter().all(Option::is_none) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            if let Some(e) = failure {
                match e.try_into_panic() {
                    Ok(payload) => std::panic::resume_unwind(payload),
                    Err(e) => panic!(
                        "LoopPool::run_per_loop: a loop stopped before its main finished: {e}"
                    ),
                }
            }
            out.into_iter()
                .map(|v| v.expect("every main finished"))
                .collect()
        })
    }

    /// Stops every loop: their tasks are cancelled and dropped on their own threads,
    /// blocking jobs still running get half of `timeout` to finish (then they are left to
    /// finish on their own threads), and the loop threads are joined. Loops that have not
    /// stopped within `timeout` are left running, detached. Do not drop the last
    /// reference to a pool on one of its own loops: that loop cannot stop while it waits.
    ///
    /// # Errors
    ///
    /// [`LoopPoolError`] naming the loops that stopped by a panic (whenever it happened)
    /// or did not stop in time.
    pub fn shutdown(mut self, timeout: Duration) -> Result<(), LoopPoolError> {
        self.stop(timeout)
    }

    fn stop(&mut self, timeout: Duration) -> Result<(), LoopPoolError> {
        if std::mem::replace(&mut self.stopped, true) {
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        for m in &mut self.members {
            if let Some(stop) = m.stop.take() {
                let _ = stop.send(timeout);
            }
        }
        let n = self.members.len();
        let mut done = vec![false; n];
        let mut panicked = Vec::new();
        {
            let exits = self.exits.lock().unwrap_or_else(|e| e.into_inner());
            while done.iter().any(|d| !d) {
                let left = deadline.saturating_duration_since(Instant::now());
                match exits.recv_timeout(left) {
                    Ok(e) => {
                        done[e.index] = true;
                        if let Some(p) = e.panic {
                            panicked.push((e.index, p));
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        let mut timed_out = Vec::new();
        for (i, m) in self.members.iter_mut().enumerate() {
            if done[i] {
                if let Some(t) = m.thread.take() {
                    let _ = t.join();
                }
            } else {
                timed_out.push(i); // its JoinHandle drops: the thread is detached
            }
        }
        panicked.sort();
        if panicked.is_empty() && timed_out.is_empty() {
            Ok(())
        } else {
            Err(LoopPoolError {
                panicked,
                timed_out,
            })
        }
    }
}

impl Drop for LoopPool {
    fn drop(&mut self) {
        if let Err(e) = self.stop(DROP_TIMEOUT) {
            eprintln!("runtime: dropping a LoopPool: {e}");
        }
    }
}

impl fmt::Debug for LoopPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopPool")
            .field("loops", &self.len())
            .finish()
    }
}

/// The mains of `run_per_loop`: each can be cancelled; dropping this cancels those still
/// running and waits (a little) for their loops to drop them.
struct Mains<T> {
    cancels: Vec<cross_thread::Sender<()>>,
    tasks: Vec<Option<RemoteTask<Option<T>>>>,
}

impl<T> Drop for Mains<T> {
    fn drop(&mut self) {
        if self.tasks.iter().all(Option::is_none) {
            return;
        }
        // Cancelled from outside (Ctrl-C dropped `run`'s main): the loops drop their
        // mains now; wait for that so their destructors run before the process ends.
        for c in &self.cancels {
            let _ = c.send(());
        }
        let deadline = Instant::now() + DROP_TIMEOUT;
        for t in self.tasks.iter_mut().filter_map(Option::take) {
            t.wait_until(deadline);
        }
    }
}

/// The error of [`LoopPool::shutdown`]: loops that stopped by a panic, or did not stop
/// within the time limit (left running, detached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopPoolError {
    /// Loops (index, panic message) whose thread stopped by a panic.
    pub panicked: Vec<(usize, String)>,
    /// Loops that had not stopped when the time ran out.
    pub timed_out: Vec<usize>,
}

impl fmt::Display for LoopPoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (i, msg) in &self.panicked {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "loop {i} panicked: {msg}")?;
        }
        if !self.timed_out.is_empty() {
            if !first {
                f.write_str("; ")?;
            }
            write!(
                f,
                "loops {:?} did not stop in time (left running)",
                self.timed_out
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for LoopPoolError {}

/// Runs `f(index)` on every loop of a pool with one loop per available CPU, and returns
/// the results in loop order: the multi-loop [`run`](crate::run) for thread-per-core
/// servers. Each main is a non-`Send` future built on its own loop; the first panic
/// cancels the other mains and propagates; Ctrl-C cancels every main as `run` does. For
/// another number of loops or other options, use
/// [`LoopPool::builder()`](LoopPool::builder)`.loops(n).run_per_loop(f)`.
///
/// # Panics
///
/// As [`LoopPool::run_per_loop`], or if the loops cannot be started.
///
/// # Examples
///
/// A server with one listener per loop on one port (the kernel spreads connections):
///
/// ```no_run
/// use runtime::net::TcpListener;
///
/// let addr = "127.0.0.1:8080".parse().unwrap();
/// runtime::run_per_core(move |_loop_index| async move {
///     let listener = TcpListener::bind_reuseport(addr).unwrap();
///     loop {
///         let (conn, _) = listener.accept().await.unwrap();
///         runtime::spawn(async move { drop(conn) }).detach();
///     }
/// });
/// ```
pub fn run_per_core<F, Fut>(f: F) -> Vec<Fut::Output>
where
    F: Fn(usize) -> Fut + Send + Clone + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    LoopPool::builder()
        .run_per_loop(f)
        .unwrap_or_else(|e| panic!("runtime::run_per_core: cannot start the loops: {e}"))
}
