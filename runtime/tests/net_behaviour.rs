//! Socket behaviour against real kernel peers: partial reads and writes, half-close,
//! peer reset, large transfers, many connections, name resolution, socket options,
//! UDP options, Unix-domain asyncio streams and graceful server shutdown.

mod common;
use common::tcp_pair;

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Shutdown, SocketAddr};
use std::time::Duration;

use runtime::net::{
    lookup_host, open_unix_connection, start_server, start_unix_server, TcpListener, TcpSocket,
    TcpStream, UdpSocket,
};

#[runtime::test]
async fn partial_writes_and_reads_add_up() {
    let (mut a, mut b) = tcp_pair().await;
    // More than the kernel's socket buffers can hold (tcp_wmem + tcp_rmem maxima):
    // the sender's writes must come back short and wait for the reader.
    let total = 32 * 1024 * 1024;
    let writer = runtime::spawn(async move {
        let data = vec![0xabu8; total];
        let mut sent = 0;
        let mut calls = 0;
        while sent < total {
            let n = a.write(&data[sent..]).await.unwrap();
            assert!(n > 0);
            sent += n;
            calls += 1;
        }
        calls
    });
    let mut got = 0;
    let mut buf = vec![0u8; 16 * 1024];
    while got < total {
        let n = b.read(&mut buf).await.unwrap();
        assert!(n > 0 && buf[..n].iter().all(|&x| x == 0xab));
        got += n;
    }
    assert!(
        writer.await.unwrap() > 1,
        "32 MiB cannot go out in one write"
    );
}

#[runtime::test]
async fn large_transfer_in_4k_reads_is_byte_exact() {
    let (mut a, mut b) = tcp_pair().await;
    const SIZE: usize = 8 * 1024 * 1024;
    let writer = runtime::spawn(async move {
        let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
        a.write_all(&data).await.unwrap();
        a.shutdown(Shutdown::Write).unwrap();
    });
    let mut buf = [0u8; 4096];
    let mut offset = 0usize;
    loop {
        let n = b.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        for (k, &x) in buf[..n].iter().enumerate() {
            assert_eq!(x, ((offset + k) % 251) as u8, "byte {}", offset + k);
        }
        offset += n;
    }
    assert_eq!(offset, SIZE);
    writer.await.unwrap();
}

#[runtime::test]
async fn half_close_lets_the_other_direction_go_on() {
    let (mut a, mut b) = tcp_pair().await;
    a.write_all(b"request").await.unwrap();
    a.shutdown(Shutdown::Write).unwrap();
    let mut req = Vec::new();
    b.read_to_end(&mut req).await.unwrap(); // ends: a closed its write side
    assert_eq!(req, b"request");
    b.write_all(b"response").await.unwrap(); // b can still write
    drop(b);
    let mut resp = Vec::new();
    a.read_to_end(&mut resp).await.unwrap();
    assert_eq!(resp, b"response");
    let e = a.write_all(b"more").await;
    // Writing after our own shutdown is an error, not a hang.
    assert_eq!(e.unwrap_err().kind(), ErrorKind::BrokenPipe);
}

#[runtime::test]
async fn peer_reset_is_connection_reset() {
    let (a, mut b) = tcp_pair().await;
    a.set_linger(Some(Duration::ZERO)).unwrap();
    drop(a); // RST instead of FIN
    let mut buf = [0u8; 16];
    let e = b.read(&mut buf).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset);
}

#[runtime::test]
async fn writing_to_a_closed_peer_fails_instead_of_hanging() {
    let (a, mut b) = tcp_pair().await;
    drop(a);
    let chunk = vec![0u8; 64 * 1024];
    let mut err = None;
    for _ in 0..100 {
        if let Err(e) = b.write_all(&chunk).await {
            err = Some(e);
            break;
        }
    }
    let kind = err.expect("writes to a closed peer fail").kind();
    assert!(
        matches!(kind, ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
        "{kind:?}"
    );
}

#[runtime::test]
async fn a_thousand_connections_at_once() {
    const N: usize = 1000;
    let server = start_server(
        |mut r, mut w| async move {
            let line = r.readline().await.unwrap();
            w.write(&line);
            w.drain().await.unwrap();
        },
        "127.0.0.1:0",
    )
    .unwrap();
    let addr = server.local_addr();
    let mut clients = Vec::new();
    for i in 0..N {
        clients.push(runtime::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("client {i}\n").as_bytes())
                .await
                .unwrap();
            let mut back = Vec::new();
            s.read_to_end(&mut back).await.unwrap();
            assert_eq!(back, format!("client {i}\n").as_bytes());
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    server.close();
    server.wait_closed().await;
    assert_eq!(server.active_connections(), 0);
}

#[runtime::test]
async fn lookup_host_resolves_names_and_passes_numbers_through() {
    let addrs: Vec<SocketAddr> = lookup_host(("localhost", 80)).await.unwrap().collect();
    assert!(!addrs.is_empty());
    assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
    let addrs: Vec<SocketAddr> = lookup_host("10.1.2.3:7").await.unwrap().collect();
    assert_eq!(addrs, ["10.1.2.3:7".parse().unwrap()]);
    let e = lookup_host("no-such-host.invalid:80").await.err().unwrap();
    assert_ne!(e.kind(), ErrorKind::WouldBlock);
    // A string without a port is an error, not a panic.
    assert!(lookup_host("localhost").await.is_err());
}

#[runtime::test]
async fn connect_by_name_resolves_on_the_pool() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = runtime::spawn(async move { TcpStream::connect(("localhost", port)).await });
    let accepted = runtime::spawn(async move { listener.accept().await.map(|_| ()) });
    // "localhost" may resolve to ::1 first; the IPv4 address must then be tried too.
    let c = client.await.unwrap().unwrap();
    assert_eq!(c.peer_addr().unwrap().port(), port);
    accepted.await.unwrap().unwrap();
}

#[runtime::test]
async fn connection_refused_is_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
}

#[runtime::test]
async fn tcp_socket_sets_options_before_listening() {
    let s = TcpSocket::new_v4().unwrap();
    s.set_reuseaddr(true).unwrap();
    s.set_reuseport(true).unwrap();
    s.set_recv_buffer_size(256 * 1024).unwrap();
    s.set_send_buffer_size(256 * 1024).unwrap();
    assert!(s.recv_buffer_size().unwrap() >= 256 * 1024);
    assert!(s.send_buffer_size().unwrap() >= 256 * 1024);
    s.set_keepalive(Some(Duration::from_secs(30))).unwrap();
    s.set_nodelay(true).unwrap();
    s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = s.local_addr().unwrap();
    let a = s.listen(16).unwrap();
    // SO_REUSEPORT: a second listener on the same port.
    let s2 = TcpSocket::new_v4().unwrap();
    s2.set_reuseport(true).unwrap();
    s2.bind(addr).unwrap();
    let b = s2.listen(16).unwrap();
    // Without it, binding the port again fails with a clear error.
    let s3 = TcpSocket::new_v4().unwrap();
    assert_eq!(s3.bind(addr).unwrap_err().kind(), ErrorKind::AddrInUse);
    // Connections reach one of the two listeners.
    let client = TcpSocket::new_v4().unwrap();
    client.set_linger(Some(Duration::from_secs(1))).unwrap();
    let c = client.connect(addr).await.unwrap();
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    let got = runtime::select(a.accept(), b.accept()).await;
    let (conn, _) = match got {
        runtime::Either::Left(r) | runtime::Either::Right(r) => r.unwrap(),
    };
    assert_eq!(conn.peer_addr().unwrap(), c.local_addr().unwrap());
}

#[runtime::test]
async fn udp_broadcast_and_multicast_options() {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    assert!(!s.broadcast().unwrap());
    s.set_broadcast(true).unwrap();
    assert!(s.broadcast().unwrap());
    s.set_multicast_loop_v4(true).unwrap();
    s.set_multicast_ttl_v4(1).unwrap();
    s.set_ttl(32).unwrap();
    let group = Ipv4Addr::new(239, 255, 0, 77);
    // Joining needs a multicast-capable interface; the error, if any, is typed.
    match s.join_multicast_v4(group, Ipv4Addr::UNSPECIFIED) {
        Ok(()) => s.leave_multicast_v4(group, Ipv4Addr::UNSPECIFIED).unwrap(),
        Err(e) => assert_ne!(e.kind(), ErrorKind::InvalidInput, "{e}"),
    }
    assert!(s
        .join_multicast_v4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::UNSPECIFIED)
        .is_err());
}

#[runtime::test]
async fn unix_streams_serve_and_close_gracefully() {
    let dir = std::env::temp_dir().join(format!("runtime-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    let server = start_unix_server(
        |mut r, mut w| async move {
            while let Ok(line) = r.readuntil(b"\n").await {
                w.write(&line.to_ascii_uppercase());
                w.drain().await.unwrap();
            }
        },
        &path,
    )
    .unwrap();
    assert_eq!(server.path(), Some(path.as_path()));
    let (mut r, mut w) = open_unix_connection(&path).await.unwrap();
    w.write(b"hello\n");
    w.drain().await.unwrap();
    assert_eq!(r.readline().await.unwrap(), b"HELLO\n");
    assert_eq!(
        w.peer_addr().unwrap_err().kind(),
        ErrorKind::Unsupported,
        "a Unix peer has no IP address"
    );
    server.close();
    runtime::yield_now().await;
    assert!(!server.is_serving());
    assert_eq!(
        server.active_connections(),
        1,
        "the open connection goes on"
    );
    w.write(b"still here\n");
    w.drain().await.unwrap();
    assert_eq!(r.readline().await.unwrap(), b"STILL HERE\n");
    let waiter = runtime::spawn(async move {
        server.wait_closed().await;
        server.active_connections()
    });
    w.close().await.unwrap(); // the handler sees end of stream and returns
    assert_eq!(waiter.await.unwrap(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[runtime::test]
async fn a_short_read_skips_the_extra_syscall_but_never_loses_a_wakeup() {
    // IO3: after a short read the cached readiness is cleared without asking the kernel;
    // data arriving later is a new edge and must wake the reader.
    let (mut a, mut b) = tcp_pair().await;
    let mut buf = [0u8; 64];
    for round in 0..50u8 {
        a.write_all(&[round; 3]).await.unwrap();
        let n = b.read(&mut buf).await.unwrap(); // short: 3 of 64
        assert_eq!(&buf[..n], &[round; 3][..n]);
        if n < 3 {
            b.read_exact(&mut buf[n..3]).await.unwrap();
        }
        // Nothing is pending now; the next write must still wake the next read, even
        // when it arrives while the reader is parked.
        let writer = runtime::spawn(async move {
            runtime::yield_now().await;
            a
        });
        a = writer.await.unwrap();
    }
    // A short read followed by the peer's FIN: the end of stream is still reported.
    a.write_all(b"last").await.unwrap();
    drop(a);
    let mut all = Vec::new();
    b.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, b"last");
}

#[runtime::test]
async fn udp_by_host_name() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind(("127.0.0.1", 0)).unwrap();
    let port = a.local_addr().unwrap().port();
    b.send_to(b"by name", ("localhost", port)).await.unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = a.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"by name");
    b.connect(from.to_string()).await.unwrap();
    let e = b.send_to(b"x", "no-such-host.invalid:9").await.unwrap_err();
    assert_ne!(e.kind(), ErrorKind::WouldBlock);
}
