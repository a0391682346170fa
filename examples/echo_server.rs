//! An echo server (asyncio's `start_server` story): every connection gets its own task
//! that sends back whatever it receives. Its partner is `echo_client`.
//!
//! ```text
//! cargo run --example echo_server -- [ADDR]     # default 127.0.0.1:8080
//! ```

use runtime::net::{TcpListener, TcpStream};
use runtime::stream::StreamExt;

async fn handle(mut conn: TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            return Ok(()); // the client closed
        }
        conn.write_all(&buf[..n]).await?;
    }
}

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(&addr)?;
    println!("echo server listening on {}", listener.local_addr()?);
    // `incoming()` rides out resource exhaustion (EMFILE: it backs off and retries) and
    // skips connections the peer aborted; a bare `accept()?` loop would stop on those.
    let mut incoming = listener.incoming();
    while let Some(conn) = incoming.next().await {
        let conn = conn?;
        runtime::spawn(async move {
            let peer = conn.peer_addr();
            if let Err(e) = handle(conn).await {
                eprintln!("{peer:?}: {e}");
            }
        })
        .detach();
    }
    Ok(())
}
