//! Splitting one read-write value into a reading half and a writing half.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// Splits `io` into a reading half and a writing half that can live in different tasks
/// of the loop (both halves share `io`; they are not `Send`).
/// [`ReadHalf::unsplit`] puts them back together.
///
/// A reader and a writer each waiting on a socket wait independently: the reactor keeps
/// a read waker and a write waker per source.
///
/// # Examples
///
/// ```
/// use runtime::io::{split, AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
///
/// runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = runtime::spawn(async move {
///         let (mut r, mut w) = split(TcpStream::connect(addr).await.unwrap());
///         let echo = runtime::spawn(async move {
///             let mut buf = [0u8; 4];
///             r.read_exact(&mut buf).await.unwrap();
///             buf
///         });
///         w.write_all(b"ping").await.unwrap();
///         echo.await.unwrap()
///     });
///     let (conn, _) = listener.accept().await.unwrap();
///     let (mut r, mut w) = split(conn);
///     runtime::io::copy(&mut (&mut r).take(4), &mut w).await.unwrap();
///     assert_eq!(&client.await.unwrap(), b"ping");
/// });
/// ```
pub fn split<T: AsyncRead + AsyncWrite + Unpin>(io: T) -> (ReadHalf<T>, WriteHalf<T>) {
    let shared = Rc::new(RefCell::new(io));
    (
        ReadHalf {
            inner: shared.clone(),
        },
        WriteHalf { inner: shared },
    )
}

/// The reading half from [`split`].
pub struct ReadHalf<T> {
    inner: Rc<RefCell<T>>,
}

/// The writing half from [`split`].
pub struct WriteHalf<T> {
    inner: Rc<RefCell<T>>,
}

impl<T> ReadHalf<T> {
    /// The shared stream (tokio's traits are implemented on it in `compat`).
    #[cfg_attr(not(feature = "tokio-io"), allow(dead_code))]
    pub(crate) fn inner(&self) -> &Rc<RefCell<T>> {
        &self.inner
    }
}

impl<T> WriteHalf<T> {
    /// The shared stream.
    #[cfg_attr(not(feature = "tokio-io"), allow(dead_code))]
    pub(crate) fn inner(&self) -> &Rc<RefCell<T>> {
        &self.inner
    }
}

impl<T: Unpin> ReadHalf<T> {
    /// Joins the halves back into the original value.
    ///
    /// # Panics
    ///
    /// If `write` came from a different [`split`].
    pub fn unsplit(self, write: WriteHalf<T>) -> T {
        assert!(
            Rc::ptr_eq(&self.inner, &write.inner),
            "ReadHalf::unsplit: the halves come from different splits"
        );
        drop(write);
        match Rc::try_unwrap(self.inner) {
            Ok(cell) => cell.into_inner(),
            Err(_) => unreachable!("both halves were consumed"),
        }
    }
}

// The RefCell borrows below last for one poll call, and a half never polls the other
// half from inside its own poll, so they never overlap.
impl<T: AsyncRead + Unpin> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.inner.borrow_mut()).poll_read(cx, b)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteHalf<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.inner.borrow_mut()).poll_write(cx, b)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner.borrow_mut()).poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner.borrow_mut()).poll_close(cx)
    }
}

impl<T> fmt::Debug for ReadHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadHalf")
    }
}

impl<T> fmt::Debug for WriteHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteHalf")
    }
}
