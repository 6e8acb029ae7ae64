//! Strict HTTP/1.1 head parsing (RFC 9112 §2–§5) on top of `httparse`.
//!
//! `httparse` finds the head and splits it into slices; this module adds the
//! checks `httparse` lets through (bare CR, bare LF by default, obs-fold,
//! whitespace before the colon, NUL/CTL in fields, limits, Host) and turns the
//! slices into zero-copy [`Bytes`] of the receive buffer.

use bytes::BytesMut;

use crate::config::Config;
use crate::error::PeerError;
use crate::head::{RequestHead, ResponseHead};

/// Parses a request head at the start of `buf`.
///
/// `Ok(None)`: the head is not complete yet (need more bytes). `Ok(Some)`: the
/// head's bytes (through the blank line) were split off `buf`.
pub(crate) fn parse_request(
    buf: &mut BytesMut,
    cfg: &Config,
) -> Result<Option<RequestHead>, PeerError> {
    let _ = (buf, cfg);
    todo!()
}

/// Parses a response head at the start of `buf` (client side).
pub(crate) fn parse_response(
    buf: &mut BytesMut,
    cfg: &Config,
) -> Result<Option<ResponseHead>, PeerError> {
    let _ = (buf, cfg);
    todo!()
}
