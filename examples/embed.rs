//! Embedding: a host program owns its main loop (think of a game's frame loop) and
//! steps the event loop once per frame with a bounded wait, while a worker thread hands
//! work in through a `Handle` (asyncio's `call_soon_threadsafe`).
//!
//! ```text
//! cargo run --example embed
//! ```

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let rt = runtime::Runtime::new()?;

    // A task on the loop: a timer that ticks three times.
    let ticks = Rc::new(Cell::new(0));
    let t = ticks.clone();
    let ticker = rt.spawn(async move {
        let mut iv = runtime::time::interval(Duration::from_millis(20));
        for _ in 0..3 {
            iv.tick().await;
            t.set(t.get() + 1);
        }
    });

    // Another thread spawns a `Send` future on the loop and posts a callback.
    let handle = rt.handle();
    let worker = std::thread::spawn(move || {
        let answer = handle.spawn(async { 6 * 7 });
        handle
            .call_soon_threadsafe(|| println!("callback from the worker thread ran on the loop"))
            .expect("loop is alive");
        answer
    });
    let answer = worker.join().expect("worker thread panicked");

    // The host's frame loop: at most 16 ms of waiting per frame.
    let mut frames = 0;
    while !(ticker.is_done() && answer.is_done()) {
        rt.turn(Duration::from_millis(16));
        frames += 1;
    }
    println!("ticks: {}", ticks.get());
    println!(
        "answer from the worker's task: {}",
        answer.join_blocking().expect("task failed")
    );
    println!(
        "frames stepped: {}",
        if frames > 0 { "some" } else { "none" }
    );
    Ok(())
}
