//! `Source<S>`: a mio source registered on the running loop.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use mio::Interest;

use std::sync::Arc;

use crate::event_loop::context;
use crate::event_loop::shared::{Injected, Shared};
use crate::reactor::{self, IoKey};

/// A mio source (socket, pipe, or your own `mio::event::Source`) registered on the
/// running loop's `mio::Poll`. Tasks await readiness with [`readable`](Source::readable)
/// and [`writable`](Source::writable), then do the non-blocking operation through
/// [`try_io`](Source::try_io), which clears the cached readiness when it hits `WouldBlock`
/// (readiness is edge-triggered, see the reactor's rule IO2).
///
/// A `Source` belongs to the loop it was created on; use it only there.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use runtime::io::{Interest, Source};
///
/// runtime::run(async {
///     let (a, b) = mio::net::UnixStream::pair().unwrap();
///     let a = Source::new(a, Interest::READABLE).unwrap();
///     let mut b = b;
///     b.write_all(b"ping").unwrap();
///     let mut buf = [0u8; 4];
///     let n = a.read_with(|mut s| s.read(&mut buf)).await.unwrap();
///     assert_eq!(&buf[..n], b"ping");
/// });
/// ```
pub struct Source<S: mio::event::Source> {
    io: Option<S>,
    key: IoKey,
    /// The owning loop's shared part (its id, its registry, its injection queue).
    shared: Arc<Shared>,
    /// A stream socket: a short read or write means its kernel buffer was drained or
    /// filled (IO3). Not assumed for other descriptors: a terminal returns one line per
    /// read even when more are waiting.
    stream_socket: bool,
}

impl<S: mio::event::Source> Source<S> {
    /// Registers `io` on the running loop for `interest`.
    ///
    /// # Errors
    ///
    /// The registration error from the OS.
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    pub fn new(io: S, interest: Interest) -> io::Result<Source<S>> {
        Self::new_with(io, interest, true)
    }

    /// Registers `io`; `counted: false` for the loop's own helpers (the signal pipe) that
    /// must not make a busy loop poll for I/O.
    pub(crate) fn new_with(mut io: S, interest: Interest, counted: bool) -> io::Result<Source<S>> {
        context::expect_core(|core| {
            let key = core.reactor.register_with(&mut io, interest, counted)?;
            Ok(Source {
                io: Some(io),
                key,
                shared: core.shared.clone(),
                stream_socket: false,
            })
        })
    }

    /// Marks a TCP or Unix stream socket (see `stream_socket`).
    pub(crate) fn set_stream_socket(&mut self) {
        self.stream_socket = true;
    }

    /// The wrapped source.
    pub fn get_ref(&self) -> &S {
        self.io.as_ref().expect("source present until drop")
    }

    /// The wrapped source, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        self.io.as_mut().expect("source present until drop")
    }

    /// Polls for readiness in `interest` (readable or writable). Closed and error
    /// conditions count as ready, so the following operation reports them.
    pub fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<()>> {
        self.poll_io(cx, interest.is_writable(), |_| Ok(()))
    }

    /// The one path every operation takes (IO2): one thread-local lookup and one
    /// reactor borrow per attempt. If the source is ready, runs `op`; on `WouldBlock`
    /// clears the readiness and tries again (which then stores the waker and returns
    /// `Pending`). `write` picks the direction.
    #[inline]
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        write: bool,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_drain(cx, write, op, |_| false)
    }

    /// [`poll_io`](Source::poll_io), and when `drained` says the operation's result
    /// emptied (or filled) the kernel buffer, clears the direction's readiness in the same
    /// visit to the loop (IO3: the next attempt would only say `WouldBlock`).
    #[inline]
    fn poll_io_drain<R>(
        &self,
        cx: &mut Context<'_>,
        write: bool,
        mut op: impl FnMut(&S) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        context::expect_core(|core| {
            if !Arc::ptr_eq(&core.shared, &self.shared) {
                return Poll::Ready(Err(io::Error::other(
                    "runtime::io::Source used on a loop other than the one it was created on",
                )));
            }
            let want = direction_bits(write);
            let io = self.io.as_ref().expect("source present until drop");
            loop {
                if !core
                    .reactor
                    .ready_or_park(self.key, want, write, cx.waker())
                {
                    core.note_wait(
                        Some(crate::task::dump::Label::Io(
                            crate::task::dump::io_site::<S>(write),
                        )),
                        false,
                    );
                    return Poll::Pending;
                }
                match op(io) {
                    // IO4: clear every bit we waited for, not just READABLE/WRITABLE: a
                    // stale ERROR or hang-up bit would make this loop spin forever.
                    Err(e) if is_would_block(&e) => core.reactor.clear(self.key, want),
                    Ok(v) => {
                        if drained(&v) {
                            let bits = if write {
                                reactor::WRITABLE
                            } else {
                                reactor::READABLE
                            };
                            core.reactor.clear(self.key, bits);
                        }
                        return Poll::Ready(Ok(v));
                    }
                    r => return Poll::Ready(r),
                }
            }
        })
    }

    /// Waits until the source is readable (or closed, or in error).
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_ready(cx, Interest::READABLE)).await
    }

    /// Waits until the source is writable (or closed, or in error).
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_ready(cx, Interest::WRITABLE)).await
    }

    /// Forgets cached readiness for `interest` (with its closed and error bits), so the
    /// next wait goes to the OS.
    pub fn clear_ready(&self, interest: Interest) {
        self.clear_bits(direction_bits(interest.is_writable()));
    }

    fn clear_bits(&self, bits: u8) {
        context::with_core(|core| {
            if let Some(core) = core.filter(|c| Arc::ptr_eq(&c.shared, &self.shared)) {
                core.reactor.clear(self.key, bits)
            }
        })
    }

    /// Runs the non-blocking operation `f`; if it returns `WouldBlock`, clears the cached
    /// readiness for `interest` and returns the error (wait again, then retry).
    ///
    /// # Errors
    ///
    /// Whatever `f` returns.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        match f(self.get_ref()) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready(interest);
                Err(e)
            }
            r => r,
        }
    }

    /// Waits for readability and runs `f` until it does not return `WouldBlock`.
    ///
    /// # Errors
    ///
    /// Whatever `f` returns other than `WouldBlock`.
    pub async fn read_with<R>(&self, mut f: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(cx, false, &mut f)).await
    }

    /// Waits for writability and runs `f` until it does not return `WouldBlock`.
    ///
    /// # Errors
    ///
    /// Whatever `f` returns other than `WouldBlock`.
    pub async fn write_with<R>(&self, mut f: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(cx, true, &mut f)).await
    }

    /// Deregisters the source and gives it back.
    ///
    /// # Errors
    ///
    /// The deregistration error from the OS.
    pub fn into_inner(mut self) -> io::Result<S> {
        let mut io = self.io.take().expect("source present until drop");
        self.release(&mut io).map(|()| io)
    }

    /// Deregisters `io` and frees the slot: directly on the owning loop; from anywhere
    /// else through the loop's registry, with the slot's release queued to the loop (IO3).
    fn release(&self, io: &mut S) -> io::Result<()> {
        let on_loop = context::with_core(|core| {
            core.filter(|c| c.shared.id == self.shared.id)
                .map(|core| core.reactor.deregister(io, self.key))
        });
        if let Some(r) = on_loop {
            return r;
        }
        let r = self.shared.registry.deregister(io);
        let key = self.key;
        // If the loop is gone, so is its slab: nothing to release.
        let _ = self.shared.inject(Injected::Call(Box::new(move || {
            context::with_core(|core| {
                if let Some(core) = core {
                    core.reactor.forget(key);
                }
            })
        })));
        r
    }
}

/// Byte-stream operations for sources that read and write through a shared reference
/// (mio's TCP and Unix streams): the loops every stream type needs, written once.
impl<S> Source<S>
where
    S: mio::event::Source,
    for<'a> &'a S: io::Read + io::Write,
{
    /// Polls a read: `Ready(Ok(0))` at end of stream; `Pending` (with the task's waker
    /// stored) until the source is readable.
    #[inline]
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        let stream = self.stream_socket;
        // IO3: a short read drained a stream socket's receive queue, so the next read
        // would only say WouldBlock; skip that system call and wait for the next edge
        // (new data makes epoll report the source again).
        self.poll_io_drain(
            cx,
            false,
            |mut s| io::Read::read(&mut s, buf),
            |&n| stream && n > 0 && n < len,
        )
    }

    /// Polls a write; `Pending` (with the task's waker stored) until the source is
    /// writable.
    #[inline]
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        let stream = self.stream_socket;
        // IO3: a short write filled the send buffer; wait for the next edge.
        self.poll_io_drain(
            cx,
            true,
            |mut s| io::Write::write(&mut s, buf),
            |&n| stream && n < len,
        )
    }

    /// Polls a vectored write (one `writev(2)`); as [`poll_write`](Source::poll_write).
    #[inline]
    pub fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        let stream = self.stream_socket;
        self.poll_io_drain(
            cx,
            true,
            |mut s| io::Write::write_vectored(&mut s, bufs),
            |&n| stream && n < len,
        )
    }

    /// Reads some bytes; `Ok(0)` at end of stream.
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `read` consumed nothing.
    pub fn read<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        poll_fn(move |cx| self.poll_read(cx, buf))
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first, or the OS error.
    pub fn read_exact<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        let mut filled = 0;
        poll_fn(move |cx| {
            while filled < buf.len() {
                match ready!(self.poll_read(cx, &mut buf[filled..]))? {
                    0 => return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into())),
                    n => filled += n,
                }
            }
            Poll::Ready(Ok(()))
        })
    }

    /// Writes some bytes; returns how many were written.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn write<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        poll_fn(move |cx| self.poll_write(cx, buf))
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: a cancelled `write_all` may have written part of `buf`, and how
    /// much is lost with the future (as tokio's). Use `StreamWriter::drain` or a
    /// `BufWriter` (which keep the count) when a write may be cancelled.
    pub fn write_all<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a {
        let mut rest = buf;
        poll_fn(move |cx| {
            while !rest.is_empty() {
                match ready!(self.poll_write(cx, rest))? {
                    0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    n => rest = &rest[n..],
                }
            }
            Poll::Ready(Ok(()))
        })
    }
}

/// The readiness bits an operation in one direction waits for (IO2, IO4).
#[inline]
fn direction_bits(write: bool) -> u8 {
    if write {
        reactor::WRITABLE | reactor::WRITE_CLOSED | reactor::ERROR
    } else {
        reactor::READABLE | reactor::READ_CLOSED | reactor::ERROR
    }
}

/// `EAGAIN` without decoding the error kind (the common case), else the kind.
#[inline]
fn is_would_block(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EAGAIN) || e.kind() == io::ErrorKind::WouldBlock
}

/// `futures_io` reading for byte-stream sources (sockets, pipes, [`Fd`](super::Fd)).
impl<S> futures_io::AsyncRead for Source<S>
where
    S: mio::event::Source + Unpin,
    for<'a> &'a S: io::Read + io::Write,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Source::poll_read(&self, cx, buf)
    }
}

/// `futures_io` writing for byte-stream sources. `poll_flush` and `poll_close` have
/// nothing to do (writes are not buffered; the descriptor closes when the `Source` is
/// dropped); sockets' own types shut down their write side on close.
impl<S> futures_io::AsyncWrite for Source<S>
where
    S: mio::event::Source + Unpin,
    for<'a> &'a S: io::Read + io::Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Source::poll_write(&self, cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl<S: mio::event::Source> Drop for Source<S> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            let _ = self.release(&mut io);
        }
    }
}

impl<S: mio::event::Source + fmt::Debug> fmt::Debug for Source<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source").field("io", &self.io).finish()
    }
}

/// Reads into memory that need not be initialised (hyper's and tokio's read buffers): one
/// `read(2)` straight into the caller's buffer, with no zeroing and no copy.
impl<S> Source<S>
where
    S: mio::event::Source + std::os::fd::AsRawFd,
    for<'a> &'a S: io::Read + io::Write,
{
    /// Polls a read into `buf`; `Ready(Ok(n))` means the first `n` bytes of `buf` are now
    /// initialised (`0` at end of stream).
    #[cfg(any(feature = "hyper", feature = "tokio-io"))]
    #[inline]
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        let stream = self.stream_socket;
        let read = |s: &S| {
            // SAFETY: `buf` is valid for writes of `len` bytes for the whole call (a unique
            // borrow); read(2) writes at most `len` bytes and never reads them, so their
            // being uninitialised is fine. The descriptor is owned by `s`, alive here.
            let n = unsafe { libc::read(s.as_raw_fd(), buf.as_mut_ptr().cast(), len) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        };
        // IO3, as in `poll_read`.
        self.poll_io_drain(cx, false, read, |&n| stream && n > 0 && n < len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_dropped_off_its_loop_gives_its_slot_back() {
        let rt = crate::Runtime::new().unwrap();
        let (a, _b) = mio::net::UnixStream::pair().unwrap();
        let src = rt.block_on(async { Source::new(a, Interest::READABLE).unwrap() });
        drop(src); // off the loop: the release is queued to it
        rt.block_on(async {
            crate::yield_now().await;
            context::expect_core(|c| assert!(!c.reactor.has_sources(), "the slot stayed"));
        });
    }
}
