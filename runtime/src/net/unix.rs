//! Unix-domain sockets on the loop's reactor.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::path::Path;
use std::task::{ready, Context, Poll};

use crate::io::{Interest, Source};

/// A Unix-domain stream listener.
///
/// # Examples
///
/// ```
/// use runtime::net::{UnixListener, UnixStream};
///
/// runtime::run(async {
///     let dir = std::env::temp_dir().join(format!("runtime-doc-{}", std::process::id()));
///     std::fs::create_dir_all(&dir).unwrap();
///     let path = dir.join("sock");
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path).unwrap();
///     let client = runtime::spawn({
///         let path = path.clone();
///         async move {
///             let mut c = UnixStream::connect(&path).await.unwrap();
///             c.write_all(b"hi").await.unwrap();
///         }
///     });
///     let mut conn = listener.accept().await.unwrap();
///     let mut buf = [0u8; 2];
///     conn.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"hi");
///     client.await.unwrap();
///     std::fs::remove_dir_all(&dir).unwrap();
/// });
/// ```
pub struct UnixListener {
    source: Source<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds to the filesystem `path`.
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `AddrInUse` if the path exists).
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_mio(mio::net::UnixListener::bind(path)?)
    }

    fn from_mio(l: mio::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            source: Source::new(l, Interest::READABLE)?,
        })
    }

    /// Waits for a connection.
    ///
    /// # Errors
    ///
    /// The OS error of `accept`.
    pub async fn accept(&self) -> io::Result<UnixStream> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<UnixStream>> {
        let (s, _) = ready!(self.source.poll_io(cx, false, |l| l.accept()))?;
        Poll::Ready(UnixStream::from_mio(s))
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnixListener")
    }
}

/// A Unix-domain stream connection.
pub struct UnixStream {
    source: Source<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `NotFound`, `ConnectionRefused`).
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let s = UnixStream::from_mio(mio::net::UnixStream::connect(path)?)?;
        s.source.writable().await?;
        if let Some(e) = s.source.get_ref().take_error()? {
            return Err(e);
        }
        Ok(s)
    }

    /// A connected pair (like `socketpair(2)`).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    /// The registered socket (shared by the halves of asyncio streams).
    pub(crate) fn source(&self) -> &Source<mio::net::UnixStream> {
        &self.source
    }

    fn from_mio(s: mio::net::UnixStream) -> io::Result<UnixStream> {
        let mut source = Source::new(s, Interest::READABLE | Interest::WRITABLE)?;
        source.set_stream_socket();
        Ok(UnixStream { source })
    }

    /// Reads some bytes; `Ok(0)` at end of stream.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        self.source.read(buf)
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first, or the OS error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: bytes read before a cancellation are in `buf` but their count is
    /// lost with the future.
    pub fn read_exact<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        self.source.read_exact(buf)
    }

    /// Writes some bytes.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn write<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        self.source.write(buf)
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// The OS error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: a cancelled `write_all` may have written part of `buf`, and how
    /// much is lost with the future (as tokio's). Use `StreamWriter::drain` or a
    /// `BufWriter` (which keep the count) when a write may be cancelled.
    pub fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a {
        self.source.write_all(buf)
    }

    /// Shuts down one or both directions.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.source.get_ref().shutdown(how)
    }
}

super::stream_socket_io!(UnixStream);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnixStream")
    }
}

/// A Unix-domain datagram socket.
pub struct UnixDatagram {
    source: Source<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds to the filesystem `path`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        Self::from_mio(mio::net::UnixDatagram::bind(path)?)
    }

    /// A connected, unnamed pair.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((Self::from_mio(a)?, Self::from_mio(b)?))
    }

    fn from_mio(s: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            source: Source::new(s, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// Sends a datagram to the socket at `path`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.source.write_with(|s| s.send_to(buf, path)).await
    }

    /// Receives a datagram.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.source.read_with(|s| s.recv(buf)).await
    }

    /// Sends to the connected peer.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.source.write_with(|s| s.send(buf)).await
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnixDatagram")
    }
}

super::socket_common!(
    UnixListener,
    mio::net::UnixListener,
    std::os::unix::net::UnixListener,
    "let dir = std::env::temp_dir().join(format!(\"runtime-doc-ul-{}\", std::process::id()));
std::fs::create_dir_all(&dir).unwrap();
let path = dir.join(\"sock\");
let _ = std::fs::remove_file(&path);
runtime::run(async {
    let std = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let listener = runtime::net::UnixListener::from_std(std).unwrap();
    let client = runtime::spawn({
        let path = path.clone();
        async move { runtime::net::UnixStream::connect(&path).await }
    });
    let _conn = listener.accept().await.unwrap();
    client.await.unwrap().unwrap();
    let _back: std::os::unix::net::UnixListener = listener.into_std().unwrap();
});
std::fs::remove_dir_all(&dir).unwrap();"
);
super::socket_common!(
    UnixStream,
    mio::net::UnixStream,
    std::os::unix::net::UnixStream,
    "use std::io::Read;
runtime::run(async {
    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut a = runtime::net::UnixStream::from_std(a).unwrap();
    a.write_all(b\"hi\").await.unwrap();
    let mut buf = [0u8; 2];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b\"hi\");
    let _a: std::os::unix::net::UnixStream = a.into_std().unwrap();
});"
);
super::socket_common!(
    UnixDatagram,
    mio::net::UnixDatagram,
    std::os::unix::net::UnixDatagram,
    "runtime::run(async {
    let (a, b) = std::os::unix::net::UnixDatagram::pair().unwrap();
    let a = runtime::net::UnixDatagram::from_std(a).unwrap();
    b.send(b\"ping\").unwrap();
    a.readable().await.unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(a.recv(&mut buf).await.unwrap(), 4);
    let _a: std::os::unix::net::UnixDatagram = a.into_std().unwrap();
});"
);
