//! `join!` and `try_join!`: gather futures of different types into a tuple.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future, then its output: the building block of [`join!`](crate::join!).
///
/// Public only for the macros' expansion; its state is private, so safe code can only
/// create it with [`MaybeDone::new`] and drive it through a pinned reference, and the
/// future is never moved once pinned (it is dropped in place when it finishes).
#[doc(hidden)]
pub struct MaybeDone<F: Future> {
    state: State<F>,
}

enum State<F: Future> {
    /// Still running.
    Running(F),
    /// Finished; holds the output.
    Done(F::Output),
    /// The output was taken.
    Gone,
}

impl<F: Future> MaybeDone<F> {
    /// Wraps a future that has not started.
    pub fn new(future: F) -> Self {
        MaybeDone {
            state: State::Running(future),
        }
    }

    /// Polls the future if it still runs; `true` once it is done.
    pub fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: the future is never moved out: on completion the state is overwritten
        // in place, which drops the finished future where it is.
        let this = unsafe { &mut self.get_unchecked_mut().state };
        match this {
            State::Running(f) => {
                // SAFETY: see above; `f` stays in place until overwritten.
                match unsafe { Pin::new_unchecked(f) }.poll(cx) {
                    Poll::Ready(v) => {
                        *this = State::Done(v);
                        true
                    }
                    Poll::Pending => false,
                }
            }
            _ => true,
        }
    }

    /// Looks at the output, if done.
    pub fn output(self: Pin<&mut Self>) -> Option<&F::Output> {
        // SAFETY: only the output is borrowed; no future is moved.
        match unsafe { &mut self.get_unchecked_mut().state } {
            State::Done(v) => Some(v),
            _ => None,
        }
    }

    /// Takes the output.
    ///
    /// # Panics
    ///
    /// If the future is not done (it stays where it is, pinned), or the output was taken.
    pub fn take(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: the state is moved only below, after checking it is `Done`, which holds
        // no future; a running future is never moved.
        let this = unsafe { &mut self.get_unchecked_mut().state };
        if !matches!(this, State::Done(_)) {
            panic!("MaybeDone::take before the future finished (or after its output was taken)");
        }
        match std::mem::replace(this, State::Gone) {
            State::Done(v) => v,
            _ => unreachable!("checked above"),
        }
    }
}

/// Runs futures of different types concurrently in the calling task and returns their
/// outputs as a tuple (asyncio `gather` with mixed awaitables).
///
/// Every future is polled on each wake of the caller (fine for the handful of futures a
/// `join!` names; use [`gather`](crate::gather) for many of one type).
///
/// # Examples
///
/// ```
/// let (a, b) = runtime::run(async { runtime::join!(async { 1 }, async { "two" }) });
/// assert_eq!((a, b), (1, "two"));
/// ```
#[macro_export]
macro_rules! join {
    ($($fut:expr),+ $(,)?) => {{
        $crate::__join_impl!(@start [] [$($fut),+])
    }};
}

/// Like [`join!`] for futures returning `Result` with one error type: the first `Err`
/// is returned at once and the other futures are dropped (cancelled).
///
/// # Examples
///
/// ```
/// let r: Result<(i32, i32), &str> = runtime::run(async {
///     runtime::try_join!(async { Ok(1) }, async { Err("no") })
/// });
/// assert_eq!(r, Err("no"));
/// ```
#[macro_export]
macro_rules! try_join {
    ($($fut:expr),+ $(,)?) => {{
        $crate::__join_impl!(@try_start [] [$($fut),+])
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __join_impl {
    // Name each future: (ident, expr) pairs built from a fixed list of idents.
    (@start [$($done:tt)*] [$($fut:expr),+]) => {
        $crate::__join_impl!(@name [] [_f0 _f1 _f2 _f3 _f4 _f5 _f6 _f7 _f8 _f9 _f10 _f11] [$($fut),+] join)
    };
    (@try_start [$($done:tt)*] [$($fut:expr),+]) => {
        $crate::__join_impl!(@name [] [_f0 _f1 _f2 _f3 _f4 _f5 _f6 _f7 _f8 _f9 _f10 _f11] [$($fut),+] try)
    };
    (@name [$(($n:ident $e:expr))*] [$next:ident $($names:ident)*] [$fut:expr $(, $rest:expr)*] $kind:ident) => {
        $crate::__join_impl!(@name [$(($n $e))* ($next $fut)] [$($names)*] [$($rest),*] $kind)
    };
    (@name [$(($n:ident $e:expr))*] [$($names:ident)*] [] join) => {{
        $( let mut $n = ::core::pin::pin!($crate::combine::join::MaybeDone::new($e)); )*
        ::core::future::poll_fn(move |cx| {
            let mut all = true;
            $( all &= $n.as_mut().poll_done(cx); )*
            if all {
                ::core::task::Poll::Ready(($( $n.as_mut().take(), )*))
            } else {
                ::core::task::Poll::Pending
            }
        }).await
    }};
    (@name [$(($n:ident $e:expr))*] [$($names:ident)*] [] try) => {{
        $( let mut $n = ::core::pin::pin!($crate::combine::join::MaybeDone::new($e)); )*
        ::core::future::poll_fn(move |cx| {
            let mut all = true;
            $(
                all &= $n.as_mut().poll_done(cx);
                if let ::core::option::Option::Some(::core::result::Result::Err(_)) = $n.as_mut().output() {
                    if let ::core::result::Result::Err(e) = $n.as_mut().take() {
                        return ::core::task::Poll::Ready(::core::result::Result::Err(e));
                    }
                }
            )*
            if all {
                ::core::task::Poll::Ready(::core::result::Result::Ok(($(
                    match $n.as_mut().take() {
                        ::core::result::Result::Ok(v) => v,
                        ::core::result::Result::Err(_) => ::core::unreachable!(),
                    },
                )*)))
            } else {
                ::core::task::Poll::Pending
            }
        }).await
    }};
}
