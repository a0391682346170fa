//! Peer benchmarks live in `benches/compare.rs`; this library is empty.
