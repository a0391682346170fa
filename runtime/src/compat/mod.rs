//! Plugging the loop into ecosystem crates, behind optional cargo features (all off by
//! default):
//!
//! - `hyper` (module `compat::hyper`): the stream sockets implement `hyper::rt::Read` and
//!   `hyper::rt::Write` directly, with an `Executor` that spawns on the loop (so `!Send`
//!   futures are fine), a `Timer` on the loop's timers (hyper's deadlines follow virtual
//!   time), and `HyperIo` for any other `futures_io` stream (a TLS stream, say).
//! - `tokio-io` (module `compat::tokio_io`): [`TcpStream`](crate::net::TcpStream),
//!   [`UnixStream`](crate::net::UnixStream) and their [`split`](crate::io::split) halves
//!   implement tokio's `AsyncRead` and `AsyncWrite`, so crates written against tokio's traits (tokio-postgres' `connect_raw`,
//!   redis' generic connection, tokio-util's codecs) take our sockets as they are. Only
//!   tokio's traits come in (the `tokio` crate with no features), not its runtime.
//!
//! The guide's chapter "Using crates from the ecosystem" lists which crates work how.

#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "tokio-io")]
pub mod tokio_io;
