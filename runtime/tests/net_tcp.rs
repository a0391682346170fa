//! TCP and UDP sockets on loopback.

use std::io;
use std::time::Duration;

use runtime::net::{TcpListener, TcpStream, UdpSocket};

async fn echo_server(listener: TcpListener, conns: usize) {
    let mut handlers = Vec::new();
    for _ in 0..conns {
        let (mut s, _) = listener.accept().await.unwrap();
        handlers.push(runtime::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                s.write_all(&buf[..n]).await.unwrap();
            }
        }));
    }
    for h in handlers {
        h.await.unwrap();
    }
}

#[test]
fn many_clients_echo_concurrently() {
    runtime::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime::spawn(echo_server(listener, 20));
        let clients: Vec<_> = (0..20u8)
            .map(|i| {
                runtime::spawn(async move {
                    let mut c = TcpStream::connect(addr).await.unwrap();
                    c.set_nodelay(true).unwrap();
                    assert!(c.nodelay().unwrap());
                    let msg = vec![i; 1000];
                    c.write_all(&msg).await.unwrap();
                    let mut back = vec![0u8; 1000];
                    c.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, msg);
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
}

#[test]
fn large_transfer_with_backpressure_and_eof() {
    runtime::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        const TOTAL: usize = 8 << 20;
        let sender = runtime::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let chunk = vec![0xAB; 64 * 1024];
            let mut sent = 0;
            while sent < TOTAL {
                s.write_all(&chunk).await.unwrap();
                sent += chunk.len();
            }
            s.shutdown(std::net::Shutdown::Write).unwrap(); // EOF for the reader
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        runtime::sleep(Duration::from_millis(20)).await; // let the sender fill the buffers
        let mut all = Vec::new();
        let n = c.read_to_end(&mut all).await.unwrap();
        assert_eq!(n, TOTAL);
        assert!(all.iter().all(|b| *b == 0xAB));
        sender.await.unwrap();
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    runtime::run(async {
        // Bind then drop to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = TcpStream::connect(port).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn binding_a_port_in_use_is_a_clear_error() {
    runtime::run(async {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let err = TcpListener::bind(a.local_addr().unwrap()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    });
}

#[test]
fn read_exact_reports_early_eof() {
    runtime::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"abc").await.unwrap();
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        server.await.unwrap(); // the server's stream is dropped: EOF after 3 bytes
        let mut buf = [0u8; 10];
        let err = c.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    });
}

#[test]
fn accept_is_cancel_safe_under_timeout() {
    runtime::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(
            runtime::timeout(Duration::from_millis(10), listener.accept())
                .await
                .is_err()
        );
        let client = runtime::spawn(async move { TcpStream::connect(addr).await.map(|_| ()) });
        let (s, peer) = listener.accept().await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), peer);
        client.await.unwrap().unwrap();
    });
}

#[test]
fn udp_send_recv_and_connected_mode() {
    runtime::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let receiver = runtime::spawn(async move {
            let mut buf = [0u8; 64];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(from, aa);
            b.connect(from).await.unwrap();
            b.send(&buf[..n]).await.unwrap();
        });
        runtime::yield_now().await;
        a.send_to(b"datagram", ba).await.unwrap();
        a.connect(ba).await.unwrap();
        let mut buf = [0u8; 64];
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"datagram");
        receiver.await.unwrap();
    });
}

#[test]
fn unix_stream_pair_and_datagrams() {
    use runtime::net::{UnixDatagram, UnixStream};
    runtime::run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let echo = runtime::spawn(async move {
            let mut buf = [0u8; 4];
            b.read_exact(&mut buf).await.unwrap();
            b.write_all(&buf).await.unwrap();
        });
        a.write_all(b"unix").await.unwrap();
        let mut back = [0u8; 4];
        a.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"unix");
        echo.await.unwrap();

        let (x, y) = UnixDatagram::pair().unwrap();
        x.send(b"dgram").await.unwrap();
        let mut buf = [0u8; 16];
        let n = y.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"dgram");
    });
}
