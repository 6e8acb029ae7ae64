//! The adapter's error type.

use std::io;

use proto_core::{CloseReason, ErrorCode};

pub use adapter_common::error::{BoxError, TimeoutKind};

/// Why a request, a response or a connection failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// The connection closed (for the reason given) before the exchange
    /// completed.
    #[error("connection closed: {0:?}")]
    Closed(CloseReason),
    /// The connection went away without saying why (its thread ended).
    #[error("connection gone")]
    Canceled,
    /// The exchange was reset (`remote`: by the peer).
    #[error("stream reset ({code}, remote: {remote})")]
    Reset {
        /// The HTTP/2 error code (HTTP/1 uses the closest one).
        code: ErrorCode,
        /// True when the peer reset it.
        remote: bool,
    },
    /// The request could not be turned into a message (bad URI, header...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The response head could not be represented with `http` types.
    #[error("invalid response: {0}")]
    InvalidResponse(#[from] http::Error),
    /// The exchange did not switch protocols (see
    /// [`OnUpgrade`](crate::upgrade::OnUpgrade)).
    #[error("the exchange did not switch protocols")]
    NoUpgrade,
    /// Client: connecting, or the whole request up to the response head,
    /// took longer than the [`ClientBuilder`](crate::ClientBuilder) allows.
    #[error("timed out: {0}")]
    Timeout(TimeoutKind),
}

impl Error {
    pub(crate) fn from_close(reason: &CloseReason) -> Self {
        Self::Closed(reason.clone())
    }

    /// A copy good enough to hand to several waiters.
    pub(crate) fn duplicate(&self) -> Self {
        match self {
            Self::Io(e) => Self::Io(io::Error::new(e.kind(), e.to_string())),
            Self::Closed(r) => Self::Closed(r.clone()),
            Self::Canceled => Self::Canceled,
            Self::Reset { code, remote } => Self::Reset {
                code: *code,
                remote: *remote,
            },
            Self::InvalidRequest(s) => Self::InvalidRequest(s.clone()),
            Self::InvalidResponse(e) => Self::InvalidRequest(e.to_string()),
            Self::NoUpgrade => Self::NoUpgrade,
            Self::Timeout(kind) => Self::Timeout(*kind),
        }
    }

    /// As an `io::Error` (for body readers and writers).
    pub(crate) fn into_io(self) -> io::Error {
        match self {
            Self::Io(e) => e,
            other => io::Error::new(io::ErrorKind::ConnectionAborted, other),
        }
    }
}
