//! Sockets on the loop's reactor (the first part of the networking work): [`TcpListener`],
//! [`TcpStream`], [`UdpSocket`], [`UnixListener`], [`UnixStream`], [`UnixDatagram`], and
//! asyncio-style streams ([`open_connection`],
//! [`start_server`]). Each wraps a mio socket in an
//! [`io::Source`](crate::io::Source): operations try the socket, and on `WouldBlock` clear
//! the cached readiness and wait for the next readiness event (edge-triggered, rule IO2).

mod streams;
mod tcp;
mod udp;
mod unix;

pub use streams::{open_connection, start_server, Server, StreamReader, StreamWriter};
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
