//! SETTINGS (RFC 9113 §6.5), with RFC 8441 and RFC 9218 parameters.

use bytes::{BufMut, Bytes, BytesMut};

use super::head::payload_len;
use super::{CONNECTION_STREAM, Frame, FrameError, FrameHeader, flags, kind};
use crate::error::ErrorCode;

/// Octets per setting: 16-bit identifier, 32-bit value (§6.5.1).
const ENTRY_LEN: usize = 6;

/// SETTINGS: configuration parameters, or the ACK of the peer's (RFC 9113 §6.5).
///
/// ```text
/// +-------------------------------+
/// |       Identifier (16)         |
/// +-------------------------------+-------------------------------+
/// |                        Value (32)                             |
/// +---------------------------------------------------------------+
/// ```  (repeated)
///
/// Holds the payload as received, so entries stay in wire order (including
/// unknown and repeated identifiers) without a per-entry allocation, and the
/// known parameters as typed values (the last occurrence wins, §6.5.3:
/// values are processed in order). Decoding validates the values (§6.5.2);
/// the builders do not, so tests can send invalid settings.
///
/// The entry count is [`Settings::entry_count`]; the connection compares it
/// with its per-frame limit (a SETTINGS flood costs CPU, not memory, here).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    ack: bool,
    header_table_size: Option<u32>,
    enable_push: Option<u32>,
    max_concurrent_streams: Option<u32>,
    initial_window_size: Option<u32>,
    max_frame_size: Option<u32>,
    max_header_list_size: Option<u32>,
    enable_connect_protocol: Option<u32>,
    no_rfc7540_priorities: Option<u32>,
    /// Every entry in wire order; the length is a multiple of [`ENTRY_LEN`].
    raw: Bytes,
}

macro_rules! known_settings {
    ($($(#[$doc:meta])* $field:ident, $with:ident, $id:ident = $value:expr;)*) => {
        impl Settings {
            $(
                #[doc = concat!("Identifier of `SETTINGS_", stringify!($id), "`.")]
                pub const $id: u16 = $value;

                $(#[$doc])*
                pub const fn $field(&self) -> Option<u32> {
                    self.$field
                }

                #[doc = concat!("Appends a `SETTINGS_", stringify!($id), "` entry (not validated).")]
                #[must_use]
                pub fn $with(self, value: u32) -> Self {
                    self.with_raw(Self::$id, value)
                }
            )*

            /// Records a value for a known identifier; unknown ones are ignored
            /// (§6.5.2: "MUST ignore a setting with an unknown identifier").
            fn apply(&mut self, id: u16, value: u32) {
                match id {
                    $(Self::$id => self.$field = Some(value),)*
                    _ => {}
                }
            }
        }
    };
}

known_settings! {
    /// `SETTINGS_HEADER_TABLE_SIZE` (0x1): the HPACK table size the sender allows.
    header_table_size, with_header_table_size, HEADER_TABLE_SIZE = 0x1;
    /// `SETTINGS_ENABLE_PUSH` (0x2): 0 or 1 once validated.
    enable_push, with_enable_push, ENABLE_PUSH = 0x2;
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` (0x3).
    max_concurrent_streams, with_max_concurrent_streams, MAX_CONCURRENT_STREAMS = 0x3;
    /// `SETTINGS_INITIAL_WINDOW_SIZE` (0x4): at most 2^31-1 once validated.
    initial_window_size, with_initial_window_size, INITIAL_WINDOW_SIZE = 0x4;
    /// `SETTINGS_MAX_FRAME_SIZE` (0x5): 16384..=16777215 once validated.
    max_frame_size, with_max_frame_size, MAX_FRAME_SIZE = 0x5;
    /// `SETTINGS_MAX_HEADER_LIST_SIZE` (0x6), advisory.
    max_header_list_size, with_max_header_list_size, MAX_HEADER_LIST_SIZE = 0x6;
    /// `SETTINGS_ENABLE_CONNECT_PROTOCOL` (0x8, RFC 8441 §3): 0 or 1 once validated.
    enable_connect_protocol, with_enable_connect_protocol, ENABLE_CONNECT_PROTOCOL = 0x8;
    /// `SETTINGS_NO_RFC7540_PRIORITIES` (0x9, RFC 9218 §2.1): 0 or 1 once validated.
    no_rfc7540_priorities, with_no_rfc7540_priorities, NO_RFC7540_PRIORITIES = 0x9;
}

impl Settings {
    /// The acknowledgement of the peer's SETTINGS (empty, ACK flag).
    pub fn ack() -> Self {
        Self {
            ack: true,
            ..Self::default()
        }
    }

    /// True for an acknowledgement.
    pub const fn is_ack(&self) -> bool {
        self.ack
    }

    /// Appends an entry with any identifier and value, unvalidated (e.g. an
    /// unknown identifier, or an invalid value for a test).
    #[must_use]
    pub fn with_raw(mut self, id: u16, value: u32) -> Self {
        let mut raw = BytesMut::with_capacity(self.raw.len().saturating_add(ENTRY_LEN));
        raw.put_slice(&self.raw);
        raw.put_u16(id);
        raw.put_u32(value);
        self.raw = raw.freeze();
        self.apply(id, value);
        self
    }

    /// The number of entries, known or not, repeated or not.
    pub fn entry_count(&self) -> usize {
        self.raw.len() / ENTRY_LEN
    }

    /// Every `(identifier, value)` in wire order, including unknown ones.
    pub fn entries(&self) -> impl Iterator<Item = (u16, u32)> + '_ {
        self.raw.chunks_exact(ENTRY_LEN).filter_map(entry)
    }

    /// Parses the payload (RFC 9113 §6.5, §6.5.2). All errors are connection
    /// errors: SETTINGS changes connection state.
    /// - a stream other than 0: `PROTOCOL_ERROR`;
    /// - ACK with a payload: `FRAME_SIZE_ERROR`;
    /// - a length not a multiple of 6: `FRAME_SIZE_ERROR`;
    /// - ENABLE_PUSH not 0/1: `PROTOCOL_ERROR`;
    /// - INITIAL_WINDOW_SIZE above 2^31-1: `FLOW_CONTROL_ERROR`;
    /// - MAX_FRAME_SIZE outside 16384..=16777215: `PROTOCOL_ERROR`;
    /// - ENABLE_CONNECT_PROTOCOL not 0/1 (RFC 8441 §3): `PROTOCOL_ERROR`;
    /// - NO_RFC7540_PRIORITIES not 0/1 (RFC 9218 §2.1): `PROTOCOL_ERROR`.
    pub(super) fn load(head: &FrameHeader, payload: Bytes) -> Result<Self, FrameError> {
        if head.stream_id.get() != 0 {
            return Err(FrameError::protocol("SETTINGS on a stream other than 0"));
        }
        if head.has(flags::ACK) {
            if !payload.is_empty() {
                return Err(FrameError::frame_size("SETTINGS ACK with a payload"));
            }
            return Ok(Self::ack());
        }
        if payload.len() % ENTRY_LEN != 0 {
            return Err(FrameError::frame_size(
                "SETTINGS length not a multiple of 6",
            ));
        }
        let mut settings = Self {
            raw: payload,
            ..Self::default()
        };
        // A cheap clone of the `Bytes` handle: `apply` needs `settings` mutably.
        for (id, value) in settings
            .raw
            .clone()
            .chunks_exact(ENTRY_LEN)
            .filter_map(entry)
        {
            validate(id, value)?;
            settings.apply(id, value);
        }
        Ok(settings)
    }

    /// Appends the frame; entries in the order they were added.
    pub fn encode(&self, dst: &mut BytesMut) {
        let fl = if self.ack { flags::ACK } else { 0 };
        let len = payload_len(self.raw.len());
        dst.reserve(super::HEADER_LEN.saturating_add(self.raw.len()));
        FrameHeader::new(kind::SETTINGS, fl, CONNECTION_STREAM, len).encode(dst);
        dst.put_slice(&self.raw);
    }
}

/// One 6-octet entry (`chunks_exact` never yields another length).
fn entry(e: &[u8]) -> Option<(u16, u32)> {
    match *e {
        [i0, i1, v0, v1, v2, v3] => Some((
            u16::from_be_bytes([i0, i1]),
            u32::from_be_bytes([v0, v1, v2, v3]),
        )),
        _ => None,
    }
}

/// The value rules of RFC 9113 §6.5.2, RFC 8441 §3 and RFC 9218 §2.1.
fn validate(id: u16, value: u32) -> Result<(), FrameError> {
    match id {
        Settings::ENABLE_PUSH if value > 1 => {
            Err(FrameError::protocol("SETTINGS_ENABLE_PUSH not 0 or 1"))
        }
        Settings::INITIAL_WINDOW_SIZE if value > 0x7fff_ffff => Err(FrameError::Connection(
            ErrorCode::FLOW_CONTROL_ERROR,
            "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
        )),
        Settings::MAX_FRAME_SIZE
            if !(super::DEFAULT_MAX_FRAME_SIZE..=super::MAX_MAX_FRAME_SIZE).contains(&value) =>
        {
            Err(FrameError::protocol(
                "SETTINGS_MAX_FRAME_SIZE outside 16384..=16777215",
            ))
        }
        Settings::ENABLE_CONNECT_PROTOCOL if value > 1 => Err(FrameError::protocol(
            "SETTINGS_ENABLE_CONNECT_PROTOCOL not 0 or 1",
        )),
        Settings::NO_RFC7540_PRIORITIES if value > 1 => Err(FrameError::protocol(
            "SETTINGS_NO_RFC7540_PRIORITIES not 0 or 1",
        )),
        _ => Ok(()),
    }
}

impl From<Settings> for Frame {
    fn from(f: Settings) -> Self {
        Self::Settings(f)
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
