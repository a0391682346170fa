//! The futures-io traits and helpers on real sockets: buffered lines across partial
//! writes, read_to_end, BufWriter batching, copy, split halves working concurrently,
//! and interop with futures-util (an ecosystem crate that knows nothing of us).

mod common;
use common::tcp_pair;

use std::time::Duration;

use runtime::io::{
    copy, split, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter, Fd, Interest,
    Source,
};
use runtime::net::UnixStream;
use runtime::stream::StreamExt;

#[runtime::test]
async fn lines_survive_writes_split_at_every_byte() {
    let (mut a, b) = UnixStream::pair().unwrap();
    let writer = runtime::spawn(async move {
        let text = b"alpha\nbeta\r\ngamma\n\ndelta";
        for chunk in text.chunks(1) {
            AsyncWriteExt::write_all(&mut a, chunk).await.unwrap();
            runtime::yield_now().await;
        }
        AsyncWriteExt::close(&mut a).await.unwrap();
    });
    let lines: Vec<String> = BufReader::with_capacity(3, b)
        .lines()
        .map(|l| l.unwrap())
        .collect()
        .await;
    assert_eq!(lines, ["alpha", "beta", "gamma", "", "delta"]);
    writer.await.unwrap();
}

#[runtime::test]
async fn read_line_and_read_until_keep_delimiters_and_report_eof() {
    let (mut a, b) = UnixStream::pair().unwrap();
    AsyncWriteExt::write_all(&mut a, b"k1=v1;k2=v2\nrest")
        .await
        .unwrap();
    drop(a);
    let mut r = BufReader::new(b);
    let mut field = Vec::new();
    assert_eq!(r.read_until(b';', &mut field).await.unwrap(), 6);
    assert_eq!(field, b"k1=v1;");
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    assert_eq!(line, "k2=v2\n");
    line.clear();
    assert_eq!(r.read_line(&mut line).await.unwrap(), 4);
    assert_eq!(line, "rest");
    line.clear();
    assert_eq!(r.read_line(&mut line).await.unwrap(), 0, "end of stream");
}

#[runtime::test]
async fn invalid_utf8_is_invalid_data_and_appends_nothing() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    AsyncWriteExt::write_all(&mut a, &[0xff, 0xfe])
        .await
        .unwrap();
    drop(a);
    let mut s = String::from("kept");
    let e = AsyncReadExt::read_to_string(&mut b, &mut s)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(s, "kept");
}

#[runtime::test]
async fn read_exact_reports_a_short_stream() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    AsyncWriteExt::write_all(&mut a, b"abc").await.unwrap();
    drop(a);
    let mut buf = [0u8; 5];
    let e = AsyncReadExt::read_exact(&mut b, &mut buf)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
}

#[runtime::test]
async fn bufwriter_batches_small_writes_until_flush() {
    let (a, mut b) = tcp_pair().await;
    let mut w = BufWriter::with_capacity(64, a);
    for _ in 0..10 {
        w.write_all(b"12345").await.unwrap();
    }
    assert_eq!(w.buffer().len(), 50, "nothing sent yet");
    w.write_all(&[b'x'; 20]).await.unwrap(); // overflows: the 50 go out first
    assert_eq!(w.buffer().len(), 20);
    w.close().await.unwrap(); // flushes, then shuts down the write side
    let mut all = Vec::new();
    AsyncReadExt::read_to_end(&mut b, &mut all).await.unwrap();
    assert_eq!(all.len(), 70);
    assert!(all.ends_with(&[b'x'; 20]));
}

#[runtime::test]
async fn copy_moves_a_megabyte_between_sockets() {
    let (mut src_w, mut src_r) = tcp_pair().await;
    let (mut dst_w, mut dst_r) = tcp_pair().await;
    let data: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let expected = data.clone();
    let producer = runtime::spawn(async move {
        AsyncWriteExt::write_all(&mut src_w, &data).await.unwrap();
        AsyncWriteExt::close(&mut src_w).await.unwrap();
    });
    let pump = runtime::spawn(async move {
        let n = copy(&mut src_r, &mut dst_w).await.unwrap();
        AsyncWriteExt::close(&mut dst_w).await.unwrap();
        n
    });
    let mut got = Vec::new();
    AsyncReadExt::read_to_end(&mut dst_r, &mut got)
        .await
        .unwrap();
    assert_eq!(pump.await.unwrap(), 1 << 20);
    producer.await.unwrap();
    assert!(got == expected);
}

#[runtime::test]
async fn split_halves_read_and_write_at_the_same_time() {
    let (a, b) = tcp_pair().await;
    let (mut ar, mut aw) = split(a);
    let (mut br, mut bw) = split(b);
    // Both sides write 256 KiB before reading anything: only concurrent halves finish.
    let chunk = vec![7u8; 256 * 1024];
    let c2 = chunk.clone();
    let a_writer = runtime::spawn(async move {
        aw.write_all(&c2).await.unwrap();
        aw
    });
    let b_writer = runtime::spawn(async move {
        bw.write_all(&chunk).await.unwrap();
        bw
    });
    let a_reader = runtime::spawn(async move {
        let mut buf = vec![0u8; 256 * 1024];
        ar.read_exact(&mut buf).await.unwrap();
        ar
    });
    let mut buf = vec![0u8; 256 * 1024];
    br.read_exact(&mut buf).await.unwrap();
    assert!(buf.iter().all(|&x| x == 7));
    let ar = a_reader.await.unwrap();
    let aw = a_writer.await.unwrap();
    b_writer.await.unwrap();
    let whole = ar.unsplit(aw);
    assert!(whole.peer_addr().is_ok());
}

#[runtime::test]
async fn futures_util_extensions_work_on_our_sockets() {
    let (mut a, mut b) = tcp_pair().await;
    futures_util::io::AsyncWriteExt::write_all(&mut a, b"from futures-util")
        .await
        .unwrap();
    futures_util::io::AsyncWriteExt::close(&mut a)
        .await
        .unwrap();
    let mut s = String::new();
    futures_util::io::AsyncReadExt::read_to_string(&mut b, &mut s)
        .await
        .unwrap();
    assert_eq!(s, "from futures-util");
}

#[runtime::test]
async fn fd_wraps_a_raw_pipe() {
    let (w, r) = mio::unix::pipe::new().unwrap(); // (sender, receiver)
    let r: std::os::fd::OwnedFd = r.into();
    let w: std::os::fd::OwnedFd = w.into();
    let mut r = Source::new(Fd::new(r).unwrap(), Interest::READABLE).unwrap();
    let mut w = Source::new(Fd::new(w).unwrap(), Interest::WRITABLE).unwrap();
    let reader = runtime::spawn(async move {
        let mut all = Vec::new();
        AsyncReadExt::read_to_end(&mut r, &mut all).await.unwrap();
        all.len()
    });
    // More than the pipe holds (64 KiB): the writer must wait for the reader.
    AsyncWriteExt::write_all(&mut w, &vec![1u8; 1 << 20])
        .await
        .unwrap();
    drop(w);
    assert_eq!(reader.await.unwrap(), 1 << 20);
}

#[runtime::test(start_paused = true)]
async fn take_limits_a_reader() {
    let mut r = (&b"0123456789"[..]).take(4);
    let mut s = String::new();
    r.read_to_string(&mut s).await.unwrap();
    assert_eq!(s, "0123");
    runtime::sleep(Duration::from_secs(1)).await;
}
