//! TCP on the loop's reactor: [`TcpListener`] and [`TcpStream`].

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};

use crate::io::{Interest, Source};

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
    /// Binds to `addr` (the first address that works, as `std` does).
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
        for a in addr.to_socket_addrs()? {
            match mio::net::TcpListener::bind(a) {
                Ok(l) => return Self::from_mio(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
    }

    /// Wraps a bound `std` listener (it is switched to non-blocking mode).
    ///
    /// # Errors
    ///
    /// If the socket cannot be made non-blocking or registered.
    pub fn from_std(l: std::net::TcpListener) -> io::Result<TcpListener> {
        l.set_nonblocking(true)?;
        Self::from_mio(mio::net::TcpListener::from_std(l))
    }

    fn from_mio(l: mio::net::TcpListener) -> io::Result<TcpListener> {
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
        let (s, peer) = self.source.read_with(|l| l.accept()).await?;
        Ok((TcpStream::from_mio(s)?, peer))
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
    /// Connects to `addr`, trying each resolved address in turn. Name resolution, if
    /// `addr` needs it, blocks this thread (use an IP address on hot paths).
    ///
    /// # Errors
    ///
    /// The OS error of the last address tried (e.g. `ConnectionRefused`).
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match Self::connect_one(a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to")
        }))
    }

    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
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

    fn from_mio(s: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            source: Source::new(s, Interest::READABLE | Interest::WRITABLE)?,
        })
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
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.source.read(buf).await
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
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.source.read_exact(buf).await
    }

    /// Reads until end of stream, appending to `out`; returns how many bytes were read.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn read_to_end(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
        let start = out.len();
        let mut buf = [0u8; 8192];
        loop {
            let n = self.read(&mut buf).await?;
            if n == 0 {
                return Ok(out.len() - start);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    /// Writes some bytes; returns how many were written.
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `BrokenPipe` once the peer is gone).
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.source.write(buf).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.source.write_all(buf).await
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
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
