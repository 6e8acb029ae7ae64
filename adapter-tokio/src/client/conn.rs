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
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::{Buf, Bytes};
use http::{Request, Response};
use http_body::Body;
use proto_core::{Config, Fields, Protocol, RequestHead, Side};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::sync::oneshot;

pub(crate) use adapter_common::client::PoolHook;
use adapter_common::client::{ClientHandler, not_processed};

use crate::body::Incoming;
use crate::cmd::{ClientRequest, Cmd, CmdTx};
use crate::conv::request_head;
use crate::driver::Driver;
use crate::error::{BoxError, Error};
use crate::send::{SendCredit, first_part, pump};

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

/// A request that failed, given back when the peer did not process it
/// (HTTP/2 `REFUSED_STREAM`, or never sent) and it can be sent again.
pub(crate) struct Failed<B> {
    pub(crate) error: Error,
    pub(crate) again: Option<Outgoing<B>>,
}

/// A request ready to hand to a connection: head, the body bytes that were
/// ready at once, and the rest of the body if any.
pub(crate) struct Outgoing<B> {
    pub(crate) head: RequestHead,
    pub(crate) data: Bytes,
    pub(crate) end: bool,
    pub(crate) trailers: Option<Fields>,
    pub(crate) rest: Option<Pin<Box<B>>>,
}

impl<B> Outgoing<B>
where
    B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
{
    pub(crate) async fn prepare(parts: &http::request::Parts, body: B) -> Result<Self, Error> {
        let head = request_head(parts, body.size_hint().exact());
        if body.is_end_stream() {
            return Ok(Self {
                head,
                data: Bytes::new(),
                end: true,
                trailers: None,
                rest: None,
            });
        }
        let mut body = Box::pin(body);
        let first = first_part(body.as_mut()).await;
        if let Some(e) = first.error {
            return Err(Error::Body(e));
        }
        let rest = if first.end { None } else { Some(body) };
        Ok(Self {
            head,
            data: first.data,
            end: first.end,
            trailers: first.trailers,
            rest,
        })
    }

    /// A copy to send again, if the body was complete at once.
    pub(crate) fn replay(&self) -> Option<Self> {
        self.rest.is_none().then(|| Self {
            head: self.head.clone(),
            data: self.data.clone(),
            end: self.end,
            trailers: self.trailers.clone(),
            rest: None,
        })
    }
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
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let (resp_tx, resp_rx) = oneshot::channel();
        // HTTP/2: what it takes to send the request again if it is refused.
        let mut spare = self.multiplex.then(|| Outgoing {
            head: out.head.clone(),
            data: out.data.clone(),
            end: out.end,
            trailers: out.trailers.clone(),
            rest: None,
        });
        let Outgoing {
            head,
            data,
            end,
            trailers,
            mut rest,
        } = out;
        let (start, start_rx) = match rest {
            Some(_) => {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let credit = rest.as_ref().map(|_| SendCredit::new(data.len()));
        let req = ClientRequest {
            key,
            head,
            data,
            end,
            trailers,
            credit: credit.clone(),
            resp_tx,
            start,
        };
        if self.tx.send(Cmd::Request(Box::new(req))).is_err() {
            // Never reached the connection: nothing was sent.
            let again = spare.map(|mut s| {
                s.rest = rest;
                s
            });
            return Err(Failed {
                error: Error::Canceled,
                again,
            });
        }
        if let (Some(start_rx), Some(credit)) = (start_rx, credit) {
            // Dropped unsent (refused, canceled, connection gone): the body
            // stays here, untouched.
            if start_rx.await.is_ok() {
                if let Some(mut body) = rest.take() {
                    let tx = self.tx.clone();
                    tokio::spawn(async move { pump(body.as_mut(), key, &tx, &credit).await });
                }
                // Polled by the pump now: it cannot be sent again.
                spare = None;
            }
        }
        match resp_rx.await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(error)) => {
                let again = if not_processed(&error) {
                    spare.map(|mut s| {
                        s.rest = rest;
                        s
                    })
                } else {
                    None
                };
                Err(Failed { error, again })
            }
            Err(_) => Err(Failed {
                error: Error::Canceled,
                again: None,
            }),
        }
    }
}

/// Builds a client connection over `io`: the handle, and the connection
/// task to spawn.
pub(crate) fn connection<IO>(
    io: IO,
    protocol: Protocol,
    config: Config,
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
    let (tx, rx) = mpsc::unbounded_channel();
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
    connection(io, Protocol::Http1, Config::default(), None)
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
    connection(io, protocol, Config::default(), None)
}
