//! `Outcome`: whether a task's output counts as a failure (for `ReturnWhen::FirstException`).

/// Tells whether a task's output is a failure, the way an exception is in asyncio.
///
/// [`wait`](crate::wait) with [`ReturnWhen::FirstException`](crate::ReturnWhen) stops at the
/// first task that panicked or whose output is a failure: for `Result`, an `Err`. Plain
/// values never fail. Implemented for `Result`, `Option`, `()`, the primitive types,
/// strings, `Vec`, `Box` and tuples; for your own output type, one line does it:
///
/// ```
/// struct Report { lines: usize }
/// impl runtime::Outcome for Report {} // never a failure
/// ```
pub trait Outcome {
    /// True if this output should count as a failure. The default: never.
    fn is_failure(&self) -> bool {
        false
    }
}

impl<T, E> Outcome for Result<T, E> {
    fn is_failure(&self) -> bool {
        self.is_err()
    }
}

impl<T: Outcome + ?Sized> Outcome for Box<T> {
    fn is_failure(&self) -> bool {
        (**self).is_failure()
    }
}

macro_rules! never_fails {
    ($($t:ty),* $(,)?) => { $(impl Outcome for $t {})* };
}

never_fails!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    &'static str,
    std::time::Duration,
    crate::time::Instant
);

impl<T> Outcome for Option<T> {}
impl<T> Outcome for Vec<T> {}
impl<A, B> Outcome for (A, B) {}
impl<A, B, C> Outcome for (A, B, C) {}
impl<A, B, C, D> Outcome for (A, B, C, D) {}
