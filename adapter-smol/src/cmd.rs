//! Commands from stream handles (handler tasks, body pumps, [`Incoming`]
//! bodies, client requests) to the connection task that owns the core.
//!
//! [`Incoming`]: crate::Incoming

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use proto_core::{Fields, RequestHead, ResponseHead};

use crate::body::Incoming;
use crate::error::Error;
use crate::oneshot;
use crate::send::SendCredit;

pub(crate) type CmdTx = async_channel::Sender<Cmd>;
pub(crate) type CmdRx = async_channel::Receiver<Cmd>;

/// Streams are named by a `key`: the stream id's number on a server, a
/// per-connection counter on a client (whose requests get their id only when
/// the core accepts them).
pub(crate) enum Cmd {
    /// Server: the response head, and the first body bytes if they were ready.
    Respond {
        key: u64,
        reply: Box<Reply>,
        credit: Option<Arc<SendCredit>>,
    },
    /// Client: a request to send.
    Request(Box<ClientRequest>),
    /// More body bytes (counted in the stream's `SendCredit`).
    Data { key: u64, data: Bytes },
    /// The body is complete.
    Finish { key: u64, trailers: Option<Fields> },
    /// The sending side failed (handler error or panic, body error).
    Abort { key: u64, error: Option<Error> },
    /// The receiving side made room, or wants the body for the first time.
    ReadCredit { key: u64 },
    /// The receiving side dropped its body before the end.
    BodyDropped { key: u64 },
}

/// A response ready to go: head plus whatever body was ready at once.
pub(crate) struct Reply {
    pub(crate) head: ResponseHead,
    pub(crate) data: Bytes,
    /// The body ends after `data` (and `trailers`).
    pub(crate) end: bool,
    pub(crate) trailers: Option<Fields>,
}

pub(crate) type ResponseTx = oneshot::Sender<Result<Response<Incoming>, Error>>;

/// A request handed to a client connection task.
pub(crate) struct ClientRequest {
    pub(crate) key: u64,
    pub(crate) head: RequestHead,
    pub(crate) data: Bytes,
    pub(crate) end: bool,
    pub(crate) trailers: Option<Fields>,
    pub(crate) credit: Option<Arc<SendCredit>>,
    pub(crate) resp_tx: ResponseTx,
    /// Streaming body: told when the request reaches the core, so that the
    /// body is polled only then (a request that never gets there keeps its
    /// body, and can be sent on another connection).
    pub(crate) start: Option<oneshot::Sender<()>>,
}
