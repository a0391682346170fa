//! The aiohttp seed: download several files concurrently and save them, with a small
//! HTTP/1.1 client written on `runtime::net::TcpStream` (plain `http://` only).
//!
//! ```text
//! cargo run --example download -- [--out DIR] URL...
//! ```
//!
//! Without URLs it serves three generated "images" from a local server task first and
//! downloads those, so the demo runs offline. Like the seed it prints `send` when a
//! request goes out, `download` when a file is saved, and `over` at the end.

use std::io;
use std::path::{Path, PathBuf};

use runtime::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use runtime::net::{start_server, TcpStream};

/// `http://host[:port]/path` split into its parts.
struct Url {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> io::Result<Url> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {why}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| bad("bad port"))?),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok(Url {
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    })
}

/// The file name the seed derives: the last path segment without the query.
fn file_name(url: &Url) -> String {
    let last = url.path.rsplit('/').next().unwrap_or_default();
    let name = last.split('?').next().unwrap_or_default();
    if name.is_empty() {
        "index.html".into()
    } else {
        name.into()
    }
}

/// GETs `url` and returns the body (Content-Length, chunked, or up to end of stream).
async fn get(url: &Url) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect((url.host.as_str(), url.port)).await?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: runtime-download\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.path, url.host
    );
    stream.write_all(request.as_bytes()).await?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).await?;
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        return Err(io::Error::other(format!(
            "HTTP status: {}",
            status.trim_end()
        )));
    }
    let (mut length, mut chunked) = (None, false);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).await?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..]).await?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf).await?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader.read_exact(&mut body).await?;
    } else {
        reader.read_to_end(&mut body).await?;
    }
    Ok(body)
}

async fn download_image(url: String, out: PathBuf) -> io::Result<(String, usize)> {
    let parsed = parse_url(&url)?;
    println!("send");
    let content = get(&parsed).await?;
    let name = file_name(&parsed);
    runtime::fs::write(out.join(&name), &content).await?;
    println!("download");
    Ok((name, content.len()))
}

/// Serves three generated files on a loopback port; returns their URLs.
fn demo_server() -> io::Result<(runtime::net::Server, Vec<String>)> {
    let server = start_server(
        |mut r, mut w| async move {
            let Ok(head) = r.readuntil(b"\r\n\r\n").await else {
                return;
            };
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let size = path
                .trim_start_matches('/')
                .split(['_', '.'])
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            w.write(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            w.write(&body);
            let _ = w.drain().await;
        },
        "127.0.0.1:0",
    )?;
    let base = format!("http://{}", server.local_addr());
    let urls = [
        "307200_720w.jpg?source=7e7ef6e2",
        "102400_b.jpg",
        "204800_b.jpg",
    ]
    .iter()
    .map(|p| format!("{base}/{p}"))
    .collect();
    Ok((server, urls))
}

#[runtime::main]
async fn main() -> io::Result<()> {
    let mut out = PathBuf::from(".");
    let mut urls = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--out" {
            out = args
                .next()
                .map(PathBuf::from)
                .expect("--out needs a directory");
        } else {
            urls.push(a);
        }
    }
    let demo = if urls.is_empty() {
        let (server, demo_urls) = demo_server()?;
        urls = demo_urls;
        out = std::env::temp_dir().join(format!("runtime-download-{}", std::process::id()));
        runtime::fs::create_dir_all(&out).await?;
        Some(server)
    } else {
        None
    };
    let tasks: Vec<_> = urls
        .into_iter()
        .map(|u| runtime::spawn(download_image(u, out.clone())))
        .collect();
    let (done, _) = runtime::wait(tasks).await; // asyncio.wait(tasks)
    let mut failed = false;
    for mut t in done {
        let r = t.try_result().expect("wait returned it as done");
        match r {
            Ok(Ok((name, n))) => eprintln!("{}: {n} bytes", Path::new(&out).join(name).display()),
            Ok(Err(e)) => {
                eprintln!("error: {e}");
                failed = true;
            }
            Err(e) => {
                eprintln!("task failed: {e}");
                failed = true;
            }
        }
    }
    println!("over");
    if demo.is_some() {
        runtime::fs::remove_dir_all(&out).await?;
    }
    if failed {
        return Err(io::Error::other("some downloads failed"));
    }
    Ok(())
}
