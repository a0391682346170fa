//! tokio's I/O traits on our sockets through the `tokio-io` feature: code written against
//! `tokio::io` (here its extension traits and `copy`) takes them with no wrapper, and no
//! tokio runtime runs.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use runtime::net::{TcpListener, TcpStream, UnixStream};

/// Generic over tokio's traits, as a tokio-based crate would be.
async fn echo_lines<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: S) -> usize {
    let mut lines = BufReader::new(stream);
    let mut line = String::new();
    let mut n = 0;
    while lines.read_line(&mut line).await.unwrap() > 0 {
        lines
            .get_mut()
            .write_all(line.to_uppercase().as_bytes())
            .await
            .unwrap();
        line.clear();
        n += 1;
    }
    lines.get_mut().shutdown().await.unwrap();
    n
}

#[runtime::test]
async fn tcp_stream_through_tokio_traits() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server =
        runtime::spawn(async move { echo_lines(listener.accept().await.unwrap().0).await });
    let mut client = TcpStream::connect(addr).await.unwrap();
    AsyncWriteExt::write_all(&mut client, b"one\ntwo\n")
        .await
        .unwrap();
    AsyncWriteExt::shutdown(&mut client).await.unwrap();
    let mut out = String::new();
    AsyncReadExt::read_to_string(&mut client, &mut out)
        .await
        .unwrap();
    assert_eq!(out, "ONE\nTWO\n");
    assert_eq!(server.await.unwrap(), 2);
}

#[runtime::test]
async fn unix_stream_large_copy_and_vectored_write() {
    let (a, mut b) = UnixStream::pair().unwrap();
    // 1 MiB through tokio's `copy` from a slice: many partial writes, each woken by the
    // reactor, while the reader task drains the other end.
    let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let reader = runtime::spawn(async move {
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(&mut b, &mut got).await.unwrap();
        got
    });
    let mut a = a;
    assert!(tokio::io::AsyncWrite::is_write_vectored(&a));
    let n = tokio::io::copy(&mut &data[..], &mut a).await.unwrap();
    assert_eq!(n, data.len() as u64);
    let bufs = [std::io::IoSlice::new(b"ab"), std::io::IoSlice::new(b"cd")];
    let wrote = AsyncWriteExt::write_vectored(&mut a, &bufs).await.unwrap();
    assert_eq!(wrote, 4);
    AsyncWriteExt::shutdown(&mut a).await.unwrap();
    let got = reader.await.unwrap();
    assert_eq!(&got[..expected.len()], &expected[..]);
    assert_eq!(&got[expected.len()..], b"abcd");
}

#[runtime::test]
async fn split_halves_are_tokio_reader_and_writer() {
    let (a, b) = UnixStream::pair().unwrap();
    let (mut read_a, mut write_a) = runtime::io::split(a);
    let (mut read_b, mut write_b) = runtime::io::split(b);
    AsyncWriteExt::write_all(&mut write_a, b"ping")
        .await
        .unwrap();
    let mut buf = [0u8; 4];
    AsyncReadExt::read_exact(&mut read_b, &mut buf)
        .await
        .unwrap();
    AsyncWriteExt::write_all(&mut write_b, b"pong")
        .await
        .unwrap();
    AsyncReadExt::read_exact(&mut read_a, &mut buf)
        .await
        .unwrap();
    assert_eq!(&buf, b"pong");
}

#[runtime::test]
async fn end_of_stream_reads_zero() {
    let (mut a, b) = UnixStream::pair().unwrap();
    drop(b);
    let mut buf = [0u8; 8];
    assert_eq!(AsyncReadExt::read(&mut a, &mut buf).await.unwrap(), 0);
}
