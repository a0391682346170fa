//! Unix signals on the loop's reactor: [`ctrl_c`] and [`Signal`] streams (asyncio's
//! `loop.add_signal_handler`).
//!
//! How it works (rule SG1-SG3 in `docs/ARCHITECTURE.md`): the process-wide handler for a
//! listened signal only does async-signal-safe work: it bumps that signal's delivery
//! counter and writes one byte into the self-pipe of every loop that listens. Each
//! such loop has its pipe's read end registered on its `mio::Poll` and a small driver
//! task that drains the pipe and wakes the loop's listeners, which compare the counter
//! with the value they last saw. Deliveries that arrive before a listener looks again
//! coalesce into one item, as with every Unix signal.
//!
//! When the last listener of a signal in the process goes away, the signal's previous
//! disposition is restored, so a program that stopped listening for `SIGINT` dies of
//! Ctrl-C again.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use crate::io::{Fd, Interest, Source};
use crate::task::Task;

/// Signal numbers go up to `SIGRTMAX` (64 on Linux).
const MAX_SIGNAL: usize = 65;
/// Loops that may listen for signals at the same time.
const MAX_LOOPS: usize = 64;

/// Listeners the program made (not `run`'s default Ctrl-C listener), per signal.
static USER_LISTENERS: [AtomicUsize; MAX_SIGNAL] = [const { AtomicUsize::new(0) }; MAX_SIGNAL];
/// Per signal, the delivery count up to which a program's own listener has received
/// the deliveries: `run`'s default Ctrl-C action leaves those alone.
static HANDLED: [AtomicU64; MAX_SIGNAL] = [const { AtomicU64::new(0) }; MAX_SIGNAL];

/// Deliveries per signal since the process started (bumped by the handler).
static COUNTS: [AtomicU64; MAX_SIGNAL] = [const { AtomicU64::new(0) }; MAX_SIGNAL];
/// Deliveries of any listened signal (lets a busy loop notice one without a syscall).
static EPOCH: AtomicU64 = AtomicU64::new(0);
/// Write ends of the self-pipes the handler writes to; -1 for an empty slot.
static WRITE_FDS: [AtomicI32; MAX_LOOPS] = [const { AtomicI32::new(-1) }; MAX_LOOPS];

/// Process-wide bookkeeping, touched only outside signal handlers.
struct Global {
    /// Self-pipes not lent to a loop (their write ends stay in `WRITE_FDS` forever, so
    /// the handler never writes to a descriptor number that was closed and reused).
    idle_pipes: Vec<Pipe>,
    /// Slots of `WRITE_FDS` in use.
    slots_used: usize,
    /// Per signal: listeners in the process, and the disposition to restore at zero.
    listeners: [usize; MAX_SIGNAL],
    previous: [Option<libc::sigaction>; MAX_SIGNAL],
}

struct Pipe {
    read: OwnedFd,
    _write: OwnedFd,
}

static GLOBAL: Mutex<Global> = Mutex::new(Global {
    idle_pipes: Vec::new(),
    slots_used: 0,
    listeners: [0; MAX_SIGNAL],
    previous: [None; MAX_SIGNAL],
});

fn global() -> std::sync::MutexGuard<'static, Global> {
    GLOBAL.lock().unwrap_or_else(|p| p.into_inner())
}

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe work: atomics and write(2). errno is saved and restored so
    // the interrupted code does not see ours.
    let errno_slot = crate::sys::errno_location();
    // SAFETY: the calling thread's errno slot, valid for as long as the thread.
    let errno = unsafe { *errno_slot };
    if let Some(count) = usize::try_from(sig).ok().and_then(|s| COUNTS.get(s)) {
        count.fetch_add(1, Ordering::SeqCst);
    }
    EPOCH.fetch_add(1, Ordering::SeqCst);
    let byte = [sig as u8];
    for fd in &WRITE_FDS {
        let fd = fd.load(Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: `fd` is the write end of a pipe that is never closed (see
            // `Global::idle_pipes`); the buffer is one valid byte. A full pipe returns
            // EAGAIN (the pipe is non-blocking), which is fine: a wake-up is pending.
            unsafe { libc::write(fd, byte.as_ptr().cast(), 1) };
        }
    }
    // SAFETY: as above.
    unsafe { *errno_slot = errno };
}

/// Whether a signal arrived since this loop last looked (`seen` is the loop's copy): a
/// busy loop then polls the reactor so its self-pipe is read (SG3).
pub(crate) fn epoch_changed(seen: &std::cell::Cell<u64>) -> bool {
    let now = EPOCH.load(Ordering::Relaxed);
    if now == seen.get() {
        return false;
    }
    seen.set(now);
    true
}

/// Like [`epoch_changed`] without recording the look.
#[inline]
pub(crate) fn epoch_differs(seen: &std::cell::Cell<u64>) -> bool {
    EPOCH.load(Ordering::Relaxed) != seen.get()
}

/// Counts a listener of `sig`; installs the handler for the first one.
fn add_listener(sig: usize) -> io::Result<()> {
    let mut g = global();
    if g.listeners[sig] == 0 {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; we fill in
        // the handler and the mask before passing it to the OS, and `old` is written by
        // the OS.
        let r = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            let r = libc::sigaction(sig as libc::c_int, &action, &mut old);
            (r, old)
        };
        if r.0 != 0 {
            return Err(io::Error::last_os_error());
        }
        g.previous[sig] = Some(r.1);
    }
    g.listeners[sig] += 1;
    Ok(())
}

/// Uncounts a listener of `sig`; restores the previous disposition after the last one.
fn remove_listener(sig: usize) {
    let mut g = global();
    g.listeners[sig] -= 1;
    if g.listeners[sig] == 0 {
        if let Some(old) = g.previous[sig].take() {
            // SAFETY: `old` is the sigaction the OS gave us when we installed ours.
            unsafe { libc::sigaction(sig as libc::c_int, &old, std::ptr::null_mut()) };
        }
    }
}

/// Whether `sig`'s disposition is the default (nobody installed a handler).
fn is_default(sig: libc::c_int) -> bool {
    // SAFETY: a null new action only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_DFL
    }
}

/// A self-pipe from the idle list or a new one.
fn take_pipe() -> io::Result<Pipe> {
    let mut g = global();
    if let Some(p) = g.idle_pipes.pop() {
        return Ok(p);
    }
    if g.slots_used == MAX_LOOPS {
        return Err(io::Error::other(format!(
            "runtime::signal: at most {MAX_LOOPS} loops may listen for signals at once"
        )));
    }
    let (read, write) = crate::sys::pipe()?;
    WRITE_FDS[g.slots_used].store(write.as_raw_fd(), Ordering::SeqCst);
    g.slots_used += 1;
    Ok(Pipe {
        read,
        _write: write,
    })
}

/// One loop's listening state: its pipe, its driver task, its listeners' wakers.
struct LoopSignals {
    loop_id: u64,
    pipe: Option<Pipe>,
    driver: Option<Task<()>>,
    wakers: Rc<RefCell<Vec<Option<Waker>>>>,
    free: RefCell<Vec<usize>>,
    /// Listeners of the program's on this loop (not `run`'s default, not task dumps').
    user_listeners: std::cell::Cell<usize>,
}

thread_local! {
    /// The listening state of each loop on this thread (nested loops each have theirs).
    static LOOPS: RefCell<Vec<Weak<LoopSignals>>> = const { RefCell::new(Vec::new()) };
}

impl LoopSignals {
    /// This loop's state, created (with its driver task) on first use.
    fn current() -> io::Result<Rc<LoopSignals>> {
        let loop_id = crate::event_loop::context::expect_core(|c| c.shared.id);
        if let Some(s) = LOOPS.with(|l| {
            l.borrow()
                .iter()
                .filter_map(Weak::upgrade)
                .find(|s| s.loop_id == loop_id)
        }) {
            return Ok(s);
        }
        let pipe = take_pipe()?;
        let dup = pipe.read.try_clone()?;
        let source = Source::new_with(Fd::new(dup)?, Interest::READABLE, false)?;
        let wakers: Rc<RefCell<Vec<Option<Waker>>>> = Rc::default();
        let driver = crate::task::Builder::new()
            .name("runtime::signal driver")
            .spawn({
                let wakers = wakers.clone();
                async move {
                    let mut buf = [0u8; 64];
                    loop {
                        // Drain first: bytes may have arrived before registration.
                        match source
                            .try_io(Interest::READABLE, |mut f| io::Read::read(&mut f, &mut buf))
                        {
                            Ok(_) => {
                                let ws: Vec<Waker> = wakers
                                    .borrow_mut()
                                    .iter_mut()
                                    .filter_map(Option::take)
                                    .collect();
                                ws.into_iter().for_each(Waker::wake);
                            }
                            Err(_) => {
                                if source.readable().await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                }
            });
        let s = Rc::new(LoopSignals {
            loop_id,
            pipe: Some(pipe),
            driver: Some(driver),
            wakers,
            free: RefCell::default(),
            user_listeners: std::cell::Cell::new(0),
        });
        LOOPS.with(|l| {
            let mut l = l.borrow_mut();
            l.retain(|w| w.strong_count() > 0);
            l.push(Rc::downgrade(&s));
        });
        Ok(s)
    }

    fn add_waker_slot(&self) -> usize {
        if let Some(i) = self.free.borrow_mut().pop() {
            return i;
        }
        let mut w = self.wakers.borrow_mut();
        w.push(None);
        w.len() - 1
    }
}

impl Drop for LoopSignals {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.take() {
            driver.cancel();
        }
        if let Some(pipe) = self.pipe.take() {
            global().idle_pipes.push(pipe);
        }
    }
}

/// A Unix signal number, with names for the common ones (tokio's `SignalKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// `SIGINT`: Ctrl-C.
    pub const INTERRUPT: SignalKind = SignalKind(libc::SIGINT);
    /// `SIGTERM`: the polite request to stop (`kill`, systemd, Docker).
    pub const TERMINATE: SignalKind = SignalKind(libc::SIGTERM);
    /// `SIGHUP`: the terminal went away; daemons reload their configuration.
    pub const HANGUP: SignalKind = SignalKind(libc::SIGHUP);
    /// `SIGQUIT`: Ctrl-\\.
    pub const QUIT: SignalKind = SignalKind(libc::SIGQUIT);
    /// `SIGUSR1`.
    pub const USER1: SignalKind = SignalKind(libc::SIGUSR1);
    /// `SIGUSR2`.
    pub const USER2: SignalKind = SignalKind(libc::SIGUSR2);
    /// `SIGCHLD`: a child process changed state.
    pub const CHILD: SignalKind = SignalKind(libc::SIGCHLD);
    /// `SIGWINCH`: the terminal was resized.
    pub const WINDOW_CHANGE: SignalKind = SignalKind(libc::SIGWINCH);
    /// `SIGALRM`.
    pub const ALARM: SignalKind = SignalKind(libc::SIGALRM);
    /// `SIGPIPE`.
    pub const PIPE: SignalKind = SignalKind(libc::SIGPIPE);

    /// Any signal by number (checked by [`Signal::new`]).
    pub const fn from_raw(signal: i32) -> SignalKind {
        SignalKind(signal)
    }

    /// The signal number.
    pub const fn as_raw(self) -> i32 {
        self.0
    }
}

/// A stream of deliveries of one Unix signal to this process, on the running loop
/// (asyncio `loop.add_signal_handler`, tokio `signal::unix::signal`). Each item is one
/// or more deliveries since the last item (signals coalesce). While at least one
/// `Signal` for a signal number exists anywhere in the process, the signal's default
/// action (such as terminating on `SIGTERM`) does not happen.
///
/// # Examples
///
/// ```
/// use runtime::signal::{Signal, SignalKind};
///
/// runtime::run(async {
///     let mut hup = Signal::new(SignalKind::HANGUP).unwrap();
///     // Delivered to ourselves; the loop wakes from its parked state to handle it.
///     // SAFETY: kill(2) on our own pid touches no memory; we listen for SIGHUP.
///     unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
///     hup.recv().await;
/// });
/// ```
pub struct Signal {
    sig: usize,
    seen: u64,
    slot: usize,
    state: Rc<LoopSignals>,
    /// A listener of the program's (false only for `run`'s default Ctrl-C listener).
    user: bool,
}

impl Signal {
    /// Starts listening for `kind` on the running loop.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a signal that cannot be caught (`SIGKILL`, `SIGSTOP`) or is
    /// out of range, or for the fault signals (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`)
    /// that must not be deferred to a loop; `Other` when 64 loops already listen for
    /// signals in this process (the handler's fixed table of self-pipes, rule SG2); the
    /// OS error if a pipe or the handler cannot be set up.
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    pub fn new(kind: SignalKind) -> io::Result<Signal> {
        Signal::listen(kind, true)
    }

    fn listen(kind: SignalKind, user: bool) -> io::Result<Signal> {
        let signal = kind.0;
        let forbidden = [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
        ];
        let sig = usize::try_from(signal)
            .ok()
            .filter(|&s| s > 0 && s < MAX_SIGNAL && !forbidden.contains(&signal))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("runtime::signal: signal {signal} cannot be listened for"),
                )
            })?;
        let state = LoopSignals::current()?;
        add_listener(sig)?;
        let slot = state.add_waker_slot();
        if user {
            USER_LISTENERS[sig].fetch_add(1, Ordering::SeqCst);
            state.user_listeners.set(state.user_listeners.get() + 1);
        }
        Ok(Signal {
            sig,
            seen: COUNTS[sig].load(Ordering::SeqCst),
            slot,
            state,
            user,
        })
    }

    /// Waits for the next delivery. Never returns `None` (the `Option` matches
    /// [`Stream`]'s shape).
    pub async fn recv(&mut self) -> Option<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// A listener of the runtime's own (`Builder::dump_on_signal`): it does not count as
    /// the program's handler, so Ctrl-C and deadlock detection ignore it.
    pub(crate) fn internal(kind: SignalKind) -> io::Result<Signal> {
        Signal::listen(kind, false)
    }

    /// Polls for the next delivery.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let now = COUNTS[self.sig].load(Ordering::SeqCst);
        if now != self.seen {
            self.seen = now;
            if self.user {
                HANDLED[self.sig].fetch_max(now, Ordering::SeqCst);
            }
            return Poll::Ready(Some(()));
        }
        let mut w = self.state.wakers.borrow_mut();
        match &mut w[self.slot] {
            Some(old) if old.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        // The runtime's own listeners (`run`'s Ctrl-C default) do not keep a deadlocked
        // program alive: their waker clone counts as loop-local, and dumps do not show it.
        if self.user {
            crate::task::dump::note_wait(crate::task::dump::Label::Op(&"signal"), false);
        } else {
            crate::task::dump::note_hidden_local_wait();
        }
        Poll::Pending
    }
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        if self.user {
            USER_LISTENERS[self.sig].fetch_sub(1, Ordering::SeqCst);
            let n = &self.state.user_listeners;
            n.set(n.get() - 1);
        }
        self.state.wakers.borrow_mut()[self.slot] = None;
        self.state.free.borrow_mut().push(self.slot);
        remove_listener(self.sig);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("signal", &self.sig).finish()
    }
}

/// Waits for Ctrl-C (`SIGINT`) on the running loop. While it waits, Ctrl-C does not
/// terminate the process, and inside [`run`](crate::run) (or `#[runtime::main]`) the
/// Ctrl-C it receives is the program's: `run` does not cancel the main future for it, so
/// cleanup after `ctrl_c()` can await. A later Ctrl-C that no listener of the program
/// receives ends the program as usual (asyncio: a handler the program installs replaces
/// the runner's default).
///
/// # Errors
///
/// If the listener cannot be set up (see [`Signal::new`]).
///
/// # Examples
///
/// ```no_run
/// #[runtime::main]
/// async fn main() {
///     println!("press Ctrl-C");
///     runtime::signal::ctrl_c().await.unwrap();
///     println!("bye");
/// }
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    Signal::new(SignalKind::INTERRUPT)?.recv().await;
    Ok(())
}

/// What a loop's signal machinery holds, for the deadlock proof.
pub(crate) struct LoopSignalState {
    /// The driver task reading the self-pipe, if the loop listens for signals.
    pub(crate) driver: Option<crate::task::TaskId>,
    /// I/O sources the machinery registered (the self-pipe).
    pub(crate) sources: usize,
    /// Listeners of the program's: a signal may still wake them.
    pub(crate) user_listeners: usize,
}

/// The signal machinery of loop `loop_id` on this thread.
pub(crate) fn loop_state(loop_id: u64) -> LoopSignalState {
    let s = LOOPS.with(|l| {
        l.borrow()
            .iter()
            .filter_map(Weak::upgrade)
            .find(|s| s.loop_id == loop_id)
    });
    match s {
        Some(s) => LoopSignalState {
            driver: s.driver.as_ref().map(|t| t.id()),
            sources: 1,
            user_listeners: s.user_listeners.get(),
        },
        None => LoopSignalState {
            driver: None,
            sources: 0,
            user_listeners: 0,
        },
    }
}

/// For [`run`](crate::run): a `SIGINT` listener if nobody else handles `SIGINT` (its
/// disposition is the default); `None` otherwise or if listening fails.
pub(crate) fn interrupt_listener() -> Option<Signal> {
    if cfg!(miri) {
        return None; // Miri cannot install signal handlers; nothing to interrupt there.
    }
    let ours = global().listeners[libc::SIGINT as usize] > 0;
    if !ours && !is_default(libc::SIGINT) {
        return None;
    }
    Signal::listen(SignalKind::INTERRUPT, false).ok()
}

/// For [`run`](crate::run)'s default listener: ready on a Ctrl-C that nobody else
/// handles. A delivery is the program's own while a listener of its exists (asyncio: a
/// handler the program installs replaces the runner's default) or once one of its
/// listeners received it; only a delivery with neither ends `run`.
pub(crate) fn poll_unhandled_interrupt(default: &mut Signal, cx: &mut Context<'_>) -> Poll<()> {
    let sig = default.sig;
    while default.poll_recv(cx).is_ready() {
        let now = default.seen;
        let owned = USER_LISTENERS[sig].load(Ordering::SeqCst) > 0
            || HANDLED[sig].load(Ordering::SeqCst) >= now;
        if !owned {
            return Poll::Ready(());
        }
    }
    Poll::Pending
}

/// After `run` cancelled its main task on Ctrl-C: end the process the way an
/// uncaught Ctrl-C does (killed by `SIGINT`, so shells and supervisors see it).
pub(crate) fn die_of_interrupt() -> ! {
    eprintln!("KeyboardInterrupt");
    // SAFETY: restoring the default action and re-raising is the documented way to die
    // of a signal; no memory is involved.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::raise(libc::SIGINT);
    }
    std::process::exit(130)
}
