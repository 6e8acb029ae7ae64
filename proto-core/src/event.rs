//! What the core tells the application: [`Event`]s drained by `poll_event`.

use crate::error::{CloseReason, ErrorCode};
use crate::head::{RequestHead, ResponseHead};

/// Identifies one request/response exchange on a connection.
///
/// HTTP/1 numbers exchanges 1, 3, 5, ... in order, the same ids an HTTP/2
/// client would use, so an `Upgrade: h2c` request keeps its id (1) across the
/// switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub(crate) u32);

impl StreamId {
    /// The numeric id.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Builds an id from its number (for tests and for protocols that carry it).
    pub const fn new(id: u32) -> Self {
        Self(id)
    }
}

impl core::fmt::Display for StreamId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

/// The protocol a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Version {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    Http11,
    /// HTTP/2.
    H2,
}

/// Which timer fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimerKind {
    /// A request head was not complete in time (server; slowloris defence).
    HeaderRead,
    /// A kept-alive connection saw no new request in time.
    Idle,
    /// A body made no progress in time.
    BodyRead,
    /// The client stopped waiting for `100 Continue` and sent the body.
    ExpectContinue,
    /// A graceful shutdown's drain deadline passed.
    ShutdownDrain,
    /// HTTP/2: the peer did not acknowledge our SETTINGS in time (§6.5.3).
    SettingsAck,
    /// HTTP/2: time to send a keep-alive PING (internal; not reported).
    KeepAlive,
    /// HTTP/2: a keep-alive PING went unanswered.
    PingTimeout,
    /// HTTP/2: a header block (HEADERS + CONTINUATION) did not complete in time.
    HeaderBlock,
    /// Bytes were owed to the peer and the transport took none of them in
    /// time: the peer does not read (slow-read defence).
    SendStall,
    /// An idle connection lets go of the storage it keeps for reuse
    /// (`Config::idle_release`; internal, not reported).
    IdleRelease,
}

/// What an `Upgrade` event switched to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UpgradeKind {
    /// A `101 Switching Protocols` exchange (RFC 9110 §7.8).
    Protocol,
    /// A successful `CONNECT` tunnel (RFC 9110 §9.3.6).
    Connect,
}

/// Something that happened on the connection.
///
/// Every stream ends with exactly one terminal event: [`Event::Finished`] or
/// [`Event::Reset`]. Every connection ends with exactly one [`Event::Closed`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The protocol is known (emitted once, first).
    Negotiated {
        /// The version in use.
        version: Version,
    },
    /// Server: a request head arrived.
    Request {
        /// The new stream.
        id: StreamId,
        /// The request head.
        head: RequestHead,
        /// True when the request has no body.
        end_stream: bool,
    },
    /// Client: the final response head arrived.
    Response {
        /// The request's stream.
        id: StreamId,
        /// The response head.
        head: ResponseHead,
        /// True when the response has no body.
        end_stream: bool,
    },
    /// Client: an interim (1xx) response arrived, e.g. 103 Early Hints.
    Informational {
        /// The request's stream.
        id: StreamId,
        /// The interim head (status 100..=199 other than 101).
        head: ResponseHead,
    },
    /// Server: the request carries `Expect: 100-continue`. Reading the body
    /// sends `100 Continue` automatically; `accept_continue` sends it now; a
    /// final response (e.g. 417) refuses the body.
    ContinueRequested {
        /// The request's stream.
        id: StreamId,
    },
    /// Body data (or the end of the body) can be read with `stream(id).read()`.
    Readable {
        /// The stream.
        id: StreamId,
    },
    /// More body may now be written on this stream.
    Writable {
        /// The stream.
        id: StreamId,
    },
    /// The exchange completed in both directions; the id is retired.
    Finished {
        /// The stream.
        id: StreamId,
    },
    /// The exchange was abandoned before completing.
    Reset {
        /// The stream.
        id: StreamId,
        /// Why (HTTP/2 code; HTTP/1 uses the closest one).
        code: ErrorCode,
        /// True when the peer caused it.
        remote: bool,
    },
    /// Client: a new request may be sent.
    StreamsAvailable,
    /// The connection switched protocols; take the leftover bytes with
    /// `take_upgrade(id)`. `Closed { reason: Upgraded }` follows.
    Upgrade {
        /// The stream that upgraded.
        id: StreamId,
        /// 101 or CONNECT.
        kind: UpgradeKind,
    },
    /// HTTP/2: the peer's SETTINGS arrived and were applied (and acknowledged).
    PeerSettings {
        /// The frame as received (entries in wire order).
        settings: crate::h2::frame::Settings,
    },
    /// HTTP/2: the answer to our PING.
    Pong {
        /// The PING's opaque data.
        payload: [u8; 8],
    },
    /// HTTP/2: the peer changed a stream's priority (RFC 9218 PRIORITY_UPDATE).
    /// The stream may not be open yet (§7.1 allows it for idle streams): this
    /// event does not open it, and no terminal event follows for a stream
    /// the peer never opens.
    PriorityUpdate {
        /// The stream.
        id: StreamId,
        /// Urgency, 0 (highest) ..= 7.
        urgency: u8,
        /// Incremental delivery.
        incremental: bool,
    },
    /// HTTP/2: a GOAWAY was received (`remote`) or sent. Streams above
    /// `last_stream_id` that we opened were not processed and are reset with
    /// REFUSED_STREAM (safe to retry on a new connection).
    GoAway {
        /// The last stream the sender processes.
        last_stream_id: StreamId,
        /// Why.
        code: ErrorCode,
        /// Opaque debug data.
        debug: bytes::Bytes,
        /// True when the peer sent it.
        remote: bool,
    },
    /// A timer expired and the core acted on it.
    TimedOut {
        /// Which timer.
        kind: TimerKind,
    },
    /// The connection is finished. Write out what `poll_transmit` still
    /// yields, then close the transport. Emitted exactly once.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}
