//! Process-wide descriptor behaviour, in its own test binary because it changes the
//! process's descriptor limit: accept loops back off under EMFILE and recover, and the
//! runtime leaks no descriptor. The tests take a lock so they never overlap.

use std::future::poll_fn;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_core::Stream;
use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{start_server, TcpListener, TcpStream, UdpSocket, UnixStream};

static SERIAL: Mutex<()> = Mutex::new(());

/// How many descriptors are open: `fcntl(F_GETFD)` over the range the limit allows
/// (portable, unlike `/proc/self/fd`).
// `rlim_t` is u64 on Linux and i64 on the BSDs: the casts are needed on some platforms.
#[allow(clippy::unnecessary_cast)]
fn open_fds() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes a plain struct we own.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    let top = (lim.rlim_cur as u64).min(65_536) as libc::c_int;
    // SAFETY: F_GETFD only asks whether a descriptor number is open; no memory is touched.
    (0..top)
        .filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1)
        .count()
}

// `rlim_t` is u64 on Linux and i64 on the BSDs: the casts are needed on some platforms.
#[allow(clippy::unnecessary_cast)]
fn set_soft_limit(n: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        let old = lim.rlim_cur as u64;
        lim.rlim_cur = n as libc::rlim_t;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        old
    }
}

/// Duplicates descriptors until the process is out of them.
fn exhaust() -> Vec<OwnedFd> {
    let mut held = Vec::new();
    loop {
        // SAFETY: dup of stdin returns a new descriptor we own, or -1.
        let fd = unsafe { libc::dup(0) };
        if fd < 0 {
            assert_eq!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::EMFILE)
            );
            return held;
        }
        // SAFETY: fd was just returned by dup and is owned by nobody else.
        held.push(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}

#[test]
fn accept_backs_off_under_emfile_and_recovers() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    runtime::Runtime::new().unwrap().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let old_limit = set_soft_limit(open_fds() as u64 + 32);
        let mut held = exhaust();
        // One descriptor for the client, then the process is out of them again.
        drop(held.pop());
        let mut client = std::net::TcpStream::connect(addr).unwrap(); // completes in the backlog
        client.set_nonblocking(false).unwrap();

        // Poll the accept stream for 300 ms of real time while accept() fails with
        // EMFILE, counting how often it is polled: a busy loop would poll it
        // thousands of times; the back-off (1, 2, 4, ... ms) a handful.
        let mut incoming = listener.incoming();
        let mut polls = 0u32;
        let started = Instant::now();
        let r = runtime::timeout(
            Duration::from_millis(300),
            poll_fn(|cx| {
                polls += 1;
                Pin::new(&mut incoming).poll_next(cx)
            }),
        )
        .await;
        assert!(
            r.is_err(),
            "no connection can be accepted without descriptors"
        );
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(
            polls < 40,
            "accept loop spun: polled {polls} times in 300 ms"
        );

        // Free descriptors: the stream recovers by itself and yields the connection.
        held.clear();
        let mut conn = runtime::timeout(
            Duration::from_secs(5),
            poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)),
        )
        .await
        .expect("accept recovers once descriptors are free")
        .unwrap()
        .unwrap();
        set_soft_limit(old_limit);
        let echo = runtime::run_in_executor(move || {
            client.write_all(b"ok").unwrap();
            let mut b = [0u8; 2];
            client.read_exact(&mut b).unwrap();
            b
        });
        let mut b = [0u8; 2];
        AsyncReadExt::read_exact(&mut conn, &mut b).await.unwrap();
        AsyncWriteExt::write_all(&mut conn, &b).await.unwrap();
        assert_eq!(&echo.await.unwrap(), b"ok");
    });
}

#[test]
fn start_server_survives_emfile() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    runtime::Runtime::new().unwrap().block_on(async {
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
        let old_limit = set_soft_limit(open_fds() as u64 + 32);
        let mut held = exhaust();
        drop(held.pop());
        let client = std::net::TcpStream::connect(addr).unwrap();
        // Let the server hit EMFILE a few times.
        runtime::sleep(Duration::from_millis(50)).await;
        assert!(server.is_serving(), "the accept loop did not stop");
        held.clear();
        set_soft_limit(old_limit);
        let reply = runtime::run_in_executor(move || {
            let mut client = client;
            client.write_all(b"after\n").unwrap();
            let mut s = String::new();
            client.read_to_string(&mut s).unwrap();
            s
        });
        assert_eq!(reply.await.unwrap(), "after\n");
        server.close();
    });
}

#[test]
fn no_descriptor_leaks() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // Warm up what is created once per process: the blocking pool's threads, the
    // signal self-pipe (kept for reuse by design), the reaper.
    runtime::run(async {
        let _ = runtime::run_in_executor(|| ()).await;
        let _sig = runtime::signal::Signal::new(runtime::signal::SignalKind::USER2).unwrap();
    });
    let before = open_fds();
    for _ in 0..3 {
        runtime::run(async {
            let server = start_server(
                |mut r, mut w| async move {
                    if let Ok(line) = r.readline().await {
                        w.write(&line);
                        let _ = w.drain().await;
                    }
                },
                "127.0.0.1:0",
            )
            .unwrap();
            let addr = server.local_addr();
            let mut clients = Vec::new();
            for _ in 0..50 {
                clients.push(runtime::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    s.write_all(b"x\n").await.unwrap();
                    let mut v = Vec::new();
                    s.read_to_end(&mut v).await.unwrap();
                }));
            }
            for c in clients {
                c.await.unwrap();
            }
            // Half-done work cancelled mid-way must release its descriptors too.
            let pending = runtime::spawn(async move {
                let _s = TcpStream::connect(addr).await.unwrap();
                std::future::pending::<()>().await
            });
            runtime::sleep(Duration::from_millis(5)).await;
            pending.cancel();
            let _idle_conn = TcpStream::connect(addr).await.unwrap(); // left to teardown
            let u = UdpSocket::bind("127.0.0.1:0").unwrap();
            u.send_to(b"x", u.local_addr().unwrap()).await.unwrap();
            let (a, _b) = UnixStream::pair().unwrap();
            drop(a);
            let mut sig = runtime::signal::Signal::new(runtime::signal::SignalKind::USER2).unwrap();
            // SAFETY: sending ourselves SIGUSR2, which `sig` is listening for.
            unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) };
            sig.recv().await;
            let out = runtime::process::Command::new("true")
                .output()
                .await
                .unwrap();
            assert!(out.status.success());
            let _running = runtime::process::Command::new("sleep")
                .arg("0.01")
                .spawn()
                .unwrap(); // dropped while running: the reaper takes it
            server.close();
        });
    }
    let after = open_fds();
    assert_eq!(before, after, "descriptors leaked");
}
