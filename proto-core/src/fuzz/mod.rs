//! Fuzzing entry points (`--cfg fuzzing`, as `cargo fuzz` builds). The
//! targets in `fuzz/` are one-line shells over these functions.
//!
//! - [`h1_head_parse`]: HTTP/1 head parsing (prefix consistency, round trip).
//! - [`h1_server_bytes`], [`h1_client_bytes`], [`h2_server_bytes`],
//!   [`h2_client_bytes`]: one core fed a peer's raw bytes, its application
//!   answering; run whole and split, which must agree ([`raw`]).
//! - [`pair_ops`]: a client and a server core driven by an operation script.
//! - [`h2_frame_decode`], [`hpack_decode`]: the codec hooks.
//!
//! Every driven core is checked against the contract (`docs/h1-contract.md`,
//! "Common"): nothing after `Closed`, `Closed` exactly once, exactly one
//! terminal event per stream, bounded output queue and unread input.

mod app;
mod flow;
mod head;
mod input;
mod pair;
mod raw;
#[cfg(test)]
mod tests;

pub use crate::h2::frame::fuzz_decode as h2_frame_decode;
pub use crate::hpack::fuzz::decode as hpack_decode;
pub use head::h1_head_parse;
pub use pair::pair_ops;
pub use raw::{h1_client_bytes, h1_server_bytes, h2_client_bytes, h2_server_bytes};
