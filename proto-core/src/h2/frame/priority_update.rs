//! PRIORITY_UPDATE (RFC 9218 §7.1).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::head::{STREAM_ID_MASK, payload_len, read_u32};
use super::{CONNECTION_STREAM, Frame, FrameError, FrameHeader, kind};
use crate::event::StreamId;

/// PRIORITY_UPDATE: a client reprioritizes a stream with a `Priority` field
/// value (RFC 9218 §7.1). Always on stream 0. That only a server may receive
/// it is the connection's check.
///
/// ```text
/// +-+-------------------------------------------------------------+
/// |R|                Prioritized Stream ID (31)                   |
/// +-+-------------------------------------------------------------+
/// |                 Priority Field Value (*)                      |
/// +---------------------------------------------------------------+
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityUpdate {
    /// The stream being reprioritized; never 0.
    pub prioritized_stream_id: StreamId,
    /// The ASCII Structured Field dictionary (RFC 9218 §4), unparsed; a slice
    /// of the receive buffer.
    pub field_value: Bytes,
}

impl PriorityUpdate {
    /// A PRIORITY_UPDATE frame.
    pub fn new(prioritized_stream_id: StreamId, field_value: impl Into<Bytes>) -> Self {
        Self {
            prioritized_stream_id,
            field_value: field_value.into(),
        }
    }

    /// Parses the payload. RFC 9218 §7.1: a stream other than 0 is a connection
    /// `PROTOCOL_ERROR`; fewer than 4 octets a connection `FRAME_SIZE_ERROR`;
    /// a Prioritized Stream ID of 0 a connection `PROTOCOL_ERROR`.
    pub(super) fn load(head: &FrameHeader, mut payload: Bytes) -> Result<Self, FrameError> {
        if head.stream_id.get() != 0 {
            return Err(FrameError::protocol(
                "PRIORITY_UPDATE on a stream other than 0",
            ));
        }
        let Some(word) = read_u32(&payload) else {
            return Err(FrameError::frame_size(
                "PRIORITY_UPDATE shorter than 4 octets",
            ));
        };
        let prioritized = word & STREAM_ID_MASK;
        if prioritized == 0 {
            return Err(FrameError::protocol("PRIORITY_UPDATE for stream 0"));
        }
        payload.advance(4);
        Ok(Self {
            prioritized_stream_id: StreamId::new(prioritized),
            field_value: payload,
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        let len = self.field_value.len().saturating_add(4);
        dst.reserve(super::HEADER_LEN.saturating_add(len));
        FrameHeader::new(
            kind::PRIORITY_UPDATE,
            0,
            CONNECTION_STREAM,
            payload_len(len),
        )
        .encode(dst);
        dst.put_u32(self.prioritized_stream_id.get() & STREAM_ID_MASK);
        dst.put_slice(&self.field_value);
    }
}

impl From<PriorityUpdate> for Frame {
    fn from(f: PriorityUpdate) -> Self {
        Self::PriorityUpdate(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::h2::frame::test_util::{decode_raw, round_trip};

    #[test]
    fn decodes() {
        let f = decode_raw(kind::PRIORITY_UPDATE, 0, 0, b"\0\0\0\x05u=1, i").unwrap();
        assert_eq!(f, PriorityUpdate::new(StreamId::new(5), "u=1, i").into());
    }

    /// RFC 9218 §7.1: on a stream other than 0 MUST be a connection PROTOCOL_ERROR.
    #[test]
    fn on_stream_is_connection_protocol_error_9218_7_1() {
        let e = decode_raw(kind::PRIORITY_UPDATE, 0, 1, b"\0\0\0\x05u=1").unwrap_err();
        assert_eq!(
            e,
            FrameError::protocol("PRIORITY_UPDATE on a stream other than 0")
        );
    }

    /// RFC 9218 §7.1: shorter than 4 octets is a connection FRAME_SIZE_ERROR.
    #[test]
    fn short_is_connection_frame_size_error_9218_7_1() {
        let e = decode_raw(kind::PRIORITY_UPDATE, 0, 0, b"\0\0\x05").unwrap_err();
        assert_eq!(
            e,
            FrameError::frame_size("PRIORITY_UPDATE shorter than 4 octets")
        );
    }

    /// RFC 9218 §7.1: a Prioritized Stream ID of 0 MUST be a connection
    /// PROTOCOL_ERROR (the reserved bit does not count).
    #[test]
    fn prioritized_stream_0_is_connection_protocol_error_9218_7_1() {
        let e = decode_raw(kind::PRIORITY_UPDATE, 0, 0, b"\x80\0\0\0u=1").unwrap_err();
        assert_eq!(e, FrameError::protocol("PRIORITY_UPDATE for stream 0"));
    }

    #[test]
    fn round_trips() {
        for p in [
            PriorityUpdate::new(StreamId::new(1), Bytes::new()),
            PriorityUpdate::new(StreamId::new(0x7fff_ffff), "u=7"),
        ] {
            assert_eq!(round_trip(&p.clone().into()), Frame::PriorityUpdate(p));
        }
    }
}
