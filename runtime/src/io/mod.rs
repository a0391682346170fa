//! I/O on the loop's reactor and the `futures_io` traits.
//!
//! - [`Source`] puts any mio source (a socket, a pipe, your own `mio::event::Source`) on
//!   the loop; [`Fd`] makes any file descriptor such a source.
//! - [`AsyncRead`], [`AsyncWrite`], [`AsyncBufRead`] are the runtime-neutral traits from
//!   `futures-io` that futures-util, async-tungstenite, futures-rustls and others accept;
//!   the runtime's sockets, pipes and [`Source`]s of byte streams implement them.
//! - [`AsyncReadExt`], [`AsyncWriteExt`], [`AsyncBufReadExt`] give them `async fn`
//!   methods (`read_exact`, `read_to_end`, `read_line`, `lines`, `write_all`, `close`...);
//!   [`BufReader`], [`BufWriter`], [`copy`] and [`split`] complete the toolkit.

mod buf;
mod ext;
pub(crate) mod fd;
mod source;
mod split;

pub use buf::{BufReader, BufWriter};
pub use ext::{copy, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, Lines, Take};
pub use fd::Fd;
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
pub use mio::Interest;
pub use source::Source;
pub use split::{split, ReadHalf, WriteHalf};
