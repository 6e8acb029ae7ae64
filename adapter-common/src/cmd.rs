//! Commands from stream handles (handler tasks, body pumps, [`Incoming`]
//! bodies, client requests) to the connection task that owns the core.
//!
//! [`Incoming`]: crate::body::Incoming

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use proto_core::{Fields, RequestHead, ResponseHead};
use tokio::sync::oneshot;

use crate::body::Incoming;
use crate::chan;
use crate::error::Error;
use crate::send::SendCredit;

/// Where stream handles send their commands.
pub type CmdTx = chan::Sender<Cmd>;
/// A [`CmdTx`] that does not keep the connection's channel open.
pub type WeakCmdTx = chan::WeakSender<Cmd>;
/// The connection task's end of the command channel.
pub type CmdRx = chan::Receiver<Cmd>;

/// A connection's command channel.
pub fn channel() -> (CmdTx, CmdRx) {
    chan::channel()
}

/// Streams are named by a `key`: the stream id's number on a server, a
/// per-connection counter on a client (whose requests get their id only when
/// the core accepts them).
#[derive(Debug)]
pub enum Cmd {
    /// Server: the response head, and the first body bytes if they were ready.
    Respond {
        /// The stream.
        key: u64,
        /// The head and what of the body was ready.
        reply: Box<Reply>,
        /// The send window of a body that continues (`None`: it ended).
        credit: Option<Arc<SendCredit>>,
    },
    /// Client: a request to send.
    Request(Box<ClientRequest>),
    /// More body bytes (counted in the stream's `SendCredit`).
    Data {
        /// The stream.
        key: u64,
        /// The bytes.
        data: Bytes,
    },
    /// The body is complete.
    Finish {
        /// The stream.
        key: u64,
        /// Trailers to send after the data, if any.
        trailers: Option<Fields>,
    },
    /// The sending side failed (handler error or panic, body error).
    Abort {
        /// The stream.
        key: u64,
        /// What failed, if known.
        error: Option<Error>,
    },
    /// The receiving side made room, or wants the body for the first time.
    ReadCredit {
        /// The stream.
        key: u64,
    },
    /// The receiving side dropped its body before the end.
    BodyDropped {
        /// The stream.
        key: u64,
    },
}

/// A response ready to go: head plus whatever body was ready at once.
#[derive(Debug)]
pub struct Reply {
    /// The response head.
    pub head: ResponseHead,
    /// The first body bytes (all of them when `end`).
    pub data: Bytes,
    /// The body ends after `data` (and `trailers`).
    pub end: bool,
    /// Trailers to send at the end, if any.
    pub trailers: Option<Fields>,
}

impl Reply {
    /// A response with no body (errors the adapter answers by itself).
    pub fn status(status: u16) -> Self {
        Self {
            head: crate::conv::status_head(status),
            data: Bytes::new(),
            end: true,
            trailers: None,
        }
    }
}

/// Where a client connection task sends a request's response.
pub type ResponseTx = oneshot::Sender<Result<Response<Incoming>, Error>>;

/// A request handed to a client connection task.
#[derive(Debug)]
pub struct ClientRequest {
    /// The request's key on its connection.
    pub key: u64,
    /// The request head.
    pub head: RequestHead,
    /// The first body bytes (all of them when `end`).
    pub data: Bytes,
    /// The body ends after `data` (and `trailers`).
    pub end: bool,
    /// Trailers to send at the end, if any.
    pub trailers: Option<Fields>,
    /// The send window of a body that continues.
    pub credit: Option<Arc<SendCredit>>,
    /// Where the response goes.
    pub resp_tx: ResponseTx,
    /// Streaming body: told when the request reaches the core, so that the
    /// body is polled only then (a request that never gets there keeps its
    /// body, and can be sent on another connection).
    pub start: Option<oneshot::Sender<()>>,
}
