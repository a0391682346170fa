//! `Promise<T>`: a future you set by hand (asyncio `loop.create_future()`).

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Why a [`Promise`] gave no value.
#[derive(Clone)]
pub enum PromiseError {
    /// [`Promise::cancel`] was called.
    Cancelled,
    /// [`Promise::set_error`] was called with this error.
    Failed(Rc<dyn Error>),
}

impl fmt::Debug for PromiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromiseError::Cancelled => f.write_str("Cancelled"),
            PromiseError::Failed(e) => write!(f, "Failed({e})"),
        }
    }
}

impl fmt::Display for PromiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromiseError::Cancelled => f.write_str("the promise was cancelled"),
            PromiseError::Failed(e) => write!(f, "the promise failed: {e}"),
        }
    }
}

impl Error for PromiseError {}

/// The error of setting a [`Promise`] that is already done (asyncio's
/// `InvalidStateError`). Carries back the value that was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidState<V>(pub V);

impl<V> fmt::Display for InvalidState<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid state: the promise is already done (it can be set only once)")
    }
}

impl<V: fmt::Debug> Error for InvalidState<V> {}

type Callback<T> = Box<dyn FnOnce(&Promise<T>)>;

struct Inner<T> {
    outcome: RefCell<Option<Result<T, PromiseError>>>,
    /// One waker slot per awaiting clone (a clone keeps its slot index).
    waiters: RefCell<Vec<Option<Waker>>>,
    free: RefCell<Vec<usize>>,
    callbacks: RefCell<Vec<Callback<T>>>,
}

/// A cloneable future whose result is set by hand (asyncio `loop.create_future()`).
///
/// Every clone is the same promise. Any number of clones may await it; each gets a clone
/// of the value (`T: Clone`). [`set_result`](Promise::set_result),
/// [`set_error`](Promise::set_error) and [`cancel`](Promise::cancel) complete it once;
/// a second attempt is an [`InvalidState`] error, not a panic. Done callbacks always run
/// later on the loop, never inside the call that completed the promise.
///
/// It lives on its loop's thread (`!Send`).
///
/// # Examples
///
/// The asyncio seed's `set_after`:
///
/// ```
/// use std::time::Duration;
/// use runtime::Promise;
///
/// let rt = runtime::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let fut = Promise::new();
///     let setter = fut.clone();
///     runtime::spawn(async move {
///         runtime::sleep(Duration::from_secs(2)).await;
///         setter.set_result("done").unwrap();
///     });
///     assert_eq!(fut.await.unwrap(), "done");
/// });
/// ```
pub struct Promise<T> {
    inner: Rc<Inner<T>>,
    slot: Cell<Option<usize>>,
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Promise {
            inner: self.inner.clone(),
            slot: Cell::new(None),
        }
    }
}

impl<T: 'static> Default for Promise<T> {
    fn default() -> Self {
        Promise::new()
    }
}

impl<T: 'static> Promise<T> {
    /// A pending promise.
    pub fn new() -> Promise<T> {
        Promise {
            inner: Rc::new(Inner {
                outcome: RefCell::new(None),
                waiters: RefCell::new(Vec::new()),
                free: RefCell::new(Vec::new()),
                callbacks: RefCell::new(Vec::new()),
            }),
            slot: Cell::new(None),
        }
    }

    /// Completes the promise with a value.
    ///
    /// # Errors
    ///
    /// [`InvalidState`] with the value if the promise is already done.
    ///
    /// # Panics
    ///
    /// If done callbacks are registered and no loop is running on this thread (they must
    /// be scheduled on one).
    pub fn set_result(&self, value: T) -> Result<(), InvalidState<T>> {
        if self.is_done() {
            return Err(InvalidState(value));
        }
        self.complete(Ok(value));
        Ok(())
    }

    /// Completes the promise with an error.
    ///
    /// # Errors
    ///
    /// [`InvalidState`] with the error if the promise is already done.
    pub fn set_error<E: Error + 'static>(&self, error: E) -> Result<(), InvalidState<E>> {
        if self.is_done() {
            return Err(InvalidState(error));
        }
        self.complete(Err(PromiseError::Failed(Rc::new(error))));
        Ok(())
    }

    /// Cancels the promise: awaiters get [`PromiseError::Cancelled`]. Returns `false` if
    /// it was already done (asyncio `Future.cancel`).
    pub fn cancel(&self) -> bool {
        if self.is_done() {
            return false;
        }
        self.complete(Err(PromiseError::Cancelled));
        true
    }

    /// True once set, failed or cancelled.
    pub fn is_done(&self) -> bool {
        self.inner.outcome.borrow().is_some()
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(
            *self.inner.outcome.borrow(),
            Some(Err(PromiseError::Cancelled))
        )
    }

    /// Runs `callback` with the promise once it is done: always later, on the loop (as a
    /// task), never inline, even when it is already done (asyncio `add_done_callback`).
    /// Callbacks run in the order they were added.
    ///
    /// # Panics
    ///
    /// If the promise is already done and no loop is running on this thread.
    pub fn add_done_callback(&self, callback: impl FnOnce(&Promise<T>) + 'static) {
        if self.is_done() {
            self.schedule(Box::new(callback));
        } else {
            self.inner.callbacks.borrow_mut().push(Box::new(callback));
        }
    }

    fn schedule(&self, cb: Callback<T>) {
        let me = self.clone();
        crate::spawn(async move { cb(&me) }).detach();
    }

    fn complete(&self, outcome: Result<T, PromiseError>) {
        *self.inner.outcome.borrow_mut() = Some(outcome);
        let waiters: Vec<Waker> = self
            .inner
            .waiters
            .borrow_mut()
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for w in waiters {
            w.wake();
        }
        let callbacks = std::mem::take(&mut *self.inner.callbacks.borrow_mut());
        for cb in callbacks {
            self.schedule(cb);
        }
    }
}

impl<T> Promise<T> {
    fn release_slot(&self) {
        if let Some(i) = self.slot.take() {
            let old = self.inner.waiters.borrow_mut()[i].take();
            self.inner.free.borrow_mut().push(i);
            drop(old); // a waker's `Drop` is foreign code: never inside the borrow
        }
    }
}

impl<T: Clone> Promise<T> {
    /// The outcome without waiting (asyncio `result()`), read as often as you like: `None`
    /// while not done (asyncio's `InvalidStateError`), `Some(Err(Cancelled))` after
    /// [`cancel`](Promise::cancel), `Some(Err(Failed(e)))` for a stored error, else
    /// `Some(Ok(value))`.
    pub fn result(&self) -> Option<Result<T, PromiseError>> {
        self.inner.outcome.borrow().clone()
    }
}

impl<T> Promise<T> {
    /// asyncio's `exception()`: the stored error (`Ok(None)` when it holds a value).
    ///
    /// # Errors
    ///
    /// [`NotDone`](PromiseStateError::NotDone) while pending (asyncio's
    /// `InvalidStateError`), [`Cancelled`](PromiseStateError::Cancelled) after
    /// [`cancel`](Promise::cancel) (asyncio raises `CancelledError`).
    pub fn exception(&self) -> Result<Option<Rc<dyn Error>>, PromiseStateError> {
        match &*self.inner.outcome.borrow() {
            None => Err(PromiseStateError::NotDone),
            Some(Err(PromiseError::Cancelled)) => Err(PromiseStateError::Cancelled),
            Some(Err(PromiseError::Failed(e))) => Ok(Some(e.clone())),
            Some(Ok(_)) => Ok(None),
        }
    }
}

/// Why [`Promise::exception`] has no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromiseStateError {
    /// The promise is not done yet (asyncio's `InvalidStateError`).
    NotDone,
    /// The promise was cancelled.
    Cancelled,
}

impl fmt::Display for PromiseStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromiseStateError::NotDone => f.write_str("the promise is not done yet"),
            PromiseStateError::Cancelled => f.write_str("the promise was cancelled"),
        }
    }
}

impl Error for PromiseStateError {}

impl<T: Clone> Future for Promise<T> {
    type Output = Result<T, PromiseError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(out) = self.inner.outcome.borrow().clone() {
            self.release_slot();
            return Poll::Ready(out);
        }
        let mut waiters = self.inner.waiters.borrow_mut();
        let i = match self.slot.get() {
            Some(i) => i,
            None => {
                let i = match self.inner.free.borrow_mut().pop() {
                    Some(i) => i,
                    None => {
                        waiters.push(None);
                        waiters.len() - 1
                    }
                };
                self.slot.set(Some(i));
                i
            }
        };
        match &waiters[i] {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => waiters[i] = Some(cx.waker().clone()),
        }
        crate::task::dump::note_wait(crate::task::dump::Label::Op(&"Promise"), true);
        Poll::Pending
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        self.release_slot();
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise")
            .field("done", &self.inner.outcome.borrow().is_some())
            .finish()
    }
}
