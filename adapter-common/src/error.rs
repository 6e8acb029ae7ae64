//! The async adapters' error type (`adapter-tokio`, `adapter-smol`): what
//! failed, by layer.

use std::fmt;
use std::io;

use proto_core::{CloseReason, ErrorCode, PeerError, TimerKind, UserError};

/// A boxed error from user code (a service, a body).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What ran out of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Client: establishing the TCP connection (`ClientBuilder::connect_timeout`).
    Connect,
    /// Client: the whole request, up to the response head (`ClientBuilder::request_timeout`).
    Request,
    /// A protocol timer of the core (header read, idle, body read, shutdown drain).
    Protocol(TimerKind),
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect => f.write_str("connect"),
            Self::Request => f.write_str("request"),
            Self::Protocol(kind) => write!(f, "{kind:?}"),
        }
    }
}

/// Everything that can go wrong in an adapter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed (connect, read, write).
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The peer broke HTTP/1.1 framing or a configured limit.
    #[error("the peer violated the protocol: {0}")]
    Protocol(#[from] PeerError),
    /// The core refused a command (e.g. an invalid head, a body longer than
    /// its `content-length`).
    #[error("invalid use of the connection: {0}")]
    User(#[from] UserError),
    /// The exchange was abandoned before it completed.
    #[error("stream reset ({code}, by the {})", if *.remote { "peer" } else { "local end" })]
    Reset {
        /// Why (HTTP/2 code; HTTP/1 uses the closest one).
        code: ErrorCode,
        /// True when the peer caused it.
        remote: bool,
    },
    /// The connection closed before the exchange completed.
    #[error("connection closed before the exchange completed ({0:?})")]
    Closed(CloseReason),
    /// Something took too long.
    #[error("{0} timed out")]
    Timeout(TimeoutKind),
    /// A request or response body produced an error.
    #[error("body error: {0}")]
    Body(#[source] BoxError),
    /// The service returned an error.
    #[error("service error: {0}")]
    Service(#[source] BoxError),
    /// The operation was abandoned (its connection task went away).
    #[error("operation canceled")]
    Canceled,
    /// The request cannot be sent as given (e.g. an unsupported URI scheme).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// A received head could not be converted to `http` types.
    #[error("invalid message head: {0}")]
    Http(#[from] http::Error),
}

impl Error {
    /// True if something timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    /// True if the connection went away under the exchange (closed, reset,
    /// canceled, or an I/O error).
    pub fn is_closed(&self) -> bool {
        matches!(
            self,
            Self::Closed(_) | Self::Io(_) | Self::Canceled | Self::Reset { .. }
        )
    }
}

/// What the adapters need of [`Error`] beyond its public API: a trait, so
/// that it stays out of the API the adapters re-export.
pub trait ErrorExt: Sized {
    /// The error that ends exchanges still open when a connection closes
    /// for `reason`.
    fn from_close(reason: &CloseReason) -> Self;

    /// A copy of an I/O error for each exchange it ends.
    fn io_like(e: &io::Error) -> Self;

    /// Client: the request may be retried on a fresh connection when it was
    /// sent on a reused one (the server may have closed it in the meantime).
    fn is_retryable(&self) -> bool;
}

impl ErrorExt for Error {
    fn from_close(reason: &CloseReason) -> Self {
        match reason {
            CloseReason::Peer(e) => Self::Protocol(e.clone()),
            CloseReason::TimedOut(kind) => Self::Timeout(TimeoutKind::Protocol(*kind)),
            other => Self::Closed(other.clone()),
        }
    }

    fn io_like(e: &io::Error) -> Self {
        Self::Io(io::Error::new(e.kind(), e.to_string()))
    }

    fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Closed(CloseReason::Done) | Self::Io(_) | Self::Canceled
        ) || matches!(self, Self::Protocol(PeerError::UnexpectedEof))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_failed() {
        let e = Error::Reset {
            code: ErrorCode::CANCEL,
            remote: true,
        };
        assert_eq!(e.to_string(), "stream reset (CANCEL, by the peer)");
        let e = Error::from_close(&CloseReason::TimedOut(TimerKind::Idle));
        assert!(e.is_timeout());
        assert_eq!(e.to_string(), "Idle timed out");
        let e = Error::from_close(&CloseReason::Peer(PeerError::BadHost));
        assert!(matches!(e, Error::Protocol(PeerError::BadHost)));
    }
}
