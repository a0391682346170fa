//! Sockets on the loop's reactor: [`TcpListener`], [`TcpStream`], [`TcpSocket`] (options
//! before bind/connect), [`UdpSocket`], [`UnixListener`], [`UnixStream`],
//! [`UnixDatagram`], name resolution on the blocking pool ([`lookup_host`]), and
//! asyncio-style streams ([`open_connection`], [`start_server`],
//! [`open_unix_connection`], [`start_unix_server`]). Each socket wraps a mio socket in an
//! [`io::Source`](crate::io::Source): operations try the socket, and on `WouldBlock`
//! clear the cached readiness and wait for the next readiness event (edge-triggered,
//! rule IO2). Stream sockets implement [`AsyncRead`](crate::io::AsyncRead) and
//! [`AsyncWrite`](crate::io::AsyncWrite).

/// `futures_io::AsyncRead`/`AsyncWrite` for a stream socket type with a `source` field
/// and a `shutdown` method; `poll_close` shuts down the write side (the peer reads end of
/// stream).
macro_rules! stream_socket_io {
    ($t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.source.poll_read(cx, buf)
            }
        }

        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.source.poll_write(cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(match self.shutdown(std::net::Shutdown::Write) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(()),
                    r => r,
                })
            }
        }
    };
}
use stream_socket_io;

mod addr;
mod socket;
mod streams;
mod tcp;
mod udp;
mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use socket::TcpSocket;
/// The future of [`StreamWriter::drain`].
pub use streams::Drain as StreamDrain;
pub use streams::{
    open_connection, open_connection_with_limit, open_unix_connection, start_server,
    start_server_with_limit, start_unix_server, LimitOverrunError, Server, StreamReader,
    StreamWriter, DEFAULT_LIMIT,
};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
