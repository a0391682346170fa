//! Shared helpers for the interop examples.
