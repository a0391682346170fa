//! `join!` and `try_join!`: gather futures of different types into a tuple.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future, then its output: the building block of [`join!`](crate::join!).
#[doc(hidden)]
pub enum MaybeDone<F: Future> {
    /// Still running.
    Running(F),
    /// Finished; holds the output.
    Done(F::Output),
    /// The output was taken.
    Gone,
}

impl<F: Future> MaybeDone<F> {
    /// Polls the future if it still runs; `true` once it is done.
    pub fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: the future is never moved out: on completion the whole enum is
        // overwritten in place, which drops the finished future where it is.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Running(f) => {
                // SAFETY: see above; `f` stays in place until overwritten.
                match unsafe { Pin::new_unchecked(f) }.poll(cx) {
                    Poll::Ready(v) => {
                        *this = MaybeDone::Done(v);
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
        match unsafe { self.get_unchecked_mut() } {
            MaybeDone::Done(v) => Some(v),
            _ => None,
        }
    }

    /// Takes the output.
    ///
    /// # Panics
    ///
    /// If the future is not done.
    pub fn take(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: in `Done` there is no future left to keep pinned.
        let this = unsafe { self.get_unchecked_mut() };
        match std::mem::replace(this, MaybeDone::Gone) {
            MaybeDone::Done(v) => v,
            _ => panic!("MaybeDone::take before the future finished"),
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
        $( let mut $n = ::core::pin::pin!($crate::combine::join::MaybeDone::Running($e)); )*
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
        $( let mut $n = ::core::pin::pin!($crate::combine::join::MaybeDone::Running($e)); )*
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
