//! Growing past one core: one event loop per CPU, each with its own listener on the same
//! port (`SO_REUSEPORT`), so the kernel spreads connections over the loops. Each loop
//! serves the HTTP hello world of the `http_server` example.
//!
//! ```text
//! cargo run --release --example per_core -- [ADDR] [--loops N]   # default 127.0.0.1:8080, N = CPUs
//! ```
//!
//! Ctrl-C stops it and prints how many connections each loop served.

#[path = "common/hello_http.rs"]
mod hello_http;

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use runtime::net::{TcpListener, TcpSocket};

fn main() -> std::io::Result<()> {
    let (addr, loops) = args();
    // Choose the port once (port 0: the OS picks), then every loop binds it.
    let probe = TcpSocket::for_addr(addr)?;
    probe.set_reuseport(true)?;
    probe.bind(addr)?;
    let addr = probe.local_addr()?;
    let bound = Arc::new(AtomicUsize::new(0));
    let served = runtime::LoopPool::builder()
        .loops(loops)
        .run_per_loop(move |_| {
            let bound = bound.clone();
            async move {
                let listener = TcpListener::bind_reuseport(addr).expect("bind the shared port");
                if bound.fetch_add(1, Ordering::SeqCst) + 1 == loops {
                    println!("listening on http://{addr}/ with {loops} loops");
                }
                let mut served = 0usize;
                let serve = async {
                    loop {
                        let Ok((conn, _)) = listener.accept().await else {
                            continue;
                        };
                        served += 1;
                        let (r, w) = conn.into_streams();
                        runtime::spawn(hello_http::handle(r, w)).detach();
                    }
                };
                // Every loop listens for Ctrl-C itself, so each main returns its count.
                runtime::combine::select(pin!(serve), pin!(runtime::signal::ctrl_c())).await;
                served
            }
        })?;
    for (i, n) in served.iter().enumerate() {
        println!("loop {i}: {n} connections");
    }
    Ok(())
}

fn args() -> (SocketAddr, usize) {
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
    (addr, loops)
}
