//! `adapter-common`: the runtime-independent code of the proto-core
//! adapters (`adapter-tokio`, `adapter-smol`, `adapter-std`).
//!
//! Users do not depend on this crate: each adapter re-exports what belongs
//! to its public API (e.g. `adapter_tokio::Error`). What is here:
//!
//! - [`conv`]: conversions between the core's heads and `http` types;
//! - [`date`]: the cached `Date` header value;
//! - [`error`]: the async adapters' error type.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod conv;
pub mod date;
pub mod error;
