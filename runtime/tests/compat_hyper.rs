//! hyper 1.x on the loop through the `hyper` feature: HTTP/1 with keep-alive against curl
//! and hyper's client, hyper's header timeout on the loop's (paused) clock, and HTTP/2,
//! which needs the executor.

use std::convert::Infallible;
use std::process::Command;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use runtime::compat::hyper::{Executor, Timer};
use runtime::net::{TcpListener, TcpStream};
use runtime::time::Instant;

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("hello {}", req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// Serves HTTP/1 on `listener` with a 30 s header timeout on the loop's timer.
fn serve_http1(listener: TcpListener) -> runtime::Task<()> {
    runtime::spawn(async move {
        loop {
            let (conn, _) = listener.accept().await.unwrap();
            runtime::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(Timer)
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(conn, hyper::service::service_fn(hello))
                    .await;
            })
            .detach();
        }
    })
}

#[path = "common/peers.rs"]
mod peers;

#[runtime::test]
async fn http1_server_answers_curl_with_keep_alive() {
    if !peers::have("curl") {
        peers::skip("curl is not installed");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let _server = serve_http1(listener).abort_on_drop();
    let out = runtime::run_in_executor(move || {
        Command::new("curl")
            .args([
                "-s",
                "--max-time",
                "10",
                "-w",
                " connects=%{num_connects}\n",
            ])
            .args([format!("{url}a"), format!("{url}b"), format!("{url}c")])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Three answers; curl opened one connection for the first and reused it.
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "hello /a connects=1\nhello /b connects=0\nhello /c connects=0\n"
    );
}

/// Sends `n` requests on one hyper client connection and returns the bodies.
async fn client_requests(addr: std::net::SocketAddr, n: usize) -> Vec<String> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
    let conn = runtime::spawn(conn);
    let mut bodies = Vec::new();
    for i in 0..n {
        let req = Request::get(format!("/{i}"))
            .body(Empty::<Bytes>::new())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        bodies.push(String::from_utf8(body.to_vec()).unwrap());
    }
    drop(sender);
    conn.await.unwrap().unwrap();
    bodies
}

#[runtime::test]
async fn hyper_client_and_server_keep_alive_on_the_real_clock() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _server = serve_http1(listener).abort_on_drop();
    let bodies = client_requests(addr, 3).await;
    assert_eq!(bodies, ["hello /0", "hello /1", "hello /2"]);
}

#[runtime::test(start_paused = true)]
async fn twenty_keep_alive_requests_pass_no_virtual_time_under_a_header_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _server = serve_http1(listener).abort_on_drop();
    let start = Instant::now();
    let bodies = client_requests(addr, 20).await;
    assert_eq!(bodies.len(), 20);
    assert_eq!(bodies[19], "hello /19");
    // The 30 s header timeout was armed for every request and never fired: while the
    // sockets were busy the paused clock stood still.
    assert_eq!(Instant::now(), start);
}

#[runtime::test(start_paused = true)]
async fn header_read_timeout_fires_on_the_paused_clock() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _server = serve_http1(listener).abort_on_drop();
    let mut client = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    // Half a request line, then silence: hyper's timer (ours) closes the connection.
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x")
        .await
        .unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    let waited = Instant::now().duration_since(start);
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(31),
        "closed after {waited:?}"
    );
}

#[runtime::test]
async fn http2_server_and_client_over_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _server = runtime::spawn(async move {
        loop {
            let (conn, _) = listener.accept().await.unwrap();
            runtime::spawn(async move {
                let _ = hyper::server::conn::http2::Builder::new(Executor)
                    .timer(Timer)
                    .serve_connection(conn, hyper::service::service_fn(hello))
                    .await;
            })
            .detach();
        }
    })
    .abort_on_drop();

    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http2::Builder::new(Executor)
        .timer(Timer)
        .handshake(stream)
        .await
        .unwrap();
    let conn = runtime::spawn(conn);
    // Ten requests at once on one connection: HTTP/2 streams run as tasks.
    let mut requests = Vec::new();
    for i in 0..10 {
        let mut sender = sender.clone();
        requests.push(runtime::spawn(async move {
            let req = Request::get(format!("http://{addr}/s{i}"))
                .body(Empty::<Bytes>::new())
                .unwrap();
            let resp = sender.send_request(req).await.unwrap();
            assert_eq!(resp.version(), hyper::Version::HTTP_2);
            resp.into_body().collect().await.unwrap().to_bytes()
        }));
    }
    let bodies = runtime::gather(requests).await;
    for (i, body) in bodies.into_iter().enumerate() {
        assert_eq!(body.unwrap(), format!("hello /s{i}"));
    }
    drop(sender);
    conn.await.unwrap().unwrap();
}

#[runtime::test]
async fn http1_over_a_unix_stream_pair() {
    let (server_side, client_side) = runtime::net::UnixStream::pair().unwrap();
    let server = runtime::spawn(async move {
        hyper::server::conn::http1::Builder::new()
            .serve_connection(server_side, hyper::service::service_fn(hello))
            .await
    });
    let (mut sender, conn) = hyper::client::conn::http1::handshake(client_side)
        .await
        .unwrap();
    let conn = runtime::spawn(conn);
    for path in ["/unix", "/again"] {
        let req = Request::get(path).body(Empty::<Bytes>::new()).unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("hello {path}"));
    }
    drop(sender);
    conn.await.unwrap().unwrap();
    // The client closed its side: the server's connection ends cleanly.
    server.await.unwrap().unwrap();
}
