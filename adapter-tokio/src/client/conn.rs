//! The client side of a connection task, and [`SendRequest`], the handle
//! that sends requests to it.
//!
//! HTTP/1.1 carries one exchange at a time; HTTP/2 many at once, up to the
//! peer's `SETTINGS_MAX_CONCURRENT_STREAMS`. Either way a request goes to the
//! core as soon as the core takes it (`send_request` until `Busy`); the
//! others wait in a queue in the connection task until the core says
//! `StreamsAvailable` (HTTP/1: the exchange ended; HTTP/2: a stream ended or
//! the limit grew). A request body that is not complete at once is polled
//! only once its request reached the core (the `start` signal), by its own
//! pump task, so no body bytes pile up for queued requests, and a request
//! that never got there still has its body.
//!
//! HTTP/2 retirement: after a GOAWAY (sent or received), when the core
//! refuses new streams (`UserError::Closed`, e.g. stream ids exhausted), or
//! when the connection closes, the connection leaves the pool and takes no
//! new requests. Requests still queued are refused locally, like those the
//! peer refused above its GOAWAY's last stream id: both end with
//! `REFUSED_STREAM`, were not processed, and may be sent again on a new
//! connection (RFC 9113 §8.7), which [`Client`](crate::Client) does once.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Buf;
use http::{Request, Response};
use http_body::Body;
use proto_core::{Config, Protocol, Side};
use tokio::io::{AsyncRead, AsyncWrite};

pub(crate) use adapter_common::client::PoolHook;
use adapter_common::client::{ClientHandler, send_or_return};
pub(crate) use adapter_common::client::{Failed, Outgoing};

use crate::body::Incoming;
use crate::cmd::CmdTx;
use crate::driver::Driver;
use crate::error::{BoxError, Error};

/// Sends requests on one connection. Cheap to clone.
///
/// HTTP/1.1: requests given while one is in flight wait their turn (no
/// multiplexing). HTTP/2: requests run concurrently on their own streams, as
/// many as the server allows at once; the rest wait for a stream to end.
#[derive(Clone, Debug)]
pub struct SendRequest {
    tx: CmdTx,
    next_key: Arc<AtomicU64>,
    /// HTTP/2: many requests at once; refused ones may be sent again.
    multiplex: bool,
    /// Set by the connection task once it takes no new requests (HTTP/2
    /// GOAWAY, stream ids exhausted).
    retired: Arc<AtomicBool>,
}

impl SendRequest {
    /// Sends `req` and waits for the response head. `req`'s URI may be in
    /// origin form (`/path`) if it carries a `Host` header, or absolute
    /// (`Host` is then taken from it).
    pub async fn send_request<B>(&self, req: Request<B>) -> Result<Response<Incoming>, Error>
    where
        B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
    {
        let (parts, body) = req.into_parts();
        let out = Outgoing::prepare(&parts, body).await?;
        self.send(out).await
    }

    /// True once the connection is closed, or (HTTP/2) takes no new
    /// requests since a GOAWAY: requests would fail.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed() || self.retired.load(Ordering::Acquire)
    }

    /// True if the connection speaks HTTP/2 (requests are multiplexed).
    pub fn is_http2(&self) -> bool {
        self.multiplex
    }

    pub(crate) async fn send<B>(&self, out: Outgoing<B>) -> Result<Response<Incoming>, Error>
    where
        B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
    {
        self.send_or_return(out).await.map_err(|f| f.error)
    }

    /// Sends `out`; on failure, gives it back if the peer did not process it
    /// and it can still be sent (HTTP/2 only: its body was complete at once,
    /// or was never polled).
    pub(crate) async fn send_or_return<B>(
        &self,
        out: Outgoing<B>,
    ) -> Result<Response<Incoming>, Failed<B>>
    where
        B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
    {
        let spawn = |pump| {
            tokio::spawn(pump);
        };
        send_or_return(&self.tx, &self.next_key, self.multiplex, out, spawn).await
    }
}

/// Builds a client connection over `io`: the handle, and the connection
/// task to spawn.
pub(crate) fn connection<IO>(
    io: IO,
    protocol: Protocol,
    config: Arc<Config>,
    hook: Option<PoolHook>,
) -> (
    SendRequest,
    impl Future<Output = Result<(), Error>> + use<IO>,
)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // A client given `Auto` speaks HTTP/1.1 (nothing to sniff).
    let multiplex = protocol == Protocol::Http2;
    let protocol = if multiplex {
        Protocol::Http2
    } else {
        Protocol::Http1
    };
    let (tx, rx) = crate::cmd::channel();
    let retired = Arc::new(AtomicBool::new(false));
    let handler = ClientHandler::new(tx.downgrade(), multiplex, retired.clone(), hook);
    let driver = Driver::new(io, Side::Client, protocol, config, rx, handler);
    let sender = SendRequest {
        tx,
        next_key: Arc::new(AtomicU64::new(1)),
        multiplex,
        retired,
    };
    (sender, driver.run(None))
}

/// Starts an HTTP/1.1 client connection over any transport (a `TcpStream`,
/// a TLS stream...): returns the handle to send requests with and the
/// connection future, which must be spawned (or otherwise polled) for
/// anything to happen. It resolves when the connection closes, which it does
/// once every [`SendRequest`] and response body is dropped.
pub fn handshake<IO>(io: IO) -> (SendRequest, impl Future<Output = Result<(), Error>>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    connection(io, Protocol::Http1, Config::default().into(), None)
}

/// [`handshake`] speaking `protocol`: [`Protocol::Http2`] starts HTTP/2 at
/// once (prior knowledge, RFC 9113 §3.3, or after TLS ALPN chose `h2`), and
/// the handle then multiplexes concurrent requests on the connection;
/// `Http1` (and `Auto`, for a client) speak HTTP/1.1.
pub fn handshake_with<IO>(
    io: IO,
    protocol: Protocol,
) -> (SendRequest, impl Future<Output = Result<(), Error>>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    connection(io, protocol, Config::default().into(), None)
}
