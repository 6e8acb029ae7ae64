//! DATA (RFC 9113 §6.1).

use bytes::{BufMut, Bytes, BytesMut};

use super::head::payload_len;
use super::{Frame, FrameError, FrameHeader, flags, kind, pad_overhead, split_padded};
use crate::event::StreamId;

/// DATA: a chunk of a message's content (RFC 9113 §6.1).
///
/// ```text
/// +---------------+-----------------------------------------------+
/// |Pad Length? (8)|  Data (*)  ...  |  Padding (*)  ...           |
/// +---------------+-----------------------------------------------+
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    /// The stream; never 0.
    pub stream_id: StreamId,
    /// The content, padding stripped (a slice of the receive buffer).
    pub data: Bytes,
    /// END_STREAM: the sender's last frame on this stream.
    pub end_stream: bool,
    /// Padding octets, if the PADDED flag was (or is to be) set. Counted by
    /// flow control (see [`Data::flow_controlled_len`]), otherwise meaningless.
    pub pad_len: Option<u8>,
}

impl Data {
    /// A DATA frame without padding.
    pub fn new(stream_id: StreamId, data: impl Into<Bytes>, end_stream: bool) -> Self {
        Self {
            stream_id,
            data: data.into(),
            end_stream,
            pad_len: None,
        }
    }

    /// Adds `pad_len` octets of padding (and the Pad Length octet).
    #[must_use]
    pub fn with_padding(mut self, pad_len: u8) -> Self {
        self.pad_len = Some(pad_len);
        self
    }

    /// The frame's whole payload length, padding included: what flow control
    /// counts (§6.9.1: "the entire DATA frame payload is included").
    pub fn flow_controlled_len(&self) -> u32 {
        payload_len(self.data.len().saturating_add(pad_overhead(self.pad_len)))
    }

    /// Parses the payload. §6.1: stream 0 and padding as long as the payload
    /// are connection `PROTOCOL_ERROR`s.
    pub(super) fn load(head: &FrameHeader, payload: Bytes) -> Result<Self, FrameError> {
        if head.stream_id.get() == 0 {
            return Err(FrameError::protocol("DATA on stream 0"));
        }
        let parts = split_padded(head, payload, 0)?;
        Ok(Self {
            stream_id: head.stream_id,
            data: parts.body,
            end_stream: head.has(flags::END_STREAM),
            pad_len: parts.pad_len,
        })
    }

    /// Appends the whole frame (copies the data).
    pub fn encode(&self, dst: &mut BytesMut) {
        let mut fl = if self.end_stream {
            flags::END_STREAM
        } else {
            0
        };
        if self.pad_len.is_some() {
            fl |= flags::PADDED;
        }
        let head = FrameHeader::new(kind::DATA, fl, self.stream_id, self.flow_controlled_len());
        dst.reserve(super::HEADER_LEN.saturating_add(self.flow_controlled_len() as usize));
        head.encode(dst);
        if let Some(pad) = self.pad_len {
            dst.put_u8(pad);
        }
        dst.put_slice(&self.data);
        dst.put_bytes(0, usize::from(self.pad_len.unwrap_or(0)));
    }

    /// Appends only the 9-octet header of an unpadded DATA frame carrying `len`
    /// octets, so the data itself can follow in a gather list untouched.
    pub fn encode_header(len: u32, end_stream: bool, stream_id: StreamId, dst: &mut BytesMut) {
        let fl = if end_stream { flags::END_STREAM } else { 0 };
        FrameHeader::new(kind::DATA, fl, stream_id, len).encode(dst);
    }
}

impl From<Data> for Frame {
    fn from(f: Data) -> Self {
        Self::Data(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ErrorCode;
    use crate::h2::frame::test_util::{decode_raw, round_trip};

    #[test]
    fn decodes_data_and_end_stream() {
        let f = decode_raw(kind::DATA, flags::END_STREAM, 1, b"hello").unwrap();
        assert_eq!(f, Data::new(StreamId::new(1), &b"hello"[..], true).into());
    }

    /// §6.1: DATA on stream 0 MUST be a connection PROTOCOL_ERROR.
    #[test]
    fn data_on_stream_0_is_connection_protocol_error_6_1() {
        let e = decode_raw(kind::DATA, 0, 0, b"x").unwrap_err();
        assert_eq!(
            e,
            FrameError::Connection(ErrorCode::PROTOCOL_ERROR, "DATA on stream 0")
        );
    }

    /// §6.1: padding is stripped; the data is what is left.
    #[test]
    fn padding_stripped_6_1() {
        let f = decode_raw(kind::DATA, flags::PADDED, 1, b"\x02abc\0\0").unwrap();
        let Frame::Data(d) = f else { panic!() };
        assert_eq!(&d.data[..], b"abc");
        assert_eq!(d.pad_len, Some(2));
        assert_eq!(d.flow_controlled_len(), 6);
    }

    /// §6.1: padding as long as the payload or longer MUST be a connection
    /// PROTOCOL_ERROR. Pad Length 1 in a 1-octet payload is "as long".
    #[test]
    fn padding_too_long_is_connection_protocol_error_6_1() {
        for payload in [&b"\x01"[..], b"\x05ab", b"\xff"] {
            let e = decode_raw(kind::DATA, flags::PADDED, 1, payload).unwrap_err();
            assert_eq!(e.code(), ErrorCode::PROTOCOL_ERROR);
            assert_eq!(e.stream_id(), None);
        }
        // The largest valid padding: all but the Pad Length octet.
        let f = decode_raw(kind::DATA, flags::PADDED, 1, b"\x02\0\0").unwrap();
        assert_eq!(
            f,
            Data::new(StreamId::new(1), Bytes::new(), false)
                .with_padding(2)
                .into()
        );
    }

    /// §4.2: PADDED with no room for the Pad Length octet is a FRAME_SIZE_ERROR.
    #[test]
    fn padded_empty_payload_is_frame_size_error_4_2() {
        let e = decode_raw(kind::DATA, flags::PADDED, 1, b"").unwrap_err();
        assert_eq!(e.code(), ErrorCode::FRAME_SIZE_ERROR);
        assert_eq!(e.stream_id(), None);
    }

    /// §4.1: flags without meaning for the type MUST be ignored.
    #[test]
    fn unknown_flags_ignored_4_1() {
        let f = decode_raw(kind::DATA, 0xf6, 1, b"x").unwrap();
        assert_eq!(f, Data::new(StreamId::new(1), &b"x"[..], false).into());
    }

    #[test]
    fn encode_header_then_body_equals_encode() {
        let d = Data::new(StreamId::new(7), &b"body"[..], true);
        let mut whole = BytesMut::new();
        d.encode(&mut whole);
        let mut split = BytesMut::new();
        Data::encode_header(4, true, StreamId::new(7), &mut split);
        assert_eq!(split.len(), 9);
        split.extend_from_slice(b"body");
        assert_eq!(whole, split);
    }

    #[test]
    fn round_trips() {
        for d in [
            Data::new(StreamId::new(1), Bytes::new(), false),
            Data::new(StreamId::new(3), &b"abc"[..], true),
            Data::new(StreamId::new(5), &b"abc"[..], false).with_padding(0),
            Data::new(StreamId::new(5), &b"abc"[..], true).with_padding(255),
        ] {
            assert_eq!(round_trip(&d.clone().into()), Frame::Data(d));
        }
    }
}
