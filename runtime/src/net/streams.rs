//! asyncio-style streams: [`open_connection`] gives a reader and a writer;
//! [`start_server`] runs a handler task per connection. The `unix` variants do the same
//! over Unix-domain sockets.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::task::{Context, Poll};

use super::addr::ToSocketAddrs;
use super::tcp::Backoff;
use super::{TcpListener, TcpStream, UnixListener, UnixStream};
use crate::sync::Notify;
use crate::task::Task;

/// The connection under a reader/writer pair.
enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self {
            Conn::Tcp(s) => s.source().poll_read(cx, buf),
            Conn::Unix(s) => s.source().poll_read(cx, buf),
        }
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Conn::Tcp(s) => s.source().poll_write(cx, buf),
            Conn::Unix(s) => s.source().poll_write(cx, buf),
        }
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.shutdown(how),
            Conn::Unix(s) => s.shutdown(how),
        }
    }
}

/// Connects and returns the two halves (asyncio `open_connection`).
///
/// # Errors
///
/// The connect error.
///
/// # Examples
///
/// ```
/// use runtime::net::{open_connection, start_server};
///
/// runtime::run(async {
///     let server = start_server(
///         |mut r, mut w| async move {
///             let line = r.readline().await.unwrap();
///             w.write(&line);
///             w.drain().await.unwrap();
///         },
///         "127.0.0.1:0",
///     )
///     .unwrap();
///     let (mut reader, mut writer) = open_connection(server.local_addr()).await.unwrap();
///     writer.write(b"hello\n");
///     writer.drain().await.unwrap();
///     assert_eq!(reader.readline().await.unwrap(), b"hello\n");
///     server.close();
/// });
/// ```
pub async fn open_connection(addr: impl ToSocketAddrs) -> io::Result<(StreamReader, StreamWriter)> {
    Ok(split(Conn::Tcp(TcpStream::connect(addr).await?)))
}

/// [`open_connection`] with `limit` as the reader's `readuntil`/`readline` limit
/// (asyncio's `open_connection(..., limit=)`).
///
/// # Errors
///
/// The connect error.
///
/// # Panics
///
/// If `limit` is 0.
pub async fn open_connection_with_limit(
    addr: impl ToSocketAddrs,
    limit: usize,
) -> io::Result<(StreamReader, StreamWriter)> {
    let (mut r, w) = open_connection(addr).await?;
    r.set_limit(limit);
    Ok((r, w))
}

/// Connects to the Unix-domain socket at `path` and returns the two halves (asyncio
/// `open_unix_connection`).
///
/// # Errors
///
/// The connect error (e.g. `NotFound`).
pub async fn open_unix_connection(
    path: impl AsRef<Path>,
) -> io::Result<(StreamReader, StreamWriter)> {
    Ok(split(Conn::Unix(UnixStream::connect(path).await?)))
}

impl TcpStream {
    /// Wraps a connected stream (from your own accept loop, or a [`TcpSocket`](super::TcpSocket)
    /// connect) in asyncio-style reader and writer halves (asyncio's
    /// `open_connection(sock=...)`).
    pub fn into_streams(self) -> (StreamReader, StreamWriter) {
        split(Conn::Tcp(self))
    }
}

impl UnixStream {
    /// Wraps a connected Unix-domain stream in asyncio-style reader and writer halves.
    pub fn into_streams(self) -> (StreamReader, StreamWriter) {
        split(Conn::Unix(self))
    }
}

fn split(stream: Conn) -> (StreamReader, StreamWriter) {
    let stream = Rc::new(stream);
    (
        StreamReader {
            stream: stream.clone(),
            buf: Vec::new(),
            pos: 0,
            end: 0,
            eof: false,
            limit: DEFAULT_LIMIT,
        },
        StreamWriter {
            stream,
            pending: Vec::new(),
            sent: 0,
        },
    )
}

/// asyncio's default stream limit (`asyncio.streams._DEFAULT_LIMIT`): 64 KiB.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// [`StreamReader::readuntil`] or [`readline`](StreamReader::readline) did not find the
/// separator within the reader's limit (asyncio's `LimitOverrunError` for `readuntil`,
/// the `ValueError` it becomes in `readline`).
///
/// It travels inside an [`io::Error`] of kind `InvalidData`; get it back with
/// [`LimitOverrunError::from_io`].
///
/// # Examples
///
/// ```
/// use runtime::net::{open_connection_with_limit, start_server, LimitOverrunError};
///
/// runtime::run(async {
///     let server = start_server(
///         |_r, mut w| async move {
///             w.write(&[b'x'; 100]); // no newline
///             w.drain().await.unwrap();
///         },
///         "127.0.0.1:0",
///     )
///     .unwrap();
///     let (mut r, _w) = open_connection_with_limit(server.local_addr(), 16).await.unwrap();
///     let e = r.readuntil(b"\n").await.unwrap_err();
///     let over = LimitOverrunError::from_io(&e).unwrap();
///     assert_eq!((over.operation, over.limit), ("readuntil", 16));
///     server.close();
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// The operation that hit the limit: `"readuntil"` or `"readline"`.
    pub operation: &'static str,
    /// The reader's limit, in bytes.
    pub limit: usize,
    /// How many buffered bytes the caller must consume to get past the overrun (asyncio's
    /// `consumed`). After `readuntil` they are still buffered; `readline` discarded them.
    pub consumed: usize,
    /// True if the separator was found, but beyond the limit.
    pub separator_found: bool,
}

impl LimitOverrunError {
    /// The limit error inside `err`, if that is what `err` is.
    pub fn from_io(err: &io::Error) -> Option<&LimitOverrunError> {
        err.get_ref().and_then(|e| e.downcast_ref())
    }
}

impl std::fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.separator_found {
            write!(
                f,
                "{}: separator found, but the chunk ({} bytes) exceeds the stream limit of {} bytes",
                self.operation, self.consumed, self.limit
            )
        } else {
            write!(
                f,
                "{}: separator not found within the stream limit of {} bytes                  (raise it with StreamReader::set_limit)",
                self.operation, self.limit
            )
        }
    }
}

impl std::error::Error for LimitOverrunError {}

/// The reading half of a connection (asyncio `StreamReader`), buffered.
///
/// `readuntil`/`readline` look for their separator within [`limit`](StreamReader::limit)
/// bytes (64 KiB by default, as asyncio): a peer that never sends it gets a
/// [`LimitOverrunError`], and the buffer never grows past the limit plus one read.
/// `StreamReader` implements `futures_io::AsyncRead` and `AsyncBufRead`, so the
/// [`io`](crate::io) extension traits work on it.
pub struct StreamReader {
    stream: Rc<Conn>,
    /// Zeroed once and reused: bytes `pos..end` are unread, `end..` is free room.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    limit: usize,
}

/// The reader's first buffer; it doubles when one message outgrows it.
const READ_BUFFER: usize = 8 * 1024;

/// The first index of `byte` in `hay`, eight bytes at a time (a portable memchr).
fn memchr(byte: u8, hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(byte);
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ pattern;
        let zero = w.wrapping_sub(LO) & !w & HI;
        if zero != 0 {
            return Some(base + zero.trailing_zeros() as usize / 8);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == byte)
        .map(|i| base + i)
}

/// The first index of `needle` in `hay` (memchr on the first byte, then a compare).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while from + needle.len() <= hay.len() {
        let i = from + memchr(first, &hay[from..=hay.len() - needle.len()])?;
        if hay[i + 1..].starts_with(rest) {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{find, memchr};

    #[test]
    fn memchr_and_find_agree_with_naive_search() {
        let hay: Vec<u8> = (0..300u32).map(|i| (i * 7 % 13) as u8 + b'a').collect();
        for byte in b'a'..=b'n' {
            for start in 0..20 {
                let h = &hay[start..];
                assert_eq!(memchr(byte, h), h.iter().position(|&b| b == byte));
            }
        }
        let text = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        for needle in [&b"\r\n\r\n"[..], b"\n", b"Host", b"x\r", b"missing", b""] {
            let naive = if needle.is_empty() {
                None
            } else {
                text.windows(needle.len()).position(|w| w == needle)
            };
            assert_eq!(find(text, needle), naive, "{needle:?}");
        }
    }
}

impl StreamReader {
    /// Makes room for a read: false at end of stream. Unread bytes keep their offsets
    /// relative to `pos`. The buffer grows (doubling) only while fewer than `want`
    /// unread bytes fit in it, so its size stays below `want` plus one read.
    #[inline]
    fn prepare_fill(&mut self, want: usize) -> bool {
        if self.eof {
            return false;
        }
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        }
        if self.buf.is_empty() {
            self.buf = vec![0; READ_BUFFER];
        } else if self.end == self.buf.len() {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.end, 0);
                self.end -= self.pos;
                self.pos = 0;
            } else {
                let len = self.buf.len();
                let grown = (len * 2).min(want.max(len) + READ_BUFFER);
                self.buf.resize(grown, 0);
            }
        }
        true
    }

    /// Records a read of `n` bytes (0: end of stream); true if it got bytes.
    #[inline]
    fn filled(&mut self, n: usize) -> bool {
        self.end += n;
        if n == 0 {
            self.eof = true;
        }
        n > 0
    }

    /// Reads more bytes into the buffer; false at end of stream.
    async fn fill(&mut self, want: usize) -> io::Result<bool> {
        if !self.prepare_fill(want) {
            return Ok(false);
        }
        let (stream, room) = (&self.stream, &mut self.buf[self.end..]);
        let n = poll_fn(|cx| stream.poll_read(cx, room)).await?;
        Ok(self.filled(n))
    }

    /// The poll form of `fill`, for the `futures_io` traits.
    fn poll_fill(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<bool>> {
        if !self.prepare_fill(want) {
            return Poll::Ready(Ok(false));
        }
        match self.stream.poll_read(cx, &mut self.buf[self.end..]) {
            Poll::Ready(Ok(n)) => Poll::Ready(Ok(self.filled(n))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let out = self.buf[self.pos..self.pos + n].to_vec();
        debug_assert!(self.pos + n <= self.end);
        self.pos += n;
        out
    }

    /// The limit for `readuntil`/`readline`, in bytes (asyncio's `limit`).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Sets the limit for `readuntil`/`readline` (asyncio's `limit=` argument of
    /// `open_connection`/`start_server`).
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (asyncio: `ValueError`).
    pub fn set_limit(&mut self, limit: usize) {
        assert!(
            limit > 0,
            "StreamReader::set_limit: the limit must be positive"
        );
        self.limit = limit;
    }

    /// Up to `n` bytes (fewer if that is what arrived; empty at end of stream).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        if self.pos == self.end {
            self.fill(0).await?;
        }
        let k = n.min(self.end - self.pos);
        Ok(self.take(k))
    }

    /// Everything until end of stream (asyncio `read()` / `read(-1)`). Not bounded by
    /// the limit, as in asyncio: use it only with peers you trust to stop.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn read_all(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            out.extend_from_slice(&self.buf[self.pos..self.end]);
            self.pos = self.end;
            if !self.fill(0).await? {
                return Ok(out);
            }
        }
    }

    /// Exactly `n` bytes (asyncio `readexactly`).
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first (asyncio's `IncompleteReadError`); the
    /// bytes that did arrive stay buffered (asyncio hands them out in `e.partial`).
    pub async fn readexactly(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.end - self.pos < n {
            if !self.fill(n).await? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} bytes read of {n} expected", self.end - self.pos),
                ));
            }
        }
        Ok(self.take(n))
    }

    /// Bytes up to and including `separator` (asyncio `readuntil`).
    ///
    /// # Errors
    ///
    /// - `UnexpectedEof` if the stream ends before the separator;
    /// - `InvalidData` carrying a [`LimitOverrunError`] if the separator is not within
    ///   [`limit`](StreamReader::limit) bytes (or ends beyond it); the data stays buffered
    ///   and can still be read (asyncio's `LimitOverrunError`).
    ///
    /// # Panics
    ///
    /// If `separator` is empty.
    pub async fn readuntil(&mut self, separator: &[u8]) -> io::Result<Vec<u8>> {
        match self.find_separator(separator, "readuntil").await? {
            Ok(end) => Ok(self.take(end)),
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    }

    /// Where the chunk ending with `separator` ends (relative to `pos`), or the limit
    /// error; `UnexpectedEof` if the stream ends first.
    async fn find_separator(
        &mut self,
        separator: &[u8],
        operation: &'static str,
    ) -> io::Result<Result<usize, LimitOverrunError>> {
        assert!(
            !separator.is_empty(),
            "{operation}: the separator must not be empty"
        );
        // Bytes after `pos` already searched (less an overlap for a split separator).
        let mut checked = 0;
        let limit = self.limit;
        loop {
            let avail = &self.buf[self.pos..self.end];
            if let Some(i) = find(&avail[checked..], separator) {
                let end = checked + i + separator.len();
                if end - separator.len() > limit {
                    return Ok(Err(LimitOverrunError {
                        operation,
                        limit,
                        consumed: end - separator.len(),
                        separator_found: true,
                    }));
                }
                return Ok(Ok(end));
            }
            if avail.len() > limit {
                return Ok(Err(LimitOverrunError {
                    operation,
                    limit,
                    consumed: avail.len() + 1 - separator.len(),
                    separator_found: false,
                }));
            }
            checked = avail.len().saturating_sub(separator.len() - 1);
            if !self.fill(limit + separator.len()).await? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stream ended before the separator",
                ));
            }
        }
    }

    /// One line, with its `\n`; at end of stream, whatever is left (maybe empty), as
    /// asyncio's `readline`.
    ///
    /// # Errors
    ///
    /// The OS error, or `InvalidData` carrying a [`LimitOverrunError`] when no `\n` comes
    /// within the limit. As asyncio's `readline` (its `ValueError`), the over-long line is
    /// discarded: up to and including its `\n` if that is buffered, else everything
    /// buffered, so the next read starts after it.
    pub async fn readline(&mut self) -> io::Result<Vec<u8>> {
        match self.find_separator(b"\n", "readline").await {
            Ok(Ok(end)) => Ok(self.take(end)),
            Ok(Err(e)) => {
                if e.separator_found {
                    self.pos += e.consumed + 1;
                } else {
                    self.pos = self.end;
                }
                Err(io::Error::new(io::ErrorKind::InvalidData, e))
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                let rest = self.end - self.pos;
                Ok(self.take(rest))
            }
            Err(e) => Err(e),
        }
    }

    /// True once the peer closed and the buffer is empty.
    pub fn at_eof(&self) -> bool {
        self.eof && self.pos == self.end
    }
}

impl futures_io::AsyncRead for StreamReader {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pos == this.end {
            if buf.len() >= READ_BUFFER && !this.eof {
                // Nothing buffered and a large read: straight into the caller's buffer.
                return this.stream.poll_read(cx, buf);
            }
            match this.poll_fill(cx, 0) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = buf.len().min(this.end - this.pos);
        buf[..n].copy_from_slice(&this.buf[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(n))
    }
}

impl futures_io::AsyncBufRead for StreamReader {
    fn poll_fill_buf(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.pos == this.end {
            match this.poll_fill(cx, 0) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(&this.buf[this.pos..this.end]))
    }

    fn consume(self: std::pin::Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.pos = (this.pos + amt).min(this.end);
    }
}

/// The writing half of a connection (asyncio `StreamWriter`): `write` buffers, `drain`
/// sends. Implements `futures_io::AsyncWrite` (writes go through the same buffer).
pub struct StreamWriter {
    stream: Rc<Conn>,
    /// Bytes `sent..` are still to send; `..sent` went out already.
    pending: Vec<u8>,
    sent: usize,
}

impl StreamWriter {
    /// Buffers `data` (sent by the next [`drain`](StreamWriter::drain)).
    pub fn write(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
    }

    /// Bytes buffered and not yet sent (asyncio's `transport.get_write_buffer_size()`).
    pub fn buffered(&self) -> usize {
        self.pending.len() - self.sent
    }

    #[inline]
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = match self.stream.poll_write(cx, &self.pending[self.sent..]) {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            // Progress is kept in `self`, so a cancelled drain never sends bytes twice.
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    /// Sends everything buffered (asyncio `drain`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: what a cancelled `drain` sent is gone from the buffer, and the next
    /// `drain` sends the rest, once.
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `BrokenPipe`).
    pub fn drain(&mut self) -> Drain<'_> {
        Drain { writer: self }
    }

    /// Sends what is buffered, then closes the writing side (the peer reads end of stream).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn close(mut self) -> io::Result<()> {
        self.drain().await?;
        self.stream.shutdown(Shutdown::Write)
    }

    /// The peer's address (asyncio `get_extra_info("peername")`).
    ///
    /// # Errors
    ///
    /// The OS error; `Unsupported` on a Unix-domain connection.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match &*self.stream {
            Conn::Tcp(s) => s.peer_addr(),
            Conn::Unix(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a Unix-domain connection has no IP peer address",
            )),
        }
    }
}

/// The future of [`StreamWriter::drain`] (cancel safe).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Drain<'a> {
    writer: &'a mut StreamWriter,
}

impl std::fmt::Debug for Drain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drain")
            .field("buffered", &self.writer.buffered())
            .finish()
    }
}

impl Future for Drain<'_> {
    type Output = io::Result<()>;

    #[inline]
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.writer.poll_drain(cx)
    }
}

impl futures_io::AsyncWrite for StreamWriter {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Earlier buffered bytes go first.
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        this.stream.poll_write(cx, buf)
    }

    fn poll_flush(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_drain(cx)
    }

    fn poll_close(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(this.stream.shutdown(Shutdown::Write)),
            other => other,
        }
    }
}

/// A running server from [`start_server`] or [`start_unix_server`].
///
/// [`close`](Server::close) stops accepting; [`wait_closed`](Server::wait_closed) then
/// waits for the connection handlers still running (asyncio's `close()` +
/// `wait_closed()`). Dropping the `Server` does not stop it (the accept loop is a
/// detached task); call `close`.
pub struct Server {
    addr: Option<SocketAddr>,
    path: Option<PathBuf>,
    acceptor: Task<()>,
    active: Rc<Active>,
}

/// Handlers still running, and a notification when the count reaches zero.
#[derive(Default)]
struct Active {
    count: Cell<usize>,
    accepting: Cell<bool>,
    idle: Notify,
}

/// Decrements the handler count when a handler task ends (or is cancelled).
struct HandlerGuard(Rc<Active>, bool);

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        if self.1 {
            self.0.accepting.set(false);
        }
        let n = self.0.count.get() - 1;
        self.0.count.set(n);
        if n == 0 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Server {
    /// The bound address.
    ///
    /// # Panics
    ///
    /// For a Unix-domain server (see [`path`](Server::path)).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr.expect(
            "Server::local_addr: a Unix-domain server has a path, not an address; use path()",
        )
    }

    /// The socket path of a Unix-domain server.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Stops accepting connections; connections already accepted go on.
    pub fn close(&self) {
        self.acceptor.cancel();
    }

    /// Whether the server still accepts connections.
    pub fn is_serving(&self) -> bool {
        self.active.accepting.get()
    }

    /// How many connection handlers are running.
    pub fn active_connections(&self) -> usize {
        self.active.count.get() - usize::from(self.is_serving())
    }

    /// Waits until the server is closed and every connection handler has finished.
    pub async fn wait_closed(&self) {
        // The accept loop counts as one member: its guard drops when it is cancelled.
        while self.active.count.get() > 0 {
            self.active.idle.notified().await;
        }
    }

    /// Runs until [`close`](Server::close) (asyncio `serve_forever`).
    pub async fn serve_forever(self) {
        let _ = self.acceptor.await;
    }
}

/// Accepts connections on `addr` and runs `handler(reader, writer)` as a task for each
/// (asyncio `start_server`). The accept loop backs off while the process is out of
/// descriptors (see [`TcpListener::incoming`]).
///
/// # Errors
///
/// The bind error (e.g. `AddrInUse`).
///
/// # Panics
///
/// Outside a running loop.
pub fn start_server<H, Fut>(handler: H, addr: impl ToSocketAddrs) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    start_server_with_limit(handler, addr, DEFAULT_LIMIT)
}

/// [`start_server`] whose readers have `limit` as their `readuntil`/`readline` limit
/// (asyncio's `start_server(..., limit=)`).
///
/// # Errors
///
/// The bind error.
///
/// # Panics
///
/// If `limit` is 0.
pub fn start_server_with_limit<H, Fut>(
    handler: H,
    addr: impl ToSocketAddrs,
    limit: usize,
) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    assert!(
        limit > 0,
        "start_server_with_limit: the limit must be positive"
    );
    let listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    Ok(serve(Some(addr), None, handler, limit, move |cx| {
        listener.poll_accept(cx).map_ok(|(s, _)| Conn::Tcp(s))
    }))
}

/// Accepts connections on the Unix-domain socket `path` and runs `handler(reader,
/// writer)` for each (asyncio `start_unix_server`).
///
/// # Examples
///
/// ```
/// use runtime::net::{open_unix_connection, start_unix_server};
///
/// runtime::run(async {
///     let path = std::env::temp_dir().join(format!("runtime-doc-{}.sock", std::process::id()));
///     let _ = std::fs::remove_file(&path);
///     let server = start_unix_server(
///         |mut r, mut w| async move {
///             let line = r.readline().await.unwrap();
///             w.write(&line);
///             w.drain().await.unwrap();
///         },
///         &path,
///     )
///     .unwrap();
///     let (mut reader, mut writer) = open_unix_connection(&path).await.unwrap();
///     writer.write(b"over a Unix socket\n");
///     writer.drain().await.unwrap();
///     assert_eq!(reader.readline().await.unwrap(), b"over a Unix socket\n");
///     server.close();
///     server.wait_closed().await; // the handler has returned
///     std::fs::remove_file(&path).unwrap();
/// });
/// ```
///
/// # Errors
///
/// The bind error (e.g. `AddrInUse` if `path` exists).
///
/// # Panics
///
/// Outside a running loop.
pub fn start_unix_server<H, Fut>(handler: H, path: impl AsRef<Path>) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let listener = UnixListener::bind(path.as_ref())?;
    Ok(serve(
        None,
        Some(path.as_ref().to_owned()),
        handler,
        DEFAULT_LIMIT,
        move |cx| listener.poll_accept(cx).map_ok(Conn::Unix),
    ))
}

fn serve<H, Fut>(
    addr: Option<SocketAddr>,
    path: Option<PathBuf>,
    handler: H,
    limit: usize,
    mut accept: impl FnMut(&mut Context<'_>) -> Poll<io::Result<Conn>> + 'static,
) -> Server
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let active = Rc::new(Active::default());
    active.count.set(1); // the accept loop itself
    active.accepting.set(true);
    let acceptor = crate::spawn({
        let active = active.clone();
        let guard = HandlerGuard(active.clone(), true);
        async move {
            let _guard = guard;
            let mut backoff = Backoff::default();
            loop {
                match poll_fn(|cx| backoff.poll(cx, &mut accept)).await {
                    Ok(conn) => {
                        let (mut r, w) = split(conn);
                        r.limit = limit;
                        active.count.set(active.count.get() + 1);
                        let guard = HandlerGuard(active.clone(), false);
                        let fut = handler(r, w);
                        crate::spawn(async move {
                            let _guard = guard;
                            fut.await;
                        })
                        .detach();
                    }
                    Err(e) => {
                        // Not exhaustion (that waits inside `backoff`): report and pause.
                        eprintln!("runtime: accept failed: {e}; retrying in 100 ms");
                        crate::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        }
    });
    Server {
        addr,
        path,
        acceptor,
        active,
    }
}
