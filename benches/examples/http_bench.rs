//! The hello-world HTTP server under `wrk`, for every runtime in one run (issue 6's
//! benchmark): runtime (raw `TcpStream` and the asyncio-style streams of the
//! `http_server` example), tokio current-thread, smol, a hand-written mio loop (the
//! practical limit), and Python asyncio and uvloop.
//!
//! ```text
//! cargo run --release -p runtime-benches --example http_bench -- [--duration S] [--runs N] [--conns N] [--only a,b]
//! ```
//!
//! Each server runs pinned to CPU 0 (`taskset -c 0`), `wrk -t1 -cN` pinned to CPU 1, one
//! server at a time: a 1 s warm-up, then the measured run. The server's user and system
//! CPU time over the measured run come from `/proc/<pid>/stat`; per request, user time is
//! the runtime's own work and system time is the kernel's TCP (about the same for all).
//! On a 2-core machine wrk saturates its core before a fast server does, so requests per
//! second flatten out at the top; CPU per request is the comparison that still
//! separates them.
//!
//! `--serve KIND ADDR` runs one server in the foreground (what the driver spawns).

#[path = "../../examples/common/hello_http.rs"]
mod hello_http;

use std::io::{self, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nHello World!";

/// Counts complete request heads (`\r\n\r\n`) across reads, so pipelined and split
/// requests are both answered. The same parser for every Rust server: it finds `\n`
/// eight bytes at a time (as real HTTP parsers use SIMD), so the comparison measures
/// the runtimes rather than a byte-at-a-time loop.
#[derive(Default)]
struct Heads {
    /// How much of a separator the previous read ended with (0..=3).
    matched: u8,
}

impl Heads {
    fn feed(&mut self, data: &[u8]) -> usize {
        let mut complete = 0;
        let mut i = 0;
        // Finish a separator split across reads, byte by byte (at most 3 bytes).
        while self.matched > 0 && i < data.len() {
            self.matched = match (self.matched, data[i]) {
                (2, b'\r') => 3,
                (1 | 3, b'\n') => self.matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            i += 1;
            if self.matched == 4 {
                complete += 1;
                self.matched = 0;
            }
        }
        // Whole separators inside the rest: look at each `\n`.
        let mut next = i; // a separator must start here or later
        let check = |p: usize, complete: &mut usize, next: &mut usize| {
            if p >= *next + 3 && &data[p - 3..=p] == b"\r\n\r\n" {
                *complete += 1;
                *next = p + 1;
            }
        };
        const LF: u64 = 0x0a0a_0a0a_0a0a_0a0a;
        const LO: u64 = 0x0101_0101_0101_0101;
        const HI: u64 = 0x8080_8080_8080_8080;
        let mut p = i;
        while p + 8 <= data.len() {
            let w = u64::from_le_bytes(data[p..p + 8].try_into().expect("8 bytes")) ^ LF;
            let mut zeros = w.wrapping_sub(LO) & !w & HI;
            while zeros != 0 {
                let k = zeros.trailing_zeros() as usize / 8;
                check(p + k, &mut complete, &mut next);
                zeros &= zeros - 1;
            }
            p += 8;
        }
        while p < data.len() {
            if data[p] == b'\n' {
                check(p, &mut complete, &mut next);
            }
            p += 1;
        }
        // How much of a separator the data ends with (after the last complete one).
        let tail = &data[next.max(i)..];
        self.matched = if tail.ends_with(b"\r\n\r") {
            3
        } else if tail.ends_with(b"\r\n") {
            2
        } else if tail.ends_with(b"\r") {
            1
        } else {
            self.matched
        };
        complete
    }
}

fn responses(n: usize, out: &mut Vec<u8>) {
    out.clear();
    for _ in 0..n {
        out.extend_from_slice(RESPONSE);
    }
}

fn serve_runtime(addr: &str) -> io::Result<()> {
    use runtime::net::TcpListener;
    let rt = runtime::Runtime::new()?;
    rt.block_on(async {
        let listener = TcpListener::bind(addr)?;
        println!("listening {}", listener.local_addr()?);
        accept_loop(listener).await
    })
}

/// The raw server's accept loop: a task per connection.
async fn accept_loop(listener: runtime::net::TcpListener) -> io::Result<()> {
    loop {
        let (mut conn, _) = listener.accept().await?;
        conn.set_nodelay(true)?;
        runtime::spawn(async move {
            let mut buf = [0u8; 4096];
            let mut heads = Heads::default();
            let mut out = Vec::with_capacity(RESPONSE.len());
            loop {
                let n = match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                responses(heads.feed(&buf[..n]), &mut out);
                if conn.write_all(&out).await.is_err() {
                    return;
                }
            }
        })
        .detach();
    }
}

/// The raw server on two loops (`LoopPool`, one `bind_reuseport` listener per loop).
fn serve_runtime_2loops(addr: &str) -> io::Result<()> {
    let addr: std::net::SocketAddr = addr.parse().map_err(io::Error::other)?;
    let probe = runtime::net::TcpSocket::for_addr(addr)?;
    probe.set_reuseport(true)?;
    probe.bind(addr)?;
    let addr = probe.local_addr()?;
    let bound = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    runtime::LoopPool::builder()
        .loops(2)
        .run_per_loop(move |_| {
            let bound = bound.clone();
            async move {
                let listener = runtime::net::TcpListener::bind_reuseport(addr)?;
                if bound.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 1 {
                    println!("listening {addr}");
                }
                accept_loop(listener).await
            }
        })?
        .into_iter()
        .collect::<io::Result<Vec<()>>>()
        .map(drop)
}

fn serve_runtime_streams(addr: &str) -> io::Result<()> {
    let rt = runtime::Runtime::new()?;
    rt.block_on(async {
        let server = runtime::net::start_server(hello_http::handle, addr)?;
        println!("listening {}", server.local_addr());
        server.serve_forever().await;
        Ok(())
    })
}

fn serve_tokio(addr: &str) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    serve_tokio_on(rt, addr)
}

/// The same handler on tokio's multi-thread runtime with two workers.
fn serve_tokio_mt2(addr: &str) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    serve_tokio_on(rt, addr)
}

fn serve_tokio_on(rt: tokio::runtime::Runtime, addr: &str) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("listening {}", listener.local_addr()?);
        loop {
            let (mut conn, _) = listener.accept().await?;
            conn.set_nodelay(true)?;
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut heads = Heads::default();
                let mut out = Vec::with_capacity(RESPONSE.len());
                loop {
                    let n = match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    responses(heads.feed(&buf[..n]), &mut out);
                    if conn.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

/// hyper's hello world (the same `service_fn` on both runtimes): `Hello World!` with the
/// headers hyper adds (`content-length`, `date`).
async fn hyper_hello(
    _req: hyper::Request<hyper::body::Incoming>,
) -> std::result::Result<
    hyper::Response<http_body_util::Full<hyper::body::Bytes>>,
    std::convert::Infallible,
> {
    Ok(hyper::Response::new(http_body_util::Full::new(
        hyper::body::Bytes::from_static(b"Hello World!"),
    )))
}

/// hyper's HTTP/1 server on the runtime's sockets (feature `hyper`); `timer` adds the
/// runtime's `Timer` and a 30 s header-read timeout, armed for every request.
fn serve_runtime_hyper(addr: &str, timer: bool) -> io::Result<()> {
    let rt = runtime::Runtime::new()?;
    rt.block_on(async {
        let listener = runtime::net::TcpListener::bind(addr)?;
        println!("listening {}", listener.local_addr()?);
        loop {
            let (conn, _) = listener.accept().await?;
            conn.set_nodelay(true)?;
            runtime::spawn(async move {
                let mut b = hyper::server::conn::http1::Builder::new();
                if timer {
                    b.timer(runtime::compat::hyper::Timer)
                        .header_read_timeout(Duration::from_secs(30));
                } else {
                    b.header_read_timeout(None);
                }
                let _ = b
                    .serve_connection(conn, hyper::service::service_fn(hyper_hello))
                    .await;
            })
            .detach();
        }
    })
}

/// The same hyper server on tokio's current-thread runtime, through hyper-util's
/// `TokioIo` (and `TokioTimer` with `timer`).
fn serve_tokio_hyper(addr: &str, timer: bool) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("listening {}", listener.local_addr()?);
        loop {
            let (conn, _) = listener.accept().await?;
            conn.set_nodelay(true)?;
            tokio::spawn(async move {
                let mut b = hyper::server::conn::http1::Builder::new();
                if timer {
                    b.timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(30));
                } else {
                    b.header_read_timeout(None);
                }
                let _ = b
                    .serve_connection(
                        hyper_util::rt::TokioIo::new(conn),
                        hyper::service::service_fn(hyper_hello),
                    )
                    .await;
            });
        }
    })
}

fn serve_smol(addr: &str) -> io::Result<()> {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let ex = async_executor::LocalExecutor::new();
    async_io::block_on(ex.run(async {
        let listener = async_io::Async::<std::net::TcpListener>::bind(
            addr.parse::<std::net::SocketAddr>()
                .map_err(io::Error::other)?,
        )?;
        println!("listening {}", listener.get_ref().local_addr()?);
        loop {
            let (mut conn, _) = listener.accept().await?;
            conn.get_ref().set_nodelay(true)?;
            ex.spawn(async move {
                let mut buf = [0u8; 4096];
                let mut heads = Heads::default();
                let mut out = Vec::with_capacity(RESPONSE.len());
                loop {
                    let n = match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    responses(heads.feed(&buf[..n]), &mut out);
                    if conn.write_all(&out).await.is_err() {
                        return;
                    }
                }
            })
            .detach();
        }
    }))
}

/// A hand-written edge-triggered mio loop: no tasks, no wakers; the floor for any
/// runtime on this kernel.
fn serve_mio(addr: &str) -> io::Result<()> {
    use mio::net::{TcpListener, TcpStream};
    use mio::{Events, Interest, Poll, Token};
    struct Conn {
        stream: TcpStream,
        heads: Heads,
        unsent: Vec<u8>,
    }
    const LISTENER: Token = Token(usize::MAX);
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(addr.parse().map_err(io::Error::other)?)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    println!("listening {}", listener.local_addr()?);
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let mut out = Vec::new();
    loop {
        poll.poll(&mut events, None)?;
        for ev in events.iter() {
            if ev.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            stream.set_nodelay(true)?;
                            let i = free.pop().unwrap_or_else(|| {
                                conns.push(None);
                                conns.len() - 1
                            });
                            poll.registry().register(
                                &mut stream,
                                Token(i),
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            conns[i] = Some(Conn {
                                stream,
                                heads: Heads::default(),
                                unsent: Vec::new(),
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                continue;
            }
            let i = ev.token().0;
            let Some(c) = conns[i].as_mut() else { continue };
            let mut close = false;
            loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => {
                        close = true;
                        break;
                    }
                    Ok(n) => {
                        responses(c.heads.feed(&buf[..n]), &mut out);
                        c.unsent.extend_from_slice(&out);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        close = true;
                        break;
                    }
                }
            }
            while !close && !c.unsent.is_empty() {
                match c.stream.write(&c.unsent) {
                    Ok(n) => {
                        c.unsent.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => close = true,
                }
            }
            if close {
                if let Some(mut c) = conns[i].take() {
                    let _ = poll.registry().deregister(&mut c.stream);
                }
                free.push(i);
            }
        }
    }
}

const PYTHON_SERVER: &str = r#"
import asyncio, sys
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nHello World!"
class Hello(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.tail = b""
    def data_received(self, data):
        data = self.tail + data
        n = data.count(b"\r\n\r\n")
        self.tail = data[data.rfind(b"\r\n\r\n") + 4:] if n else data
        if n:
            self.transport.write(RESPONSE * n)
async def main(host, port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Hello, host, port)
    print("listening %s:%d" % server.sockets[0].getsockname()[:2], flush=True)
    await server.serve_forever()
host, port = sys.argv[2].rsplit(":", 1)
if sys.argv[1] == "uvloop":
    import uvloop
    uvloop.install()
asyncio.run(main(host, int(port)))
"#;

/// One server's totals over all its runs (CPU times are sampled by the kernel at each
/// clock tick, so summing runs is what makes them precise).
struct Result {
    name: &'static str,
    rps: f64,
    requests: u64,
    user_ticks: u64,
    sys_ticks: u64,
    runs: u32,
}

impl Result {
    fn per_request_us(&self, ticks: u64) -> f64 {
        ticks as f64 * 1e6 / clock_ticks_per_sec() / self.requests.max(1) as f64
    }
}

fn cpu_ticks(pid: u32) -> io::Result<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(')').map(|p| p.1).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    let parse = |i: usize| f.get(i - 3).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok((parse(14), parse(15)))
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

fn wrk(url: &str, secs: u64, conns: usize) -> io::Result<(f64, u64)> {
    let out = Command::new("taskset")
        .args([
            "-c",
            "1",
            "wrk",
            "-t1",
            &format!("-c{conns}"),
            &format!("-d{secs}s"),
            url,
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("wrk printed: {text}")))?;
    let total = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if text.contains("Non-2xx") || text.contains("Socket errors") {
        eprintln!("note: wrk reported errors:\n{text}");
    }
    Ok((rps, total))
}

fn measure(name: &'static str, mut cmd: Command, secs: u64, conns: usize) -> io::Result<Result> {
    let mut child = cmd.stdout(Stdio::piped()).spawn()?;
    let mut line = String::new();
    {
        let out = child.stdout.as_mut().expect("piped");
        let mut byte = [0u8; 1];
        while out.read(&mut byte)? == 1 && byte[0] != b'\n' {
            line.push(byte[0] as char);
        }
    }
    let addr = line
        .strip_prefix("listening ")
        .ok_or_else(|| io::Error::other(format!("{name} printed {line:?}")))?
        .trim()
        .to_owned();
    let url = format!("http://{addr}/");
    wrk(&url, 1, conns)?; // warm-up
    let before = cpu_ticks(child.id())?;
    let (rps, total) = wrk(&url, secs, conns)?;
    let after = cpu_ticks(child.id())?;
    let _ = child.kill();
    let _ = child.wait();
    Ok(Result {
        name,
        rps,
        requests: total,
        user_ticks: after.0 - before.0,
        sys_ticks: after.1 - before.1,
        runs: 1,
    })
}

/// Checks the parser against a byte-at-a-time reference on split and pipelined input.
fn self_test() {
    fn reference(data: &[u8], matched: &mut u8) -> usize {
        let mut n = 0;
        for &b in data {
            *matched = match (*matched, b) {
                (0 | 2, b'\r') => *matched + 1,
                (1 | 3, b'\n') => *matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if *matched == 4 {
                n += 1;
                *matched = 0;
            }
        }
        n
    }
    let req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
    let stream: Vec<u8> = req
        .iter()
        .copied()
        .cycle()
        .take(req.len() * 7 + 5)
        .collect();
    for split in 1..stream.len() {
        let (mut fast, mut slow) = (Heads::default(), 0u8);
        let (mut a, mut b) = (0, 0);
        for chunk in stream.chunks(split) {
            a += fast.feed(chunk);
            b += reference(chunk, &mut slow);
        }
        assert_eq!((a, fast.matched), (b, slow), "split {split}");
    }
}

fn main() -> io::Result<()> {
    self_test();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let (kind, addr) = (args[1].as_str(), args[2].as_str());
        return match kind {
            "runtime" => serve_runtime(addr),
            "runtime-streams" => serve_runtime_streams(addr),
            "tokio" => serve_tokio(addr),
            "runtime-2loops" => serve_runtime_2loops(addr),
            "tokio-mt2" => serve_tokio_mt2(addr),
            "smol" => serve_smol(addr),
            "mio" => serve_mio(addr),
            "runtime-hyper" => serve_runtime_hyper(addr, false),
            "runtime-hyper-timer" => serve_runtime_hyper(addr, true),
            "tokio-hyper" => serve_tokio_hyper(addr, false),
            "tokio-hyper-timer" => serve_tokio_hyper(addr, true),
            _ => Err(io::Error::other(format!("unknown server {kind}"))),
        };
    }
    let mut secs = 10;
    let mut runs = 1;
    let mut conns = 50;
    let mut only: Option<Vec<String>> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--duration" => {
                secs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--duration S")
            }
            "--runs" => runs = it.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--conns" => conns = it.next().and_then(|v| v.parse().ok()).expect("--conns N"),
            "--only" => only = it.next().map(|v| v.split(',').map(String::from).collect()),
            other => panic!("unknown argument {other}"),
        }
    }
    for tool in ["wrk", "taskset"] {
        if Command::new(tool).arg("--version").output().is_err() {
            eprintln!(
                "{tool} is not installed (apt-get install wrk util-linux); nothing to measure"
            );
            return Ok(());
        }
    }
    let me = std::env::current_exe()?;
    let script = std::env::temp_dir().join(format!("http_bench_{}.py", std::process::id()));
    std::fs::File::create(&script)?.write_all(PYTHON_SERVER.as_bytes())?;
    let kinds: [(&'static str, bool); 13] = [
        ("mio", false),
        ("runtime", false),
        ("runtime-streams", false),
        ("tokio", false),
        ("smol", false),
        ("asyncio", true),
        ("uvloop", true),
        // Two cores for the server (shared with wrk): thread-per-core against
        // work-stealing, same handler.
        ("runtime-2loops", false),
        ("tokio-mt2", false),
        // hyper's HTTP/1 server, same service, without and with hyper's timer.
        ("runtime-hyper", false),
        ("tokio-hyper", false),
        ("runtime-hyper-timer", false),
        ("tokio-hyper-timer", false),
    ];
    let mut results: Vec<Result> = Vec::new();
    // Runs are interleaved (all servers, then all again) so drift hits all alike.
    for _ in 0..runs {
        for (kind, python) in kinds {
            if only.as_ref().is_some_and(|o| !o.iter().any(|k| k == kind)) {
                continue;
            }
            let mut cmd = Command::new("taskset");
            let multi = kind.ends_with("2loops") || kind.ends_with("mt2");
            cmd.args(["-c", if multi { "0,1" } else { "0" }]);
            if python {
                cmd.arg("python3").arg(&script).arg(kind);
            } else {
                cmd.arg(&me).args(["--serve", kind]);
            }
            cmd.arg("127.0.0.1:0");
            match measure(kind, cmd, secs, conns) {
                Ok(r) => match results.iter_mut().find(|x| x.name == kind) {
                    Some(x) => {
                        x.rps += r.rps;
                        x.requests += r.requests;
                        x.user_ticks += r.user_ticks;
                        x.sys_ticks += r.sys_ticks;
                        x.runs += 1;
                    }
                    None => results.push(r),
                },
                Err(e) => eprintln!("{kind}: skipped ({e})"),
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    let _ = std::fs::remove_file(&script);
    let row = |r: &Result| {
        let user = r.per_request_us(r.user_ticks);
        let sys = r.per_request_us(r.sys_ticks);
        (r.rps / f64::from(r.runs), user, sys, user + sys)
    };
    let tokio = results.iter().find(|r| r.name == "tokio").map(row);
    println!(
        "hello-world HTTP/1.1 keep-alive, wrk -t1 -c{conns} -d{secs}s x {runs} run(s) (wrk on CPU 1, server on CPU 0)"
    );
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9}",
        "server",
        "req/s",
        "user us/r",
        "sys us/r",
        "total us/r",
        "rps/tokio",
        "user/tok",
        "total/tok"
    );
    for r in &results {
        let (rps, user, sys, total) = row(r);
        let (a, b, c) = match tokio {
            Some((t_rps, t_user, _, t_total)) => (rps / t_rps, user / t_user, total / t_total),
            None => (f64::NAN, f64::NAN, f64::NAN),
        };
        println!(
            "{:<16} {rps:>10.0} {user:>10.3} {sys:>10.3} {total:>10.3} {a:>8.2}x {b:>8.2}x {c:>8.2}x",
            r.name
        );
    }
    Ok(())
}
