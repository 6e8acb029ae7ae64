//! Per-stream state of an HTTP/2 connection (RFC 9113 §5.1).
//!
//! The stream states (push is disabled, so the reserved states never occur):
//!
//! ```text
//!                          +--------+
//!                  send H  |        |  recv H
//!                ,---------+  idle  +---------.
//!               /          |        |          \
//!              v           +--------+           v
//!                          +--------+
//!                  recv ES |        | send ES
//!                ,---------+  open  +---------.
//!               /          |        |          \
//!              v           +---+----+           v
//!      +----------+            |            +----------+
//!      |   half-  |            |            |   half-  |
//!      |  closed  |            | send R /   |  closed  |
//!      | (remote) |            | recv R     |  (local) |
//!      +----+-----+            |            +-----+----+
//!           | send ES /        |         recv ES / |
//!           | send R /         v          send R / |
//!           | recv R       +--------+     recv R   |
//!           `------------->| closed |<-------------'
//!                          +--------+
//!   H: HEADERS   ES: END_STREAM flag   R: RST_STREAM
//! ```
//!
//! `idle` streams are not stored: an id above the highest one seen is idle,
//! one at or below it that is not in the table is closed.

use std::collections::VecDeque;

use bytes::Bytes;

use super::flow::Window;
use crate::event::StreamId;
use crate::head::{Fields, Method};

/// RFC 9113 §5.1 states a stored stream can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Open,
    /// We sent END_STREAM; the peer may still send.
    HalfClosedLocal,
    /// The peer sent END_STREAM; we may still send.
    HalfClosedRemote,
    /// Both sides ended; kept only until the application has read the end.
    Closed,
}

impl State {
    pub(crate) fn recv_open(self) -> bool {
        matches!(self, Self::Open | Self::HalfClosedLocal)
    }

    pub(crate) fn send_open(self) -> bool {
        matches!(self, Self::Open | Self::HalfClosedRemote)
    }

    /// The peer ended its side.
    pub(crate) fn recv_end(self) -> Self {
        match self {
            Self::Open => Self::HalfClosedRemote,
            _ => Self::Closed,
        }
    }

    /// We ended our side.
    pub(crate) fn send_end(self) -> Self {
        match self {
            Self::Open => Self::HalfClosedLocal,
            _ => Self::Closed,
        }
    }
}

/// Where the response head is (client: received; server: sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeadState {
    /// No final head yet (1xx may have passed).
    Pending,
    /// The final head went; the next HEADERS are trailers.
    Final,
}

#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) id: StreamId,
    pub(crate) state: State,
    /// The request method (HEAD responses carry no content; CONNECT tunnels).
    pub(crate) method: Method,
    pub(crate) head: HeadState,
    /// What we may still send (peer's window for this stream).
    pub(crate) send_window: Window,
    /// What the peer may still send us.
    pub(crate) recv_window: Window,
    /// Bytes the application consumed and we have not yet returned to the
    /// peer with WINDOW_UPDATE (batched).
    pub(crate) unreleased: u32,
    /// Manual flow control: bytes read but not yet released by the
    /// application; given back to the connection window if the stream ends.
    pub(crate) held: usize,
    /// Received content not yet read; `buffered` is the sum of the lengths
    /// (bounded by the receive window we advertise).
    pub(crate) queue: VecDeque<Bytes>,
    pub(crate) buffered: usize,
    pub(crate) trailers: Option<Fields>,
    pub(crate) readable_signaled: bool,
    /// The application read `End` (client streams retire only then).
    pub(crate) end_read: bool,
    /// `content-length` of the received message, checked against DATA (§8.1.1).
    pub(crate) expected_len: Option<u64>,
    pub(crate) received_len: u64,
    /// Body bytes accepted by `write`, not yet framed; windows are already
    /// debited for them, so framing never waits for flow control.
    pub(crate) pending: VecDeque<Bytes>,
    pub(crate) pending_len: usize,
    /// `finish` was called: END_STREAM (and trailers) go after `pending`.
    pub(crate) finish: Option<Option<Fields>>,
    /// The stream is in the scheduler's ready queue.
    pub(crate) scheduled: bool,
    pub(crate) write_wanted: bool,
    /// RFC 9218 priority: urgency 0 (highest) ..= 7, and incremental.
    pub(crate) urgency: u8,
    pub(crate) incremental: bool,
    /// Server: `Expect: 100-continue` not answered yet.
    pub(crate) expect_continue: bool,
}

impl Stream {
    pub(crate) fn new(id: StreamId, method: Method, send_window: u32, recv_window: u32) -> Self {
        let (queue, pending) = (VecDeque::new(), VecDeque::new());
        Self::with_queues(id, method, send_window, recv_window, queue, pending)
    }

    /// A stream given its body queues (recycled ones, so that its first body
    /// piece costs no allocation): `queue` for received content, `pending`
    /// for content to send.
    pub(crate) fn with_queues(
        id: StreamId,
        method: Method,
        send_window: u32,
        recv_window: u32,
        queue: VecDeque<Bytes>,
        pending: VecDeque<Bytes>,
    ) -> Self {
        Self {
            id,
            state: State::Open,
            method,
            head: HeadState::Pending,
            send_window: Window::new(send_window),
            recv_window: Window::new(recv_window),
            unreleased: 0,
            held: 0,
            queue,
            buffered: 0,
            trailers: None,
            readable_signaled: false,
            end_read: false,
            expected_len: None,
            received_len: 0,
            pending,
            pending_len: 0,
            finish: None,
            scheduled: false,
            write_wanted: false,
            urgency: 3,
            incremental: false,
            expect_continue: false,
        }
    }
}
