//! asyncio-style streams: [`open_connection`] gives a reader and a writer;
//! [`start_server`] runs a handler task per connection.

use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::rc::Rc;

use super::{TcpListener, TcpStream};
use crate::task::Task;

/// Connects and returns the two halves (asyncio `open_connection`).
///
/// # Errors
///
/// The connect error.
///
/// # Examples
///
/// ```
/// use runtime::net::{open_connection, start_server};
///
/// runtime::run(async {
///     let server = start_server(
///         |mut r, mut w| async move {
///             let line = r.readline().await.unwrap();
///             w.write(&line);
///             w.drain().await.unwrap();
///         },
///         "127.0.0.1:0",
///     )
///     .unwrap();
///     let (mut reader, mut writer) = open_connection(server.local_addr()).await.unwrap();
///     writer.write(b"hello\n");
///     writer.drain().await.unwrap();
///     assert_eq!(reader.readline().await.unwrap(), b"hello\n");
///     server.close();
/// });
/// ```
pub async fn open_connection(addr: impl ToSocketAddrs) -> io::Result<(StreamReader, StreamWriter)> {
    Ok(split(TcpStream::connect(addr).await?))
}

fn split(stream: TcpStream) -> (StreamReader, StreamWriter) {
    let stream = Rc::new(stream);
    (
        StreamReader {
            stream: stream.clone(),
            buf: Vec::new(),
            pos: 0,
            eof: false,
        },
        StreamWriter {
            stream,
            pending: Vec::new(),
        },
    )
}

/// The reading half of a connection (asyncio `StreamReader`), buffered.
pub struct StreamReader {
    stream: Rc<TcpStream>,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl StreamReader {
    /// Reads more bytes into the buffer; false at end of stream.
    async fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            // Drop what was consumed; offsets relative to `pos` stay valid.
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + 8192, 0);
        let n = self.stream.source().read(&mut self.buf[old..]).await;
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(old);
                return Err(e);
            }
        };
        self.buf.truncate(old + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let out = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        out
    }

    /// Up to `n` bytes (fewer if that is what arrived; empty at end of stream).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        if self.pos == self.buf.len() {
            self.fill().await?;
        }
        let k = n.min(self.buf.len() - self.pos);
        Ok(self.take(k))
    }

    /// Exactly `n` bytes (asyncio `readexactly`).
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first (asyncio's `IncompleteReadError`).
    pub async fn readexactly(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() - self.pos < n {
            if !self.fill().await? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} bytes read of {n} expected", self.buf.len() - self.pos),
                ));
            }
        }
        Ok(self.take(n))
    }

    /// Bytes up to and including `separator` (asyncio `readuntil`).
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends before the separator.
    ///
    /// # Panics
    ///
    /// If `separator` is empty.
    pub async fn readuntil(&mut self, separator: &[u8]) -> io::Result<Vec<u8>> {
        assert!(
            !separator.is_empty(),
            "readuntil: the separator must not be empty"
        );
        // Bytes after `pos` already searched (less an overlap for a split separator).
        let mut checked = 0;
        loop {
            let avail = &self.buf[self.pos..];
            if let Some(i) = avail[checked..]
                .windows(separator.len())
                .position(|w| w == separator)
            {
                let end = checked + i + separator.len();
                return Ok(self.take(end));
            }
            checked = avail.len().saturating_sub(separator.len() - 1);
            if !self.fill().await? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stream ended before the separator",
                ));
            }
        }
    }

    /// One line, with its `\n`; at end of stream, whatever is left (maybe empty), as
    /// asyncio's `readline`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn readline(&mut self) -> io::Result<Vec<u8>> {
        match self.readuntil(b"\n").await {
            Ok(line) => Ok(line),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                let rest = self.buf.len() - self.pos;
                Ok(self.take(rest))
            }
            Err(e) => Err(e),
        }
    }

    /// True once the peer closed and the buffer is empty.
    pub fn at_eof(&self) -> bool {
        self.eof && self.pos == self.buf.len()
    }
}

/// The writing half of a connection (asyncio `StreamWriter`): `write` buffers, `drain`
/// sends.
pub struct StreamWriter {
    stream: Rc<TcpStream>,
    pending: Vec<u8>,
}

impl StreamWriter {
    /// Buffers `data` (sent by the next [`drain`](StreamWriter::drain)).
    pub fn write(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
    }

    /// Sends everything buffered (asyncio `drain`).
    ///
    /// # Errors
    ///
    /// The OS error (e.g. `BrokenPipe`).
    pub async fn drain(&mut self) -> io::Result<()> {
        let mut sent = 0;
        while sent < self.pending.len() {
            let n = self.stream.source().write(&self.pending[sent..]).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            sent += n;
        }
        self.pending.clear();
        Ok(())
    }

    /// Sends what is buffered, then closes the writing side (the peer reads end of stream).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn close(mut self) -> io::Result<()> {
        self.drain().await?;
        self.stream.shutdown(Shutdown::Write)
    }

    /// The peer's address (asyncio `get_extra_info("peername")`).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }
}

/// A running server from [`start_server`].
pub struct Server {
    addr: SocketAddr,
    acceptor: Task<()>,
}

impl Server {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections; connections already accepted go on.
    pub fn close(&self) {
        self.acceptor.cancel();
    }

    /// Runs until [`close`](Server::close) (asyncio `serve_forever`).
    pub async fn serve_forever(self) {
        let _ = self.acceptor.await;
    }
}

/// Accepts connections on `addr` and runs `handler(reader, writer)` as a task for each
/// (asyncio `start_server`).
///
/// # Errors
///
/// The bind error (e.g. `AddrInUse`).
///
/// # Panics
///
/// Outside a running loop.
pub fn start_server<H, Fut>(handler: H, addr: impl ToSocketAddrs) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    let acceptor = crate::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let (r, w) = split(stream);
                    crate::spawn(handler(r, w)).detach();
                }
                Err(e) => {
                    // Out of descriptors and similar: back off instead of spinning.
                    eprintln!("runtime: accept failed: {e}; retrying in 100 ms");
                    crate::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(Server { addr, acceptor })
}
