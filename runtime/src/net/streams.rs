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
        },
        StreamWriter {
            stream,
            pending: Vec::new(),
        },
    )
}

/// The reading half of a connection (asyncio `StreamReader`), buffered.
pub struct StreamReader {
    stream: Rc<Conn>,
    /// Zeroed once and reused: bytes `pos..end` are unread, `end..` is free room.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
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
    /// Reads more bytes into the buffer; false at end of stream. Unread bytes keep
    /// their offsets relative to `pos`.
    async fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
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
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let (stream, room) = (&self.stream, &mut self.buf[self.end..]);
        let n = poll_fn(|cx| stream.poll_read(cx, room)).await?;
        self.end += n;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let out = self.buf[self.pos..self.pos + n].to_vec();
        debug_assert!(self.pos + n <= self.end);
        self.pos += n;
        out
    }

    /// Up to `n` bytes (fewer if that is what arrived; empty at end of stream).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        if self.pos == self.end {
            self.fill().await?;
        }
        let k = n.min(self.end - self.pos);
        Ok(self.take(k))
    }

    /// Exactly `n` bytes (asyncio `readexactly`).
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first (asyncio's `IncompleteReadError`).
    pub async fn readexactly(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.end - self.pos < n {
            if !self.fill().await? {
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
    /// `UnexpectedEof` if the stream ends before the separator.
    ///
    /// # Panics
    ///
    /// If `separator` is empty.
    pub async fn readuntil(&mut self, separator: &[u8]) -> io::Result<Vec<u8>> {
        assert!(
            !separator.is_empty(),
            "readuntil: the separator must not be empty"
        );
        // Bytes after `pos` already searched (less an overlap for a split separator).
        let mut checked = 0;
        loop {
            let avail = &self.buf[self.pos..self.end];
            if let Some(i) = find(&avail[checked..], separator) {
                let end = checked + i + separator.len();
                return Ok(self.take(end));
            }
            checked = avail.len().saturating_sub(separator.len() - 1);
            if !self.fill().await? {
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
    /// The OS error.
    pub async fn readline(&mut self) -> io::Result<Vec<u8>> {
        match self.readuntil(b"\n").await {
            Ok(line) => Ok(line),
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

/// The writing half of a connection (asyncio `StreamWriter`): `write` buffers, `drain`
/// sends.
pub struct StreamWriter {
    stream: Rc<Conn>,
    pending: Vec<u8>,
}

impl StreamWriter {
    /// Buffers `data` (sent by the next [`drain`](StreamWriter::drain)).
    pub fn write(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
    }

    /// Sends everything buffered (asyncio `drain`).
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `BrokenPipe`).
    pub async fn drain(&mut self) -> io::Result<()> {
        let mut sent = 0;
        while sent < self.pending.len() {
            let n = poll_fn(|cx| self.stream.poll_write(cx, &self.pending[sent..])).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            sent += n;
        }
        self.pending.clear();
        Ok(())
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
    let listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    Ok(serve(Some(addr), None, handler, move |cx| {
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
        move |cx| listener.poll_accept(cx).map_ok(Conn::Unix),
    ))
}

fn serve<H, Fut>(
    addr: Option<SocketAddr>,
    path: Option<PathBuf>,
    handler: H,
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
                        let (r, w) = split(conn);
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
