//! Async iterators: `futures_core::Stream` is the protocol (`__aiter__`/`__anext__`),
//! [`StreamExt`] the adapters, the functions here the constructors, and
//! [`stream!`](crate::stream!) / [`try_stream!`](crate::try_stream!) the async generators
//! (`async def` with `yield`).
//!
//! | Python | runtime |
//! |---|---|
//! | `async for x in s:` | `while let Some(x) = s.next().await {` |
//! | `async def gen(): yield x` | `runtime::stream! { yield x; }` |
//! | `anext(s)` | `s.next().await` |
//! | `[x async for x in s]` | `s.collect::<Vec<_>>().await` |

mod ext;
#[doc(hidden)]
pub mod generator;
mod sources;

pub use ext::{
    BufferUnordered, Buffered, Chain, Collect, Enumerate, Filter, FilterMap, Fold, ForEach, Map,
    Next, Skip, StreamExt, Take, TakeWhile, Then, Zip,
};
pub use futures_core::Stream;
pub use generator::{AsyncStream, TryAsyncStream};
pub use sources::{
    empty, from_fn, iter, once, poll_fn, repeat_with, unfold, FromFn, Iter, PollFn, Unfold,
};
