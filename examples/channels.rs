//! Stackless Python's channels: a rendezvous where the receiver runs next and the sender
//! goes to the back of the queue; and a sender that blocks until a receiver comes.
//!
//! ```text
//! cargo run --example channels
//! ```
//!
//! Python originals (the Stackless seed):
//! ```python
//! channel = stackless.channel()
//! def receiving_tasklet():
//!     print "Receiving tasklet started"
//!     print channel.receive()
//!     print "Receiving tasklet finished"
//! def sending_tasklet():
//!     print "Sending tasklet started"
//!     channel.send("send from sending_tasklet")
//!     print "sending tasklet finished"
//! def another_tasklet():
//!     print "Just another tasklet in the scheduler"
//!
//! stackless.tasklet(receiving_tasklet)()
//! stackless.tasklet(sending_tasklet)()
//! stackless.tasklet(another_tasklet)()
//! stackless.run()
//!
//! stackless.tasklet(sending_tasklet)()
//! stackless.tasklet(another_tasklet)()
//! stackless.run()            # the sender blocks; "another" runs
//! stackless.tasklet(receiving_tasklet)()
//! stackless.run()            # the exchange completes
//! ```

use runtime::sync::Channel;

async fn receiving_tasklet(channel: Channel<&'static str>) {
    println!("Receiving tasklet started");
    println!("{}", channel.receive().await.expect("channel open"));
    println!("Receiving tasklet finished");
}

async fn sending_tasklet(channel: Channel<&'static str>) {
    println!("Sending tasklet started");
    channel
        .send("send from sending_tasklet")
        .await
        .expect("channel open");
    println!("sending tasklet finished");
}

async fn another_tasklet() {
    println!("Just another tasklet in the scheduler");
}

fn main() -> std::io::Result<()> {
    let rt = runtime::Runtime::new()?;
    let channel = Channel::new();

    // Program 1: receiver, sender, another.
    let tasklets = [
        rt.spawn(receiving_tasklet(channel.clone())),
        rt.spawn(sending_tasklet(channel.clone())),
        rt.spawn(another_tasklet()),
    ];
    for t in tasklets {
        rt.block_on(t).expect("tasklet failed");
    }

    println!("---");

    // Program 2: the sender blocks until a receiver arrives.
    let sender = rt.spawn(sending_tasklet(channel.clone()));
    let another = rt.spawn(another_tasklet());
    rt.block_on(another).expect("tasklet failed"); // stackless.run(): runs until all block
    println!("balance: {} (one sender waiting)", channel.balance());
    let receiver = rt.spawn(receiving_tasklet(channel.clone()));
    rt.block_on(receiver).expect("tasklet failed");
    rt.block_on(sender).expect("tasklet failed");
    Ok(())
}
