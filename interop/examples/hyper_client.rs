//! hyper's HTTP/1 client on the runtime: GETs several paths from one server over one
//! keep-alive connection (reconnecting only if the server closes it), and prints what
//! came back.
//!
//! ```text
//! python3 -m http.server 8000 --protocol HTTP/1.1 &
//! cargo run -p runtime-interop --example hyper_client -- http://127.0.0.1:8000 / /README.md
//! ```

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use runtime::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn connect(authority: &str) -> Result<SendRequest<Empty<Bytes>>, Error> {
    let stream = TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
    // The connection's own future runs as a task on the loop.
    runtime::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("connection error: {e}");
        }
    })
    .detach();
    Ok(sender)
}

#[runtime::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let base: hyper::Uri = args
        .next()
        .ok_or("usage: hyper_client http://host:port [path...]")?
        .parse()?;
    let authority = base
        .authority()
        .ok_or("the URL needs host:port")?
        .to_string();
    let paths: Vec<String> = args.collect();
    let paths = if paths.is_empty() {
        vec!["/".to_string()]
    } else {
        paths
    };

    let mut sender = connect(&authority).await?;
    let mut connections = 1;
    for path in &paths {
        // A closed connection (the server did not keep it alive): open another.
        if sender.ready().await.is_err() {
            sender = connect(&authority).await?;
            connections += 1;
        }
        let req = Request::get(path.as_str())
            .header(hyper::header::HOST, authority.as_str())
            .body(Empty::<Bytes>::new())?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        println!("GET {path}: {} {} bytes", status.as_u16(), body.len());
    }
    println!("requests: {}, connections: {connections}", paths.len());
    Ok(())
}
