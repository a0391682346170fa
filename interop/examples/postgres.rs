//! tokio-postgres on the runtime: the runtime's `TcpStream` goes to `Config::connect_raw`
//! as it is (the `tokio-io` feature gives it tokio's I/O traits; tokio-postgres' own
//! `runtime` feature, which would pull in tokio's reactor, stays off), and the connection
//! future runs as a task on the loop. Creates a table, inserts 1,000 rows in a pipeline,
//! reads them back, cuts a slow query short with `runtime::timeout` (and cancels it on the
//! server), and closes cleanly.
//!
//! ```text
//! cargo run -p runtime-interop --example postgres -- "host=127.0.0.1 port=5432 user=postgres"
//! ```

use std::time::{Duration, Instant};

use runtime::net::TcpStream;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The first TCP host and port of `config`.
fn address(config: &Config) -> Result<(String, u16), Error> {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        _ => return Err("give a TCP host (host=127.0.0.1)".into()),
    };
    Ok((host, config.get_ports().first().copied().unwrap_or(5432)))
}

async fn connect(config: &Config) -> Result<(Client, runtime::Task<()>), Error> {
    let stream = TcpStream::connect(address(config)?).await?;
    stream.set_nodelay(true)?;
    let (client, connection) = config.connect_raw(stream, NoTls).await?;
    // The connection future does the socket I/O for every query of `client`.
    let driver = runtime::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("connection error: {e}");
        }
    });
    Ok((client, driver))
}

#[runtime::main]
async fn main() -> Result<(), Error> {
    let params = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "host=127.0.0.1 port=5432 user=postgres".into());
    let config: Config = params.parse()?;
    let (client, driver) = connect(&config).await?;

    client
        .batch_execute(
            "DROP TABLE IF EXISTS runtime_items;
             CREATE TABLE runtime_items (id integer PRIMARY KEY, name text NOT NULL)",
        )
        .await?;
    println!("created table runtime_items");

    // 1,000 inserts in flight at once: tokio-postgres pipelines them on the connection.
    let insert = client
        .prepare("INSERT INTO runtime_items (id, name) VALUES ($1, $2)")
        .await?;
    let names: Vec<String> = (0..1000).map(|i| format!("item {i}")).collect();
    let inserts = (0..1000).map(|i| {
        let (insert, names, client) = (&insert, &names, &client);
        async move { client.execute(insert, &[&(i as i32), &names[i]]).await }
    });
    let mut inserted = 0;
    for r in runtime::gather(inserts).await {
        inserted += r?;
    }
    println!("inserted {inserted} rows in a pipeline");

    let rows = client
        .query("SELECT id, name FROM runtime_items ORDER BY id", &[])
        .await?;
    let sum: i64 = rows.iter().map(|r| i64::from(r.get::<_, i32>(0))).sum();
    let last: &str = rows.last().ok_or("no rows")?.get(1);
    println!(
        "read back {} rows, ids summing to {sum}, the last named {last:?}",
        rows.len()
    );

    // A slow query cut short by the runtime's timer; dropping its future does not stop the
    // server, so cancel it there too (over a new connection, as PostgreSQL's protocol
    // wants), and the connection answers the next query at once.
    let started = Instant::now();
    let slow = client.query("SELECT pg_sleep(30)", &[]);
    match runtime::timeout(Duration::from_millis(200), slow).await {
        Err(_elapsed) => println!("slow query: timed out after 200 ms"),
        Ok(r) => return Err(format!("pg_sleep(30) finished early: {r:?}").into()),
    }
    let cancel_stream = TcpStream::connect(address(&config)?).await?;
    client
        .cancel_token()
        .cancel_query_raw(cancel_stream, NoTls)
        .await?;
    let one: i32 = client.query_one("SELECT 1", &[]).await?.get(0);
    let waited = started.elapsed();
    if waited > Duration::from_secs(20) {
        return Err(format!("the cancelled query held the connection for {waited:?}").into());
    }
    println!("after cancelling it, the connection answers: {one}");

    client.batch_execute("DROP TABLE runtime_items").await?;
    // Close: dropping the client ends the connection future cleanly.
    drop(client);
    driver.await?;
    println!("closed");
    Ok(())
}
