//! `gather`: run many futures at once inside the calling task; results in input order.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::ready_set::ReadySet;

/// One future of a gather, then its result.
enum Slot<F: Future> {
    Running(F),
    Done(F::Output),
    Taken,
}

/// The futures of a gather, each polled only when its own waker fired.
struct Set<F: Future> {
    /// Pinned: the boxed slice never moves or reallocates after creation.
    slots: Pin<Box<[Slot<F>]>>,
    set: ReadySet,
    remaining: usize,
    woken: Vec<usize>,
}

impl<F: Future> Set<F> {
    fn new(futures: impl IntoIterator<Item = F>) -> Set<F> {
        let slots: Box<[Slot<F>]> = futures.into_iter().map(Slot::Running).collect();
        let mut set = ReadySet::with_capacity(slots.len());
        for _ in 0..slots.len() {
            set.push();
        }
        Set {
            remaining: slots.len(),
            slots: Box::into_pin(slots),
            set,
            woken: Vec::new(),
        }
    }

    /// Polls every woken future; returns the index and outcome of each one that finished.
    fn poll_woken(
        &mut self,
        cx: &mut Context<'_>,
        catch: bool,
        mut on_done: impl FnMut(usize, std::thread::Result<F::Output>) -> bool,
    ) {
        self.set.set_parent(cx);
        let mut woken = std::mem::take(&mut self.woken);
        self.set.drain_woken(&mut woken);
        for i in woken.drain(..) {
            // SAFETY: the slots live in a pinned boxed slice that is never moved; a slot's
            // future is only dropped in place (by assigning the slot), never moved out.
            let slot = unsafe { self.slots.as_mut().get_unchecked_mut() }.get_mut(i);
            let Some(slot) = slot else { continue };
            let Slot::Running(fut) = slot else { continue };
            // SAFETY: as above: `fut` stays where it is until its slot is overwritten.
            let fut = unsafe { Pin::new_unchecked(fut) };
            let member_waker = self.set.waker(i);
            let mut member_cx = Context::from_waker(&member_waker);
            let res = if catch {
                match catch_unwind(AssertUnwindSafe(|| fut.poll(&mut member_cx))) {
                    Ok(Poll::Pending) => continue,
                    Ok(Poll::Ready(v)) => Ok(v),
                    Err(p) => Err(p),
                }
            } else {
                match fut.poll(&mut member_cx) {
                    Poll::Pending => continue,
                    Poll::Ready(v) => Ok(v),
                }
            };
            self.remaining -= 1;
            *slot = Slot::Taken; // drops the finished future in place
            if !on_done(i, res) {
                break;
            }
        }
        self.woken = woken;
    }

    fn store(&mut self, i: usize, v: F::Output) {
        // SAFETY: writing a slot drops its (finished) content in place; nothing is moved.
        let slots = unsafe { self.slots.as_mut().get_unchecked_mut() };
        slots[i] = Slot::Done(v);
    }

    fn take_all(&mut self) -> Vec<F::Output> {
        // SAFETY: each slot is moved out only after checking that it is `Done`, which
        // holds no future; a running future is never moved (the check panics first).
        let slots = unsafe { self.slots.as_mut().get_unchecked_mut() };
        slots
            .iter_mut()
            .map(|s| {
                assert!(
                    matches!(s, Slot::Done(_)),
                    "gather finished with a slot not done"
                );
                match std::mem::replace(s, Slot::Taken) {
                    Slot::Done(v) => v,
                    _ => unreachable!("checked above"),
                }
            })
            .collect()
    }

    /// Drops every future still running (fail-fast).
    fn drop_running(&mut self) {
        // SAFETY: assigning a slot drops its future in place.
        let slots = unsafe { self.slots.as_mut().get_unchecked_mut() };
        for s in slots.iter_mut() {
            if matches!(s, Slot::Running(_)) {
                *s = Slot::Taken;
            }
        }
    }
}

/// Runs all `futures` concurrently inside the calling task and returns their outputs in
/// input order (asyncio `gather`).
///
/// The futures need not be `'static` or `Send`: they run in place, each polled only when
/// its own waker fires. A panic in one propagates to the caller (use [`gather_settled`] to
/// collect panics instead). Dropping the `Gather` drops (cancels) every future still
/// running. For a fail-fast form over `Result`s see [`try_gather`]; for futures of
/// different types, [`join!`](crate::join!).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let pages = runtime::gather([3u64, 1, 2].map(|s| async move {
///         runtime::sleep(Duration::from_secs(s)).await; // finish out of order...
///         s * 10
///     }))
///     .await;
///     assert_eq!(pages, [30, 10, 20]); // ...results in input order
/// });
/// ```
pub fn gather<F: Future, I: IntoIterator<Item = F>>(futures: I) -> Gather<F> {
    Gather {
        inner: Set::new(futures),
    }
}

/// Like [`gather`] for futures that return `Result`: the first `Err` is returned at once
/// and every future still running is dropped (cancelled).
///
/// asyncio's `gather` leaves the other tasks running after the first exception, a
/// long-standing complaint; this one cancels them.
///
/// # Examples
///
/// ```
/// let r = runtime::run(runtime::try_gather([
///     Box::pin(async { Ok(1) }) as std::pin::Pin<Box<dyn std::future::Future<Output = Result<i32, &str>>>>,
///     Box::pin(async { Err("no") }),
///     Box::pin(std::future::pending()),
/// ]));
/// assert_eq!(r, Err("no"));
/// ```
pub fn try_gather<T, E, F, I>(futures: I) -> TryGather<F>
where
    F: Future<Output = Result<T, E>>,
    I: IntoIterator<Item = F>,
{
    TryGather {
        inner: Set::new(futures),
    }
}

/// Like [`gather`], but a panic in one future becomes that future's `Err` entry instead
/// of propagating (asyncio's `return_exceptions=True`). All futures run to the end.
///
/// # Examples
///
/// ```
/// # std::panic::set_hook(Box::new(|_| {}));
/// let out = runtime::run(runtime::gather_settled([
///     Box::pin(async { 1 }) as std::pin::Pin<Box<dyn std::future::Future<Output = i32>>>,
///     Box::pin(async { panic!("bad") }),
/// ]));
/// assert_eq!(*out[0].as_ref().unwrap(), 1);
/// assert!(out[1].is_err());
/// ```
pub fn gather_settled<F: Future, I: IntoIterator<Item = F>>(futures: I) -> GatherSettled<F> {
    let inner = Set::new(futures);
    let results = (0..inner.remaining).map(|_| None).collect();
    GatherSettled { inner, results }
}

/// The future returned by [`gather`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Gather<F: Future> {
    inner: Set<F>,
}

impl<F: Future> Gather<F> {
    /// Cancels the gather: every future still running is dropped, now (asyncio's
    /// `gather(...).cancel()`). For a [`gather_tasks`] that cancels the tasks it still
    /// holds; dropping the gather does the same.
    pub fn cancel(self) {
        drop(self);
    }
}

/// A gather that owns its tasks (asyncio's `gather(*tasks)`): their results in input
/// order, and when the gather is cancelled (dropped, or [`Gather::cancel`]) the tasks it
/// still holds are cancelled too, where a plain [`gather`] over `Task`s would only detach
/// them.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let slow = runtime::spawn(runtime::sleep(Duration::from_secs(60)));
///     let canceller = slow.cancel_handle();
///     let all = runtime::combine::gather_tasks([slow]);
///     // Give up after one second: the gather is dropped, and the task with it.
///     assert!(runtime::timeout(Duration::from_secs(1), all).await.is_err());
///     runtime::yield_now().await;
///     assert!(canceller.is_cancelled());
/// });
/// ```
pub fn gather_tasks<T, I>(tasks: I) -> Gather<crate::task::AbortOnDrop<T>>
where
    I: IntoIterator<Item = crate::task::Task<T>>,
{
    gather(tasks.into_iter().map(crate::task::Task::abort_on_drop))
}

/// The future returned by [`try_gather`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TryGather<F: Future> {
    inner: Set<F>,
}

/// The future returned by [`gather_settled`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct GatherSettled<F: Future> {
    inner: Set<F>,
    results: Vec<Option<std::thread::Result<F::Output>>>,
}

// The futures are pinned inside the boxed slice, not inside these structs.
impl<F: Future> Unpin for Gather<F> {}
impl<F: Future> Unpin for TryGather<F> {}
impl<F: Future> Unpin for GatherSettled<F> {}

impl<F: Future> Future for Gather<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        let inner = &mut self.inner;
        let mut done = Vec::new();
        inner.poll_woken(cx, false, |i, r| {
            done.push((i, r));
            true
        });
        for (i, r) in done {
            match r {
                Ok(v) => inner.store(i, v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        if inner.remaining == 0 {
            Poll::Ready(inner.take_all())
        } else {
            Poll::Pending
        }
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> Future for TryGather<F> {
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.inner;
        let mut done = Vec::new();
        let mut error = None;
        inner.poll_woken(cx, false, |i, r| match r {
            Ok(Ok(v)) => {
                done.push((i, Ok(v)));
                true
            }
            Ok(Err(e)) => {
                error = Some(e);
                false
            }
            Err(p) => std::panic::resume_unwind(p),
        });
        for (i, v) in done {
            inner.store(i, v);
        }
        if let Some(e) = error {
            inner.drop_running();
            return Poll::Ready(Err(e));
        }
        if inner.remaining == 0 {
            let all = inner.take_all();
            Poll::Ready(Ok(all
                .into_iter()
                .map(|r| r.ok().expect("only Ok is stored"))
                .collect()))
        } else {
            Poll::Pending
        }
    }
}

impl<F: Future> Future for GatherSettled<F> {
    type Output = Vec<std::thread::Result<F::Output>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let results = &mut this.results;
        this.inner.poll_woken(cx, true, |i, r| {
            results[i] = Some(r);
            true
        });
        if this.inner.remaining == 0 {
            let out = std::mem::take(&mut this.results);
            Poll::Ready(
                out.into_iter()
                    .map(|r| r.expect("every future finished"))
                    .collect(),
            )
        } else {
            Poll::Pending
        }
    }
}
