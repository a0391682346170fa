//! The `redis` crate's multiplexed connection on the runtime's `TcpStream` (through the
//! `tokio-io` feature: redis takes any stream with tokio's I/O traits), its driver a task
//! on the loop: commands, a pipeline, concurrent requests from several tasks on one
//! connection, and timeouts.
//!
//! ```text
//! redis-server --port 6380 &
//! cargo run -p runtime-interop --example redis_client -- redis://127.0.0.1:6380/
//! ```
//!
//! redis' own response timeout (`AsyncConnectionConfig::set_response_timeout`) works: the
//! crate is built with its `smol-comp` feature, whose timer (async-io's) runs on its own
//! thread and so works on any executor. redis picks its timer from tokio or smol and has
//! no hook for another runtime's, so that timeout follows the real clock, not the loop's;
//! for a deadline on the loop's clock (virtual time in tests), wrap the call in
//! `runtime::timeout`, as below.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, AsyncConnectionConfig, IntoConnectionInfo};
use runtime::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A multiplexed connection over the runtime's `TcpStream`, with a 300 ms response timeout.
async fn connect(url: &str) -> Result<MultiplexedConnection, Error> {
    let info = url.into_connection_info()?;
    let redis::ConnectionAddr::Tcp(host, port) = info.addr().clone() else {
        return Err("this example speaks TCP: give a redis://host:port/ URL".into());
    };
    let stream = TcpStream::connect((host.as_str(), port)).await?;
    stream.set_nodelay(true)?;
    let config =
        AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_millis(300)));
    let (conn, driver) =
        MultiplexedConnection::new_with_config(info.redis_settings(), stream, config).await?;
    // The connection's driver reads replies and routes them to their callers.
    runtime::spawn(driver).detach();
    Ok(conn)
}

#[runtime::main]
async fn main() -> Result<(), Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
    let mut conn = connect(&url).await?;

    let key = format!("runtime-interop:{}", std::process::id());
    let _: () = conn.set(&key, "hello from the runtime").await?;
    let value: String = conn.get(&key).await?;
    println!("GET: {value}");

    // A pipeline: one round trip.
    let (a, b): (i64, i64) = redis::pipe()
        .incr(format!("{key}:n"), 1)
        .incr(format!("{key}:n"), 41)
        .query_async(&mut conn)
        .await?;
    println!("pipeline INCR, INCR: {a}, {b}");

    // 100 tasks share the connection: their requests are multiplexed on it.
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let mut conn = conn.clone();
            let key = format!("{key}:list");
            runtime::spawn(async move { conn.rpush::<_, _, i64>(&key, i).await })
        })
        .collect();
    for t in runtime::gather(tasks).await {
        t??;
    }
    let len: i64 = conn.llen(format!("{key}:list")).await?;
    println!("RPUSH from 100 tasks: list length {len}");

    // A command the server holds for 5 s (on a connection of its own: the server answers
    // a connection's commands in order): redis' response timeout ends the wait...
    let mut blocker = connect(&url).await?;
    let started = std::time::Instant::now();
    let blocked: redis::RedisResult<Option<(String, String)>> =
        blocker.blpop(format!("{key}:empty"), 5.0).await;
    match blocked {
        Err(e) if e.is_timeout() => println!(
            "BLPOP: redis' response timeout fired ({} ms)",
            started.elapsed().as_millis() / 100 * 100
        ),
        other => return Err(format!("BLPOP should have timed out: {other:?}").into()),
    }
    // ...and so does the runtime's own timer, around any call.
    let mut blocker = connect(&url).await?;
    let slow = blocker.blpop::<_, Option<(String, String)>>(format!("{key}:empty"), 5.0);
    match runtime::timeout(Duration::from_millis(100), slow).await {
        Err(_elapsed) => println!("BLPOP: runtime::timeout fired"),
        Ok(r) => return Err(format!("BLPOP should have been cut short: {r:?}").into()),
    }

    let removed: i64 = conn
        .del(&[key.clone(), format!("{key}:n"), format!("{key}:list")])
        .await?;
    println!("DEL: {removed} keys");
    Ok(())
}
