//! tokio's `AsyncRead`/`AsyncWrite` for the stream sockets and their split halves (cargo
//! feature `tokio-io`). Reads go straight into tokio's uninitialised buffer; writes are
//! vectored. Nothing here starts a tokio runtime: tokio's I/O traits and helpers
//! (`AsyncReadExt`, `copy`, `BufReader`, tokio-util's codecs) need none.
//!
//! # Examples
//!
//! Code written against tokio's traits takes the runtime's sockets as they are:
//!
//! ```
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! /// A tokio-style line reader, generic over tokio's traits.
//! async fn first_line<R: tokio::io::AsyncRead + Unpin>(r: R) -> String {
//!     let mut line = String::new();
//!     BufReader::new(r).read_line(&mut line).await.unwrap();
//!     line
//! }
//!
//! runtime::run(async {
//!     let (mut a, b) = runtime::net::UnixStream::pair().unwrap();
//!     AsyncWriteExt::write_all(&mut a, b"hello, tokio traits\n").await.unwrap();
//!     assert_eq!(first_line(b).await, "hello, tokio traits\n");
//! });
//! ```

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::io::{ReadHalf, WriteHalf};
use crate::net::{TcpStream, UnixStream};

macro_rules! tokio_io {
    ($t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                // SAFETY: `poll_read_uninit` only writes into the slice (read(2)), never
                // de-initialises a byte.
                let unfilled = unsafe { buf.unfilled_mut() };
                let n = ready!(self.source().poll_read_uninit(cx, unfilled))?;
                // SAFETY: read(2) initialised the first `n` bytes of the unfilled part.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }

        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.source().poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.source().poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(crate::net::closed_is_ok(
                    self.shutdown(std::net::Shutdown::Write),
                ))
            }
        }
    };
}

tokio_io!(TcpStream);
tokio_io!(UnixStream);

impl<T: AsyncRead + Unpin> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner().borrow_mut()).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteHalf<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.inner().borrow_mut()).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.inner().borrow_mut()).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner().borrow().is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner().borrow_mut()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner().borrow_mut()).poll_shutdown(cx)
    }
}
