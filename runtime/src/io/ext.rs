//! Extension methods on the `futures_io` traits: the `async fn` versions of `Read`,
//! `Write` and `BufRead`, plus a `lines()` stream.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

/// `async` reading methods for every [`AsyncRead`] (import the trait to use them).
///
/// `read` is cancel safe (a dropped call consumed nothing). `read_exact` and
/// `read_to_string` are not: bytes they consumed before being dropped are lost with them;
/// `read_to_end` keeps in `out` what it read before it was dropped.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// runtime::run(async {
///     let (a, b) = mio::net::UnixStream::pair().unwrap();
///     let mut a = runtime::io::Source::new(a, runtime::io::Interest::READABLE | runtime::io::Interest::WRITABLE).unwrap();
///     let mut b = runtime::io::Source::new(b, runtime::io::Interest::READABLE | runtime::io::Interest::WRITABLE).unwrap();
///     AsyncWriteExt::write_all(&mut a, b"hello").await.unwrap();
///     AsyncWriteExt::close(&mut a).await.unwrap();
///     drop(a);
///     let mut text = String::new();
///     b.read_to_string(&mut text).await.unwrap();
///     assert_eq!(text, "hello");
/// });
/// ```
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf`; `Ok(0)` at end of stream.
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a
    where
        Self: Unpin,
    {
        poll_fn(move |cx| Pin::new(&mut *self).poll_read(cx, buf))
    }

    /// Fills `buf` exactly; `UnexpectedEof` if the stream ends first.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: bytes read before a cancellation are in `buf` but their count is
    /// lost with the future.
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<()>> + 'a
    where
        Self: Unpin,
    {
        let mut filled = 0;
        poll_fn(move |cx| {
            while filled < buf.len() {
                let n = ready!(Pin::new(&mut *self).poll_read(cx, &mut buf[filled..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{filled} bytes read of {} expected", buf.len()),
                    )));
                }
                filled += n;
            }
            Poll::Ready(Ok(()))
        })
    }

    /// Reads to end of stream, appending to `out`; returns the number of bytes read.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: what a cancelled call read is in `out`, but its length is lost.
    fn read_to_end<'a>(
        &'a mut self,
        out: &'a mut Vec<u8>,
    ) -> impl Future<Output = io::Result<usize>> + 'a
    where
        Self: Unpin,
    {
        let start = out.len();
        let mut chunk = MIN_CHUNK;
        poll_fn(move |cx| poll_read_to_end(Pin::new(&mut *self), cx, out, start, &mut chunk))
    }

    /// Reads to end of stream as UTF-8, appending to `out`. On invalid UTF-8 nothing is
    /// appended and the error is `InvalidData`.
    fn read_to_string<'a>(
        &'a mut self,
        out: &'a mut String,
    ) -> impl Future<Output = io::Result<usize>> + 'a
    where
        Self: Unpin,
    {
        let mut bytes = Vec::new();
        let mut chunk = MIN_CHUNK;
        poll_fn(move |cx| {
            let n = ready!(poll_read_to_end(
                Pin::new(&mut *self),
                cx,
                &mut bytes,
                0,
                &mut chunk
            ))?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            out.push_str(text);
            Poll::Ready(Ok(n))
        })
    }

    /// A reader of at most `n` more bytes from this one (then end of stream).
    fn take(self, n: u64) -> Take<Self>
    where
        Self: Sized,
    {
        Take {
            inner: self,
            left: n,
        }
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// The reader from [`AsyncReadExt::take`].
#[derive(Debug)]
pub struct Take<R> {
    inner: R,
    left: u64,
}

impl<R> Take<R> {
    /// How many bytes may still be read.
    pub fn limit(&self) -> u64 {
        self.left
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Take<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.left == 0 {
            return Poll::Ready(Ok(0));
        }
        let max = usize::try_from(this.left)
            .unwrap_or(usize::MAX)
            .min(b.len());
        let n = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut b[..max]))?;
        this.left -= n as u64;
        Poll::Ready(Ok(n))
    }
}

/// The first read size of `read_to_end`; it doubles while reads fill it.
const MIN_CHUNK: usize = 8 * 1024;
/// The largest read size `read_to_end` grows to.
const MAX_CHUNK: usize = 4 * 1024 * 1024;

/// Reads to the end into `out`. Each read zeroes only the room it offers (`chunk`, which
/// doubles while reads fill it and halves back when they do not), never the whole spare
/// capacity: zeroing costs at most about twice the bytes read, so reading N bytes is
/// O(N), not O(N^2).
fn poll_read_to_end<R: AsyncRead + ?Sized>(
    mut r: Pin<&mut R>,
    cx: &mut Context<'_>,
    out: &mut Vec<u8>,
    start: usize,
    chunk: &mut usize,
) -> Poll<io::Result<usize>> {
    loop {
        let len = out.len();
        if out.capacity() - len < *chunk {
            // Amortised growth: at least double (as Vec does), at least one chunk.
            out.reserve((*chunk).max(len));
        }
        out.resize(len + *chunk, 0);
        let r = r.as_mut().poll_read(cx, &mut out[len..]);
        match r {
            Poll::Ready(Ok(0)) => {
                out.truncate(len);
                return Poll::Ready(Ok(len - start));
            }
            Poll::Ready(Ok(n)) => {
                out.truncate(len + n);
                if n == *chunk {
                    *chunk = (*chunk * 2).min(MAX_CHUNK);
                } else if n < *chunk / 4 {
                    *chunk = (*chunk / 2).max(MIN_CHUNK);
                }
            }
            Poll::Ready(Err(e)) => {
                out.truncate(len);
                return Poll::Ready(Err(e));
            }
            Poll::Pending => {
                out.truncate(len);
                return Poll::Pending;
            }
        }
    }
}

/// `async` writing methods for every [`AsyncWrite`] (import the trait to use them).
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some bytes; returns how many.
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a
    where
        Self: Unpin,
    {
        poll_fn(move |cx| Pin::new(&mut *self).poll_write(cx, buf))
    }

    /// Writes all of `buf`; `WriteZero` if the writer stops taking bytes.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: a cancelled `write_all` may have written part of `buf`, and how
    /// much is lost with the future (as tokio's). Use `StreamWriter::drain` or a
    /// `BufWriter` (which keep the count) when a write may be cancelled.
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a
    where
        Self: Unpin,
    {
        let mut rest = buf;
        poll_fn(move |cx| {
            while !rest.is_empty() {
                let n = ready!(Pin::new(&mut *self).poll_write(cx, rest))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                rest = &rest[n..];
            }
            Poll::Ready(Ok(()))
        })
    }

    /// Flushes buffered bytes to the destination.
    fn flush(&mut self) -> impl Future<Output = io::Result<()>> + '_
    where
        Self: Unpin,
    {
        poll_fn(move |cx| Pin::new(&mut *self).poll_flush(cx))
    }

    /// Flushes and closes the writing side (for a socket, the peer reads end of stream).
    fn close(&mut self) -> impl Future<Output = io::Result<()>> + '_
    where
        Self: Unpin,
    {
        poll_fn(move |cx| Pin::new(&mut *self).poll_close(cx))
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

/// `async` line-oriented methods for every [`AsyncBufRead`], such as
/// [`BufReader`](super::BufReader).
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncBufReadExt, BufReader};
/// use runtime::stream::StreamExt;
///
/// runtime::run(async {
///     let mut r = BufReader::new(&b"one\ntwo\nthree"[..]);
///     let mut first = String::new();
///     r.read_line(&mut first).await.unwrap();
///     assert_eq!(first, "one\n");
///     let rest: Vec<String> = r.lines().map(|l| l.unwrap()).collect().await;
///     assert_eq!(rest, ["two", "three"]);
/// });
/// ```
pub trait AsyncBufReadExt: AsyncBufRead {
    /// Reads up to and including `delim` (or to end of stream), appending to `out`;
    /// returns the number of bytes read (0 at end of stream).
    ///
    /// Cancel safe: bytes consumed before a cancellation are in `out`.
    fn read_until<'a>(
        &'a mut self,
        delim: u8,
        out: &'a mut Vec<u8>,
    ) -> impl Future<Output = io::Result<usize>> + 'a
    where
        Self: Unpin,
    {
        let mut read = 0;
        poll_fn(move |cx| poll_read_until(Pin::new(&mut *self), cx, delim, out, &mut read))
    }

    /// Reads one line, with its `\n`, appending to `out`; returns the number of bytes
    /// read (0 at end of stream). Invalid UTF-8 is `InvalidData` and appends nothing.
    fn read_line<'a>(
        &'a mut self,
        out: &'a mut String,
    ) -> impl Future<Output = io::Result<usize>> + 'a
    where
        Self: Unpin,
    {
        let mut bytes = Vec::new();
        let mut read = 0;
        poll_fn(move |cx| {
            let n = ready!(poll_read_until(
                Pin::new(&mut *self),
                cx,
                b'\n',
                &mut bytes,
                &mut read
            ))?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            out.push_str(text);
            Poll::Ready(Ok(n))
        })
    }

    /// The lines of the stream, without their `\n` (or `\r\n`), as a
    /// [`Stream`](futures_core::Stream).
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines {
            reader: self,
            buf: Vec::new(),
            read: 0,
        }
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

fn poll_read_until<R: AsyncBufRead + ?Sized>(
    mut r: Pin<&mut R>,
    cx: &mut Context<'_>,
    delim: u8,
    out: &mut Vec<u8>,
    read: &mut usize,
) -> Poll<io::Result<usize>> {
    loop {
        let (done, used) = {
            let avail = ready!(r.as_mut().poll_fill_buf(cx))?;
            match avail.iter().position(|&b| b == delim) {
                Some(i) => {
                    out.extend_from_slice(&avail[..=i]);
                    (true, i + 1)
                }
                None => {
                    out.extend_from_slice(avail);
                    (avail.is_empty(), avail.len())
                }
            }
        };
        r.as_mut().consume(used);
        *read += used;
        if done {
            return Poll::Ready(Ok(std::mem::take(read)));
        }
    }
}

/// The stream returned by [`AsyncBufReadExt::lines`].
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    read: usize,
}

impl<R: AsyncBufRead + Unpin> Stream for Lines<R> {
    type Item = io::Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let n = ready!(poll_read_until(
            Pin::new(&mut this.reader),
            cx,
            b'\n',
            &mut this.buf,
            &mut this.read
        ))?;
        if n == 0 && this.buf.is_empty() {
            return Poll::Ready(None);
        }
        let mut line = std::mem::take(&mut this.buf);
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        Poll::Ready(Some(String::from_utf8(line).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, e.utf8_error())
        })))
    }
}

/// Copies everything from `reader` to `writer` until end of stream, then flushes;
/// returns the number of bytes copied.
///
/// # Errors
///
/// The first read or write error.
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let mut out = Vec::new();
///     let n = runtime::io::copy(&mut &b"abc"[..], &mut out).await.unwrap();
///     assert_eq!((n, &out[..]), (3, &b"abc"[..]));
/// });
/// ```
///
/// # Cancel safety
///
/// Not cancel safe: a cancelled `copy` may have read bytes it had not yet written; they
/// are lost with its buffer.
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0u64;
    loop {
        let n = AsyncReadExt::read(reader, &mut buf).await?;
        if n == 0 {
            AsyncWriteExt::flush(writer).await?;
            return Ok(total);
        }
        AsyncWriteExt::write_all(writer, &buf[..n]).await?;
        total += n as u64;
    }
}

#[cfg(test)]
mod read_to_end_tests {
    use super::*;

    /// Hands out `total` bytes, `per_read` at a time, and counts the room it was offered
    /// (what `read_to_end` zeroed for it).
    struct Counting {
        left: usize,
        per_read: usize,
        offered: usize,
        reads: usize,
    }

    impl AsyncRead for Counting {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            self.offered += buf.len();
            self.reads += 1;
            let n = buf.len().min(self.per_read).min(self.left);
            buf[..n].fill(7);
            self.left -= n;
            Poll::Ready(Ok(n))
        }
    }

    /// Reads `total` bytes `per_read` at a time; checks that the room offered (zeroed)
    /// stays within a few times what was read plus one first chunk per read.
    fn check(total: usize, per_read: usize) {
        let mut r = Counting {
            left: total,
            per_read,
            offered: 0,
            reads: 0,
        };
        let mut out = Vec::new();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut chunk = MIN_CHUNK;
        let n = match poll_read_to_end(Pin::new(&mut r), &mut cx, &mut out, 0, &mut chunk) {
            Poll::Ready(Ok(n)) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!((n, out.len()), (total, total));
        assert!(out.iter().all(|&b| b == 7));
        // Before: the whole spare capacity (about half the length read so far) per read.
        let bound = 3 * total + r.reads * MIN_CHUNK;
        assert!(
            r.offered <= bound,
            "{} bytes offered for {total} read in {} reads",
            r.offered,
            r.reads
        );
    }

    #[test]
    fn read_to_end_zeroes_in_proportion_to_what_it_reads() {
        // Under Miri (which interprets every byte written) the same shapes, smaller.
        let (total, pipe, tiny) = if cfg!(miri) {
            (1 << 13, 2 * 1024, 4 * 1024)
        } else {
            (32 << 20, 64 * 1024, 512 * 1024)
        };
        check(total, usize::MAX); // large reads: a socket or a file
        check(total, pipe); // pipe-sized reads
        check(tiny, 512); // tiny reads
    }
}
