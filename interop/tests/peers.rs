//! Each interop example against a real peer that the test starts itself, on loopback:
//! `axum_server` with curl and 50 concurrent clients, `hyper_client` against Python's
//! `http.server`, `postgres` against a throwaway PostgreSQL cluster (initdb and pg_ctl in
//! a temporary directory, as an unprivileged user when the test runs as root), `websocket`
//! against Python's `websockets` (both directions), and `redis_client` against
//! `redis-server`. A test whose peer is not installed says it skipped, on stderr past
//! libtest's capture; `.ci/run` installs every peer, so nothing skips there.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "../../runtime/tests/common/peers.rs"]
mod peers;

use peers::{example, free_port, have, scratch, skip, wait_for_port, Peer};

/// Runs `cmd` to completion within 60 s and checks it succeeded.
fn run_ok(cmd: &mut Command) -> String {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_with_deadline(child, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn wait_with_deadline(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            kill9(pid);
            panic!("process {pid} did not finish within {limit:?}");
        }
    }
}

/// kill -9 without a libc dependency: through the shell.
fn kill9(pid: u32) {
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
}

/// Starts an example that prints `listening on <url>` and returns it with the URL.
fn start_server(name: &str, args: &[&str]) -> (Peer, String) {
    let mut child = Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Keep reading what the server prints: a closed pipe would make its `println!` panic.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{name} printed {line:?}"))
        .to_string();
    (Peer(child), url)
}

#[test]
fn axum_server_answers_curl_and_50_concurrent_clients() {
    if !have("curl") {
        skip("curl is not installed");
        return;
    }
    let (_server, url) = start_server("axum_server", &["127.0.0.1:0"]);
    let curl = |args: &[&str]| {
        run_ok(
            Command::new("curl")
                .args(["-s", "--max-time", "20"])
                .args(args),
        )
    };
    assert_eq!(curl(&[&format!("{url}/")]), "hello from axum on runtime");
    assert_eq!(curl(&[&format!("{url}/hello/ferris")]), "hello, ferris");
    assert_eq!(
        curl(&[&format!("{url}/search?q=event%20loop&page=3")]),
        "results for \"event loop\", page 3"
    );
    assert_eq!(
        curl(&[&format!("{url}/search?q=x")]),
        "results for \"x\", page 1"
    );
    let json = curl(&[
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        r#"{"item":"tea","quantity":3,"unit_price":2.5}"#,
        &format!("{url}/orders"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"item": "tea", "quantity": 3, "total": 7.5})
    );
    // A bad JSON body is axum's 4xx, not a crash.
    let code = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        "{not json",
        &format!("{url}/orders"),
    ]);
    assert_eq!(code, "400");
    assert_eq!(
        curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{url}/nowhere")
        ]),
        "404"
    );
    // Keep-alive: three requests, one connection.
    assert_eq!(
        curl(&[
            "-w",
            " %{num_connects}\n",
            &format!("{url}/"),
            &format!("{url}/slow")
        ]),
        "hello from axum on runtime 1\nslept 50 ms on the runtime's timer 0\n"
    );

    // 50 clients at once, each on its own connection, each asking for the slow handler
    // (50 ms on the runtime's timer) and then a path: they overlap on the one loop.
    let addr = url.strip_prefix("http://").unwrap().to_string();
    let started = Instant::now();
    let clients: Vec<_> = (0..50)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                write!(
                    s,
                    "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/client{i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                let mut reply = String::new();
                s.read_to_string(&mut reply).unwrap();
                reply
            })
        })
        .collect();
    for (i, c) in clients.into_iter().enumerate() {
        let reply = c.join().unwrap();
        assert_eq!(reply.matches("HTTP/1.1 200 OK").count(), 2, "{reply}");
        assert!(reply.contains("slept 50 ms"), "{reply}");
        assert!(reply.ends_with(&format!("hello, client{i}")), "{reply}");
    }
    // Not a timing assertion about speed: 50 sequential 50 ms sleeps would take 2.5 s;
    // overlapping ones take about 50 ms. A generous bound still tells them apart.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the clients were served one by one"
    );
}

#[test]
fn hyper_client_gets_from_python_http_server_over_keep_alive() {
    if !have("python3") {
        skip("python3 is not installed (needed for http.server)");
        return;
    }
    let served = scratch("served");
    std::fs::write(served.join("a.txt"), "first file\n").unwrap();
    let big: Vec<u8> = (0..300_000).map(|i| (i % 251) as u8).collect();
    std::fs::write(served.join("b.bin"), &big).unwrap();
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
            .args(["--protocol", "HTTP/1.1"])
            .current_dir(&served)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port);
    let out = run_ok(Command::new(example("hyper_client")).args([
        &format!("http://127.0.0.1:{port}"),
        "/a.txt",
        "/b.bin",
        "/a.txt",
    ]));
    assert_eq!(
        out,
        "GET /a.txt: 200 11 bytes\nGET /b.bin: 200 300000 bytes\nGET /a.txt: 200 11 bytes\nrequests: 3, connections: 1\n"
    );
    // A 404 makes http.server close the connection: the client opens another.
    let out = run_ok(Command::new(example("hyper_client")).args([
        &format!("http://127.0.0.1:{port}"),
        "/missing",
        "/a.txt",
    ]));
    assert!(out.starts_with("GET /missing: 404 "), "{out}");
    assert!(
        out.ends_with("GET /a.txt: 200 11 bytes\nrequests: 2, connections: 2\n"),
        "{out}"
    );
    std::fs::remove_dir_all(&served).unwrap();
}

/// PostgreSQL's server binaries: on PATH, or Debian's versioned directory.
fn postgres_bin() -> Option<PathBuf> {
    if have("initdb") && have("pg_ctl") {
        let out = Command::new("sh")
            .args(["-c", "command -v initdb"])
            .output()
            .ok()?;
        let p = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
        return Some(std::fs::canonicalize(p).ok()?.parent()?.to_path_buf());
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|d| d.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// A throwaway PostgreSQL cluster in a temporary directory, on a free loopback port,
/// stopped and removed on drop. As root it runs as `nobody` (PostgreSQL refuses root).
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_user: Option<&'static str>,
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        match self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    fn start(bin: PathBuf) -> Cluster {
        let dir = scratch("pg");
        let root = is_root();
        let as_user = root.then_some("nobody");
        if root {
            run_ok(Command::new("chown").args(["-R", "nobody", dir.to_str().unwrap()]));
        }
        let cluster = Cluster {
            bin,
            port: free_port(),
            dir,
            as_user,
        };
        let data = cluster.dir.join("data");
        run_ok(
            cluster
                .command("initdb")
                .args(["-D", data.to_str().unwrap(), "-U", "postgres"])
                .args(["--auth=trust", "-E", "UTF8", "--no-sync"]),
        );
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            cluster.port,
            cluster.dir.display()
        );
        run_ok(cluster.command("pg_ctl").args([
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            cluster.dir.join("log").to_str().unwrap(),
            "-w",
            "start",
        ]));
        cluster
    }
}

extern "C" {
    fn geteuid() -> u32;
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn postgres_against_a_real_server() {
    let Some(bin) = postgres_bin() else {
        skip("PostgreSQL (initdb, pg_ctl) is not installed");
        return;
    };
    if is_root() && !have("runuser") {
        skip("running as root without runuser: PostgreSQL refuses to run as root");
        return;
    }
    let cluster = Cluster::start(bin);
    let out = run_ok(Command::new(example("postgres")).arg(format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres",
        cluster.port
    )));
    assert_eq!(
        out,
        "created table runtime_items\n\
         inserted 1000 rows in a pipeline\n\
         read back 1000 rows, ids summing to 499500, the last named \"item 999\"\n\
         slow query: timed out after 200 ms\n\
         after cancelling it, the connection answers: 1\n\
         closed\n"
    );
}

fn have_python_websockets() -> bool {
    have("python3")
        && Command::new("python3")
            .args(["-c", "import websockets.asyncio.server"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn peer_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

#[test]
fn websocket_client_against_python_websockets_server() {
    if !have_python_websockets() {
        skip("python3 with the websockets package is not installed (pip install websockets)");
        return;
    }
    let mut server = Command::new("python3")
        .arg(peer_script("ws_echo_server.py"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut port = String::new();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    out.read_line(&mut port).unwrap();
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let _server = Peer(server);
    let out = run_ok(
        Command::new(example("websocket"))
            .args(["client", &format!("ws://127.0.0.1:{}/", port.trim())]),
    );
    assert_eq!(
        out,
        "text echoed: hello over a WebSocket\n\
         binary echoed: 1048576 bytes\n\
         pong: are you there\n\
         closed by the server with code 1000\n"
    );
}

#[test]
fn websocket_server_against_python_websockets_client() {
    if !have_python_websockets() {
        skip("python3 with the websockets package is not installed (pip install websockets)");
        return;
    }
    let (_server, url) = start_server("websocket", &["server", "127.0.0.1:0"]);
    let out = run_ok(
        Command::new("python3")
            .arg(peer_script("ws_client.py"))
            .arg(&url),
    );
    assert_eq!(out, "python client: ok, close code 1000\n");
}

#[test]
fn redis_client_against_redis_server() {
    if !have("redis-server") {
        skip("redis-server is not installed");
        return;
    }
    let port = free_port();
    let _server = Peer(
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port);
    let out =
        run_ok(Command::new(example("redis_client")).arg(format!("redis://127.0.0.1:{port}/")));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert_eq!(lines[0], "GET: hello from the runtime");
    assert_eq!(lines[1], "pipeline INCR, INCR: 1, 42");
    assert_eq!(lines[2], "RPUSH from 100 tasks: list length 100");
    assert!(
        lines[3].starts_with("BLPOP: redis' response timeout fired ("),
        "{out}"
    );
    assert_eq!(lines[4], "BLPOP: runtime::timeout fired");
    assert_eq!(lines[5], "DEL: 3 keys");
}
