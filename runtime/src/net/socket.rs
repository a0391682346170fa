//! [`TcpSocket`]: a TCP socket configured before it listens or connects (socket2).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, TcpKeepalive};

use super::{TcpListener, TcpStream};

/// A TCP socket not yet listening or connected, for the options servers set before
/// `bind`: `SO_REUSEADDR`, `SO_REUSEPORT` (several listeners, e.g. one loop per core,
/// sharing a port), the listen backlog, keep-alive, `TCP_NODELAY`, buffer sizes and
/// `SO_LINGER`. Built on socket2; the descriptor is non-blocking and close-on-exec.
///
/// # Examples
///
/// ```
/// use runtime::net::TcpSocket;
///
/// runtime::run(async {
///     let socket = TcpSocket::new_v4().unwrap();
///     socket.set_reuseaddr(true).unwrap();
///     socket.set_reuseport(true).unwrap();
///     socket.set_recv_buffer_size(1 << 20).unwrap();
///     socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     let listener = socket.listen(4096).unwrap();
///     let addr = listener.local_addr().unwrap();
///
///     // A second socket with SO_REUSEPORT may bind the same port.
///     let twin = TcpSocket::new_v4().unwrap();
///     twin.set_reuseport(true).unwrap();
///     twin.bind(addr).unwrap();
///     let _twin = twin.listen(4096).unwrap();
/// });
/// ```
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// An IPv4 TCP socket.
    ///
    /// # Errors
    ///
    /// The OS error (e.g. out of descriptors).
    pub fn new_v4() -> io::Result<TcpSocket> {
        Self::new(Domain::IPV4)
    }

    /// An IPv6 TCP socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn new_v6() -> io::Result<TcpSocket> {
        Self::new(Domain::IPV6)
    }

    /// A socket of the family of `addr`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn for_addr(addr: SocketAddr) -> io::Result<TcpSocket> {
        Self::new(Domain::for_address(addr))
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let inner = crate::sys::stream_socket(domain)?;
        Ok(TcpSocket { inner })
    }

    /// Sets `SO_REUSEADDR` (bind while old connections on the port are in TIME_WAIT).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        self.inner.set_reuse_address(on)
    }

    /// Sets `SO_REUSEPORT`: sockets that all set it may bind the same address, and the
    /// kernel spreads incoming connections over their listeners.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        self.inner.set_reuse_port(on)
    }

    /// Sets `TCP_NODELAY` (inherited by accepted connections on Linux).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_nodelay(on)
    }

    /// Turns keep-alive probes on (after `idle` without traffic) or off (`None`).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        match idle {
            Some(t) => self
                .inner
                .set_tcp_keepalive(&TcpKeepalive::new().with_time(t)),
            None => self.inner.set_keepalive(false),
        }
    }

    /// Sets `SO_SNDBUF` (the kernel doubles the value and applies its limits).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_send_buffer_size(&self, bytes: usize) -> io::Result<()> {
        self.inner.set_send_buffer_size(bytes)
    }

    /// Sets `SO_RCVBUF` (the kernel doubles the value and applies its limits).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        self.inner.set_recv_buffer_size(bytes)
    }

    /// The send buffer size the kernel applied.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        self.inner.send_buffer_size()
    }

    /// The receive buffer size the kernel applied.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        self.inner.recv_buffer_size()
    }

    /// Sets `SO_LINGER` (`Some(Duration::ZERO)`: close resets the connection).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// Binds to `addr`.
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `AddrInUse`).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&SockAddr::from(addr))
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS error; `InvalidInput` if the address is not IP.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket"))
    }

    /// Starts listening with room for `backlog` pending connections and registers the
    /// listener on the running loop.
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.listen(backlog)?;
        let std: std::net::TcpListener = self.inner.into();
        TcpListener::from_mio(mio::net::TcpListener::from_std(std))
    }

    /// Connects to `addr` with the options set so far.
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `ConnectionRefused`).
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        let started = match self.inner.connect(&SockAddr::from(addr)) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(()),
            Err(e) => Err(e),
        };
        let std: std::net::TcpStream = self.inner.into();
        TcpStream::connect_mio(started.map(|()| mio::net::TcpStream::from_std(std))).await
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
