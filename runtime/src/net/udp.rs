//! UDP on the loop's reactor.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::addr::{no_addresses, ToSocketAddrs};
use crate::io::{Interest, Source};

/// A UDP socket on the running loop.
///
/// # Examples
///
/// ```
/// use runtime::net::UdpSocket;
///
/// runtime::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(from, a.local_addr().unwrap());
/// });
/// ```
pub struct UdpSocket {
    source: Source<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (the first address that works).
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `AddrInUse`).
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let mut last = None;
        for a in addr.to_addrs().resolve_blocking()? {
            match mio::net::UdpSocket::bind(a) {
                Ok(s) => {
                    return Ok(UdpSocket {
                        source: Source::new(s, Interest::READABLE | Interest::WRITABLE)?,
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_addresses))
    }

    /// Binds a socket that shares its port with the sockets of other loops
    /// (`SO_REUSEPORT` and `SO_REUSEADDR`): the kernel spreads incoming datagrams over
    /// them by flow. See [`TcpListener::bind_reuseport`](super::TcpListener::bind_reuseport)
    /// for choosing a port the OS picks.
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `AddrInUse` when a socket without the option holds the port).
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::run(async {
    ///     let a = runtime::net::UdpSocket::bind_reuseport("127.0.0.1:0".parse().unwrap())
    ///         .unwrap();
    ///     let addr = a.local_addr().unwrap();
    ///     let b = runtime::net::UdpSocket::bind_reuseport(addr).unwrap(); // same port
    ///     assert_eq!(b.local_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn bind_reuseport(addr: SocketAddr) -> io::Result<UdpSocket> {
        let s = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::DGRAM,
            None,
        )?;
        s.set_reuse_address(true)?;
        s.set_reuse_port(true)?;
        s.set_nonblocking(true)?;
        s.bind(&addr.into())?;
        let std: std::net::UdpSocket = s.into();
        UdpSocket::from_mio(mio::net::UdpSocket::from_std(std))
    }

    fn from_mio(s: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            source: Source::new(s, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// Sends a datagram to `target` (an address, or a host name resolved on the
    /// blocking pool; the first address of the socket's family is used).
    ///
    /// # Errors
    ///
    /// The resolver's error, or the OS error.
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = self.pick(target.to_addrs().resolve().await?)?;
        self.source.write_with(|s| s.send_to(buf, target)).await
    }

    /// Receives a datagram and its sender.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.source.read_with(|s| s.recv_from(buf)).await
    }

    /// Sets the default peer for `send` and `recv` (and filters what `recv` gets); a
    /// host name is resolved on the blocking pool.
    ///
    /// # Errors
    ///
    /// The resolver's error, or the OS error.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let addr = self.pick(addr.to_addrs().resolve().await?)?;
        self.source.get_ref().connect(addr)
    }

    /// Sends to the connected peer.
    ///
    /// # Errors
    ///
    /// The OS error (`NotConnected` without `connect`).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.source.write_with(|s| s.send(buf)).await
    }

    /// Receives from the connected peer.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.source.read_with(|s| s.recv(buf)).await
    }

    /// The first of `addrs` in this socket's family (IPv4 or IPv6), else the first.
    fn pick(&self, addrs: Vec<SocketAddr>) -> io::Result<SocketAddr> {
        let v4 = self.local_addr()?.is_ipv4();
        addrs
            .iter()
            .find(|a| a.is_ipv4() == v4)
            .or(addrs.first())
            .copied()
            .ok_or_else(no_addresses)
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// Allows sending to broadcast addresses.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.source.get_ref().set_broadcast(on)
    }

    /// Whether sending to broadcast addresses is allowed.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.source.get_ref().broadcast()
    }

    /// Joins the IPv4 multicast group `group` on the interface with address `interface`
    /// (`Ipv4Addr::UNSPECIFIED` lets the OS choose).
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `group` is not a multicast address).
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.source.get_ref().join_multicast_v4(&group, &interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.source.get_ref().leave_multicast_v4(&group, &interface)
    }

    /// Joins the IPv6 multicast group `group` on interface index `interface` (0: any).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.source.get_ref().join_multicast_v6(&group, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.source.get_ref().leave_multicast_v6(&group, interface)
    }

    /// Whether this socket receives its own IPv4 multicast datagrams (default true).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.source.get_ref().set_multicast_loop_v4(on)
    }

    /// The IPv4 multicast time-to-live (default 1: the local network).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.source.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// Whether this socket receives its own IPv6 multicast datagrams.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.source.get_ref().set_multicast_loop_v6(on)
    }

    /// The unicast time-to-live.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.source.get_ref().set_ttl(ttl)
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}

super::socket_common!(
    UdpSocket,
    mio::net::UdpSocket,
    std::net::UdpSocket,
    "runtime::run(async {
    let std = std::net::UdpSocket::bind(\"127.0.0.1:0\").unwrap();
    let addr = std.local_addr().unwrap();
    let socket = runtime::net::UdpSocket::from_std(std).unwrap();
    let peer = runtime::net::UdpSocket::bind(\"127.0.0.1:0\").unwrap();
    peer.send_to(b\"ping\", addr).await.unwrap();
    socket.readable().await.unwrap();
    let mut buf = [0u8; 4];
    let (n, _) = socket.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b\"ping\");
    assert_eq!(socket.into_std().unwrap().local_addr().unwrap(), addr);
});"
);
