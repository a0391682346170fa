//! A minimal HTTP/1.1 keep-alive server answering `GET /` with `Hello World!` (the
//! uvicorn/FastAPI seed's hello world), on asyncio-style streams.
//!
//! ```text
//! cargo run --release --example http_server -- [ADDR]     # default 127.0.0.1:8080
//! curl http://127.0.0.1:8080/
//! ```

#[path = "common/hello_http.rs"]
mod hello_http;

use runtime::net::start_server;

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = start_server(hello_http::handle, addr)?;
    println!("listening on http://{}/", server.local_addr());
    server.serve_forever().await;
    Ok(())
}
