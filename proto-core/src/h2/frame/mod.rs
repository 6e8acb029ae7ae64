//! The HTTP/2 frame codec (RFC 9113 §4, §6; PRIORITY_UPDATE from RFC 9218 §7.1).
//!
//! One module per frame type, each with a `load` (payload → frame, checking
//! the RFC's MUSTs that one frame can show), an `encode` and a
//! `From<X> for Frame`. Decoding is zero-copy: DATA payloads and field-block
//! fragments are [`Bytes`] slices of the receive buffer, padding stripped.
//!
//! [`decode`] takes one frame off the front of a buffer:
//! - `Ok(None)`: incomplete, read more bytes (incomplete is not invalid);
//! - `Ok(Some(frame))`: the frame's bytes were consumed;
//! - `Err(e)`: see [`FrameError`] for the scope. A stream error consumed the
//!   frame, so decoding can go on; after a connection error, stop reading.
//!
//! The codec checks what one frame shows (lengths, stream 0 or not, padding,
//! setting values). Rules that need connection state (stream states, header
//! block sequencing, flow-control windows, which side may send what) belong to
//! the connection.
//!
//! Two choices made here, documented where they apply:
//! - WINDOW_UPDATE with increment 0 is an error from [`decode`], with the
//!   RFC's scope: stream error on a stream, connection error on stream 0 (§6.9).
//! - A HEADERS frame whose priority block depends on its own stream decodes
//!   fine, because its field block must still go through HPACK to keep the
//!   decoder in sync (§4.3); the connection applies
//!   [`Headers::self_dependency_error`] after decoding the block.
//!
//! ```
//! use bytes::BytesMut;
//! use proto_core::StreamId;
//! use proto_core::h2::frame::{self, Frame, Headers, DEFAULT_MAX_FRAME_SIZE};
//!
//! let mut wire = BytesMut::new();
//! Headers::new(StreamId::new(1), &b"\x82"[..], true, true).encode(&mut wire);
//! let mut rx = BytesMut::from(&wire[..4]);
//! assert_eq!(frame::decode(&mut rx, DEFAULT_MAX_FRAME_SIZE), Ok(None));
//! rx.extend_from_slice(&wire[4..]);
//! let Ok(Some(Frame::Headers(h))) = frame::decode(&mut rx, DEFAULT_MAX_FRAME_SIZE) else {
//!     panic!("expected HEADERS")
//! };
//! assert!(h.end_stream && h.end_headers);
//! assert_eq!(&h.block[..], b"\x82");
//! ```

mod continuation;
mod data;
mod error;
mod goaway;
mod head;
mod headers;
mod ping;
mod priority;
mod priority_update;
mod push_promise;
mod rst_stream;
mod settings;
mod unknown;
mod window_update;

#[cfg(test)]
mod tests;

use bytes::{Buf, Bytes, BytesMut};

pub use continuation::Continuation;
pub use data::Data;
pub use error::FrameError;
pub use goaway::GoAway;
pub use head::{
    CONNECTION_STREAM, DEFAULT_MAX_FRAME_SIZE, FrameHeader, HEADER_LEN, MAX_MAX_FRAME_SIZE, flags,
    kind,
};
pub use headers::{Headers, StreamDependency};
pub use ping::Ping;
pub use priority::Priority;
pub use priority_update::PriorityUpdate;
pub use push_promise::PushPromise;
pub use rst_stream::RstStream;
pub use settings::Settings;
pub use unknown::Unknown;
pub use window_update::WindowUpdate;

use crate::event::StreamId;

/// One decoded HTTP/2 frame.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// DATA (RFC 9113 §6.1).
    Data(Data),
    /// HEADERS (RFC 9113 §6.2).
    Headers(Headers),
    /// PRIORITY (RFC 9113 §6.3).
    Priority(Priority),
    /// RST_STREAM (RFC 9113 §6.4).
    RstStream(RstStream),
    /// SETTINGS (RFC 9113 §6.5).
    Settings(Settings),
    /// PUSH_PROMISE (RFC 9113 §6.6).
    PushPromise(PushPromise),
    /// PING (RFC 9113 §6.7).
    Ping(Ping),
    /// GOAWAY (RFC 9113 §6.8).
    GoAway(GoAway),
    /// WINDOW_UPDATE (RFC 9113 §6.9).
    WindowUpdate(WindowUpdate),
    /// CONTINUATION (RFC 9113 §6.10).
    Continuation(Continuation),
    /// PRIORITY_UPDATE (RFC 9218 §7.1).
    PriorityUpdate(PriorityUpdate),
    /// A type this codec does not know. Surfaced, not dropped, so the
    /// connection can count it against a budget before ignoring it (§4.1, §5.5).
    Unknown(Unknown),
}

impl Frame {
    /// Parses a payload whose header was already read and length checked.
    fn load(head: FrameHeader, payload: Bytes) -> Result<Self, FrameError> {
        Ok(match head.kind {
            kind::DATA => Data::load(&head, payload)?.into(),
            kind::HEADERS => Headers::load(&head, payload)?.into(),
            kind::PRIORITY => Priority::load(&head, &payload)?.into(),
            kind::RST_STREAM => RstStream::load(&head, &payload)?.into(),
            kind::SETTINGS => Settings::load(&head, payload)?.into(),
            kind::PUSH_PROMISE => PushPromise::load(&head, payload)?.into(),
            kind::PING => Ping::load(&head, &payload)?.into(),
            kind::GOAWAY => GoAway::load(&head, payload)?.into(),
            kind::WINDOW_UPDATE => WindowUpdate::load(&head, &payload)?.into(),
            kind::CONTINUATION => Continuation::load(&head, payload)?.into(),
            kind::PRIORITY_UPDATE => PriorityUpdate::load(&head, payload)?.into(),
            _ => Unknown::load(&head, payload).into(),
        })
    }

    /// The stream the frame was sent on (0 for connection-level frames).
    pub fn stream_id(&self) -> StreamId {
        match self {
            Self::Data(f) => f.stream_id,
            Self::Headers(f) => f.stream_id,
            Self::Priority(f) => f.stream_id,
            Self::RstStream(f) => f.stream_id,
            Self::PushPromise(f) => f.stream_id,
            Self::WindowUpdate(f) => f.stream_id,
            Self::Continuation(f) => f.stream_id,
            Self::Unknown(f) => f.stream_id,
            Self::Settings(_) | Self::Ping(_) | Self::GoAway(_) | Self::PriorityUpdate(_) => {
                CONNECTION_STREAM
            }
        }
    }

    /// The frame type code (see [`kind`]).
    pub fn kind(&self) -> u8 {
        match self {
            Self::Data(_) => kind::DATA,
            Self::Headers(_) => kind::HEADERS,
            Self::Priority(_) => kind::PRIORITY,
            Self::RstStream(_) => kind::RST_STREAM,
            Self::Settings(_) => kind::SETTINGS,
            Self::PushPromise(_) => kind::PUSH_PROMISE,
            Self::Ping(_) => kind::PING,
            Self::GoAway(_) => kind::GOAWAY,
            Self::WindowUpdate(_) => kind::WINDOW_UPDATE,
            Self::Continuation(_) => kind::CONTINUATION,
            Self::PriorityUpdate(_) => kind::PRIORITY_UPDATE,
            Self::Unknown(f) => f.kind,
        }
    }

    /// Appends the frame (header and payload) to `dst`. The caller keeps the
    /// payload within the peer's `SETTINGS_MAX_FRAME_SIZE`; see
    /// [`Headers::encode_split`] for field blocks.
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Self::Data(f) => f.encode(dst),
            Self::Headers(f) => f.encode(dst),
            Self::Priority(f) => f.encode(dst),
            Self::RstStream(f) => f.encode(dst),
            Self::Settings(f) => f.encode(dst),
            Self::PushPromise(f) => f.encode(dst),
            Self::Ping(f) => f.encode(dst),
            Self::GoAway(f) => f.encode(dst),
            Self::WindowUpdate(f) => f.encode(dst),
            Self::Continuation(f) => f.encode(dst),
            Self::PriorityUpdate(f) => f.encode(dst),
            Self::Unknown(f) => f.encode(dst),
        }
    }
}

/// Takes one frame off the front of `buf`.
///
/// `max_frame_size` is the `SETTINGS_MAX_FRAME_SIZE` we advertised. A longer
/// frame is a connection `FRAME_SIZE_ERROR` (§4.2), reported as soon as its
/// header is buffered, so a peer cannot make us buffer up to 16 MiB first.
/// (§4.2 allows a stream error for frames that cannot change connection state,
/// but its payload would then have to be skipped unread; not worth it.)
///
/// Returns `Ok(None)` when `buf` holds less than a whole frame; nothing is
/// consumed. On `Ok(Some(_))` or a stream error the frame's bytes were split
/// off `buf` (zero-copy: the frame's `Bytes` share `buf`'s allocation).
pub fn decode(buf: &mut BytesMut, max_frame_size: u32) -> Result<Option<Frame>, FrameError> {
    let Some(head) = FrameHeader::parse(buf) else {
        return Ok(None);
    };
    if head.len > max_frame_size {
        return Err(FrameError::frame_size(
            "frame larger than SETTINGS_MAX_FRAME_SIZE",
        ));
    }
    // At most 9 + 2^24-1: no overflow even with a 32-bit usize.
    let total = usize::try_from(head.len).map_or(usize::MAX, |len| len.saturating_add(HEADER_LEN));
    if buf.len() < total {
        return Ok(None);
    }
    let mut payload = buf.split_to(total).freeze();
    payload.advance(HEADER_LEN);
    Frame::load(head, payload).map(Some)
}

/// A padded payload split up (RFC 9113 §6.1): the fixed fields that follow the
/// Pad Length octet, the body, and the pad length if the PADDED flag was set.
struct Padded {
    fixed: Bytes,
    body: Bytes,
    pad_len: Option<u8>,
}

/// Strips the Pad Length octet and padding (DATA §6.1, HEADERS §6.2,
/// PUSH_PROMISE §6.6) and splits off `fixed_len` octets of fixed fields.
///
/// Too short for the mandatory fields is a `FRAME_SIZE_ERROR` (§4.2);
/// padding longer than what remains is a `PROTOCOL_ERROR` (§6.1, §6.2). All
/// three types carry either a field block or flow-controlled data, so both
/// are connection errors.
fn split_padded(
    head: &FrameHeader,
    mut payload: Bytes,
    fixed_len: usize,
) -> Result<Padded, FrameError> {
    if fixed_len == 0 && !head.has(flags::PADDED) {
        // The usual frame: nothing to split off or strip.
        return Ok(Padded {
            fixed: Bytes::new(),
            body: payload,
            pad_len: None,
        });
    }
    let pad_len = if head.has(flags::PADDED) {
        let Some(&pad) = payload.first() else {
            return Err(FrameError::frame_size("PADDED frame without Pad Length"));
        };
        payload.advance(1);
        Some(pad)
    } else {
        None
    };
    if payload.len() < fixed_len {
        return Err(FrameError::frame_size(
            "frame too short for its fixed fields",
        ));
    }
    let fixed = payload.split_to(fixed_len);
    let Some(body_len) = payload.len().checked_sub(usize::from(pad_len.unwrap_or(0))) else {
        return Err(FrameError::protocol(
            "padding as long as the frame payload or longer",
        ));
    };
    payload.truncate(body_len);
    Ok(Padded {
        fixed,
        body: payload,
        pad_len,
    })
}

/// Octets that PADDED adds to a payload: the Pad Length octet and the padding.
fn pad_overhead(pad_len: Option<u8>) -> usize {
    pad_len.map_or(0, |p| usize::from(p) + 1)
}

/// Fuzz hook: decodes frames until the input runs out or an error, and checks
/// that each decoded frame re-encodes to bytes that decode to the same frame.
#[cfg(fuzzing)]
pub fn fuzz_decode(data: &[u8]) {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(frame)) = decode(&mut buf, MAX_MAX_FRAME_SIZE) {
        let mut wire = BytesMut::new();
        frame.encode(&mut wire);
        let again = decode(&mut wire, MAX_MAX_FRAME_SIZE);
        assert_eq!(
            again,
            Ok(Some(frame)),
            "re-encoded frame decodes differently"
        );
        assert!(wire.is_empty(), "re-encoded frame left bytes over");
    }
}

/// Helpers for the unit tests beside each frame type.
#[cfg(test)]
pub(super) mod test_util {
    use bytes::{BufMut, BytesMut};

    use super::{DEFAULT_MAX_FRAME_SIZE, Frame, FrameError, FrameHeader};
    use crate::event::StreamId;

    /// A frame as raw bytes, any header, any payload.
    pub(crate) fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> BytesMut {
        let mut buf = BytesMut::new();
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        FrameHeader::new(kind, flags, StreamId::new(stream), len).encode(&mut buf);
        buf.put_slice(payload);
        buf
    }

    /// Decodes one whole frame from raw bytes; the frame must be complete.
    pub(crate) fn decode_raw(
        kind: u8,
        flags: u8,
        stream: u32,
        payload: &[u8],
    ) -> Result<Frame, FrameError> {
        let mut buf = raw(kind, flags, stream, payload);
        let out = super::decode(&mut buf, DEFAULT_MAX_FRAME_SIZE);
        assert!(buf.is_empty(), "frame bytes not consumed: {out:?}");
        match out {
            Ok(Some(frame)) => Ok(frame),
            Ok(None) => panic!("complete frame reported incomplete"),
            Err(e) => Err(e),
        }
    }

    /// Encodes and decodes a frame, returning what came back.
    pub(crate) fn round_trip(frame: &Frame) -> Frame {
        let mut buf = BytesMut::new();
        frame.encode(&mut buf);
        let out = super::decode(&mut buf, super::MAX_MAX_FRAME_SIZE);
        assert!(buf.is_empty(), "encode produced trailing bytes");
        match out {
            Ok(Some(f)) => f,
            other => panic!("round trip failed: {other:?}"),
        }
    }
}
