//! Frames of a type this codec does not implement (RFC 9113 §4.1, §5.5).

use bytes::{BufMut, Bytes, BytesMut};

use super::head::payload_len;
use super::{Frame, FrameHeader};
use crate::event::StreamId;

/// A frame of unknown type: "implementations MUST ignore and discard frames
/// of unknown types" (§4.1, §5.5). Surfaced rather than skipped so the
/// connection can count them against a budget (a flood costs CPU), then drop
/// them. Also lets tests send arbitrary frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    /// The type code.
    pub kind: u8,
    /// The flags, uninterpreted.
    pub flags: u8,
    /// The stream, uninterpreted (may be 0).
    pub stream_id: StreamId,
    /// The payload (a slice of the receive buffer).
    pub payload: Bytes,
}

impl Unknown {
    /// A frame of any type with any flags and payload.
    pub fn new(kind: u8, flags: u8, stream_id: StreamId, payload: impl Into<Bytes>) -> Self {
        Self {
            kind,
            flags,
            stream_id,
            payload: payload.into(),
        }
    }

    /// Keeps the payload as it is; no rule applies to it.
    pub(super) fn load(head: &FrameHeader, payload: Bytes) -> Self {
        Self {
            kind: head.kind,
            flags: head.flags,
            stream_id: head.stream_id,
            payload,
        }
    }

    /// Appends the frame as given.
    pub fn encode(&self, dst: &mut BytesMut) {
        let len = payload_len(self.payload.len());
        dst.reserve(super::HEADER_LEN.saturating_add(self.payload.len()));
        FrameHeader::new(self.kind, self.flags, self.stream_id, len).encode(dst);
        dst.put_slice(&self.payload);
    }
}

impl From<Unknown> for Frame {
    fn from(f: Unknown) -> Self {
        Self::Unknown(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::h2::frame::test_util::{decode_raw, round_trip};

    /// §4.1/§5.5: unknown types are not errors, on any stream, with any flags.
    #[test]
    fn unknown_types_are_surfaced_not_errors_5_5() {
        for (kind, stream) in [(0x0a, 0), (0x0b, 1), (0xff, 0x7fff_ffff)] {
            let f = decode_raw(kind, 0xff, stream, b"?").unwrap();
            assert_eq!(
                f,
                Unknown::new(kind, 0xff, StreamId::new(stream), &b"?"[..]).into()
            );
            assert_eq!(f.kind(), kind);
            assert_eq!(f.stream_id(), StreamId::new(stream));
        }
    }

    #[test]
    fn round_trips() {
        let u = Unknown::new(0xfa, 0x5, StreamId::new(9), &b"payload"[..]);
        assert_eq!(round_trip(&u.clone().into()), Frame::Unknown(u));
    }
}
