//! Living inside another event loop: a host that waits on its own poller (here plain
//! `poll(2)`, as a C program, a GUI toolkit or calloop would) and steps the runtime only
//! when the runtime's descriptor turns readable or its next deadline comes, with the host's
//! own timer beside it. The runtime never blocks the thread itself.
//!
//! On the runtime: a TCP echo server with a client thread talking to it (sockets), a
//! timer task (timers), and a worker thread that hands work in through a `Handle`
//! (remote wakes and `call_soon_threadsafe`).
//!
//! ```text
//! cargo run --example embed_host
//! ```

use std::cell::Cell;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use runtime::net::TcpListener;

fn main() -> std::io::Result<()> {
    let rt = runtime::Runtime::new()?;

    // Sockets: an echo server on the runtime, a plain blocking client on a thread.
    let listener = rt.block_on(async { TcpListener::bind("127.0.0.1:0") })?;
    let addr = listener.local_addr()?;
    let server = rt.spawn(async move {
        let (mut conn, _) = listener.accept().await?;
        let mut buf = [0u8; 64];
        loop {
            let n = conn.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            conn.write_all(&buf[..n]).await?;
        }
    });
    let client = std::thread::spawn(move || -> std::io::Result<Vec<String>> {
        let mut s = std::net::TcpStream::connect(addr)?;
        let mut lines = BufReader::new(s.try_clone()?);
        let mut got = Vec::new();
        for word in ["hello", "from", "the host"] {
            writeln!(s, "{word}")?;
            let mut line = String::new();
            lines.read_line(&mut line)?;
            got.push(line.trim_end().to_string());
        }
        Ok(got)
    });

    // Timers: a task that ticks three times.
    let ticks = Rc::new(Cell::new(0));
    let t = ticks.clone();
    let ticker = rt.spawn(async move {
        for _ in 0..3 {
            runtime::sleep(Duration::from_millis(15)).await;
            t.set(t.get() + 1);
        }
    });

    // Remote wakes: a worker thread spawns a `Send` task and posts a callback.
    let handle = rt.handle();
    let mut worker = Some(std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        handle
            .call_soon_threadsafe(|| println!("callback from the worker ran on the loop"))
            .expect("loop is alive");
        handle.spawn(async { 6 * 7 })
    }));

    // The host's loop: its own 10 ms timer, and poll(2) on the runtime's descriptor.
    let host_period = Duration::from_millis(10);
    let mut host_next = Instant::now() + host_period;
    let (mut host_ticks, mut steps) = (0u32, 0u32);
    let mut answer = None;
    while !(server.is_done()
        && ticker.is_done()
        && answer
            .as_ref()
            .is_some_and(|a: &runtime::RemoteTask<i32>| a.is_done()))
    {
        // Wait until the host's timer, the runtime's next deadline, or the runtime's
        // descriptor turns readable, whichever comes first.
        let mut deadline = host_next;
        if let Some(due) = rt.next_deadline() {
            deadline = deadline.min(due.into_std());
        }
        let timeout = deadline.saturating_duration_since(Instant::now());
        let mut fds = [libc::pollfd {
            fd: rt.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // Round up: poll(2) counts whole milliseconds, and rounding down would spin.
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        // SAFETY: one valid, initialised pollfd for the duration of the call.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
        if ready < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if Instant::now() >= host_next {
            host_ticks += 1;
            host_next += host_period;
        }
        // Step the runtime only when it has something to do.
        let due = rt
            .next_deadline()
            .is_some_and(|d| d.into_std() <= Instant::now());
        if ready > 0 || due {
            rt.turn(Duration::ZERO);
            steps += 1;
        }
        if let Some(w) = worker.take_if(|w| w.is_finished()) {
            answer = Some(w.join().expect("worker panicked"));
        }
    }
    // The server task ended: the client closed its connection.
    let echoed = client.join().expect("client panicked")?;
    println!("echoed: {}", echoed.join(" | "));
    println!("timer ticks: {}", ticks.get());
    let answer = answer.expect("worker finished");
    println!(
        "answer from the worker's task: {}",
        answer.join_blocking().expect("task")
    );
    rt.block_on(server).expect("server task")?;
    eprintln!("host ticks: {host_ticks}, runtime steps: {steps}");
    Ok(())
}
