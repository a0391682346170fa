//! WebSockets with async-tungstenite on the runtime's sockets (through their `futures_io`
//! traits, no wrapper): an echo server, and a client that sends text, a 1 MiB binary
//! message and a ping, checks what comes back, and closes.
//!
//! ```text
//! cargo run -p runtime-interop --example websocket -- server 127.0.0.1:9001
//! cargo run -p runtime-interop --example websocket -- client ws://127.0.0.1:9001
//! ```

use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::Message;
use futures_util::StreamExt;
use runtime::net::{TcpListener, TcpStream};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Echoes text and binary messages on every connection; pings are answered and closes
/// completed by tungstenite itself.
async fn server(addr: &str) -> Result<(), Error> {
    let listener = TcpListener::bind(addr)?;
    println!("listening on ws://{}", listener.local_addr()?);
    loop {
        let (conn, peer) = listener.accept().await?;
        runtime::spawn(async move {
            let mut ws = match async_tungstenite::accept_async(conn).await {
                Ok(ws) => ws,
                Err(e) => return eprintln!("{peer}: handshake failed: {e}"),
            };
            while let Some(msg) = ws.next().await {
                match msg {
                    Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                        if let Err(e) = ws.send(m).await {
                            return eprintln!("{peer}: send failed: {e}");
                        }
                    }
                    Ok(Message::Close(frame)) => {
                        let code = frame.map_or(0, |f| u16::from(f.code));
                        println!("{peer}: closed with code {code}");
                    }
                    Ok(_) => {} // ping (answered for us), pong
                    Err(e) => return eprintln!("{peer}: {e}"),
                }
            }
        })
        .detach();
    }
}

/// The next text or binary message (pongs and pings in between are skipped).
async fn next_data<S>(ws: &mut async_tungstenite::WebSocketStream<S>) -> Result<Message, Error>
where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin,
{
    loop {
        match ws.next().await.ok_or("connection closed early")?? {
            m @ (Message::Text(_) | Message::Binary(_) | Message::Pong(_)) => return Ok(m),
            _ => continue,
        }
    }
}

async fn client(url: &str) -> Result<(), Error> {
    let authority = url
        .strip_prefix("ws://")
        .ok_or("the URL must start with ws://")?
        .split('/')
        .next()
        .unwrap_or_default();
    let stream = TcpStream::connect(authority).await?;
    let (mut ws, _) = async_tungstenite::client_async(url, stream).await?;

    ws.send(Message::text("hello over a WebSocket")).await?;
    match next_data(&mut ws).await? {
        Message::Text(t) => println!("text echoed: {t}"),
        other => return Err(format!("expected text, got {other:?}").into()),
    }

    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(big.clone())).await?;
    match next_data(&mut ws).await? {
        Message::Binary(b) if b[..] == big[..] => println!("binary echoed: {} bytes", b.len()),
        other => {
            return Err(format!("binary message came back wrong: {} bytes", other.len()).into())
        }
    }

    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await?;
    match next_data(&mut ws).await? {
        Message::Pong(p) => println!("pong: {}", String::from_utf8_lossy(&p)),
        other => return Err(format!("expected a pong, got {other:?}").into()),
    }

    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    }))
    .await?;
    // Read until the server's close frame ends the stream.
    while let Some(msg) = ws.next().await {
        if let Message::Close(Some(frame)) = msg? {
            println!("closed by the server with code {}", u16::from(frame.code));
        }
    }
    Ok(())
}

#[runtime::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["server", addr] => server(addr).await,
        ["client", url] => client(url).await,
        _ => Err("usage: websocket server HOST:PORT | websocket client ws://HOST:PORT/".into()),
    }
}
