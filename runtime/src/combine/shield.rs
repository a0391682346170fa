//! `shield`: work that outlives whoever waits for it.

use std::future::Future;

use crate::task::Task;

/// Runs `future` as its own task, so that cancelling (dropping) whoever awaits the result
/// does not cancel the work (asyncio `shield`).
///
/// The returned [`Task`] already has that property: dropping a `Task` handle detaches the
/// task, it never cancels it. `shield` is the explicit spelling for a plain future, e.g.
/// inside a [`timeout`](crate::timeout) or a [`TaskGroup`](crate::TaskGroup) child whose
/// cancellation must not abort a write that has started.
///
/// # Panics
///
/// Outside a running loop (it spawns).
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let saved = Rc::new(Cell::new(false));
///     let s = saved.clone();
///     let save = runtime::shield(async move {
///         runtime::sleep(Duration::from_secs(5)).await;
///         s.set(true);
///     });
///     // The caller gives up after 1 s; the shielded save goes on.
///     assert!(runtime::timeout(Duration::from_secs(1), save).await.is_err());
///     runtime::sleep(Duration::from_secs(10)).await;
///     assert!(saved.get());
/// });
/// ```
#[track_caller]
pub fn shield<F: Future + 'static>(future: F) -> Task<F::Output> {
    crate::spawn(future)
}
