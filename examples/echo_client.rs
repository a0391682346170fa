//! The client for `echo_server`: sends a few lines and prints what comes back.
//!
//! ```text
//! cargo run --example echo_client -- [ADDR]     # default 127.0.0.1:8080
//! ```

use runtime::net::TcpStream;

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let mut conn = TcpStream::connect(&addr).await?;
    for line in ["hello", "event loop", "bye"] {
        conn.write_all(line.as_bytes()).await?;
        let mut back = vec![0u8; line.len()];
        conn.read_exact(&mut back).await?;
        println!("echoed: {}", String::from_utf8_lossy(&back));
    }
    Ok(())
}
