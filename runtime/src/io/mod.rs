//! I/O on the loop's reactor. For now: [`Source`], which puts any mio source (a socket,
//! a pipe, a custom `mio::event::Source`) on the loop and wakes tasks on readiness.

mod source;

pub use mio::Interest;
pub use source::Source;
