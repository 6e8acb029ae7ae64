//! The chunked transfer coding (RFC 9112 §7.1): a resumable, strict decoder
//! and the encoder's framing pieces.

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::error::PeerError;
use crate::head::Fields;

/// One step of decoding.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Chunk data, split off the input buffer (zero-copy). Never empty.
    Data(Bytes),
    /// The last chunk and the trailer section were read; the body is complete.
    /// The fields are empty when there were no trailers.
    End(Fields),
    /// All of the input was consumed (or kept) and more is needed.
    NeedMore,
}

/// A resumable chunked-body decoder: feed it the receive buffer repeatedly.
/// The result is the same however the input is split.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    _todo: (),
}

impl ChunkedDecoder {
    pub(crate) fn new() -> Self {
        todo!()
    }

    /// Decodes from the front of `buf`, splitting off at most `max` data bytes.
    /// Consumed framing bytes are removed from `buf`.
    pub(crate) fn decode(
        &mut self,
        buf: &mut BytesMut,
        max: usize,
        cfg: &Config,
    ) -> Result<Decoded, PeerError> {
        let _ = (buf, max, cfg);
        todo!()
    }
}

/// Appends a chunk-size line for `len` bytes (`len` > 0) to `dst`.
pub(crate) fn encode_chunk_header(dst: &mut BytesMut, len: usize) {
    let _ = (dst, len);
    todo!()
}

/// Appends the CRLF that ends a chunk's data.
pub(crate) fn encode_chunk_end(dst: &mut BytesMut) {
    dst.extend_from_slice(b"\r\n");
}

/// Appends the last chunk, the trailer fields and the final CRLF.
pub(crate) fn encode_last_chunk(dst: &mut BytesMut, trailers: Option<&Fields>) {
    let _ = (dst, trailers);
    todo!()
}
