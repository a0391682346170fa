//! Child processes on the loop (asyncio `create_subprocess_exec`): [`Command`] spawns,
//! piped stdin/stdout/stderr are async streams, [`Child::wait`] waits on the reactor.
//!
//! How the exit is observed (rule PR1): on Linux 5.3+ a `pidfd` for the child is
//! registered on the loop's `mio::Poll`; it turns readable when the child exits, and
//! `waitpid` then reaps it without blocking. Where `pidfd_open` is missing, the loop
//! listens for `SIGCHLD` and tries `waitpid(pid, WNOHANG)` on each delivery.
//!
//! No zombies (PR2): a [`Child`] dropped before its process was reaped is handed to a
//! process-wide reaper thread, which reaps it when it exits (optionally after killing
//! it, see [`Command::kill_on_drop`]).

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::pin::Pin;
use std::process::{ExitStatus, Output, Stdio};
use std::sync::{Condvar, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::io::{AsyncRead, AsyncReadExt, AsyncWrite, Fd, Interest, Source};

/// A command to spawn, configured like `std::process::Command` (whose builder methods it
/// mirrors), spawned on the running loop.
///
/// # Examples
///
/// ```
/// use runtime::process::Command;
///
/// runtime::run(async {
///     let out = Command::new("echo").arg("hello").output().await.unwrap();
///     assert!(out.status.success());
///     assert_eq!(out.stdout, b"hello\n");
/// });
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// `stdin` was configured (else `output` gives the child a null stdin, as std does).
    stdin_set: bool,
}

impl Command {
    /// A command running `program` (looked up in `PATH` if it has no slash).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            std: std::process::Command::new(program),
            kill_on_drop: false,
            stdin_set: false,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts from an empty environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Configures stdin (`Stdio::piped()` gives [`Child::stdin`]).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Configures stdout (`Stdio::piped()` gives [`Child::stdout`]).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// Configures stderr (`Stdio::piped()` gives [`Child::stderr`]).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Whether dropping the [`Child`] before it was reaped kills the process (`SIGKILL`)
    /// first. Default false: the process runs on and is reaped when it exits.
    pub fn kill_on_drop(&mut self, on: bool) -> &mut Command {
        self.kill_on_drop = on;
        self
    }

    /// Spawns the process.
    ///
    /// # Errors
    ///
    /// The spawn error (e.g. `NotFound` for a missing program).
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    pub fn spawn(&mut self) -> io::Result<Child> {
        let mut std = self.std.spawn()?;
        let stdin = std.stdin.take().map(|s| pipe(s.into())).transpose();
        let stdout = std.stdout.take().map(|s| pipe(s.into())).transpose();
        let stderr = std.stderr.take().map(|s| pipe(s.into())).transpose();
        let exit = ExitWatch::new(std.id());
        let mut child = Child {
            std: Some(std),
            status: None,
            exit: None,
            kill_on_drop: self.kill_on_drop,
            stdin: None,
            stdout: None,
            stderr: None,
        };
        // On any error past spawn, `child` is dropped and handed to the reaper.
        child.exit = Some(exit?);
        child.stdin = stdin?.map(|s| ChildStdin { source: Some(s) });
        child.stdout = stdout?.map(|s| ChildStdout { source: s });
        child.stderr = stderr?.map(|s| ChildStderr { source: s });
        Ok(child)
    }

    /// Spawns the process and waits for it (stdio inherited unless configured).
    ///
    /// # Errors
    ///
    /// The spawn or wait error.
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        // Pipes configured earlier (or left by `output`) are drained while waiting, so a
        // chatty child cannot block on a full pipe nobody reads.
        Ok(self.spawn()?.wait_with_output().await?.status)
    }

    /// Spawns the process with stdout and stderr piped (this sets them on the
    /// `Command`), collects both while it runs, and waits for it (asyncio
    /// `communicate()`). Unless stdin was configured, the child's stdin is null (it
    /// reads end of file at once), as with std's and tokio's `output`; a piped stdin is
    /// closed at once.
    ///
    /// # Errors
    ///
    /// The spawn, read or wait error.
    pub async fn output(&mut self) -> io::Result<Output> {
        self.std.stdout(Stdio::piped()).stderr(Stdio::piped());
        if !self.stdin_set {
            self.std.stdin(Stdio::null());
        }
        let spawned = self.spawn();
        if !self.stdin_set {
            self.std.stdin(Stdio::inherit()); // `spawn`/`status` keep their default
        }
        let mut child = spawned?;
        child.stdin = None;
        child.wait_with_output().await
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

fn pipe(fd: OwnedFd) -> io::Result<Source<Fd>> {
    Source::new(Fd::new(fd)?, Interest::READABLE | Interest::WRITABLE)
}

/// How a child's exit reaches the loop: a pidfd, or `SIGCHLD` deliveries.
enum ExitWatch {
    Pidfd(Source<Fd>),
    Sigchld(crate::signal::Signal),
}

impl ExitWatch {
    fn new(pid: u32) -> io::Result<ExitWatch> {
        if let Some(fd) = crate::sys::child_exit_fd(pid) {
            return Ok(ExitWatch::Pidfd(Source::new(
                Fd::new(fd)?,
                Interest::READABLE,
            )?));
        }
        Ok(ExitWatch::Sigchld(crate::signal::Signal::new(
            crate::signal::SignalKind::CHILD,
        )?))
    }

    /// Ready when the child may have changed state.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            ExitWatch::Pidfd(s) => s.poll_ready(cx, Interest::READABLE),
            ExitWatch::Sigchld(s) => s.poll_recv(cx).map(|_| Ok(())),
        }
    }
}

/// A spawned child process.
pub struct Child {
    std: Option<std::process::Child>,
    status: Option<ExitStatus>,
    exit: Option<ExitWatch>,
    kill_on_drop: bool,
    /// The child's stdin, if piped. Drop it (or `close` it) to send end of file.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// The process id (`None` once reaped, as the id may be reused then).
    pub fn id(&self) -> Option<u32> {
        match self.status {
            Some(_) => None,
            None => self.std.as_ref().map(std::process::Child::id),
        }
    }

    /// Waits for the process to exit and reaps it. Cancel safe; may be called again
    /// after it returned (it returns the same status).
    ///
    /// # Errors
    ///
    /// The OS error of `waitpid`.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        std::future::poll_fn(|cx| self.poll_wait(cx)).await
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        loop {
            if let Some(s) = self.try_wait()? {
                return Poll::Ready(Ok(s));
            }
            let exit = self.exit.as_mut().expect("a live child has an exit watch");
            std::task::ready!(exit.poll_event(cx))?;
            if let Some(s) = self.try_wait()? {
                return Poll::Ready(Ok(s));
            }
            // A wake-up without an exit (a SIGCHLD for another child): wait again. A pidfd
            // is readable only after the exit, so this is not reached for it; clear anyway
            // so a spurious event cannot make this loop spin.
            if let Some(ExitWatch::Pidfd(s)) = &self.exit {
                s.clear_ready(Interest::READABLE);
            }
        }
    }

    /// The exit status if the process has exited (reaping it), without waiting.
    ///
    /// # Errors
    ///
    /// The OS error of `waitpid`.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let std = self.std.as_mut().expect("child present until drop");
        let s = std.try_wait()?;
        if s.is_some() {
            self.status = s;
            self.exit = None; // closes the pidfd
        }
        Ok(s)
    }

    /// Sends `SIGKILL` without waiting (a process already reaped is left alone).
    ///
    /// # Errors
    ///
    /// The OS error of `kill`.
    pub fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        self.std.as_mut().expect("child present until drop").kill()
    }

    /// Kills the process (`SIGKILL`) and waits for it.
    ///
    /// # Errors
    ///
    /// The OS error of `kill` or `waitpid`.
    pub async fn kill(&mut self) -> io::Result<ExitStatus> {
        self.start_kill()?;
        self.wait().await
    }

    /// Closes stdin, reads stdout and stderr to their ends while waiting for the process,
    /// and returns all three (asyncio `communicate()`).
    ///
    /// # Errors
    ///
    /// A read or wait error.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        self.stdin = None;
        let mut stdout = self.stdout.take();
        let mut stderr = self.stderr.take();
        let read_out = async {
            let mut v = Vec::new();
            if let Some(s) = &mut stdout {
                s.read_to_end(&mut v).await?;
            }
            io::Result::Ok(v)
        };
        let read_err = async {
            let mut v = Vec::new();
            if let Some(s) = &mut stderr {
                s.read_to_end(&mut v).await?;
            }
            io::Result::Ok(v)
        };
        let (out, err) = crate::join!(read_out, read_err);
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout: out?,
            stderr: err?,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        let Some(mut std) = self.std.take() else {
            return;
        };
        if self.kill_on_drop {
            let _ = std.kill();
        }
        if let Ok(None) = std.try_wait() {
            Reaper::adopt(std);
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.std.as_ref().map(std::process::Child::id))
            .field("status", &self.status)
            .finish()
    }
}

/// Reaps dropped children that were still running.
struct Reaper {
    orphans: Mutex<Vec<std::process::Child>>,
    added: Condvar,
}

impl Reaper {
    fn adopt(child: std::process::Child) {
        static REAPER: OnceLock<&'static Reaper> = OnceLock::new();
        let reaper = *REAPER.get_or_init(|| {
            let r: &'static Reaper = Box::leak(Box::new(Reaper {
                orphans: Mutex::new(Vec::new()),
                added: Condvar::new(),
            }));
            std::thread::Builder::new()
                .name("runtime-reaper".into())
                .spawn(move || r.run())
                .expect("runtime: cannot start the child reaper thread");
            r
        });
        reaper
            .orphans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(child);
        reaper.added.notify_one();
    }

    fn run(&self) {
        let mut orphans = self.orphans.lock().unwrap_or_else(|p| p.into_inner());
        let mut pause = Duration::from_millis(1);
        loop {
            orphans.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
            if orphans.is_empty() {
                pause = Duration::from_millis(1);
                orphans = self.added.wait(orphans).unwrap_or_else(|p| p.into_inner());
            } else {
                // Polling with back-off: orphans are rare, and a blocking wait on one
                // pid would delay reaping the others.
                orphans = self
                    .added
                    .wait_timeout(orphans, pause)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
        }
    }
}

macro_rules! child_pipe {
    ($(#[$m:meta])* $name:ident, read) => {
        $(#[$m])*
        pub struct $name {
            source: Source<Fd>,
        }

        impl AsyncRead for $name {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                self.source.poll_read(cx, buf)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish()
            }
        }
    };
}

child_pipe!(
    /// The child's stdout: an [`AsyncRead`] (wrap it in a
    /// [`BufReader`](crate::io::BufReader) for lines).
    ChildStdout,
    read
);
child_pipe!(
    /// The child's stderr: an [`AsyncRead`].
    ChildStderr,
    read
);

/// The child's stdin: an [`AsyncWrite`]. Dropping it closes the pipe (the child reads
/// end of file).
pub struct ChildStdin {
    source: Option<Source<Fd>>,
}

/// `close` closes the pipe: the child reads end of file; later writes fail with
/// `BrokenPipe`.
impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &self.source {
            Some(s) => s.poll_write(cx, buf),
            None => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "ChildStdin: written after close",
            ))),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.source = None;
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChildStdin")
    }
}
