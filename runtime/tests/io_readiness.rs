//! IO3/IO4: readiness shared between waiters, stale error and hang-up bits, and sources
//! that leave their loop.

use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use runtime::net::{UdpSocket, UnixDatagram};
use runtime::sync::Event;

/// Runs `f` on a fresh runtime in its own thread; fails (instead of hanging the suite)
/// if it does not finish within 20 s, as a loop that spins never would.
fn within_20s(name: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{name}: the loop never returned (spinning?)"));
}

#[test]
fn a_udp_socket_that_got_an_error_does_not_spin_the_loop() {
    within_20s("udp", || {
        runtime::run(async {
            // A port nobody listens on: the send draws an ICMP "port unreachable".
            let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let addr = closed.local_addr().unwrap();
            drop(closed);
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.connect(addr).await.unwrap();
            s.send(b"ping").await.unwrap();
            let mut buf = [0u8; 16];
            let first = runtime::timeout(Duration::from_secs(5), s.recv(&mut buf)).await;
            assert!(
                matches!(&first, Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused),
                "{first:?}"
            );
            // The error was reported; the next recv waits (and a timeout around it works).
            let t = runtime::time::Instant::now();
            let second = runtime::timeout(Duration::from_millis(50), s.recv(&mut buf)).await;
            assert!(second.is_err(), "{second:?}");
            assert!(t.elapsed() >= Duration::from_millis(50));
        });
    });
}

#[test]
fn a_unix_datagram_whose_peer_closed_does_not_spin_the_loop() {
    within_20s("unix datagram", || {
        runtime::run(async {
            let (a, b) = UnixDatagram::pair().unwrap();
            drop(b);
            let mut buf = [0u8; 16];
            // Whatever the first recv says, a timeout around the next one must work.
            let _ = runtime::timeout(Duration::from_millis(20), a.recv(&mut buf)).await;
            let r = runtime::timeout(Duration::from_millis(20), a.recv(&mut buf)).await;
            // Either it reports something at once or it waits; it never wedges the loop.
            let _ = r;
        });
    });
}

#[test]
fn two_tasks_waiting_on_one_socket_both_get_a_datagram() {
    within_20s("two receivers", || {
        runtime::run(async {
            let s = Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
            let addr = s.local_addr().unwrap();
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let s = s.clone();
                    runtime::spawn(async move {
                        let mut buf = [0u8; 16];
                        let (n, _) = s.recv_from(&mut buf).await.unwrap();
                        buf[..n].to_vec()
                    })
                })
                .collect();
            runtime::yield_now().await; // both wait in recv_from
            let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            sender.send_to(b"one", addr).unwrap();
            sender.send_to(b"two", addr).unwrap();
            let mut got = Vec::new();
            for r in receivers {
                got.push(
                    runtime::timeout(Duration::from_secs(5), r)
                        .await
                        .expect("a receiver hung although a datagram was waiting")
                        .unwrap(),
                );
            }
            got.sort();
            assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
        });
    });
}

#[test]
fn two_acceptors_on_one_listener_both_get_a_connection() {
    within_20s("two acceptors", || {
        runtime::run(async {
            let l = Rc::new(runtime::net::TcpListener::bind("127.0.0.1:0").unwrap());
            let addr = l.local_addr().unwrap();
            let acceptors: Vec<_> = (0..2)
                .map(|_| {
                    let l = l.clone();
                    runtime::spawn(async move { l.accept().await.map(|_| ()) })
                })
                .collect();
            runtime::yield_now().await;
            let _c1 = std::net::TcpStream::connect(addr).unwrap();
            let _c2 = std::net::TcpStream::connect(addr).unwrap();
            for a in acceptors {
                runtime::timeout(Duration::from_secs(5), a)
                    .await
                    .expect("an acceptor hung")
                    .unwrap()
                    .unwrap();
            }
        });
    });
}

#[test]
fn into_inner_off_the_loop_deregisters_the_descriptor() {
    use runtime::io::{Interest, Source};
    let rt = runtime::Runtime::new().unwrap();
    let (a, _b) = mio::net::UnixStream::pair().unwrap();
    let src = rt.block_on(async { Source::new(a, Interest::READABLE).unwrap() });
    // Off the loop (block_on returned): the descriptor must leave the epoll set.
    let a = src.into_inner().unwrap();
    // Registering it again on the same loop fails with EEXIST if it is still there.
    let again = rt.block_on(async { Source::new(a, Interest::READABLE).map(|_| ()) });
    assert!(again.is_ok(), "{again:?}");
}

#[test]
fn many_tasks_sharing_a_socket_receive_every_datagram() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    within_20s("stress", || {
        runtime::run(async {
            const TASKS: usize = 8;
            const DATAGRAMS: usize = 2000;
            let s = Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
            let addr = s.local_addr().unwrap();
            let got = std::sync::Arc::new(AtomicUsize::new(0));
            let receivers: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (s, got) = (s.clone(), got.clone());
                    runtime::spawn(async move {
                        let mut buf = [0u8; 16];
                        loop {
                            s.recv_from(&mut buf).await.unwrap();
                            got.fetch_add(1, SeqCst);
                        }
                    })
                })
                .collect();
            runtime::yield_now().await;
            let sent = got.clone();
            let sender = std::thread::spawn(move || {
                let out = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                for i in 0..DATAGRAMS {
                    // At most 32 in flight: the socket buffer never overflows (UDP drops).
                    while i >= sent.load(SeqCst) + 32 {
                        std::thread::yield_now();
                    }
                    out.send_to(&(i as u32).to_le_bytes(), addr).unwrap();
                }
            });
            // Every datagram reaches some waiting task.
            let all = runtime::timeout(Duration::from_secs(15), async {
                while got.load(SeqCst) < DATAGRAMS {
                    runtime::sleep(Duration::from_millis(2)).await;
                }
            })
            .await;
            assert!(
                all.is_ok(),
                "{} of {DATAGRAMS} datagrams received",
                got.load(SeqCst)
            );
            sender.join().unwrap();
            for r in receivers {
                r.cancel();
            }
        });
    });
}

/// The first waiter of a direction stays parked across its wake when it is a task of
/// the loop (it parks again for free). A task that moved on, or finished, must not hide
/// a later waiter: the next task to wait is parked beside it and the next datagram
/// reaches it; the stale one gets at most a spurious wake.
#[test]
fn a_waiter_that_moved_on_does_not_hide_the_next_one() {
    within_20s("stale first waiter", || {
        runtime::run(async {
            let s = Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
            let addr = s.local_addr().unwrap();
            let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            // `first` waits, is woken by a datagram, reads it, then waits on an event.
            let (read, release) = (Rc::new(Event::new()), Rc::new(Event::new()));
            let (s1, r, l) = (s.clone(), read.clone(), release.clone());
            let first = runtime::spawn(async move {
                let mut buf = [0u8; 16];
                let (n, _) = s1.recv_from(&mut buf).await.unwrap();
                r.set();
                l.wait().await;
                buf[..n].to_vec()
            });
            runtime::yield_now().await;
            sender.send_to(b"one", addr).unwrap();
            read.wait().await;
            // `second` now waits on the same socket and gets the next datagram; once the
            // first one finished, a third waiter still gets through.
            let receive = |s: Rc<UdpSocket>| {
                runtime::spawn(async move {
                    let mut buf = [0u8; 16];
                    let (n, _) = s.recv_from(&mut buf).await.unwrap();
                    buf[..n].to_vec()
                })
            };
            let mut first = Some(first);
            for datagram in [&b"two"[..], b"three"] {
                let waiter = receive(s.clone());
                runtime::yield_now().await;
                sender.send_to(datagram, addr).unwrap();
                let got = runtime::timeout(Duration::from_secs(5), waiter)
                    .await
                    .expect("a waiter hung behind a stale first one")
                    .unwrap();
                assert_eq!(got, datagram);
                if let Some(first) = first.take() {
                    release.set();
                    assert_eq!(first.await.unwrap(), b"one");
                }
            }
        });
    });
}
