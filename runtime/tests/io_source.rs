//! Custom mio sources on the loop's reactor.

use std::io::{self, Read, Write};
use std::time::Duration;

use runtime::io::{Interest, Source};

#[test]
fn reader_task_is_woken_when_data_arrives() {
    runtime::run(async {
        let (a, mut b) = mio::net::UnixStream::pair().unwrap();
        let a = Source::new(a, Interest::READABLE).unwrap();
        let reader = runtime::spawn(async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            loop {
                let n = a.read_with(|mut s| s.read(&mut buf)).await.unwrap();
                if n == 0 {
                    return got;
                }
                got.extend_from_slice(&buf[..n]);
            }
        });
        runtime::sleep(Duration::from_millis(5)).await; // the reader parks on the reactor
        b.write_all(b"hello ").unwrap();
        runtime::sleep(Duration::from_millis(5)).await;
        b.write_all(b"world").unwrap();
        drop(b); // EOF
        assert_eq!(reader.await.unwrap(), b"hello world");
    });
}

#[test]
fn writer_waits_for_room_in_a_full_socket() {
    runtime::run(async {
        let (a, b) = mio::net::UnixStream::pair().unwrap();
        let a = Source::new(a, Interest::WRITABLE).unwrap();
        let b = Source::new(b, Interest::READABLE).unwrap();
        const TOTAL: usize = 4 << 20; // far more than a socket buffer holds
        let writer = runtime::spawn(async move {
            let chunk = [7u8; 65536];
            let mut sent = 0;
            while sent < TOTAL {
                let n = (TOTAL - sent).min(chunk.len());
                sent += a.write_with(|mut s| s.write(&chunk[..n])).await.unwrap();
            }
            sent
        });
        let mut received = 0;
        let mut buf = vec![0u8; 65536];
        while received < TOTAL {
            received += b.read_with(|mut s| s.read(&mut buf)).await.unwrap();
        }
        assert_eq!(writer.await.unwrap(), TOTAL);
        assert_eq!(received, TOTAL);
    });
}

#[test]
fn try_io_clears_readiness_on_would_block() {
    runtime::run(async {
        let (a, mut b) = mio::net::UnixStream::pair().unwrap();
        let a = Source::new(a, Interest::READABLE).unwrap();
        b.write_all(b"x").unwrap();
        a.readable().await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            a.try_io(Interest::READABLE, |mut s| s.read(&mut buf))
                .unwrap(),
            1
        );
        let e = a
            .try_io(Interest::READABLE, |mut s| s.read(&mut buf))
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        // Readiness was cleared: waiting again parks until new data comes.
        let waited = runtime::timeout(Duration::from_millis(20), a.readable()).await;
        assert!(waited.is_err());
    });
}

#[test]
fn sources_deregister_on_drop_and_slots_are_reused_safely() {
    runtime::run(async {
        for _ in 0..100 {
            let (a, mut b) = mio::net::UnixStream::pair().unwrap();
            let a = Source::new(a, Interest::READABLE).unwrap();
            b.write_all(b"z").unwrap();
            a.readable().await.unwrap();
            drop(a); // a stale event for this slot must not wake the next source
        }
        let (a, _b) = mio::net::UnixStream::pair().unwrap();
        let a = Source::new(a, Interest::READABLE).unwrap();
        assert!(runtime::timeout(Duration::from_millis(10), a.readable())
            .await
            .is_err());
        let inner = a.into_inner().unwrap();
        drop(inner);
    });
}
