//! CONTINUATION (RFC 9113 §6.10).

use bytes::{BufMut, Bytes, BytesMut};

use super::head::payload_len;
use super::{
    DEFAULT_MAX_FRAME_SIZE, Frame, FrameError, FrameHeader, MAX_MAX_FRAME_SIZE, flags, kind,
};
use crate::event::StreamId;

/// CONTINUATION: the next fragment of a field block started by HEADERS or
/// PUSH_PROMISE (RFC 9113 §6.10). That it follows such a frame on the same
/// stream without END_HEADERS is the connection's check.
///
/// ```text
/// +---------------------------------------------------------------+
/// |                  Field Block Fragment (*)                     |
/// +---------------------------------------------------------------+
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Continuation {
    /// The stream; never 0.
    pub stream_id: StreamId,
    /// The field block fragment (a slice of the receive buffer).
    pub block: Bytes,
    /// END_HEADERS: the field block is complete.
    pub end_headers: bool,
}

impl Continuation {
    /// A CONTINUATION frame.
    pub fn new(stream_id: StreamId, block: impl Into<Bytes>, end_headers: bool) -> Self {
        Self {
            stream_id,
            block: block.into(),
            end_headers,
        }
    }

    /// Parses the payload. §6.10: stream 0 is a connection `PROTOCOL_ERROR`.
    pub(super) fn load(head: &FrameHeader, payload: Bytes) -> Result<Self, FrameError> {
        if head.stream_id.get() == 0 {
            return Err(FrameError::protocol("CONTINUATION on stream 0"));
        }
        Ok(Self {
            stream_id: head.stream_id,
            block: payload,
            end_headers: head.has(flags::END_HEADERS),
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        Self::encode_fragment(self.stream_id, &self.block, self.end_headers, dst);
    }

    fn encode_fragment(stream_id: StreamId, block: &[u8], end_headers: bool, dst: &mut BytesMut) {
        let fl = if end_headers { flags::END_HEADERS } else { 0 };
        let len = payload_len(block.len());
        dst.reserve(super::HEADER_LEN.saturating_add(block.len()));
        FrameHeader::new(kind::CONTINUATION, fl, stream_id, len).encode(dst);
        dst.put_slice(block);
    }

    /// Appends a field block that starts in a HEADERS or PUSH_PROMISE frame,
    /// moving whatever does not fit in `max_frame_size` (the peer's
    /// `SETTINGS_MAX_FRAME_SIZE`, clamped to the legal range) after the first
    /// frame's `overhead` into CONTINUATION frames (§6.10); END_HEADERS (if
    /// `end_headers`) goes on the last frame. `encode_first` appends the
    /// first frame: with `None` the frame as it is (the block fits), with
    /// `Some(fragment)` the frame carrying only `fragment` and no END_HEADERS.
    pub(super) fn encode_split(
        stream_id: StreamId,
        block: &Bytes,
        overhead: usize,
        end_headers: bool,
        max_frame_size: u32,
        dst: &mut BytesMut,
        encode_first: impl FnOnce(Option<Bytes>, &mut BytesMut),
    ) {
        let max = max_frame_size.clamp(DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE) as usize;
        let room = max.saturating_sub(overhead);
        let rest = match block.get(room..) {
            Some(rest) if !rest.is_empty() => rest,
            _ => return encode_first(None, dst),
        };
        encode_first(Some(block.slice(..room)), dst);
        let mut chunks = rest.chunks(max.max(1)).peekable();
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            Self::encode_fragment(stream_id, chunk, last && end_headers, dst);
        }
    }
}

impl From<Continuation> for Frame {
    fn from(f: Continuation) -> Self {
        Self::Continuation(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::h2::frame::test_util::{decode_raw, round_trip};

    #[test]
    fn decodes() {
        let f = decode_raw(kind::CONTINUATION, flags::END_HEADERS, 1, b"\x82").unwrap();
        assert_eq!(
            f,
            Continuation::new(StreamId::new(1), &b"\x82"[..], true).into()
        );
    }

    /// §6.10: CONTINUATION on stream 0 MUST be a connection PROTOCOL_ERROR.
    #[test]
    fn continuation_on_stream_0_is_connection_protocol_error_6_10() {
        let e = decode_raw(kind::CONTINUATION, flags::END_HEADERS, 0, b"\x82").unwrap_err();
        assert_eq!(e, FrameError::protocol("CONTINUATION on stream 0"));
    }

    /// §6.10: CONTINUATION defines no PADDED flag; bit 0x8 is ignored, not
    /// treated as padding.
    #[test]
    fn padded_bit_is_not_padding_6_10() {
        let f = decode_raw(kind::CONTINUATION, flags::PADDED, 1, b"\x05ab").unwrap();
        assert_eq!(
            f,
            Continuation::new(StreamId::new(1), &b"\x05ab"[..], false).into()
        );
    }

    #[test]
    fn round_trips() {
        for c in [
            Continuation::new(StreamId::new(1), Bytes::new(), false),
            Continuation::new(StreamId::new(3), &b"abc"[..], true),
        ] {
            assert_eq!(round_trip(&c.clone().into()), Frame::Continuation(c));
        }
    }
}
