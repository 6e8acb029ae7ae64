//! PING (RFC 9113 §6.7).

use bytes::{BufMut, Bytes, BytesMut};

use super::{CONNECTION_STREAM, Frame, FrameError, FrameHeader, flags, kind};

/// PING: round-trip measurement and liveness (RFC 9113 §6.7).
///
/// ```text
/// +---------------------------------------------------------------+
/// |                      Opaque Data (64)                         |
/// +---------------------------------------------------------------+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ping {
    /// ACK: this is the response to a PING with the same data.
    pub ack: bool,
    /// Opaque data, echoed back in the ACK.
    pub payload: [u8; 8],
}

impl Ping {
    /// A PING request.
    pub const fn new(payload: [u8; 8]) -> Self {
        Self {
            ack: false,
            payload,
        }
    }

    /// The response to a PING carrying `payload` (§6.7: identical payload).
    pub const fn pong(payload: [u8; 8]) -> Self {
        Self { ack: true, payload }
    }

    /// Parses the payload. §6.7: a stream other than 0 is a connection
    /// `PROTOCOL_ERROR`; a length other than 8 a connection `FRAME_SIZE_ERROR`.
    pub(super) fn load(head: &FrameHeader, payload: &Bytes) -> Result<Self, FrameError> {
        if head.stream_id.get() != 0 {
            return Err(FrameError::protocol("PING on a stream other than 0"));
        }
        let Ok(payload) = <[u8; 8]>::try_from(&payload[..]) else {
            return Err(FrameError::frame_size("PING length other than 8"));
        };
        Ok(Self {
            ack: head.has(flags::ACK),
            payload,
        })
    }

    /// Appends the frame.
    pub fn encode(&self, dst: &mut BytesMut) {
        let fl = if self.ack { flags::ACK } else { 0 };
        dst.reserve(super::HEADER_LEN + 8);
        FrameHeader::new(kind::PING, fl, CONNECTION_STREAM, 8).encode(dst);
        dst.put_slice(&self.payload);
    }
}

impl From<Ping> for Frame {
    fn from(f: Ping) -> Self {
        Self::Ping(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::h2::frame::test_util::{decode_raw, round_trip};

    #[test]
    fn decodes_ping_and_ack() {
        let f = decode_raw(kind::PING, 0, 0, b"12345678").unwrap();
        assert_eq!(f, Ping::new(*b"12345678").into());
        let f = decode_raw(kind::PING, flags::ACK, 0, b"12345678").unwrap();
        assert_eq!(f, Ping::pong(*b"12345678").into());
    }

    /// §6.7: PING on a stream other than 0 MUST be a connection PROTOCOL_ERROR.
    #[test]
    fn ping_on_stream_is_connection_protocol_error_6_7() {
        let e = decode_raw(kind::PING, 0, 1, b"12345678").unwrap_err();
        assert_eq!(e, FrameError::protocol("PING on a stream other than 0"));
    }

    /// §6.7: a length other than 8 MUST be a connection FRAME_SIZE_ERROR.
    #[test]
    fn ping_bad_length_is_connection_frame_size_error_6_7() {
        for payload in [&b"1234567"[..], b"123456789", b""] {
            let e = decode_raw(kind::PING, 0, 0, payload).unwrap_err();
            assert_eq!(e, FrameError::frame_size("PING length other than 8"));
        }
    }

    #[test]
    fn round_trips() {
        for p in [Ping::new([1; 8]), Ping::pong([0xff; 8])] {
            assert_eq!(round_trip(&p.into()), Frame::Ping(p));
        }
    }
}
