//! The aioredis seed: a small RESP (Redis protocol) client on `runtime::net::TcpStream`,
//! used by two concurrent tasks that `HSET` and `HGETALL` a hash, plus `SET`/`GET` and a
//! pipeline of 1,000 commands sent in one write.
//!
//! ```text
//! redis-server --port 6379 &
//! cargo run --example redis -- [ADDR]        # default 127.0.0.1:6379
//! ```
//!
//! `REDIS_PASSWORD` in the environment sends `AUTH` first.

use std::fmt;
use std::io;

use runtime::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use runtime::net::TcpStream;

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Simple(s) => write!(f, "{s}"),
            Value::Error(e) => write!(f, "(error) {e}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Bulk(None) | Value::Array(None) => write!(f, "(nil)"),
            Value::Bulk(Some(b)) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Value::Array(Some(items)) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
        }
    }
}

/// One connection. Commands are encoded into `out` and sent in one write, so a
/// pipeline of N commands costs one system call and one round trip.
struct Redis {
    conn: BufReader<TcpStream>,
    out: Vec<u8>,
}

impl Redis {
    async fn connect(addr: &str, password: Option<&str>) -> io::Result<Redis> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut redis = Redis {
            conn: BufReader::new(stream),
            out: Vec::new(),
        };
        if let Some(pw) = password {
            redis.call(&["AUTH", pw]).await?;
        }
        Ok(redis)
    }

    fn encode(&mut self, args: &[&str]) {
        self.out
            .extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            self.out
                .extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        let out = std::mem::take(&mut self.out);
        self.conn.write_all(&out).await
    }

    /// Sends one command and reads its reply; a Redis error reply becomes `Err`.
    async fn call(&mut self, args: &[&str]) -> io::Result<Value> {
        self.encode(args);
        self.flush().await?;
        match self.read_value().await? {
            Value::Error(e) => Err(io::Error::other(e)),
            v => Ok(v),
        }
    }

    /// Sends all `commands` in one write, then reads their replies in order.
    async fn pipeline(&mut self, commands: &[Vec<String>]) -> io::Result<Vec<Value>> {
        for c in commands {
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            self.encode(&args);
        }
        self.flush().await?;
        let mut replies = Vec::with_capacity(commands.len());
        for _ in commands {
            replies.push(self.read_value().await?);
        }
        Ok(replies)
    }

    async fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.conn.read_line(&mut line).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "redis closed the connection",
            ));
        }
        Ok(line.trim_end_matches("\r\n").to_owned())
    }

    async fn read_value(&mut self) -> io::Result<Value> {
        // Arrays nest; an explicit stack keeps this a plain loop (no boxed recursion).
        let mut stack: Vec<(usize, Vec<Value>)> = Vec::new();
        loop {
            let line = self.read_line().await?;
            let (kind, rest) = line.split_at(1.min(line.len()));
            let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("bad reply: {line:?}"));
            let number = || rest.parse::<i64>().map_err(|_| bad());
            let mut value = match kind {
                "+" => Value::Simple(rest.to_owned()),
                "-" => Value::Error(rest.to_owned()),
                ":" => Value::Int(number()?),
                "$" => match number()? {
                    -1 => Value::Bulk(None),
                    n => {
                        let mut buf = vec![0u8; n as usize + 2];
                        self.conn.read_exact(&mut buf).await?;
                        buf.truncate(n as usize);
                        Value::Bulk(Some(buf))
                    }
                },
                "*" => match number()? {
                    -1 => Value::Array(None),
                    0 => Value::Array(Some(Vec::new())),
                    n => {
                        stack.push((n as usize, Vec::with_capacity(n as usize)));
                        continue;
                    }
                },
                _ => return Err(bad()),
            };
            loop {
                let Some((want, items)) = stack.last_mut() else {
                    return Ok(value);
                };
                items.push(value);
                if items.len() < *want {
                    break;
                }
                let (_, items) = stack.pop().expect("non-empty");
                value = Value::Array(Some(items));
            }
        }
    }
}

/// The seed's `execute`: HSET a hash, read it back with HGETALL, close.
async fn execute(addr: String, password: Option<String>) -> io::Result<String> {
    let mut redis = Redis::connect(&addr, password.as_deref()).await?;
    redis
        .call(&["HSET", "car", "key1", "1", "key2", "2", "key3", "3"])
        .await?;
    let all = redis.call(&["HGETALL", "car"]).await?;
    // HGETALL answers [field, value, field, value, ...]; show it as a map.
    let Value::Array(Some(items)) = all else {
        return Err(io::Error::other(format!("unexpected HGETALL reply {all}")));
    };
    let mut pairs: Vec<String> = items
        .chunks(2)
        .map(|kv| format!("{}: {}", kv[0], kv[1]))
        .collect();
    pairs.sort();
    Ok(format!("{{{}}}", pairs.join(", ")))
}

#[runtime::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6379".into());
    let password = std::env::var("REDIS_PASSWORD").ok();

    let mut redis = Redis::connect(&addr, password.as_deref()).await?;
    redis.call(&["DEL", "car", "counter", "greeting"]).await?;

    // asyncio.run(asyncio.wait(task_list)): two connections working concurrently.
    let tasks = vec![
        runtime::spawn(execute(addr.clone(), password.clone())),
        runtime::spawn(execute(addr.clone(), password.clone())),
    ];
    let (done, _) = runtime::wait(tasks).await;
    for (i, mut t) in done.into_iter().enumerate() {
        let r = t
            .try_result()
            .expect("done")
            .expect("execute does not panic")?;
        println!("execute {}: HGETALL car -> {r}", i + 1);
    }

    let ok = redis
        .call(&["SET", "greeting", "hello from runtime"])
        .await?;
    let got = redis.call(&["GET", "greeting"]).await?;
    println!("SET greeting -> {ok}; GET greeting -> {got}");

    let incrs: Vec<Vec<String>> = (0..1000)
        .map(|_| vec!["INCR".to_owned(), "counter".to_owned()])
        .collect();
    let replies = redis.pipeline(&incrs).await?;
    println!(
        "pipelined {} INCR in one write: last reply {}",
        replies.len(),
        replies.last().expect("1000 replies")
    );
    let missing = redis.call(&["GET", "no-such-key"]).await?;
    println!("GET no-such-key -> {missing}");
    match redis.call(&["HGETALL", "greeting"]).await {
        Err(e) => println!(
            "HGETALL on a string -> error: {}",
            e.to_string().split(' ').next().unwrap_or("")
        ),
        Ok(v) => println!("HGETALL on a string -> {v}"),
    }
    Ok(())
}
