//! The sockets as the ecosystem expects them: `from_std`/`into_std` keep the connection and
//! its unread bytes, `AsRawFd`/`AsFd` name the registered descriptor, and
//! `poll_read_ready`/`poll_write_ready` follow the reactor's readiness.

use std::future::poll_fn;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::task::Poll;

use runtime::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixStream};

#[runtime::test]
async fn tcp_round_trip_through_std_keeps_unread_bytes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = runtime::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (mut server, _) = listener.accept().await.unwrap();
    let client = client.await.unwrap();

    server.write_all(b"one two").await.unwrap();
    client.readable().await.unwrap();
    // Hand the connection to blocking code, then back: nothing is lost.
    let mut std = client.into_std().unwrap();
    std.set_nonblocking(false).unwrap();
    let mut three = [0u8; 3];
    std.read_exact(&mut three).unwrap();
    assert_eq!(&three, b"one");
    std.write_all(b"from std").unwrap();
    let mut client = TcpStream::from_std(std).unwrap();
    let mut rest = [0u8; 4];
    client.read_exact(&mut rest).await.unwrap();
    assert_eq!(&rest, b" two");
    let mut got = [0u8; 8];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"from std");

    // The listener too: a std listener keeps accepting on the same port.
    let std_listener = listener.into_std().unwrap();
    assert_eq!(std_listener.local_addr().unwrap(), addr);
    let listener = TcpListener::from_std(std_listener).unwrap();
    let again = runtime::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    listener.accept().await.unwrap();
    again.await.unwrap();
}

#[runtime::test]
async fn raw_fd_is_the_registered_socket() {
    let (a, mut b) = UnixStream::pair().unwrap();
    assert_eq!(a.as_raw_fd(), a.as_fd().as_raw_fd());
    // Write through the descriptor the trait hands out; the runtime side reads it.
    // SAFETY: a live descriptor and a 3-byte buffer.
    let n = unsafe { libc::write(a.as_raw_fd(), b"raw".as_ptr().cast(), 3) };
    assert_eq!(n, 3);
    let mut buf = [0u8; 3];
    b.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"raw");
}

#[runtime::test]
async fn poll_read_ready_waits_for_data_and_write_ready_is_immediate() {
    let (a, mut b) = UnixStream::pair().unwrap();
    // Writable at once: the send buffer is empty.
    poll_fn(|cx| a.poll_write_ready(cx)).await.unwrap();
    // Not readable until the peer writes.
    let first = poll_fn(|cx| Poll::Ready(a.poll_read_ready(cx))).await;
    assert!(first.is_pending(), "readable before anything was written");
    let writer = runtime::spawn(async move {
        runtime::sleep(std::time::Duration::from_millis(5)).await;
        b.write_all(b"x").await.unwrap();
        b
    });
    poll_fn(|cx| a.poll_read_ready(cx)).await.unwrap();
    // Ready means a read does not block: `try_read` gets the byte, then `WouldBlock`
    // (which clears the readiness, so the next `poll_read_ready` waits again).
    let mut one = [0u8; 1];
    assert_eq!(a.try_read(&mut one).unwrap(), 1);
    let err = a.try_read(&mut one).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    let again = poll_fn(|cx| Poll::Ready(a.poll_read_ready(cx))).await;
    assert!(again.is_pending(), "still ready after WouldBlock");
    // `try_write` the same way, on the other direction.
    assert_eq!(a.try_write(b"y").unwrap(), 1);
    let mut b = writer.await.unwrap();
    let mut got = [0u8; 1];
    b.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"y");
}

#[runtime::test]
async fn datagram_sockets_convert_both_ways() {
    let std = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = std.local_addr().unwrap();
    let socket = UdpSocket::from_std(std).unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.send_to(b"ping", addr).await.unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = socket.recv_from(&mut buf).await.unwrap();
    assert_eq!(
        (&buf[..n], from),
        (&b"ping"[..], peer.local_addr().unwrap())
    );
    let std = socket.into_std().unwrap();
    std.set_nonblocking(false).unwrap();
    peer.send_to(b"pong", addr).await.unwrap();
    let (n, _) = std.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"pong");

    let (a, b) = std::os::unix::net::UnixDatagram::pair().unwrap();
    let a = UnixDatagram::from_std(a).unwrap();
    b.send(b"hello").unwrap();
    a.readable().await.unwrap();
    assert_eq!(a.recv(&mut buf).await.unwrap(), 5);
    let a = a.into_std().unwrap();
    a.set_nonblocking(false).unwrap();
    b.send(b"again").unwrap();
    assert_eq!(a.recv(&mut buf).unwrap(), 5);
}

#[test]
fn from_std_outside_a_loop_panics_with_advice() {
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let err = std::panic::catch_unwind(|| UnixStream::from_std(a)).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("loop"), "{msg}");
}
