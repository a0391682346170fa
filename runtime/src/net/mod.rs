//! Sockets on the loop's reactor: [`TcpListener`], [`TcpStream`], [`TcpSocket`] (options
//! before bind/connect), [`UdpSocket`], [`UnixListener`], [`UnixStream`],
//! [`UnixDatagram`], name resolution on the blocking pool ([`lookup_host`]), and
//! asyncio-style streams ([`open_connection`], [`start_server`],
//! [`open_unix_connection`], [`start_unix_server`]). Each socket wraps a mio socket in an
//! [`io::Source`](crate::io::Source): operations try the socket, and on `WouldBlock`
//! clear the cached readiness and wait for the next readiness event (edge-triggered,
//! rule IO2). Stream sockets implement [`AsyncRead`](crate::io::AsyncRead) and
//! [`AsyncWrite`](crate::io::AsyncWrite) (and, with the features `tokio-io` and `hyper`,
//! tokio's and hyper's I/O traits; see [`compat`](crate::compat)).
//!
//! Every socket type converts from and to its `std` counterpart (`from_std`, `into_std`),
//! exposes its descriptor (`AsRawFd`, `AsFd`) and its readiness (`poll_read_ready`,
//! `poll_write_ready`, `readable`, `writable`), so adapters for other crates need nothing
//! internal. `FromRawFd` is not implemented: registering with the loop needs a running loop
//! and can fail, which that trait cannot report; write
//! `TcpStream::from_std(unsafe { std::net::TcpStream::from_raw_fd(fd) })?` instead.

/// `try_read`/`try_write` and `futures_io::AsyncRead`/`AsyncWrite` for a stream socket
/// type with a `source` field and a `shutdown` method; `poll_close` shuts down the write
/// side (the peer reads end of stream).
macro_rules! stream_socket_io {
    ($t:ty) => {
        impl $t {
            /// Reads without waiting: `WouldBlock` if nothing is there (then await
            /// `readable()` or poll `poll_read_ready`, and try again).
            ///
            /// # Errors
            ///
            /// The OS error or `WouldBlock`.
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.source.try_io(crate::io::Interest::READABLE, |mut s| {
                    std::io::Read::read(&mut s, buf)
                })
            }

            /// Writes without waiting: `WouldBlock` if the send buffer is full (then await
            /// `writable()`).
            ///
            /// # Errors
            ///
            /// The OS error or `WouldBlock`.
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.source.try_io(crate::io::Interest::WRITABLE, |mut s| {
                    std::io::Write::write(&mut s, buf)
                })
            }
        }

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

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.source.poll_write_vectored(cx, bufs)
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
                std::task::Poll::Ready($crate::net::closed_is_ok(
                    self.shutdown(std::net::Shutdown::Write),
                ))
            }
        }
    };
}
use stream_socket_io;

/// The result of shutting a stream's write side for the I/O traits' close: a socket the
/// peer already closed (`NotConnected`) counts as closed.
pub(crate) fn closed_is_ok(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(()),
        r => r,
    }
}

/// The conversions and readiness methods every socket type offers, so that adapters and
/// crates shaped like sqlx's `Socket` trait can be written without reaching into internals:
/// `from_std`/`into_std`, `AsRawFd`/`AsFd`, `poll_read_ready`/`poll_write_ready` and
/// `readable`/`writable`. `$t` has a `source` field and a `from_mio` constructor.
macro_rules! socket_common {
    ($t:ident, $mio:ty, $std:ty, $example:literal) => {
        impl $t {
            #[doc = concat!("Wraps a `", stringify!($std), "` (switched to non-blocking mode)")]
            /// and registers it on the running loop.
            ///
            /// # Errors
            ///
            /// If the socket cannot be made non-blocking or registered.
            ///
            /// # Panics
            ///
            /// Outside a running loop.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $example]
            /// ```
            pub fn from_std(socket: $std) -> std::io::Result<$t> {
                socket.set_nonblocking(true)?;
                <$t>::from_mio(<$mio>::from_std(socket))
            }

            #[doc = concat!("Deregisters the socket and gives it back as a `", stringify!($std), "`.")]
            ///
            /// The socket stays in non-blocking mode (as with tokio's `into_std`): call
            /// `set_nonblocking(false)` on it before blocking I/O.
            ///
            /// # Errors
            ///
            /// The deregistration error from the OS.
            pub fn into_std(self) -> std::io::Result<$std> {
                use std::os::fd::{FromRawFd, IntoRawFd};
                let fd = self.source.into_inner()?.into_raw_fd();
                // SAFETY: `fd` was just released by the mio socket that owned it, so this
                // is its only owner, and it is a socket of the same kind.
                Ok(unsafe { <$std>::from_raw_fd(fd) })
            }

            /// Polls for read readiness (or a closed or failed socket): `Ready` when a read
            /// would not block, `Pending` with the task's waker stored otherwise. The cached
            /// readiness is cleared by an operation that hits `WouldBlock`.
            pub fn poll_read_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.source.poll_ready(cx, crate::io::Interest::READABLE)
            }

            /// Polls for write readiness (or a closed or failed socket).
            pub fn poll_write_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.source.poll_ready(cx, crate::io::Interest::WRITABLE)
            }

            /// Waits until the socket is readable (or closed, or in error).
            ///
            /// # Errors
            ///
            /// Using the socket off its loop.
            pub async fn readable(&self) -> std::io::Result<()> {
                self.source.readable().await
            }

            /// Waits until the socket is writable (or closed, or in error).
            ///
            /// # Errors
            ///
            /// Using the socket off its loop.
            pub async fn writable(&self) -> std::io::Result<()> {
                self.source.writable().await
            }
        }

        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.source.get_ref().as_raw_fd()
            }
        }

        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.source.get_ref().as_fd()
            }
        }
    };
}
use socket_common;

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
