//! PUSH_PROMISE (RFC 9113 §6.6).

use bytes::{BufMut, Bytes, BytesMut};

use super::continuation::Continuation;
use super::head::{STREAM_ID_MASK, payload_len, read_u32};
use super::{Frame, FrameError, FrameHeader, flags, kind, pad_overhead, split_padded};
use crate::event::StreamId;

/// PUSH_PROMISE: the server announces a stream it will push (RFC 9113 §6.6).
/// Whether push is enabled, and the promised id valid, is the connection's
/// check (§6.5.2, §5.1.1).
///
/// ```text
/// +---------------+-----------------------------------------------+
/// |Pad Length? (8)|R|        Promised Stream ID (31)              |
/// +---------------------------------------------------------------+
/// |   Field Block Fragment (*)  ...  |  Padding (*)  ...          |
/// +---------------------------------------------------------------+
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushPromise {
    /// The stream the promise is associated with; never 0.
    pub stream_id: StreamId,
    /// The stream the server reserves (reserved bit dropped).
    pub promised_id: StreamId,
    /// The field block fragment of the promised request, padding stripped.
    pub block: Bytes,
    /// END_HEADERS: the field block is complete; otherwise CONTINUATION follows.
    pub end_headers: bool,
    /// Padding octets, when the PADDED flag is set.
    pub pad_len: Option<u8>,
}

impl PushPromise {
    /// A PUSH_PROMISE frame without padding.
    pub fn new(
        stream_id: StreamId,
        promised_id: StreamId,
        block: impl Into<Bytes>,
        end_headers: bool,
    ) -> Self {
        Self {
            stream_id,
            promised_id,
            block: block.into(),
            end_headers,
            pad_len: None,
        }
    }

    /// Adds `pad_len` octets of padding (and the Pad Length octet).
    #[must_use]
    pub fn with_padding(mut self, pad_len: u8) -> Self {
        self.pad_len = Some(pad_len);
        self
    }

    /// Parses the payload. §6.6: stream 0 and padding longer than what
    /// follows the promised id are connection `PROTOCOL_ERROR`s; too short for
    /// the promised id is a connection `FRAME_SIZE_ERROR` (§4.2: field block).
    pub(super) fn load(head: &FrameHeader, payload: Bytes) -> Result<Self, FrameError> {
        if head.stream_id.get() == 0 {
            return Err(FrameError::protocol("PUSH_PROMISE on stream 0"));
        }
        let parts = split_padded(head, payload, 4)?;
        let Some(promised) = read_u32(&parts.fixed) else {
            return Err(FrameError::frame_size(
                "PUSH_PROMISE too short for the promised id",
            ));
        };
        Ok(Self {
            stream_id: head.stream_id,
            promised_id: StreamId::new(promised & STREAM_ID_MASK),
            block: parts.body,
            end_headers: head.has(flags::END_HEADERS),
            pad_len: parts.pad_len,
        })
    }

    fn overhead(&self) -> usize {
        pad_overhead(self.pad_len).saturating_add(4)
    }

    /// Appends the frame as one PUSH_PROMISE frame, whatever the block's length.
    pub fn encode(&self, dst: &mut BytesMut) {
        let mut fl = if self.end_headers {
            flags::END_HEADERS
        } else {
            0
        };
        if self.pad_len.is_some() {
            fl |= flags::PADDED;
        }
        let len = self.block.len().saturating_add(self.overhead());
        dst.reserve(super::HEADER_LEN.saturating_add(len));
        FrameHeader::new(kind::PUSH_PROMISE, fl, self.stream_id, payload_len(len)).encode(dst);
        if let Some(pad) = self.pad_len {
            dst.put_u8(pad);
        }
        dst.put_u32(self.promised_id.get() & STREAM_ID_MASK);
        dst.put_slice(&self.block);
        dst.put_bytes(0, usize::from(self.pad_len.unwrap_or(0)));
    }

    /// Appends the frame, moving whatever does not fit in `max_frame_size`
    /// (clamped to the legal range) into CONTINUATION frames (§6.10).
    pub fn encode_split(&self, max_frame_size: u32, dst: &mut BytesMut) {
        Continuation::encode_split(
            self.stream_id,
            &self.block,
            self.overhead(),
            self.end_headers,
            max_frame_size,
            dst,
            |first, dst| match first {
                None => self.encode(dst),
                Some(block) => Self {
                    block,
                    end_headers: false,
                    ..self.clone()
                }
                .encode(dst),
            },
        );
    }
}

impl From<PushPromise> for Frame {
    fn from(f: PushPromise) -> Self {
        Self::PushPromise(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ErrorCode;
    use crate::h2::frame::decode;
    use crate::h2::frame::test_util::{decode_raw, round_trip};

    const EH: u8 = flags::END_HEADERS;

    #[test]
    fn decodes_with_padding_and_reserved_bit() {
        let f = decode_raw(
            kind::PUSH_PROMISE,
            EH | flags::PADDED,
            1,
            b"\x01\x80\0\0\x02\x82\0",
        );
        let want = PushPromise::new(StreamId::new(1), StreamId::new(2), &b"\x82"[..], true);
        assert_eq!(f.unwrap(), want.with_padding(1).into());
    }

    /// §6.6: PUSH_PROMISE on stream 0 MUST be a connection PROTOCOL_ERROR.
    #[test]
    fn push_promise_on_stream_0_is_connection_protocol_error_6_6() {
        let e = decode_raw(kind::PUSH_PROMISE, EH, 0, b"\0\0\0\x02").unwrap_err();
        assert_eq!(e, FrameError::protocol("PUSH_PROMISE on stream 0"));
    }

    /// §6.6 (padding as in §6.1): padding longer than what follows the
    /// promised id MUST be a connection PROTOCOL_ERROR.
    #[test]
    fn padding_too_long_is_connection_protocol_error_6_6() {
        let e = decode_raw(kind::PUSH_PROMISE, EH | flags::PADDED, 1, b"\x01\0\0\0\x02");
        let e = e.unwrap_err();
        assert_eq!(e.code(), ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.stream_id(), None);
    }

    /// §4.2: too short for the promised stream id is a connection FRAME_SIZE_ERROR.
    #[test]
    fn short_is_connection_frame_size_error_4_2() {
        let e = decode_raw(kind::PUSH_PROMISE, EH, 1, b"\0\0\x02").unwrap_err();
        assert_eq!(e.code(), ErrorCode::FRAME_SIZE_ERROR);
        assert_eq!(e.stream_id(), None);
    }

    #[test]
    fn encode_split_uses_continuations_6_10() {
        let block = vec![7u8; 20_000];
        let p = PushPromise::new(StreamId::new(1), StreamId::new(2), block.clone(), true);
        let mut buf = BytesMut::new();
        p.encode_split(16_384, &mut buf);
        let Some(Frame::PushPromise(first)) = decode(&mut buf, 16_384).unwrap() else {
            panic!()
        };
        let Some(Frame::Continuation(next)) = decode(&mut buf, 16_384).unwrap() else {
            panic!()
        };
        assert!(buf.is_empty() && !first.end_headers && next.end_headers);
        assert_eq!(first.block.len() + next.block.len(), block.len());
    }

    #[test]
    fn round_trips() {
        for p in [
            PushPromise::new(StreamId::new(1), StreamId::new(2), Bytes::new(), true),
            PushPromise::new(StreamId::new(3), StreamId::new(4), &b"abc"[..], false)
                .with_padding(9),
        ] {
            assert_eq!(round_trip(&p.clone().into()), Frame::PushPromise(p));
        }
    }
}
