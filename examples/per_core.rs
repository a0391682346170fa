//! Growing past one core: N event loops on N threads, each with its own listener on the
//! same port (`SO_REUSEPORT`), so the kernel spreads connections over the loops. Each
//! loop serves the HTTP hello world of the `http_server` example.
//!
//! ```text
//! cargo run --release --example per_core -- [ADDR] [--loops N]   # default 127.0.0.1:8080, N = CPUs
//! ```
//!
//! Ctrl-C stops it and prints how many connections each loop served.

#[path = "common/hello_http.rs"]
mod hello_http;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use runtime::net::{TcpListener, TcpSocket};

fn reuseport_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::for_addr(addr)?;
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// One loop: accept on its own listener, a task per connection.
fn serve(
    addr: SocketAddr,
    served: Arc<AtomicUsize>,
    bound: std::sync::mpsc::Sender<std::io::Result<SocketAddr>>,
) {
    let rt = runtime::Runtime::new().expect("a loop per thread");
    rt.block_on(async move {
        let listener = match reuseport_listener(addr) {
            Ok(l) => l,
            Err(e) => {
                let _ = bound.send(Err(e));
                return;
            }
        };
        let _ = bound.send(listener.local_addr());
        let mut incoming = listener.incoming();
        while let Some(conn) = runtime::stream::StreamExt::next(&mut incoming).await {
            let Ok(conn) = conn else { continue };
            served.fetch_add(1, Ordering::Relaxed);
            let (r, w) = conn.into_streams();
            runtime::spawn(hello_http::handle(r, w)).detach();
        }
    });
}

fn main() -> std::io::Result<()> {
    let mut addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let mut loops = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--loops" {
            loops = args.next().and_then(|n| n.parse().ok()).expect("--loops N");
        } else {
            addr = a.parse().expect("ADDR like 127.0.0.1:8080");
        }
    }
    let counters: Vec<Arc<AtomicUsize>> = (0..loops).map(|_| Arc::default()).collect();
    for (i, served) in counters.iter().enumerate() {
        let (tx, rx) = std::sync::mpsc::channel();
        let served = served.clone();
        std::thread::Builder::new()
            .name(format!("loop-{i}"))
            .spawn(move || serve(addr, served, tx))?;
        // The first loop may bind port 0; the others join the port it got.
        addr = rx.recv().expect("loop thread started")?;
    }
    println!("listening on http://{addr}/ with {loops} loops");
    runtime::run(async {
        runtime::signal::ctrl_c().await.expect("listen for Ctrl-C");
    });
    for (i, c) in counters.iter().enumerate() {
        println!("loop {i}: {} connections", c.load(Ordering::Relaxed));
    }
    Ok(())
}
