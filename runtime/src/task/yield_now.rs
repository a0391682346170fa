//! `yield_now`: asyncio `sleep(0)`, Stackless `schedule()`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Gives the other ready tasks a turn: the current task goes to the back of the ready
/// queue and resumes after every task that was ready before it (asyncio `sleep(0)`,
/// Stackless `schedule()`). No system call.
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// runtime::run(async {
///     let log = Rc::new(RefCell::new(Vec::new()));
///     let mut tasks = Vec::new();
///     for name in ["a", "b"] {
///         let log = log.clone();
///         tasks.push(runtime::spawn(async move {
///             for i in 0..2 {
///                 log.borrow_mut().push(format!("{name}{i}"));
///                 runtime::yield_now().await;
///             }
///         }));
///     }
///     for t in tasks { t.await.unwrap(); }
///     assert_eq!(*log.borrow(), ["a0", "b0", "a1", "b1"]);
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
