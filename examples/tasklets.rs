//! Stackless Python's `schedule()`: three tasklets that each print three times and give
//! the others a turn in between, so the output goes round-robin.
//!
//! ```text
//! cargo run --example tasklets
//! ```
//!
//! Python original (the Stackless seed):
//! ```python
//! def print_three_times(x):
//!     print "1:", x
//!     stackless.schedule()
//!     print "2:", x
//!     stackless.schedule()
//!     print "3:", x
//!     stackless.schedule()
//!
//! stackless.tasklet(print_three_times)('first')
//! stackless.tasklet(print_three_times)('second')
//! stackless.tasklet(print_three_times)('third')
//! stackless.run()
//! ```

async fn print_three_times(x: &'static str) {
    println!("1: {x}");
    runtime::yield_now().await;
    println!("2: {x}");
    runtime::yield_now().await;
    println!("3: {x}");
    runtime::yield_now().await;
}

#[runtime::main]
async fn main() {
    let tasklets = [
        runtime::spawn(print_three_times("first")),
        runtime::spawn(print_three_times("second")),
        runtime::spawn(print_three_times("third")),
    ];
    // stackless.run(): wait until every tasklet has finished.
    for t in tasklets {
        t.await.expect("tasklet failed");
    }
}
