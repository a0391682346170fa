//! asyncio's queues: [`Queue`] (FIFO), [`LifoQueue`], [`PriorityQueue`].

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::waiters::{WaitKey, Waiters};

/// Where a queue keeps its items: the order in which `get` returns them.
pub trait Store: Default {
    /// The item type.
    type Item;
    /// Adds an item.
    fn push(&mut self, item: Self::Item);
    /// Removes the next item.
    fn pop(&mut self) -> Option<Self::Item>;
    /// How many items are stored.
    fn len(&self) -> usize;
    /// True if nothing is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Removes every item.
    fn clear(&mut self);
}

/// First in, first out (asyncio `Queue`).
pub struct Fifo<T>(VecDeque<T>);
/// Last in, first out (asyncio `LifoQueue`).
pub struct Lifo<T>(Vec<T>);
/// Smallest first (asyncio `PriorityQueue`; use tuples `(priority, item)` as in Python).
pub struct Priority<T: Ord>(BinaryHeap<Reverse<T>>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}
impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(Vec::new())
    }
}
impl<T: Ord> Default for Priority<T> {
    fn default() -> Self {
        Priority(BinaryHeap::new())
    }
}

impl<T> Store for Fifo<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push_back(item)
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear()
    }
}

impl<T> Store for Lifo<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push(item)
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear()
    }
}

impl<T: Ord> Store for Priority<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item))
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|r| r.0)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear()
    }
}

/// The error of `put`/`try_put`: the value comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum PutError<T> {
    /// The queue is full (`try_put` only).
    Full(T),
    /// The queue was shut down (asyncio `QueueShutDown`).
    ShutDown(T),
}

/// The error of `get`/`try_get`.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum GetError {
    /// The queue is empty (`try_get` only).
    Empty,
    /// The queue was shut down and (unless immediately) drained (asyncio `QueueShutDown`).
    ShutDown,
}

/// `task_done` was called more times than there were items (asyncio's `ValueError`).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct TooManyTaskDone;

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("Full(..)"),
            PutError::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("the queue is full"),
            PutError::ShutDown(_) => f.write_str("the queue was shut down"),
        }
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Empty => f.write_str("the queue is empty"),
            GetError::ShutDown => f.write_str("the queue was shut down"),
        }
    }
}

impl fmt::Display for TooManyTaskDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than there were items in the queue")
    }
}

impl<T> std::error::Error for PutError<T> {}
impl std::error::Error for GetError {}
impl std::error::Error for TooManyTaskDone {}

struct Inner<S> {
    items: S,
    maxsize: usize,
    getters: Waiters,
    putters: Waiters,
    joiners: Waiters,
    unfinished: usize,
    shutdown: bool,
}

impl<S: Store> Inner<S> {
    fn full(&self) -> bool {
        self.maxsize > 0 && self.items.len() >= self.maxsize
    }

    /// Free slots (`usize::MAX` when unbounded).
    fn room(&self) -> usize {
        if self.maxsize == 0 {
            usize::MAX
        } else {
            self.maxsize.saturating_sub(self.items.len())
        }
    }
}

/// An asyncio queue over a [`Store`]; use the aliases [`Queue`], [`LifoQueue`] and
/// [`PriorityQueue`].
///
/// - `maxsize` 0 means unbounded; `put` waits while the queue is full, `get` while empty.
/// - Waiters are served first-in first-out; a waiter cancelled after it was woken passes
///   the wake-up on (nothing is lost).
/// - [`task_done`](BaseQueue::task_done) / [`join`](BaseQueue::join) count unfinished items.
/// - [`shutdown`](BaseQueue::shutdown) (asyncio 3.13): puts fail; gets fail once the queue
///   is empty, or at once with `immediate`, which also drops the items.
///
/// Share a queue between tasks with `Rc`.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use runtime::sync::Queue;
///
/// runtime::run(async {
///     let q = Rc::new(Queue::with_maxsize(2));
///     let consumer = {
///         let q = q.clone();
///         runtime::spawn(async move {
///             let mut sum = 0;
///             while let Ok(v) = q.get().await {
///                 sum += v;
///                 q.task_done().unwrap();
///             }
///             sum
///         })
///     };
///     for i in 1..=4 {
///         q.put(i).await.unwrap(); // waits while 2 items are queued
///     }
///     q.join().await; // every item was processed
///     q.shutdown(false);
///     assert_eq!(consumer.await.unwrap(), 10);
/// });
/// ```
pub struct BaseQueue<S> {
    inner: RefCell<Inner<S>>,
}

/// First in, first out (asyncio `Queue`).
pub type Queue<T> = BaseQueue<Fifo<T>>;
/// Last in, first out (asyncio `LifoQueue`).
pub type LifoQueue<T> = BaseQueue<Lifo<T>>;
/// Smallest item first (asyncio `PriorityQueue`).
pub type PriorityQueue<T> = BaseQueue<Priority<T>>;

impl<S: Store> Default for BaseQueue<S> {
    fn default() -> Self {
        BaseQueue::new()
    }
}

impl<S: Store> BaseQueue<S> {
    /// An unbounded queue.
    pub fn new() -> Self {
        Self::with_maxsize(0)
    }

    /// A queue holding at most `maxsize` items (0: unbounded).
    pub fn with_maxsize(maxsize: usize) -> Self {
        BaseQueue {
            inner: RefCell::new(Inner {
                items: S::default(),
                maxsize,
                getters: Waiters::new(),
                putters: Waiters::new(),
                joiners: Waiters::new(),
                unfinished: 0,
                shutdown: false,
            }),
        }
    }

    /// Puts an item, waiting while the queue is full.
    ///
    /// # Errors
    ///
    /// [`PutError::ShutDown`] with the item after [`shutdown`](BaseQueue::shutdown).
    pub fn put(&self, item: S::Item) -> Put<'_, S> {
        Put {
            queue: self,
            item: Some(item),
            key: None,
        }
    }

    /// Puts an item if there is room now.
    ///
    /// # Errors
    ///
    /// [`PutError::Full`] or [`PutError::ShutDown`], with the item.
    pub fn try_put(&self, item: S::Item) -> Result<(), PutError<S::Item>> {
        let mut g = self.inner.borrow_mut();
        if g.shutdown {
            return Err(PutError::ShutDown(item));
        }
        if g.full() || !g.putters.is_empty() {
            return Err(PutError::Full(item));
        }
        Self::store(&mut g, item);
        Ok(())
    }

    fn store(g: &mut Inner<S>, item: S::Item) {
        g.items.push(item);
        g.unfinished += 1;
        g.getters.notify_one();
    }

    /// Takes an item, waiting while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`GetError::ShutDown`] once the queue is shut down and empty.
    pub fn get(&self) -> Get<'_, S> {
        Get {
            queue: self,
            key: None,
        }
    }

    /// Takes an item if one is there and no `get` is waiting for it.
    ///
    /// A getter that was woken for an item but has not run yet keeps its claim: while
    /// one exists (or getters wait), `try_get` does not barge past it.
    ///
    /// # Errors
    ///
    /// [`GetError::Empty`] (also while earlier getters are owed the items there), or
    /// [`GetError::ShutDown`] once shut down and empty.
    pub fn try_get(&self) -> Result<S::Item, GetError> {
        let mut g = self.inner.borrow_mut();
        if !g.getters.is_empty() {
            // The items there are owed to getters that were woken and have not run yet
            // (S1): taking one would barge past them.
            return if g.shutdown && g.items.is_empty() {
                Err(GetError::ShutDown)
            } else {
                Err(GetError::Empty)
            };
        }
        match g.items.pop() {
            Some(v) => {
                g.putters.notify_one();
                Ok(v)
            }
            None if g.shutdown => Err(GetError::ShutDown),
            None => Err(GetError::Empty),
        }
    }

    /// Marks one item taken with `get` as processed (asyncio `task_done`).
    ///
    /// # Errors
    ///
    /// [`TooManyTaskDone`] if there is no unfinished item.
    pub fn task_done(&self) -> Result<(), TooManyTaskDone> {
        let mut g = self.inner.borrow_mut();
        if g.unfinished == 0 {
            return Err(TooManyTaskDone);
        }
        g.unfinished -= 1;
        if g.unfinished == 0 {
            g.joiners.notify_all();
        }
        Ok(())
    }

    /// Waits until every item put so far has been marked done.
    pub fn join(&self) -> QueueJoin<'_, S> {
        QueueJoin {
            queue: self,
            key: None,
        }
    }

    /// Shuts the queue down (asyncio 3.13 `shutdown`): `put` fails from now on; blocked
    /// putters are woken with [`PutError::ShutDown`]. Without `immediate`, `get` keeps
    /// returning the remaining items, then fails. With `immediate`, the items are dropped
    /// (and counted as done), and every blocked getter fails at once.
    pub fn shutdown(&self, immediate: bool) {
        let mut g = self.inner.borrow_mut();
        g.shutdown = true;
        let dropped = if immediate {
            let n = g.items.len();
            let items = std::mem::take(&mut g.items);
            g.unfinished = g.unfinished.saturating_sub(n);
            if g.unfinished == 0 {
                g.joiners.notify_all();
            }
            Some(items)
        } else {
            None
        };
        g.getters.notify_all();
        g.putters.notify_all();
        // Items are user values: drop them after the borrow (an item's `Drop` may use
        // this queue).
        drop(g);
        drop(dropped);
    }

    /// True after [`shutdown`](BaseQueue::shutdown).
    pub fn is_shut_down(&self) -> bool {
        self.inner.borrow().shutdown
    }

    /// How many items are queued (asyncio `qsize`).
    pub fn len(&self) -> usize {
        self.inner.borrow().items.len()
    }

    /// True if no item is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if `maxsize` items are queued.
    pub fn is_full(&self) -> bool {
        self.inner.borrow().full()
    }

    /// The bound (0: unbounded).
    pub fn maxsize(&self) -> usize {
        self.inner.borrow().maxsize
    }
}

/// The future of [`BaseQueue::put`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Put<'a, S: Store> {
    queue: &'a BaseQueue<S>,
    item: Option<S::Item>,
    key: Option<WaitKey>,
}

impl<S: Store> Unpin for Put<'_, S> {}

impl<S: Store> Future for Put<'_, S> {
    type Output = Result<(), PutError<S::Item>>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut g = this.queue.inner.borrow_mut();
        let queue_jump = match this.key {
            Some(key) => {
                if !g.putters.poll_notified(key, cx.waker()) {
                    crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Queue::put"), true);
                    return Poll::Pending;
                }
                this.key = None;
                false
            }
            // Others already wait for room: go behind them (S1).
            None => !g.putters.is_empty(),
        };
        let item = this.item.take().expect("`put` polled after completion");
        if g.shutdown {
            return Poll::Ready(Err(PutError::ShutDown(item)));
        }
        if g.full() || queue_jump {
            this.item = Some(item);
            this.key = Some(g.putters.push(cx.waker()));
            crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Queue::put"), true);
            return Poll::Pending;
        }
        BaseQueue::store(&mut g, item);
        if g.putters.has_waiting() && g.room() > g.putters.woken() {
            g.putters.notify_one(); // room for the next putter too
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: Store> Drop for Put<'_, S> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut g = self.queue.inner.borrow_mut();
            if g.putters.remove(key) {
                g.putters.notify_one(); // S2
            }
        }
    }
}

/// The future of [`BaseQueue::get`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Get<'a, S: Store> {
    queue: &'a BaseQueue<S>,
    key: Option<WaitKey>,
}

impl<S: Store> Unpin for Get<'_, S> {}

impl<S: Store> Future for Get<'_, S> {
    type Output = Result<S::Item, GetError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut g = this.queue.inner.borrow_mut();
        let queue_jump = match this.key {
            Some(key) => {
                if !g.getters.poll_notified(key, cx.waker()) {
                    crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Queue::get"), true);
                    return Poll::Pending;
                }
                this.key = None;
                false
            }
            None => !g.getters.is_empty(),
        };
        if !queue_jump {
            if let Some(v) = g.items.pop() {
                g.putters.notify_one();
                // More for the next getter, beyond what woken getters will take.
                if !g.items.is_empty()
                    && g.getters.has_waiting()
                    && g.items.len() > g.getters.woken()
                {
                    g.getters.notify_one();
                }
                return Poll::Ready(Ok(v));
            }
        }
        if g.shutdown && g.items.is_empty() {
            return Poll::Ready(Err(GetError::ShutDown));
        }
        this.key = Some(g.getters.push(cx.waker()));
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Queue::get"), true);
        Poll::Pending
    }
}

impl<S: Store> Drop for Get<'_, S> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut g = self.queue.inner.borrow_mut();
            if g.getters.remove(key) {
                g.getters.notify_one(); // S2: the item goes to the next getter
            }
        }
    }
}

/// The future of [`BaseQueue::join`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct QueueJoin<'a, S: Store> {
    queue: &'a BaseQueue<S>,
    key: Option<WaitKey>,
}

impl<S: Store> Unpin for QueueJoin<'_, S> {}

impl<S: Store> Future for QueueJoin<'_, S> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut g = this.queue.inner.borrow_mut();
        if let Some(key) = this.key {
            if g.joiners.poll_notified(key, cx.waker()) {
                this.key = None;
                return Poll::Ready(());
            }
        }
        if g.unfinished == 0 {
            if let Some(key) = this.key.take() {
                let _ = g.joiners.remove(key);
            }
            return Poll::Ready(());
        }
        if this.key.is_none() {
            this.key = Some(g.joiners.push(cx.waker()));
        }
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Queue::join"), true);
        Poll::Pending
    }
}

impl<S: Store> Drop for QueueJoin<'_, S> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            // Joiners are all woken together: nothing to pass on.
            let _ = self.queue.inner.borrow_mut().joiners.remove(key);
        }
    }
}

impl<S: Store> fmt::Debug for BaseQueue<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.inner.borrow();
        f.debug_struct("Queue")
            .field("len", &g.items.len())
            .field("maxsize", &g.maxsize)
            .field("unfinished", &g.unfinished)
            .field("shutdown", &g.shutdown)
            .finish()
    }
}
