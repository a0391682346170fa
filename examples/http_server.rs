//! A minimal HTTP/1.1 keep-alive server answering `GET /` with `Hello World!` (the
//! uvicorn/FastAPI seed's hello world), on asyncio-style streams.
//!
//! ```text
//! cargo run --release --example http_server -- [ADDR]     # default 127.0.0.1:8080
//! curl http://127.0.0.1:8080/
//! ```

use runtime::net::{start_server, StreamReader, StreamWriter};

const BODY: &[u8] = b"Hello World!";

async fn handle(mut reader: StreamReader, mut writer: StreamWriter) {
    loop {
        // The request head ends with an empty line.
        let head = match reader.readuntil(b"\r\n\r\n").await {
            Ok(h) => h,
            Err(_) => return, // the client closed (or sent garbage)
        };
        let head = String::from_utf8_lossy(&head);
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let close = lines.any(|l| l.eq_ignore_ascii_case("connection: close"));
        let (status, body): (&str, &[u8]) = match request_line.split_whitespace().next() {
            Some("GET") => ("200 OK", BODY),
            _ => ("405 Method Not Allowed", b""),
        };
        writer.write(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n",
                body.len(),
                if close { "Connection: close\r\n" } else { "" }
            )
            .as_bytes(),
        );
        writer.write(body);
        if writer.drain().await.is_err() || close {
            return;
        }
    }
}

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = start_server(handle, addr)?;
    println!("listening on http://{}/", server.local_addr());
    server.serve_forever().await;
    Ok(())
}
