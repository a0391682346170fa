//! Sockets on the loop's reactor: [`TcpListener`], [`TcpStream`], [`TcpSocket`] (options
//! before bind/connect), [`UdpSocket`], [`UnixListener`], [`UnixStream`],
//! [`UnixDatagram`], name resolution on the blocking pool ([`lookup_host`]), and
//! asyncio-style streams ([`open_connection`], [`start_server`],
//! [`open_unix_connection`], [`start_unix_server`]). Each socket wraps a mio socket in an
//! [`io::Source`](crate::io::Source): operations try the socket, and on `WouldBlock`
//! clear the cached readiness and wait for the next readiness event (edge-triggered,
//! rule IO2). Stream sockets implement [`AsyncRead`](crate::io::AsyncRead) and
//! [`AsyncWrite`](crate::io::AsyncWrite).

mod addr;
mod socket;
mod streams;
mod tcp;
mod udp;
mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use socket::TcpSocket;
pub use streams::{
    open_connection, open_unix_connection, start_server, start_unix_server, Server, StreamReader,
    StreamWriter,
};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
