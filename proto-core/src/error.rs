//! Errors, split by who is at fault (the peer, or the local application) and
//! by scope (one stream, or the whole connection).

use crate::event::TimerKind;

/// A wire error code (HTTP/2, RFC 9113 §7). Open: unknown codes stay
/// representable. HTTP/1 reuses these to describe why a stream was abandoned.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

macro_rules! error_codes {
    ($($name:ident = $value:expr,)*) => {
        impl ErrorCode {
            $(
                #[doc = concat!("`", stringify!($name), "` (RFC 9113 §7).")]
                pub const $name: Self = Self($value);
            )*

            /// The registered name, if the code is known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    NO_ERROR = 0x0,
    PROTOCOL_ERROR = 0x1,
    INTERNAL_ERROR = 0x2,
    FLOW_CONTROL_ERROR = 0x3,
    SETTINGS_TIMEOUT = 0x4,
    STREAM_CLOSED = 0x5,
    FRAME_SIZE_ERROR = 0x6,
    REFUSED_STREAM = 0x7,
    CANCEL = 0x8,
    COMPRESSION_ERROR = 0x9,
    CONNECT_ERROR = 0xa,
    ENHANCE_YOUR_CALM = 0xb,
    INADEQUATE_SECURITY = 0xc,
    HTTP_1_1_REQUIRED = 0xd,
}

impl core::fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "ErrorCode({:#x})", self.0),
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

/// The peer broke HTTP/1.1 framing or a configured limit. Connection-scoped:
/// a server answers with [`PeerError::status`] and closes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// The start line or a field line is malformed (RFC 9112 §3, §5).
    #[error("malformed message head: {0}")]
    MalformedHead(&'static str),
    /// The head exceeded `max_head_bytes` (RFC 6585 §5: 431).
    #[error("message head too large")]
    HeadTooLarge,
    /// More fields than `max_headers` (431).
    #[error("too many header fields")]
    TooManyHeaders,
    /// The request target exceeded `max_uri_len` (RFC 9110 §15.5.15: 414).
    #[error("request target too long")]
    UriTooLong,
    /// An HTTP/1.1 request without exactly one `Host` (RFC 9112 §3.2).
    #[error("missing or duplicate Host")]
    BadHost,
    /// Ambiguous or invalid message framing (RFC 9112 §6.3): a smuggling vector.
    #[error("invalid message framing: {0}")]
    BadFraming(&'static str),
    /// A transfer coding we do not implement (RFC 9112 §6.1: 501).
    #[error("unsupported transfer coding")]
    UnsupportedTransferCoding,
    /// A malformed chunked body (RFC 9112 §7.1).
    #[error("invalid chunked body: {0}")]
    BadChunk(&'static str),
    /// The connection ended in the middle of a message.
    #[error("connection closed mid-message")]
    UnexpectedEof,
    /// A response arrived when no request was outstanding.
    #[error("unsolicited response")]
    UnexpectedResponse,
    /// The peer sent more body than a configured limit allows.
    #[error("body exceeds the configured limit")]
    BodyTooLarge,
    /// HTTP/2: a connection error (RFC 9113 §5.4.1); we sent GOAWAY with `code`.
    #[error("HTTP/2 connection error {code}: {reason}")]
    H2 {
        /// The error code sent in GOAWAY.
        code: ErrorCode,
        /// What was wrong.
        reason: &'static str,
    },
}

impl PeerError {
    /// The status a server answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            Self::HeadTooLarge | Self::TooManyHeaders => 431,
            Self::UriTooLong => 414,
            Self::UnsupportedTransferCoding => 501,
            Self::BodyTooLarge => 413,
            _ => 400,
        }
    }
}

/// The application called the core in a way the protocol state forbids.
/// Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// No such stream (never existed, or already finished).
    #[error("unknown stream")]
    UnknownStream,
    /// The command does not fit the stream's state (e.g. a second response).
    #[error("invalid in the stream's current state: {0}")]
    InvalidState(&'static str),
    /// Client: a request is already in flight on this HTTP/1 connection.
    #[error("connection busy")]
    Busy,
    /// The connection is closing or closed.
    #[error("connection closed")]
    Closed,
    /// The command is for the other role.
    #[error("wrong side for this command")]
    WrongSide,
    /// The head cannot be sent (e.g. a field with CR/LF, a bad status).
    #[error("invalid head: {0}")]
    InvalidHead(&'static str),
    /// More body was written than the declared `Content-Length`.
    #[error("body longer than its Content-Length")]
    BodyTooLong,
    /// The body ended before its declared `Content-Length`.
    #[error("body shorter than its Content-Length")]
    BodyTooShort,
}

/// Why a connection closed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// Orderly: keep-alive ended (`Connection: close`, HTTP/1.0, or the peer
    /// closed between messages).
    Done,
    /// The peer violated the protocol.
    Peer(PeerError),
    /// A timer expired.
    TimedOut(TimerKind),
    /// The application asked for it (`shutdown`).
    Shutdown,
    /// The application aborted an exchange that HTTP/1 cannot cancel alone.
    LocalReset,
    /// The connection was handed over to another protocol.
    Upgraded,
    /// HTTP/2: the peer sent GOAWAY with an error code.
    GoAway(ErrorCode),
}
