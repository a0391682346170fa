//! Stackless Python's "hackysack" benchmark: N players in a circle kick a sack to a
//! random player until it has been kicked K times; then everybody goes home. Each player
//! is a task with its own channel (an `mpsc::unbounded` here: the seed's threaded version
//! uses one `Queue` per player, the tasklet version one channel per player).
//!
//! ```text
//! cargo run --release --example hackysack -- [players] [kicks]     # default 100000 1000000
//! ```
//!
//! Prints setup time, play time (and time per kick) and peak memory.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use runtime::sync::mpsc::{unbounded, Receiver, UnboundedSender};

enum Msg {
    Sack,
    Exit,
}

struct Game {
    circle: Vec<UnboundedSender<Msg>>,
    kicks: Cell<u64>,
    target: u64,
}

async fn player(me: usize, game: Rc<Game>, mut inbox: Receiver<Msg>) {
    let mut rng = (me as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    while let Some(msg) = inbox.recv().await {
        match msg {
            Msg::Exit => return,
            Msg::Sack => {
                let k = game.kicks.get() + 1;
                game.kicks.set(k);
                if k >= game.target {
                    // Game over: send everybody home.
                    for (i, p) in game.circle.iter().enumerate() {
                        if i != me {
                            let _ = p.send(Msg::Exit);
                        }
                    }
                    return;
                }
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let to = (rng % game.circle.len() as u64) as usize;
                let _ = game.circle[to].send(Msg::Sack);
            }
        }
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let players: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let kicks: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    assert!(
        players > 0 && kicks > 0,
        "usage: hackysack [players >= 1] [kicks >= 1]"
    );

    runtime::run(async move {
        let setup = Instant::now();
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..players).map(|_| unbounded()).unzip();
        let game = Rc::new(Game {
            circle: txs,
            kicks: Cell::new(0),
            target: kicks,
        });
        let tasks: Vec<_> = rxs
            .into_iter()
            .enumerate()
            .map(|(i, rx)| runtime::spawn(player(i, game.clone(), rx)))
            .collect();
        let setup = setup.elapsed();

        let play = Instant::now();
        let _ = game.circle[0].send(Msg::Sack);
        for t in tasks {
            t.await.expect("player failed");
        }
        let play = play.elapsed();
        println!("players: {players}, kicks: {}", game.kicks.get());
        println!("setup: {:.3} s", setup.as_secs_f64());
        println!(
            "play:  {:.3} s ({:.1} ns per kick)",
            play.as_secs_f64(),
            play.as_nanos() as f64 / kicks as f64
        );
        println!("peak memory: {:.1} MiB", peak_rss_mib());
    });
}
