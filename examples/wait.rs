//! asyncio's `wait`: two tasks that sleep and return a value; `wait` gives back the done
//! and pending sets. Then the same with a timeout shorter than the sleeps: both tasks are
//! pending, and nothing is cancelled — they still finish afterwards.
//!
//! ```text
//! cargo run --example wait
//! ```
//!
//! Python original (the asyncio seed):
//! ```python
//! async def func():
//!     print(1)
//!     await asyncio.sleep(2)
//!     print(2)
//!     return "return value"
//!
//! async def main():
//!     task_list = [asyncio.create_task(func()), asyncio.create_task(func())]
//!     done, pending = await asyncio.wait(task_list)
//!     print(done, pending)
//! ```

use std::time::Duration;

use runtime::Task;

async fn func() -> &'static str {
    println!("1");
    runtime::sleep(Duration::from_secs(2)).await;
    println!("2");
    "return value"
}

/// Prints a set of tasks the way asyncio prints a set of `Task` objects.
fn show(tasks: &mut [Task<&'static str>]) -> String {
    if tasks.is_empty() {
        return "set()".into();
    }
    let items: Vec<String> = tasks
        .iter_mut()
        .map(|t| match t.try_result() {
            Some(Ok(v)) => format!("<Task finished result={v:?}>"),
            Some(Err(e)) => format!("<Task finished error={e}>"),
            None => "<Task pending>".into(),
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

#[runtime::main]
async fn main() {
    let task_list = [runtime::spawn(func()), runtime::spawn(func())];
    let (mut done, mut pending) = runtime::wait(task_list).await;
    println!("{} {}", show(&mut done), show(&mut pending));

    // The same with a 1-second timeout: both are still sleeping.
    let task_list = [runtime::spawn(func()), runtime::spawn(func())];
    let (mut done, mut pending) = runtime::wait(task_list)
        .timeout(Duration::from_secs(1))
        .await;
    println!("{} {}", show(&mut done), show(&mut pending));
    // `wait` cancelled nothing: the pending tasks run to the end.
    for t in pending {
        println!(
            "pending task finished anyway: {}",
            t.await.expect("task failed")
        );
    }
}
