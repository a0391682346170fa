//! [`Fd`]: any file descriptor (a pipe, a tty, a character device) as a mio source.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// An owned file descriptor in non-blocking mode, usable as a mio source: wrap it in a
/// [`Source`](super::Source) to read and write it from tasks. Use it for descriptors the
/// runtime has no type for (pipes, terminals, devices, descriptors from other
/// libraries). Regular files are always "ready" to epoll (it refuses them); use
/// [`runtime::fs`](crate::fs) for those.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, Fd, Interest, Source};
/// use std::io::Write;
///
/// runtime::run(async {
///     // Any descriptor works; a socket pair stands in for a device here.
///     let (r, mut w) = std::os::unix::net::UnixStream::pair().unwrap();
///     let mut r = Source::new(Fd::new(r.into()).unwrap(), Interest::READABLE).unwrap();
///     w.write_all(b"through a descriptor").unwrap();
///     drop(w);
///     let mut s = String::new();
///     r.read_to_string(&mut s).await.unwrap();
///     assert_eq!(s, "through a descriptor");
/// });
/// ```
pub struct Fd {
    file: File,
}

impl Fd {
    /// Takes ownership of `fd` and switches it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The error of `fcntl`.
    pub fn new(fd: OwnedFd) -> io::Result<Fd> {
        set_nonblocking(fd.as_raw_fd())?;
        Ok(Fd { file: fd.into() })
    }

    /// Gives back the descriptor (still non-blocking).
    pub fn into_owned(self) -> OwnedFd {
        self.file.into()
    }
}

/// Sets `O_NONBLOCK` on `fd`.
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl with F_GETFL/F_SETFL reads and writes the flags of a descriptor the
    // caller owns; it touches no memory of ours.
    let r = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            flags
        } else {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK)
        }
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl mio::event::Source for Fd {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        SourceFd(&self.file.as_raw_fd()).register(r, t, i)
    }
    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        SourceFd(&self.file.as_raw_fd()).reregister(r, t, i)
    }
    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        SourceFd(&self.file.as_raw_fd()).deregister(r)
    }
}

impl Read for &Fd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.file).read(buf)
    }
}

impl Write for &Fd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.file).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for Fd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

impl fmt::Debug for Fd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Fd").field(&self.file.as_raw_fd()).finish()
    }
}
