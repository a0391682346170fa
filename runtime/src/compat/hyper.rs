//! hyper 1.x on the loop (cargo feature `hyper`).
//!
//! [`TcpStream`] and [`UnixStream`]
//! implement `hyper::rt::Read` (one `read(2)` straight into hyper's uninitialised buffer:
//! no zeroing, no copy) and `hyper::rt::Write` (with vectored writes), so they go to
//! `hyper::server::conn::http1::Builder::serve_connection` and
//! `hyper::client::conn::http1::handshake` as they are. [`Executor`] spawns hyper's
//! background futures on the loop (HTTP/2 needs one) and [`Timer`] puts hyper's timeouts
//! (`header_read_timeout`, keep-alive) on the loop's timers, so they follow a paused clock
//! in tests. Any other `futures_io` stream (a TLS stream, say) goes through [`HyperIo`].
//!
//! # Examples
//!
//! An HTTP/1 server and a client on one loop:
//!
//! ```
//! # // hyper's own `server`/`client`/`http1` features are the user's choice; the doc build
//! # // has them through the dev-dependencies.
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use runtime::compat::hyper::{Executor, Timer};
//! use runtime::net::{TcpListener, TcpStream};
//!
//! runtime::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     runtime::spawn(async move {
//!         let (conn, _) = listener.accept().await.unwrap();
//!         let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
//!             Ok::<_, Infallible>(Response::new(http_body_util::Full::new(Bytes::from("hello"))))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(Timer::default())
//!             .header_read_timeout(Duration::from_secs(30))
//!             .serve_connection(conn, service)
//!             .await
//!             .unwrap();
//!     })
//!     .detach();
//!
//!     let stream = TcpStream::connect(addr).await.unwrap();
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
//!     runtime::spawn(conn).detach();
//!     let req = Request::get("/").body(http_body_util::Empty::<Bytes>::new()).unwrap();
//!     let resp = sender.send_request(req).await.unwrap();
//!     use http_body_util::BodyExt;
//!     let body = resp.into_body().collect().await.unwrap().to_bytes();
//!     assert_eq!(body, "hello");
//!     # let _ = Executor::default();
//! });
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use hyper::rt::{self, ReadBufCursor};

use crate::net::{TcpStream, UnixStream};
use crate::time::Instant;

/// hyper's `Read` and `Write` for a stream socket type with a `source()` accessor.
macro_rules! hyper_io {
    ($t:ty) => {
        impl rt::Read for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                mut buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                // SAFETY: `poll_read_uninit` only writes into the slice (read(2)), never
                // de-initialises a byte.
                let n = ready!(self.source().poll_read_uninit(cx, unsafe { buf.as_mut() }))?;
                // SAFETY: `poll_read_uninit` returned `n`: the first `n` bytes are
                // initialised now.
                unsafe { buf.advance(n) };
                Poll::Ready(Ok(()))
            }
        }

        impl rt::Write for $t {
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

hyper_io!(TcpStream);
hyper_io!(UnixStream);

/// hyper's `Executor` on the running loop: each future hyper hands over (an HTTP/2
/// stream, a connection's background work) becomes a detached task, through
/// [`runtime::spawn`](crate::spawn), so futures need not be `Send`.
///
/// Use it on the loop thread (hyper calls it from inside a connection's poll). Handlers of
/// frameworks that require `Send` futures (axum's) run as tasks like any other.
///
/// # Examples
///
/// ```
/// use hyper::rt::Executor as _;
/// use runtime::compat::hyper::Executor;
///
/// runtime::run(async {
///     let (tx, rx) = runtime::sync::oneshot::channel();
///     let local = std::rc::Rc::new(7); // not `Send`: fine on the loop
///     Executor::default().execute(async move {
///         tx.send(*local).unwrap();
///     });
///     assert_eq!(rx.await.unwrap(), 7);
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Executor;

impl<F> rt::Executor<F> for Executor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, fut: F) {
        crate::spawn(fut).detach();
    }
}

/// hyper's `Timer` on the loop's timers: `sleep`, `sleep_until`, `reset` and `now` all
/// follow the loop's clock, so on a paused clock hyper's timeouts fire in virtual time
/// (and only when the loop has nothing else to do, like every other timer).
///
/// hyper's `Instant`s are `std::time::Instant`s; they map onto the loop's
/// [`Instant`] through the same epoch
/// ([`Instant::into_std`](crate::time::Instant::into_std)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer as _;
/// use runtime::compat::hyper::Timer;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let timer = Timer::default();
///     let start = timer.now();
///     timer.sleep(Duration::from_secs(30)).await; // virtual: returns at once
///     assert_eq!(timer.now() - start, Duration::from_secs(30));
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Timer;

/// A loop timer as hyper's `Sleep`.
struct HyperSleep(crate::time::Sleep);

impl Future for HyperSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl rt::Sleep for HyperSleep {}

impl rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn rt::Sleep>> {
        Box::pin(HyperSleep(crate::sleep(duration)))
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn rt::Sleep>> {
        Box::pin(HyperSleep(crate::time::sleep_until(Instant::from_std(
            deadline,
        ))))
    }

    fn now(&self) -> std::time::Instant {
        // On the loop: its time as of its last clock read (at most a turn old, exact on a
        // paused clock), so hyper's per-request deadline costs no clock read.
        let ns = crate::event_loop::context::with_core(|c| c.map(|core| core.coarse_now_ns()));
        ns.map_or_else(Instant::now, Instant).into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn rt::Sleep>>, new_deadline: std::time::Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(mut s) => s.0.reset(Instant::from_std(new_deadline)),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// Any `futures_io` stream (`AsyncRead + AsyncWrite`: a TLS stream, a
/// [`Source`](crate::io::Source), a test double) as hyper's `Read` and `Write`.
///
/// `futures_io` reads take initialised memory, so the wrapper initialises hyper's buffer
/// before reading into it (once per buffer area: hyper's cursor remembers what is
/// initialised); the sockets' own implementations skip even that.
///
/// # Examples
///
/// ```
/// use hyper::rt::{Read as _, Write as _};
/// use runtime::compat::hyper::HyperIo;
///
/// runtime::run(async {
///     let (a, b) = runtime::net::UnixStream::pair().unwrap();
///     let (mut a, mut b) = (HyperIo::new(a), HyperIo::new(b));
///     std::future::poll_fn(|cx| std::pin::Pin::new(&mut a).poll_write(cx, b"hi"))
///         .await
///         .unwrap();
///     let mut storage = [std::mem::MaybeUninit::uninit(); 8];
///     let mut buf = hyper::rt::ReadBuf::uninit(&mut storage);
///     std::future::poll_fn(|cx| std::pin::Pin::new(&mut b).poll_read(cx, buf.unfilled()))
///         .await
///         .unwrap();
///     assert_eq!(buf.filled(), b"hi");
/// });
/// ```
#[derive(Debug)]
pub struct HyperIo<T> {
    inner: T,
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo { inner }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: futures_io::AsyncRead + Unpin> rt::Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let room = buf.remaining();
        let n = ready!(Pin::new(&mut self.inner).poll_read(cx, buf.initialize_unfilled()))?;
        if n > room {
            return Poll::Ready(Err(io::Error::other(
                "HyperIo: the reader reported more bytes than the buffer holds",
            )));
        }
        // SAFETY: `initialize_unfilled` initialised the whole unfilled part, and `n` is
        // within it (checked above).
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: futures_io::AsyncWrite + Unpin> rt::Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
