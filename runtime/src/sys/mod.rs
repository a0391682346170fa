//! The platform layer: every call that differs between operating systems lives here, so
//! the rest of the crate is portable Unix (mio, `libc`'s POSIX calls) and this file is
//! the list of what a port must provide. Linux is built and tested; macOS and FreeBSD
//! are compile-checked in CI (see `docs/ARCHITECTURE.md`, "Platforms").
//!
//! | need | Linux | macOS | FreeBSD |
//! |---|---|---|---|
//! | this thread's `errno` slot (the signal handler saves and restores it) | `__errno_location` | `__error` | `__error` |
//! | a non-blocking, close-on-exec pipe | `pipe2` | `pipe` + `fcntl` (see [`pipe`]) | `pipe2` |
//! | a non-blocking stream socket | `SOCK_NONBLOCK` at creation | `fcntl` after creation | `SOCK_NONBLOCK` at creation |
//! | a child's exit as a readable descriptor | `pidfd_open` (5.3+) | none: `SIGCHLD` | none: `SIGCHLD` |

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// This thread's `errno` slot. Async-signal-safe.
#[inline]
pub(crate) fn errno_location() -> *mut libc::c_int {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: returns the calling thread's errno slot; no precondition.
    let p = unsafe { libc::__errno_location() };
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "dragonfly"
    ))]
    // SAFETY: as above (the BSDs' and Darwin's name for it).
    let p = unsafe { libc::__error() };
    #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
    // SAFETY: as above.
    let p = unsafe { libc::__errno() };
    p
}

/// A pipe whose two ends are non-blocking and close-on-exec: `(read, write)`.
///
/// Where `pipe2` exists the flags are set atomically. Elsewhere (macOS) they are set with
/// `fcntl` right after `pipe`: a `fork`+`exec` on another thread in between would leak
/// the two descriptors into that child (they are the signal self-pipe's, so the child
/// could only write wake-up bytes the loop ignores), the race std's own `pipe` has there.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    #[cfg(not(any(target_os = "macos", target_os = "ios")))]
    {
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        // SAFETY: `fds` has room for the two descriptors pipe writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // SAFETY: the call succeeded, so both descriptors are open and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    for fd in [&read, &write] {
        use std::os::fd::AsRawFd;
        set_cloexec(fd.as_raw_fd())?;
        crate::io::fd::set_nonblocking(fd.as_raw_fd())?;
    }
    Ok((read, write))
}

#[cfg(any(target_os = "macos", target_os = "ios"))]
fn set_cloexec(fd: libc::c_int) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own; no memory is touched.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A non-blocking, close-on-exec stream socket of `domain`.
pub(crate) fn stream_socket(domain: socket2::Domain) -> io::Result<socket2::Socket> {
    use socket2::{Protocol, Socket, Type};
    #[cfg(not(any(target_os = "macos", target_os = "ios")))]
    {
        // Atomic flags (socket2 adds SOCK_CLOEXEC too).
        Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP))
    }
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        // No SOCK_NONBLOCK: set it right after (socket2 sets close-on-exec there itself).
        let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        s.set_nonblocking(true)?;
        Ok(s)
    }
}

/// A descriptor that becomes readable when child `pid` exits (Linux: a pidfd), or
/// `None` where the platform has none (or the kernel is too old): the caller then waits
/// for `SIGCHLD`.
pub(crate) fn child_exit_fd(pid: u32) -> Option<OwnedFd> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd >= 0 {
            // SAFETY: the syscall returned a fresh descriptor that nothing else owns.
            return Some(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
        None
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// Pins the calling thread to CPU `cpu` (`LoopPool`'s optional pinning). Linux only;
/// elsewhere an `Unsupported` error (macOS has no hard affinity; FreeBSD's `cpuset` is
/// not wired up yet).
pub(crate) fn pin_current_thread(cpu: usize) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `cpu_set_t` is plain data (all zeroes is the empty set); CPU_SET writes
        // within it (checked against its size below), and sched_setaffinity only reads it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "CPU index too large",
                ));
            }
            libc::CPU_SET(cpu, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpu;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "pinning a thread to a CPU is supported on Linux only",
        ))
    }
}
