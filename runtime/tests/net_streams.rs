//! asyncio-style streams: open_connection / start_server, readline / readuntil /
//! readexactly, write + drain, close.

use std::io;
use std::time::Duration;

use runtime::net::{open_connection, start_server, TcpListener};

#[test]
fn readuntil_finds_a_separator_split_across_reads() {
    runtime::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = runtime::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            // The separator arrives in two pieces, with a pause in between.
            for piece in [&b"head\r"[..], b"\n\r", b"\nbody-line\nrest"] {
                s.write_all(piece).await.unwrap();
                runtime::sleep(Duration::from_millis(5)).await;
            }
        });
        let (mut r, _w) = open_connection(addr).await.unwrap();
        assert_eq!(r.readuntil(b"\r\n\r\n").await.unwrap(), b"head\r\n\r\n");
        assert_eq!(r.readline().await.unwrap(), b"body-line\n");
        writer.await.unwrap();
        // At end of stream, readline gives what is left, then nothing.
        assert_eq!(r.readline().await.unwrap(), b"rest");
        assert_eq!(r.readline().await.unwrap(), b"");
        assert!(r.at_eof());
    });
}

#[test]
fn readexactly_and_incomplete_read() {
    runtime::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = runtime::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"0123456789").await.unwrap();
        });
        let (mut r, _w) = open_connection(addr).await.unwrap();
        assert_eq!(r.readexactly(4).await.unwrap(), b"0123");
        writer.await.unwrap();
        assert_eq!(r.read(3).await.unwrap(), b"456");
        let err = r.readexactly(10).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("3 bytes read of 10"), "{err}");
    });
}

#[test]
fn start_server_runs_a_task_per_connection_and_close_stops_accepting() {
    runtime::run(async {
        let server = start_server(
            |mut r, mut w| async move {
                while let Ok(line) = r.readline().await {
                    if line.is_empty() {
                        break;
                    }
                    w.write(b"> ");
                    w.write(&line);
                    w.drain().await.unwrap();
                }
                w.close().await.unwrap();
            },
            "127.0.0.1:0",
        )
        .unwrap();
        let addr = server.local_addr();
        let clients: Vec<_> = (0..10)
            .map(|i| {
                runtime::spawn(async move {
                    let (mut r, mut w) = open_connection(addr).await.unwrap();
                    w.write(format!("client {i}\n").as_bytes());
                    w.drain().await.unwrap();
                    let got = r.readline().await.unwrap();
                    assert_eq!(got, format!("> client {i}\n").as_bytes());
                    w.close().await.unwrap(); // the server sees EOF and closes too
                    assert_eq!(r.readline().await.unwrap(), b"");
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.close();
        runtime::yield_now().await;
        runtime::yield_now().await;
        let refused = runtime::timeout(Duration::from_secs(2), open_connection(addr)).await;
        assert!(matches!(refused, Ok(Err(_))), "no longer accepting");
    });
}

#[test]
fn start_server_on_a_port_in_use_fails_clearly() {
    runtime::run(async {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let err = start_server(|_, _| async {}, first.local_addr().unwrap())
            .err()
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    });
}

/// A reader connected to a peer that sends `data` and then either closes or stays open.
async fn reader_fed(
    data: Vec<u8>,
    close: bool,
    limit: Option<usize>,
) -> (runtime::net::StreamReader, runtime::Task<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let feeder = runtime::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(&data).await.unwrap();
        if !close {
            std::future::pending::<()>().await;
        }
    });
    let (r, _w) = match limit {
        Some(l) => runtime::net::open_connection_with_limit(addr, l)
            .await
            .unwrap(),
        None => open_connection(addr).await.unwrap(),
    };
    (r, feeder)
}

fn limit_error(e: &io::Error) -> runtime::net::LimitOverrunError {
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    runtime::net::LimitOverrunError::from_io(e)
        .unwrap_or_else(|| panic!("not a limit error: {e}"))
        .clone()
}

#[test]
fn readuntil_stops_at_the_default_limit_and_leaves_the_data() {
    runtime::run(async {
        assert_eq!(runtime::net::DEFAULT_LIMIT, 64 * 1024);
        // 100 KiB without the separator, from a peer that stays open.
        let (mut r, _feeder) = reader_fed(vec![b'x'; 100 * 1024], false, None).await;
        assert_eq!(r.limit(), 64 * 1024);
        let e = r.readuntil(b"\r\n").await.unwrap_err();
        let l = limit_error(&e);
        assert_eq!(
            (l.operation, l.limit, l.separator_found),
            ("readuntil", 65536, false)
        );
        assert!(
            l.consumed > 65536 && l.consumed <= 65536 + 16 * 1024,
            "{l:?}"
        );
        assert!(e.to_string().contains("limit"), "{e}");
        // The data is still there to consume (asyncio: LimitOverrunError leaves it).
        let head = r.readexactly(l.consumed).await.unwrap();
        assert!(head.iter().all(|&b| b == b'x'));
    });
}

#[test]
fn readuntil_with_the_separator_beyond_the_limit_is_an_overrun() {
    runtime::run(async {
        let mut data = vec![b'y'; 300];
        data.extend_from_slice(b"\n");
        data.extend_from_slice(b"short\n");
        let (mut r, _feeder) = reader_fed(data, true, Some(100)).await;
        let e = r.readuntil(b"\n").await.unwrap_err();
        let l = limit_error(&e);
        assert!(l.separator_found);
        assert_eq!(l.consumed, 300);
        // Left in place: readexactly can take the long chunk, then lines go on.
        assert_eq!(r.readexactly(301).await.unwrap().len(), 301);
        assert_eq!(r.readuntil(b"\n").await.unwrap(), b"short\n");
    });
}

#[test]
fn readline_over_the_limit_discards_the_line_as_asyncio_does() {
    runtime::run(async {
        let mut data = vec![b'z'; 500];
        data.extend_from_slice(b"\nnext\n");
        let (mut r, _feeder) = reader_fed(data, true, Some(100)).await;
        let e = r.readline().await.unwrap_err();
        assert_eq!(limit_error(&e).operation, "readline");
        // asyncio's readline drops the over-long line (ValueError); reading goes on after it.
        let mut next = r.readline().await;
        while let Err(e) = &next {
            // The line may have arrived in pieces: each piece over the limit is dropped.
            limit_error(e);
            next = r.readline().await;
        }
        assert_eq!(next.unwrap(), b"next\n");
    });
}

#[test]
fn an_endless_line_never_grows_the_buffer_past_the_limit() {
    runtime::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let feeder = runtime::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let chunk = vec![b'e'; 64 * 1024];
            // 8 MiB with no newline; stops when the reader goes away.
            for _ in 0..128 {
                if s.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        });
        let (mut r, w) = open_connection_with_small_limit(addr).await;
        let mut overruns = 0;
        loop {
            match r.readline().await {
                Err(e) => {
                    let l = limit_error(&e);
                    assert!(l.consumed <= 4096 + 8192, "{l:?}");
                    overruns += 1;
                }
                Ok(line) => {
                    assert!(line.is_empty() || line.len() <= 4096, "{}", line.len());
                    if line.is_empty() {
                        break;
                    }
                }
            }
        }
        assert!(overruns >= (8 << 20) / (4096 + 8192), "{overruns}");
        drop((r, w));
        feeder.await.unwrap();
    });
}

async fn open_connection_with_small_limit(
    addr: std::net::SocketAddr,
) -> (runtime::net::StreamReader, runtime::net::StreamWriter) {
    let (mut r, w) = open_connection(addr).await.unwrap();
    r.set_limit(4096);
    (r, w)
}

#[test]
fn read_all_reads_to_the_end_and_the_io_traits_work_on_the_streams() {
    use runtime::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    runtime::run(async {
        let server = start_server(
            |mut r, mut w| async move {
                // AsyncBufRead: lines() from the io extensions, then AsyncWrite.
                let mut line = String::new();
                r.read_line(&mut line).await.unwrap();
                w.write_all(line.to_uppercase().as_bytes()).await.unwrap();
                let mut rest = Vec::new();
                r.read_to_end(&mut rest).await.unwrap();
                w.write_all(&rest).await.unwrap();
                w.close().await.unwrap();
            },
            "127.0.0.1:0",
        )
        .unwrap();
        let (mut r, mut w) = open_connection(server.local_addr()).await.unwrap();
        w.write(b"hello\n");
        w.write(&vec![b'q'; 100_000]);
        w.close().await.unwrap();
        let all = r.read_all().await.unwrap();
        assert_eq!(&all[..6], b"HELLO\n");
        assert_eq!(all.len(), 6 + 100_000);
        assert!(r.at_eof());
        server.close();
    });
}

#[test]
fn a_cancelled_drain_never_sends_bytes_twice() {
    let data: Vec<u8> = (0..32u32 << 20).map(|i| (i % 251) as u8).collect();
    runtime::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = runtime::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            // A slow reader: nothing is read until the first drain has timed out.
            runtime::sleep(Duration::from_millis(200)).await;
            let mut all = Vec::new();
            s.read_to_end(&mut all).await.unwrap();
            all
        });
        let (_r, mut w) = open_connection(addr).await.unwrap();
        w.write(&data);
        let first = runtime::timeout(Duration::from_millis(100), w.drain()).await;
        assert!(first.is_err(), "32 MiB cannot fit in the socket buffers");
        assert!(
            w.buffered() < data.len(),
            "nothing went out before the timeout"
        );
        w.drain().await.unwrap();
        w.close().await.unwrap();
        let got = reader.await.unwrap();
        assert_eq!(got.len(), data.len(), "bytes sent twice or lost");
        assert!(got == data);
    });
}
