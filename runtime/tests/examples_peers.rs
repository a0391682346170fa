//! The network examples against real peers nobody here wrote: `download` against
//! Python's `http.server`, `redis` against `redis-server`, `http_server` against `curl`,
//! and `per_core` against many clients. A peer that is not installed skips its test
//! with a printed reason. The example binaries are the ones `cargo test` builds.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "common/peers.rs"]
mod peers;

use peers::{example, free_port, have, scratch, skip, wait_for_port, Peer};

#[test]
fn download_fetches_files_from_python_http_server() {
    if !have("python3") {
        skip("python3 is not installed (needed for http.server)");
        return;
    }
    let served = scratch("served");
    let out = scratch("out");
    let files: Vec<(String, Vec<u8>)> = [("a.jpg", 307_200usize), ("b.jpg", 1), ("c.bin", 1 << 20)]
        .iter()
        .map(|(name, size)| {
            let data: Vec<u8> = (0..*size).map(|i| (i * 31 % 253) as u8).collect();
            std::fs::write(served.join(name), &data).unwrap();
            (name.to_string(), data)
        })
        .collect();
    let port = free_port();
    let _server = Peer(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .current_dir(&served)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port);
    let mut cmd = Command::new(example("download"));
    cmd.arg("--out").arg(&out);
    for (name, _) in &files {
        cmd.arg(format!("http://localhost:{port}/{name}?source=test"));
    }
    let result = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(
        stdout,
        "send\nsend\nsend\ndownload\ndownload\ndownload\nover\n"
    );
    for (name, data) in &files {
        let got = std::fs::read(out.join(name)).unwrap();
        assert!(
            got == *data,
            "{name}: {} bytes, expected {}",
            got.len(),
            data.len()
        );
    }
    // A missing file is an error exit, not a hang or a panic.
    let result = Command::new(example("download"))
        .arg("--out")
        .arg(&out)
        .arg(format!("http://127.0.0.1:{port}/missing.jpg"))
        .output()
        .unwrap();
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("404"));
    let _ = std::fs::remove_dir_all(&served);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn redis_talks_to_a_real_redis_server() {
    if !have("redis-server") {
        skip("redis-server is not installed (.ci/run installs it with apt-get)");
        return;
    }
    let port = free_port();
    let dir = scratch("redis");
    let _server = Peer(
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port);
    let result = Command::new(example("redis"))
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(
        stdout,
        concat!(
            "execute 1: HGETALL car -> {\"key1\": \"1\", \"key2\": \"2\", \"key3\": \"3\"}\n",
            "execute 2: HGETALL car -> {\"key1\": \"1\", \"key2\": \"2\", \"key3\": \"3\"}\n",
            "SET greeting -> OK; GET greeting -> \"hello from runtime\"\n",
            "pipelined 1000 INCR in one write: last reply 1000\n",
            "GET no-such-key -> (nil)\n",
            "HGETALL on a string -> error: WRONGTYPE\n",
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts a server example on port 0 and returns it with the address its first line
/// announces (`listening on 127.0.0.1:PORT` or `... http://127.0.0.1:PORT/`).
fn start_server_example(
    name: &str,
    args: &[&str],
) -> (
    Peer,
    BufReader<std::process::ChildStdout>,
    std::net::SocketAddr,
) {
    let mut child = Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| {
            w.trim_start_matches("http://")
                .trim_end_matches('/')
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{name} printed {line:?}"));
    (Peer(child), out, addr)
}

#[test]
fn http_server_answers_curl_with_keep_alive() {
    if !have("curl") {
        skip("curl is not installed");
        return;
    }
    let (_server, _out, addr) = start_server_example("http_server", &["127.0.0.1:0"]);
    let url = format!("http://{addr}/");
    let out = Command::new("curl")
        .args(["-s", "-v", "--max-time", "10", &url, &url, &url])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello World!".repeat(3)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("Re-using existing connection") || log.contains("Reusing existing"),
        "{log}"
    );
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "SO_REUSEPORT balances connections over listeners only on Linux"
)]
fn per_core_spreads_connections_over_loops() {
    let (mut server, mut out, addr) =
        start_server_example("per_core", &["127.0.0.1:0", "--loops", "2"]);
    let clients: Vec<_> = (0..64)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                // Two requests on one connection (keep-alive), then close.
                s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .unwrap();
                let mut resp = String::new();
                s.read_to_string(&mut resp).unwrap();
                resp.matches("Hello World!").count()
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), 2);
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(server.0.id() as libc::pid_t, libc::SIGINT) };
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(server.0.wait().unwrap().success());
    let counts: Vec<usize> = rest
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2)?.parse().ok())
        .collect();
    assert_eq!(counts.len(), 2, "{rest}");
    assert_eq!(counts.iter().sum::<usize>(), 64, "{rest}");
}

#[test]
fn echo_server_echoes_for_a_python_client() {
    if !have("python3") {
        skip("python3 is not installed");
        return;
    }
    let (_server, _out, addr) = start_server_example("echo_server", &["127.0.0.1:0"]);
    let (host, port) = (addr.ip(), addr.port());
    let script = format!(
        "import socket\n\
         s = socket.create_connection(('{host}', {port}))\n\
         for msg in [b'one', b'two' * 1000, b'three']:\n\
         \x20   s.sendall(msg)\n\
         \x20   got = b''\n\
         \x20   while len(got) < len(msg):\n\
         \x20       got += s.recv(65536)\n\
         \x20   print(len(got), got == msg)\n"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "3 True\n3000 True\n5 True\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn echo_client_talks_to_a_python_asyncio_echo_server() {
    if !have("python3") {
        skip("python3 is not installed");
        return;
    }
    let script = "import asyncio\n\
        async def echo(r, w):\n\
        \x20   while data := await r.read(65536):\n\
        \x20       w.write(data)\n\
        \x20       await w.drain()\n\
        \x20   w.close()\n\
        async def main():\n\
        \x20   server = await asyncio.start_server(echo, '127.0.0.1', 0)\n\
        \x20   print(server.sockets[0].getsockname()[1], flush=True)\n\
        \x20   await server.serve_forever()\n\
        asyncio.run(main())\n";
    let mut server = Command::new("python3")
        .args(["-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let _server = Peer(server);
    let out = Command::new(example("echo_client"))
        .arg(format!("127.0.0.1:{}", port.trim()))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "echoed: hello\nechoed: event loop\nechoed: bye\n"
    );
}

fn rss_kib_of(pid: u32) -> usize {
    common::rss_kib(&pid.to_string())
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc/<pid>/status")]
fn http_server_answers_an_endless_header_with_431_and_keeps_serving() {
    let (server, _out, addr) = start_server_example("http_server", &["127.0.0.1:0"]);
    let pid = server.0.id();
    let get = |s: &mut TcpStream| {
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        resp
    };
    assert!(get(&mut TcpStream::connect(addr).unwrap()).ends_with("Hello World!"));
    let before = rss_kib_of(pid);
    // A client streaming an endless header: 64 MiB with no blank line.
    let mut hostile = TcpStream::connect(addr).unwrap();
    hostile
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    hostile.write_all(b"GET / HTTP/1.1\r\nX-Endless: ").unwrap();
    let mut sent = 0usize;
    while sent < 64 << 20 {
        match hostile.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break, // the server answered and closed: the write fails (reset)
        }
    }
    let mut resp = Vec::new();
    let _ = hostile.read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp);
    assert!(
        resp.starts_with("HTTP/1.1 431 "),
        "the over-long head got {resp:?}"
    );
    let after = rss_kib_of(pid);
    // Under a sanitizer (scripts/sanitizers.sh), freed memory sits in quarantine.
    assert!(
        std::env::var_os("RUNTIME_SANITIZER").is_some() || after < before + 2 * 1024,
        "RSS grew from {before} KiB to {after} KiB under an endless header"
    );
    // Others are still served.
    assert!(get(&mut TcpStream::connect(addr).unwrap()).ends_with("Hello World!"));
}
