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
