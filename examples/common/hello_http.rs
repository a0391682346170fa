//! The HTTP/1.1 keep-alive hello world shared by the `http_server` and `per_core`
//! examples (the uvicorn/FastAPI seed's `GET /` -> "Hello World!").

use runtime::net::{LimitOverrunError, StreamReader, StreamWriter};

/// The longest request head served (as many servers do); longer heads get `431`.
pub const MAX_HEAD: usize = 8 * 1024;

const OK: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nHello World!";
const OK_CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nHello World!";
const NOT_ALLOWED: &[u8] =
    b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Whether the request head asks to close the connection after the response.
fn wants_close(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n').any(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.len() == "connection: close".len() && line.eq_ignore_ascii_case(b"connection: close")
    })
}

/// Serves requests on one connection until the client closes it (or asks to).
pub async fn handle(mut reader: StreamReader, mut writer: StreamWriter) {
    reader.set_limit(MAX_HEAD);
    loop {
        // The request head ends with an empty line.
        let head = match reader.readuntil(b"\r\n\r\n").await {
            Ok(head) => head,
            Err(e) if LimitOverrunError::from_io(&e).is_some() => {
                // An over-long (or endless) head: answer 431 and close.
                writer.write(TOO_LARGE);
                let _ = writer.close().await;
                return;
            }
            Err(_) => return, // the client closed (or the connection failed)
        };
        let (response, close) = if !head.starts_with(b"GET ") {
            (NOT_ALLOWED, true)
        } else if wants_close(&head) {
            (OK_CLOSE, true)
        } else {
            (OK, false)
        };
        writer.write(response);
        if writer.drain().await.is_err() || close {
            return;
        }
    }
}
