//! Per-exchange state of an HTTP/1.1 connection.
//!
//! Each exchange (request + response) has two independent halves:
//!
//! ```text
//!  receive half (peer -> us)              send half (us -> peer)
//!  AwaitHead --head--> Body --end--> Complete      Idle --head--> Body --finish--> Done
//!       \                \                            \                 ^
//!        `----------------`--> Aborted                 `--> Queued -----'   (server, pipelined:
//!                                                                            head waits its turn)
//! ```
//!
//! A server's receive half starts at `Body` (the request head created the
//! stream); a client's send half starts at `Body` (the request head was sent).

use std::collections::VecDeque;

use bytes::Bytes;

use crate::error::ErrorCode;
use crate::event::{StreamId, Version};
use crate::head::{Fields, Method};

/// How the body we send is framed (RFC 9112 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoder {
    /// `content-length`; invariant: `remaining` is what may still be written.
    Length { remaining: u64 },
    /// `transfer-encoding: chunked`.
    Chunked,
    /// Ends when the connection closes (HTTP/1.0 peers).
    Close,
    /// The message has no body on the wire (HEAD, 204, 304): writes are
    /// accepted and dropped.
    Discard,
}

#[derive(Debug)]
pub(crate) enum SendState {
    /// Server: no response yet.
    Idle,
    /// Server: the response head is rendered but an earlier response is still
    /// being sent (pipelining); it goes out when this stream is at the front.
    Queued {
        head: Bytes,
        encoder: Encoder,
        end: bool,
        upgrade: bool,
    },
    /// The head is out; body writes go through `encoder`.
    Body(Encoder),
    /// The message is complete (or abandoned).
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvState {
    /// Client: waiting for the response head.
    AwaitHead,
    /// Body bytes are still arriving.
    Body,
    /// The whole body arrived (it may still be queued for the application).
    Complete,
    /// The body will never complete.
    Aborted(ErrorCode),
}

/// `Expect: 100-continue` handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Continue {
    /// Not asked for, or already settled.
    None,
    /// Server: the client waits for `100 Continue`.
    Expected,
    /// Server: the application wants it sent, but an earlier response is
    /// still going out; sent when this stream reaches the front.
    Wanted,
    /// Client: the body is held until `100`, a final response, or the timeout.
    Waiting,
    /// Client: a final response came first; the body will not be sent.
    Refused,
}

#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) id: StreamId,
    /// The request method (HEAD and CONNECT change response framing).
    pub(crate) method: Method,
    /// The peer's HTTP version (server: the request's).
    pub(crate) peer_version: Version,
    pub(crate) recv: RecvState,
    /// Received body pieces not yet read; invariant: `buffered` is the sum of
    /// their lengths and stays within `Config::max_recv_buffer`.
    pub(crate) queue: VecDeque<Bytes>,
    pub(crate) buffered: usize,
    /// Received trailer fields, handed out by `read` after the last data.
    pub(crate) trailers: Option<Fields>,
    /// A `Readable` is outstanding: not repeated until a read returns `Blocked`.
    pub(crate) readable_signaled: bool,
    /// Client: the application has read `End`.
    pub(crate) end_read: bool,
    /// Server: the response is done, remaining body bytes are thrown away;
    /// `drained` counts them against `Config::max_drain`.
    pub(crate) discard: bool,
    pub(crate) drained: u64,
    pub(crate) send: SendState,
    /// A write was cut short: emit `Writable` when capacity returns.
    pub(crate) write_wanted: bool,
    pub(crate) expect: Continue,
    /// The request asked to switch protocols (Upgrade or CONNECT).
    pub(crate) upgrade_requested: bool,
    /// This exchange ends the connection (`Connection: close`, HTTP/1.0, ...).
    pub(crate) close_after: bool,
}

impl Stream {
    pub(crate) fn new(
        id: StreamId,
        method: Method,
        peer_version: Version,
        recv: RecvState,
    ) -> Self {
        Self {
            id,
            method,
            peer_version,
            recv,
            queue: VecDeque::new(),
            buffered: 0,
            trailers: None,
            readable_signaled: false,
            end_read: false,
            discard: false,
            drained: 0,
            send: SendState::Idle,
            write_wanted: false,
            expect: Continue::None,
            upgrade_requested: false,
            close_after: false,
        }
    }

    pub(crate) fn send_done(&self) -> bool {
        matches!(self.send, SendState::Done)
    }

    pub(crate) fn recv_finished(&self) -> bool {
        matches!(self.recv, RecvState::Complete | RecvState::Aborted(_))
    }

    /// True when nothing of the response has reached the transmit queue.
    pub(crate) fn response_unsent(&self) -> bool {
        matches!(self.send, SendState::Idle | SendState::Queued { .. })
    }
}
