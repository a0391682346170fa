//! `ProcessPoolExecutor`: worker processes of the same program (feature `process-pool`).
//!
//! # How it works
//! - The program lists the functions workers may run in a [`Registry`] (the
//!   [`process_functions!`](crate::process_functions) macro), and calls [`worker_main`] at
//!   the very start of `main` (`#[runtime::main(process_pool = REGISTRY)]` does it). In a
//!   normal run it returns at once; in a worker it serves jobs and exits.
//! - The pool starts the current executable with `RUNTIME_PROCESS_POOL_WORKER=1` and a Unix
//!   socket as its standard input; stdout and stderr stay the program's own.
//! - A job is one JSON frame (a 4-byte length, then `{"id", "name", "args"}`); the answer
//!   is `{"id", "ok"}` or `{"id", "err"}`. Arguments and results go through `serde_json`.
//! - One manager thread per worker feeds it jobs one at a time.
//!
//! # Failure rules
//! - A panic inside a registered function (with unwinding) is caught in the worker and the
//!   job fails with [`PoolError::Panicked`]; the worker lives on.
//! - A name the registry does not hold fails with [`PoolError::UnknownFunction`] (at once,
//!   without sending anything, when the program called [`worker_main`]); arguments that
//!   do not decode into the function's type with [`PoolError::BadArguments`]; a result that
//!   does not encode (in the worker) or decode (into the type asked for) with
//!   [`PoolError::BadResult`].
//! - A worker that dies (abort, a signal, `exit`) fails the one job it was running with
//!   [`PoolError::BrokenProcessPool`] and is **replaced**; the pool keeps working (Python
//!   instead marks the whole pool broken; a replaced worker is more useful to a server, and
//!   only the job that was running is lost).
//! - Every worker process is waited for (no zombies): when it is replaced, after
//!   `max_tasks_per_child` jobs, and at shutdown. A worker whose parent dies reads end-of-file
//!   on its socket and exits.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::future::{PoolError, PoolFuture};
use super::threads::ShutDownError;

/// The environment variable that makes a program start as a pool worker.
pub const WORKER_ENV: &str = "RUNTIME_PROCESS_POOL_WORKER";

/// Why a [`Callable`] could not run or answer (not a panic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The arguments do not decode into the function's argument type.
    BadArguments(String),
    /// The function's result does not encode as JSON.
    BadResult(String),
}

/// A function a worker can run: JSON arguments in, JSON result out.
pub trait Callable: Sync {
    /// Decodes the arguments, runs the function, encodes the result.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the arguments do not decode or the result does not encode.
    fn call(&self, args: serde_json::Value) -> Result<serde_json::Value, CallError>;
}

impl<A: DeserializeOwned, R: Serialize> Callable for fn(A) -> R {
    fn call(&self, args: serde_json::Value) -> Result<serde_json::Value, CallError> {
        let a: A =
            serde_json::from_value(args).map_err(|e| CallError::BadArguments(e.to_string()))?;
        serde_json::to_value(self(a)).map_err(|e| CallError::BadResult(e.to_string()))
    }
}

/// The registry this program passed to [`worker_main`], so that `submit` can reject an
/// unknown function name before sending the job.
static REGISTRY: std::sync::OnceLock<&'static Registry> = std::sync::OnceLock::new();

/// The functions worker processes may run, by name; see
/// [`process_functions!`](crate::process_functions).
pub struct Registry {
    #[doc(hidden)]
    pub functions: &'static [(&'static str, &'static dyn Callable)],
}

impl Registry {
    fn get(&self, name: &str) -> Option<&'static dyn Callable> {
        self.functions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }
}

/// Declares the functions that pool workers may run: `static NAME = [f, g, ...];`. Each
/// function takes one argument (a tuple for several) that is `Deserialize`, and returns
/// something `Serialize`; it is registered under its own name.
///
/// ```
/// fn square(x: u64) -> u64 { x * x }
/// fn add((a, b): (i32, i32)) -> i32 { a + b }
///
/// runtime::process_functions! {
///     pub static FUNCTIONS = [square, add];
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! process_functions {
    ($vis:vis static $name:ident = [$($f:ident),* $(,)?];) => {
        $vis static $name: $crate::pool::process::Registry = $crate::pool::process::Registry {
            functions: &[$(
                (stringify!($f), &($f as fn(_) -> _) as &dyn $crate::pool::process::Callable),
            )*],
        };
    };
}

#[derive(Serialize, Deserialize)]
struct Request {
    id: u64,
    name: String,
    args: serde_json::Value,
}

/// How a job failed in the worker.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
enum FailKind {
    Panicked,
    UnknownFunction,
    BadArguments,
    BadResult,
}

#[derive(Serialize, Deserialize)]
struct Response {
    id: u64,
    #[serde(default)]
    ok: Option<serde_json::Value>,
    #[serde(default)]
    err: Option<(FailKind, String)>,
}

impl FailKind {
    fn into_error(self, msg: String) -> PoolError {
        match self {
            FailKind::Panicked => PoolError::Panicked(msg),
            FailKind::UnknownFunction => PoolError::UnknownFunction(msg),
            FailKind::BadArguments => PoolError::BadArguments(msg),
            FailKind::BadResult => PoolError::BadResult(msg),
        }
    }
}

fn write_frame(w: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(&bytes)?;
    w.flush()
}

fn read_frame<T: DeserializeOwned>(r: &mut impl Read) -> io::Result<T> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut buf)?;
    serde_json::from_slice(&buf).map_err(io::Error::other)
}

/// Serves pool jobs when this process was started as a worker, then exits; returns at once
/// otherwise. Call it first thing in `main` (before any output or side effect), or use
/// `#[runtime::main(process_pool = REGISTRY)]`, which does.
pub fn worker_main(registry: &'static Registry) {
    let _ = REGISTRY.set(registry);
    if std::env::var_os(WORKER_ENV).is_none() {
        return;
    }
    let code = match serve(registry) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("runtime: process-pool worker {}: {e}", std::process::id());
            1
        }
    };
    std::process::exit(code);
}

fn serve(registry: &'static Registry) -> io::Result<()> {
    let fd: OwnedFd = io::stdin().as_fd().try_clone_to_owned()?;
    let mut sock = UnixStream::from(fd);
    loop {
        let req: Request = match read_frame(&mut sock) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()), // parent gone or done
            Err(e) => return Err(e),
        };
        let result = match registry.get(&req.name) {
            None => Err((
                FailKind::UnknownFunction,
                format!("no function named {:?} in the registry", req.name),
            )),
            Some(f) => match catch_unwind(AssertUnwindSafe(|| f.call(req.args))) {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(CallError::BadArguments(m))) => Err((FailKind::BadArguments, m)),
                Ok(Err(CallError::BadResult(m))) => Err((FailKind::BadResult, m)),
                Err(p) => Err((
                    FailKind::Panicked,
                    crate::task::error::payload_message(p.as_ref())
                        .unwrap_or("<non-string panic payload>")
                        .to_owned(),
                )),
            },
        };
        let resp = match result {
            Ok(v) => Response {
                id: req.id,
                ok: Some(v),
                err: None,
            },
            Err(e) => Response {
                id: req.id,
                ok: None,
                err: Some(e),
            },
        };
        write_frame(&mut sock, &resp)?;
    }
}

/// A queued job: its request and how to finish its future.
struct PJob {
    name: String,
    args: serde_json::Value,
    finish: Box<dyn FnOnce(Result<serde_json::Value, PoolError>) + Send>,
    /// PENDING -> RUNNING; false if cancelled meanwhile.
    start: Box<dyn FnOnce() -> bool + Send>,
}

struct PState {
    jobs: VecDeque<PJob>,
    shutdown: bool,
    next_id: u64,
    /// Pids of live workers (for tests and diagnostics).
    pids: Vec<u32>,
}

struct PShared {
    state: Mutex<PState>,
    work: Condvar,
    max_tasks_per_child: Option<usize>,
}

fn plock(s: &PShared) -> MutexGuard<'_, PState> {
    s.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Configures a [`ProcessPoolExecutor`].
#[derive(Debug, Clone)]
pub struct ProcessPoolBuilder {
    max_workers: usize,
    max_tasks_per_child: Option<usize>,
}

impl ProcessPoolBuilder {
    /// How many worker processes (default: the number of CPUs).
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    pub fn max_workers(mut self, n: usize) -> Self {
        assert!(n > 0, "max_workers must be at least 1");
        self.max_workers = n;
        self
    }

    /// Replaces a worker after it ran `n` jobs (default: never).
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    pub fn max_tasks_per_child(mut self, n: usize) -> Self {
        assert!(n > 0, "max_tasks_per_child must be at least 1");
        self.max_tasks_per_child = Some(n);
        self
    }

    /// Starts the workers.
    ///
    /// # Errors
    ///
    /// If the current executable cannot be found or a worker cannot be started.
    pub fn build(self) -> io::Result<ProcessPoolExecutor> {
        let shared = Arc::new(PShared {
            state: Mutex::new(PState {
                jobs: VecDeque::new(),
                shutdown: false,
                next_id: 0,
                pids: Vec::new(),
            }),
            work: Condvar::new(),
            max_tasks_per_child: self.max_tasks_per_child,
        });
        let exe = std::env::current_exe()?;
        let mut managers = Vec::new();
        for i in 0..self.max_workers {
            let worker = Worker::start(&exe, &shared)?;
            let s = shared.clone();
            let exe = exe.clone();
            managers.push(
                std::thread::Builder::new()
                    .name(format!("process-pool-{i}"))
                    .spawn(move || manage(s, exe, worker))?,
            );
        }
        Ok(ProcessPoolExecutor {
            shared,
            managers: Mutex::new(managers),
        })
    }
}

struct Worker {
    child: Child,
    sock: UnixStream,
    done: usize,
}

impl Worker {
    fn start(exe: &std::path::Path, shared: &PShared) -> io::Result<Worker> {
        let (parent, child_end) = UnixStream::pair()?;
        let child = Command::new(exe)
            .env(WORKER_ENV, "1")
            .stdin(Stdio::from(OwnedFd::from(child_end)))
            .spawn()?;
        plock(shared).pids.push(child.id());
        Ok(Worker {
            child,
            sock: parent,
            done: 0,
        })
    }

    /// Closes the socket (the worker sees end-of-file and exits) and reaps the process.
    fn stop(mut self, shared: &PShared) -> Option<std::process::ExitStatus> {
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
        let status = self.child.wait().ok();
        plock(shared).pids.retain(|p| *p != self.child.id());
        status
    }
}

/// One manager thread per worker: feeds it jobs, replaces it when it dies or has done
/// `max_tasks_per_child` jobs, and reaps it at shutdown.
fn manage(shared: Arc<PShared>, exe: std::path::PathBuf, mut worker: Worker) {
    loop {
        let job = {
            let mut st = plock(&shared);
            loop {
                if let Some(j) = st.jobs.pop_front() {
                    st.next_id += 1;
                    break Some((j, st.next_id));
                }
                if st.shutdown {
                    break None;
                }
                st = shared.work.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Some((job, id)) = job else {
            worker.stop(&shared);
            return;
        };
        if !(job.start)() {
            continue; // cancelled while queued
        }
        let req = Request {
            id,
            name: job.name,
            args: job.args,
        };
        let outcome = write_frame(&mut worker.sock, &req)
            .and_then(|()| read_frame::<Response>(&mut worker.sock));
        match outcome {
            Ok(resp) => {
                worker.done += 1;
                (job.finish)(match (resp.ok, resp.err) {
                    (Some(v), _) => Ok(v),
                    (None, Some((kind, msg))) => Err(kind.into_error(msg)),
                    (None, None) => Ok(serde_json::Value::Null),
                });
                if shared.max_tasks_per_child.is_some_and(|m| worker.done >= m) {
                    worker.stop(&shared);
                    match Worker::start(&exe, &shared) {
                        Ok(w) => worker = w,
                        Err(_) => return,
                    }
                }
            }
            Err(e) => {
                // The worker died with the job: fail it, reap the process, start another.
                let status = worker.stop(&shared);
                (job.finish)(Err(PoolError::BrokenProcessPool(format!(
                    "the worker process died while running the job ({}; {e})",
                    status.map_or("unknown status".to_string(), |s| s.to_string())
                ))));
                match Worker::start(&exe, &shared) {
                    Ok(w) => worker = w,
                    Err(_) => return,
                }
            }
        }
    }
}

/// A pool of worker processes with concurrent.futures semantics (Python's
/// `ProcessPoolExecutor`); see the [module docs](self) for how the workers are started and
/// what happens when one dies.
///
/// Jobs name a function of the program's [`Registry`]; the argument and the result cross the
/// process boundary as JSON.
///
/// ```no_run
/// fn square(x: u64) -> u64 { x * x }
/// runtime::process_functions! { static FUNCS = [square]; }
///
/// fn main() -> std::io::Result<()> {
///     runtime::pool::process::worker_main(&FUNCS); // a worker serves jobs and exits here
///     let pool = runtime::pool::ProcessPoolExecutor::new(2)?;
///     let fut = pool.submit::<u64, _>("square", &12u64).unwrap();
///     assert_eq!(fut.result(None), Ok(144));
///     Ok(())
/// }
/// ```
pub struct ProcessPoolExecutor {
    shared: Arc<PShared>,
    managers: Mutex<Vec<JoinHandle<()>>>,
}

impl ProcessPoolExecutor {
    /// A pool of `max_workers` worker processes.
    ///
    /// # Errors
    ///
    /// If a worker cannot be started.
    pub fn new(max_workers: usize) -> io::Result<ProcessPoolExecutor> {
        Self::builder().max_workers(max_workers).build()
    }

    /// A builder (`max_workers`, `max_tasks_per_child`).
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder {
            max_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_tasks_per_child: None,
        }
    }

    /// Runs the registered function `name` on `args` in a worker process.
    ///
    /// # Errors
    ///
    /// [`ShutDownError`] after [`shutdown`](ProcessPoolExecutor::shutdown).
    ///
    /// # Panics
    ///
    /// If `args` cannot be encoded as JSON.
    pub fn submit<R, A>(&self, name: &str, args: &A) -> Result<PoolFuture<R>, ShutDownError>
    where
        R: DeserializeOwned + Send + 'static,
        A: Serialize + ?Sized,
    {
        let fut: PoolFuture<R> = PoolFuture::new();
        if let Some(registry) = REGISTRY.get() {
            if registry.get(name).is_none() {
                // Checked before anything is sent: the workers run this same registry.
                if plock(&self.shared).shutdown {
                    return Err(ShutDownError);
                }
                fut.handle()
                    .complete(Err(PoolError::UnknownFunction(format!(
                        "no function named {name:?} in the registry"
                    ))));
                return Ok(fut);
            }
        }
        let (f1, f2) = (fut.handle(), fut.handle());
        let job = PJob {
            name: name.to_owned(),
            args: serde_json::to_value(args).expect("process pool: arguments must encode as JSON"),
            start: Box::new(move || f1.set_running()),
            finish: Box::new(move |r| {
                f2.complete(r.and_then(|v| {
                    serde_json::from_value(v).map_err(|e| {
                        PoolError::BadResult(format!("the result does not decode: {e}"))
                    })
                }));
            }),
        };
        let mut st = plock(&self.shared);
        if st.shutdown {
            return Err(ShutDownError);
        }
        st.jobs.push_back(job);
        drop(st);
        self.shared.work.notify_one();
        Ok(fut)
    }

    /// Runs `name` on every item; results in input order (concurrent.futures `map`).
    ///
    /// # Panics
    ///
    /// If the pool was shut down.
    pub fn map<R, A, I>(&self, name: &str, items: I) -> impl Iterator<Item = Result<R, PoolError>>
    where
        R: DeserializeOwned + Send + 'static,
        A: Serialize,
        I: IntoIterator<Item = A>,
    {
        let futs: Vec<PoolFuture<R>> = items
            .into_iter()
            .map(|a| {
                self.submit(name, &a)
                    .expect("ProcessPoolExecutor::map after shutdown")
            })
            .collect();
        futs.into_iter().map(PoolFuture::into_result)
    }

    /// Stops accepting jobs; with `cancel_futures` cancels the queued ones; with `wait`
    /// blocks until the running jobs are done and every worker has exited and been reaped.
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        let cancelled: Vec<PJob> = {
            let mut st = plock(&self.shared);
            st.shutdown = true;
            if cancel_futures {
                st.jobs.drain(..).collect()
            } else {
                Vec::new()
            }
        };
        for job in cancelled {
            (job.finish)(Err(PoolError::Cancelled));
        }
        self.shared.work.notify_all();
        if wait {
            let handles =
                std::mem::take(&mut *self.managers.lock().unwrap_or_else(|e| e.into_inner()));
            for h in handles {
                let _ = h.join();
            }
        }
    }

    /// The process ids of the live workers.
    pub fn worker_pids(&self) -> Vec<u32> {
        plock(&self.shared).pids.clone()
    }
}

impl Drop for ProcessPoolExecutor {
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}

impl fmt::Debug for ProcessPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPoolExecutor")
            .field("workers", &self.worker_pids())
            .finish()
    }
}
