//! TCP on the loop's reactor: [`TcpListener`] and [`TcpStream`].

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use super::addr::{no_addresses, ToSocketAddrs};
use crate::io::{Interest, Source};
use crate::time::Sleep;

/// A TCP listening socket on the running loop (asyncio `start_server`'s socket).
///
/// # Examples
///
/// ```
/// use runtime::net::{TcpListener, TcpStream};
///
/// runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     let server = runtime::spawn(async move {
///         let (mut conn, _peer) = listener.accept().await.unwrap();
///         let mut buf = [0u8; 5];
///         conn.read_exact(&mut buf).await.unwrap();
///         conn.write_all(&buf).await.unwrap(); // echo
///     });
///     let mut client = TcpStream::connect(addr).await.unwrap();
///     client.write_all(b"hello").await.unwrap();
///     let mut back = [0u8; 5];
///     client.read_exact(&mut back).await.unwrap();
///     assert_eq!(&back, b"hello");
///     server.await.unwrap();
/// });
/// ```
pub struct TcpListener {
    source: Source<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (the first address that works, as `std` does), with
    /// `SO_REUSEADDR` set (so a restarted server can bind while old connections linger
    /// in TIME_WAIT) and a backlog of 1024. A host name is resolved on this thread; for
    /// other options use [`TcpSocket`](super::TcpSocket).
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `AddrInUse` for a port in use.
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last = None;
        for a in addr.to_addrs().resolve_blocking()? {
            match mio::net::TcpListener::bind(a) {
                Ok(l) => return Self::from_mio(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_addresses))
    }

    /// Binds a listener that shares its port with others (`SO_REUSEPORT`, plus
    /// `SO_REUSEADDR`, backlog 1024): the listener each loop of a thread-per-core server
    /// opens on the same address, so the kernel spreads incoming connections over the
    /// loops ([`run_per_core`](crate::run_per_core)). Every listener of the group must set
    /// the option (and, on Linux, belong to the same user).
    ///
    /// To serve on a port the OS picks (port 0), choose it first: bind a
    /// [`TcpSocket`](super::TcpSocket) with `set_reuseport(true)` to `addr` without
    /// listening (it takes no connections), read its `local_addr()`, and give that
    /// address to every loop; keep the socket until they have bound.
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `AddrInUse` when a listener without `SO_REUSEPORT` holds the
    /// port.
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::{TcpListener, TcpSocket};
    ///
    /// let probe = TcpSocket::new_v4().unwrap();
    /// probe.set_reuseport(true).unwrap();
    /// probe.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let addr = probe.local_addr().unwrap(); // the port every loop will share
    /// let ports = runtime::LoopPool::new(2).unwrap().run_per_loop(move |_| async move {
    ///     TcpListener::bind_reuseport(addr).unwrap().local_addr().unwrap().port()
    /// });
    /// assert_eq!(ports, [addr.port(), addr.port()]);
    /// ```
    pub fn bind_reuseport(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = super::TcpSocket::for_addr(addr)?;
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(true)?;
        socket.bind(addr)?;
        socket.listen(1024)
    }

    pub(crate) fn from_mio(l: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            source: Source::new(l, Interest::READABLE)?,
        })
    }

    /// Waits for a connection.
    ///
    /// # Errors
    ///
    /// The OS error of `accept`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `accept` takes no connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection (the building block of [`accept`](TcpListener::accept)).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (s, peer) = ready!(self.source.poll_io(cx, false, |l| l.accept()))?;
        Poll::Ready(TcpStream::from_mio(s).map(|s| (s, peer)))
    }

    /// The accepted connections as a [`Stream`], for `while let Some(conn) = ...` accept
    /// loops. The stream never ends, and it survives resource exhaustion: when `accept`
    /// fails with `EMFILE`, `ENFILE`, `ENOBUFS` or `ENOMEM` (out of descriptors or
    /// memory), it reports nothing, sleeps (1 ms, doubling up to 1 s) and tries again,
    /// so the loop neither spins nor stops, and serving resumes once descriptors are
    /// free. A connection the peer aborted before it was accepted is skipped. Other
    /// errors are yielded.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::{TcpListener, TcpStream};
    /// use runtime::stream::StreamExt;
    ///
    /// runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let clients = runtime::spawn(async move {
    ///         for _ in 0..3 {
    ///             TcpStream::connect(addr).await.unwrap();
    ///         }
    ///     });
    ///     let peers: Vec<_> = listener.incoming().take(3).map(|c| c.unwrap().peer_addr().unwrap()).collect().await;
    ///     assert_eq!(peers.len(), 3);
    ///     clients.await.unwrap();
    /// });
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            backoff: Backoff::default(),
        }
    }

    /// The bound address (with the port the OS picked for port 0).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }
}

/// Whether an `accept` error means "out of resources for now" (descriptors, buffers,
/// memory): retry after a pause rather than stop or spin.
pub(crate) fn is_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Whether an `accept` error concerns only the one connection (the peer gave up).
pub(crate) fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) || e.raw_os_error() == Some(libc::EPROTO)
}

/// The pause between accept attempts while out of descriptors.
#[derive(Default)]
pub(crate) struct Backoff {
    sleep: Option<Pin<Box<Sleep>>>,
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(1);
    const MAX: Duration = Duration::from_secs(1);

    /// Polls `accept` through back-off pauses.
    pub(crate) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut accept: impl FnMut(&mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        loop {
            if let Some(sleep) = &mut self.sleep {
                ready!(sleep.as_mut().poll(cx));
                self.sleep = None;
            }
            match ready!(accept(cx)) {
                Ok(t) => {
                    self.next = Duration::ZERO;
                    return Poll::Ready(Ok(t));
                }
                Err(e) if is_per_connection(&e) => continue,
                Err(e) if is_exhaustion(&e) => {
                    self.next = (self.next * 2).clamp(Self::FIRST, Self::MAX);
                    self.sleep = Some(Box::pin(crate::sleep(self.next)));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// The stream of connections from [`TcpListener::incoming`].
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    backoff: Backoff,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let listener = this.listener;
        this.backoff
            .poll(cx, |cx| listener.poll_accept(cx))
            .map(|r| Some(r.map(|(s, _)| s)))
    }
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .finish()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}

/// A TCP connection on the running loop.
pub struct TcpStream {
    source: Source<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each address in turn. A host name is resolved on the
    /// blocking pool ([`lookup_host`](super::lookup_host)), so the loop goes on meanwhile.
    ///
    /// # Errors
    ///
    /// The resolver's error, or the OS error of the last address tried (e.g.
    /// `ConnectionRefused`).
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for a in addr.to_addrs().resolve().await? {
            match Self::connect_mio(mio::net::TcpStream::connect(a)).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_addresses))
    }

    /// Finishes a non-blocking connect started by mio (or by [`TcpSocket`](super::TcpSocket)).
    pub(crate) async fn connect_mio(
        started: io::Result<mio::net::TcpStream>,
    ) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(started?)?;
        // A non-blocking connect completes when the socket turns writable; then the
        // pending error (if any) or the peer address tells how it went.
        stream.source.writable().await?;
        if let Some(e) = stream.source.get_ref().take_error()? {
            return Err(e);
        }
        match stream.source.get_ref().peer_addr() {
            Ok(_) => Ok(stream),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "connection failed",
            )),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn from_mio(s: mio::net::TcpStream) -> io::Result<TcpStream> {
        let mut source = Source::new(s, Interest::READABLE | Interest::WRITABLE)?;
        source.set_stream_socket();
        Ok(TcpStream { source })
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
    pub fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        self.source.read(buf)
    }

    /// The registered socket (shared by the split halves of asyncio streams).
    pub(crate) fn source(&self) -> &Source<mio::net::TcpStream> {
        &self.source
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first, or the OS error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: bytes read before a cancellation are in `buf` but their count is
    /// lost with the future.
    pub fn read_exact<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        self.source.read_exact(buf)
    }

    /// Reads until end of stream, appending to `out`; returns how many bytes were read.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn read_to_end(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
        // The shared, linear-time loop of `io::AsyncReadExt::read_to_end`.
        crate::io::AsyncReadExt::read_to_end(self, out).await
    }

    /// Writes some bytes; returns how many were written.
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `BrokenPipe` once the peer is gone).
    pub fn write<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        self.source.write(buf)
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
    pub fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a {
        self.source.write_all(buf)
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.source.get_ref().shutdown(how)
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.source.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.source.get_ref().nodelay()
    }

    /// Sets `SO_LINGER`: `Some(Duration::ZERO)` makes closing reset the connection
    /// (RST) instead of the orderly FIN; `None` restores the default.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket2::SockRef::from(self.source.get_ref()).set_linger(linger)
    }

    /// Turns TCP keep-alive probes on (after `idle` without traffic) or off (`None`).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        let s = socket2::SockRef::from(self.source.get_ref());
        match idle {
            Some(t) => s.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(t)),
            None => s.set_keepalive(false),
        }
    }
}

super::stream_socket_io!(TcpStream);
super::socket_common!(
    TcpListener,
    mio::net::TcpListener,
    std::net::TcpListener,
    "runtime::run(async {
    let std = std::net::TcpListener::bind(\"127.0.0.1:0\").unwrap();
    let addr = std.local_addr().unwrap();
    let listener = runtime::net::TcpListener::from_std(std).unwrap();
    let client = runtime::spawn(async move { runtime::net::TcpStream::connect(addr).await });
    let (_conn, _) = listener.accept().await.unwrap();
    client.await.unwrap().unwrap();
    let back: std::net::TcpListener = listener.into_std().unwrap();
    assert_eq!(back.local_addr().unwrap(), addr);
});"
);
super::socket_common!(
    TcpStream,
    mio::net::TcpStream,
    std::net::TcpStream,
    "use std::io::Read;
runtime::run(async {
    let listener = std::net::TcpListener::bind(\"127.0.0.1:0\").unwrap();
    let std = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    let mut stream = runtime::net::TcpStream::from_std(std).unwrap();
    stream.write_all(b\"hi\").await.unwrap();
    let mut buf = [0u8; 2];
    peer.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b\"hi\");
    let std: std::net::TcpStream = stream.into_std().unwrap();
    std.set_nonblocking(false).unwrap();
});"
);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
