//! asyncio's asynchronous iterator: the seed's `Reader`, counting 1..99 with `async for`,
//! once as a hand-written `Stream` (`__aiter__`/`__anext__`) and once as an async
//! generator with `runtime::stream!`.
//!
//! ```text
//! cargo run --example async_iter
//! ```
//!
//! Python original (the asyncio seed):
//! ```python
//! class Reader(object):
//!     def __init__(self):
//!         self.count = 0
//!     async def readline(self):
//!         self.count += 1
//!         if self.count == 100:
//!             return None
//!         return self.count
//!     def __aiter__(self):
//!         return self
//!     async def __anext__(self):
//!         val = await self.readline()
//!         if val == None:
//!             raise StopAsyncIteration
//!         return val
//!
//! async def func_t():
//!     async for item in Reader():
//!         print(item)
//!
//! asyncio.run(func_t())
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};

use runtime::stream::{Stream, StreamExt};

/// The hand-written async iterator.
struct Reader {
    count: u32,
}

impl Reader {
    fn readline(&mut self) -> Option<u32> {
        self.count += 1;
        if self.count == 100 {
            return None;
        }
        Some(self.count)
    }
}

impl Stream for Reader {
    type Item = u32;

    // `__anext__`: `None` is `StopAsyncIteration`.
    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<u32>> {
        Poll::Ready(self.readline())
    }
}

/// The same as an async generator.
fn reader() -> impl Stream<Item = u32> {
    runtime::stream! {
        let mut count = 0;
        loop {
            count += 1;
            if count == 100 {
                break;
            }
            runtime::yield_now().await; // a real generator awaits between items
            yield count;
        }
    }
}

#[runtime::main]
async fn main() {
    let mut obj_t = Reader { count: 0 };
    while let Some(item) = obj_t.next().await {
        println!("{item}");
    }

    let mut gen = std::pin::pin!(reader());
    let mut total = 0;
    while let Some(item) = gen.next().await {
        total += item;
    }
    println!("generator sum: {total}");
}
