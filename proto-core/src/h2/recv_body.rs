//! HTTP/2 receiving content: DATA frames into per-stream queues (RFC 9113
//! §6.1, §8.1.1), reading them out, and giving window back (§6.9).

use super::flow::DEFAULT_WINDOW;
use super::frame::{self};
use super::stream::HeadState;
use crate::connection::{ReadChunk, Side};
use crate::error::ErrorCode;
use crate::event::{Event, StreamId};

use super::conn::H2Conn;

impl H2Conn {
    pub(super) fn on_data(&mut self, d: frame::Data) {
        let id = d.stream_id.get();
        let flow_len = d.flow_controlled_len() as usize;
        // §6.9.1: the connection window counts every DATA frame.
        if self.recv_window.consume(flow_len).is_err() {
            return self
                .connection_error(ErrorCode::FLOW_CONTROL_ERROR, "connection window exceeded");
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            // Its window is still ours to restore.
            self.release_connection(flow_len);
            if !self.is_closed_id(id) {
                return self.connection_error(ErrorCode::PROTOCOL_ERROR, "DATA on an idle stream");
            }
            if !self.recent_resets.contains(&id) {
                // A reset the peer provoked: it costs a token (MadeYouReset).
                return self.peer_stream_error(
                    d.stream_id,
                    ErrorCode::STREAM_CLOSED,
                    "DATA on a closed stream",
                );
            }
            return;
        };
        if !stream.state.recv_open() {
            // §5.1 half-closed (remote): STREAM_CLOSED, at the cost of a
            // reset token (MadeYouReset, CVE-2025-8671).
            self.release_connection(flow_len);
            return self.peer_stream_error(
                d.stream_id,
                ErrorCode::STREAM_CLOSED,
                "DATA after END_STREAM",
            );
        }
        if stream.head == HeadState::Pending && self.side == Side::Client {
            self.release_connection(flow_len);
            return self.peer_stream_error(
                d.stream_id,
                ErrorCode::PROTOCOL_ERROR,
                "DATA before the response head",
            );
        }
        if stream.recv_window.consume(flow_len).is_err() {
            self.release_connection(flow_len);
            return self.peer_stream_error(
                d.stream_id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "stream window exceeded",
            );
        }
        // Padding is never read by anyone: give its window back now.
        let padding = flow_len - d.data.len();
        stream.received_len = stream.received_len.saturating_add(d.data.len() as u64);
        if stream.expected_len.is_some_and(|n| stream.received_len > n) {
            self.release_connection(flow_len);
            return self.peer_stream_error(
                d.stream_id,
                ErrorCode::PROTOCOL_ERROR,
                "more DATA than content-length",
            );
        }
        if d.data.is_empty() && !d.end_stream {
            self.count_empty_frame();
        }
        if padding > 0 {
            self.release_stream(id, padding);
            self.release_connection(padding);
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        if !d.data.is_empty() {
            stream.buffered += d.data.len();
            stream.queue.push_back(d.data);
            self.signal_readable(id);
        }
        if d.end_stream {
            self.recv_end_stream(id);
        }
    }

    pub(super) fn signal_readable(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(&id) {
            if !s.readable_signaled {
                s.readable_signaled = true;
                self.events.push_back(Event::Readable { id: s.id });
            }
        }
    }

    /// The peer ended its side of `id` (END_STREAM).
    pub(super) fn recv_end_stream(&mut self, id: u32) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.expected_len.is_some_and(|n| n != s.received_len) {
            // §8.1.1: content-length must match the DATA received.
            let sid = s.id;
            return self.peer_stream_error(
                sid,
                ErrorCode::PROTOCOL_ERROR,
                "content-length mismatch",
            );
        }
        s.state = s.state.recv_end();
        self.signal_readable(id);
        self.maybe_retire(id);
    }

    pub(crate) fn read(&mut self, id: StreamId) -> ReadChunk {
        let key = id.get();
        let Some(s) = self.streams.get_mut(&key) else {
            return ReadChunk::End;
        };
        if s.expect_continue {
            s.expect_continue = false;
            if s.head == HeadState::Pending {
                self.send_continue(id);
            }
        }
        let Some(s) = self.streams.get_mut(&key) else {
            return ReadChunk::End;
        };
        if let Some(data) = s.queue.pop_front() {
            s.buffered -= data.len();
            let n = data.len();
            if self.cfg.h2.manual_flow_control {
                s.held += n;
            } else {
                self.release_stream(key, n);
                self.release_connection(n);
            }
            return ReadChunk::Data(data);
        }
        if s.state.recv_open() {
            s.readable_signaled = false;
            return ReadChunk::Blocked;
        }
        if let Some(t) = s.trailers.take() {
            return ReadChunk::Trailers(t);
        }
        s.end_read = true;
        self.maybe_retire(key);
        ReadChunk::End
    }

    /// Manual flow control: the application consumed `n` bytes of `id`.
    pub(crate) fn release(&mut self, id: StreamId, n: usize) {
        if !self.cfg.h2.manual_flow_control {
            return;
        }
        let Some(s) = self.streams.get_mut(&id.get()) else {
            return;
        };
        // Only what was read can be released (the peer's window is ours to
        // account, not the application's to inflate).
        let n = n.min(s.held);
        s.held -= n;
        self.release_stream(id.get(), n);
        self.release_connection(n);
    }

    /// The application consumed `n` bytes of stream `id`: return them to the
    /// peer once enough accumulated (batched WINDOW_UPDATE, §6.9).
    pub(super) fn release_stream(&mut self, id: u32, n: usize) {
        let threshold = self.cfg.h2.initial_window_size.max(DEFAULT_WINDOW) / 2;
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if !s.state.recv_open() {
            return; // The peer sends nothing more on it.
        }
        s.unreleased = s
            .unreleased
            .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        if s.unreleased >= threshold {
            let inc = core::mem::take(&mut s.unreleased);
            let _ = s.recv_window.increase(inc);
            let sid = s.id;
            self.send_frame(frame::WindowUpdate::new(sid, inc));
        }
    }

    pub(super) fn release_connection(&mut self, n: usize) {
        let threshold = self.cfg.h2.connection_window_size.max(DEFAULT_WINDOW) / 2;
        self.unreleased = self
            .unreleased
            .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        if self.unreleased >= threshold && !self.closed {
            let inc = core::mem::take(&mut self.unreleased);
            let _ = self.recv_window.increase(inc);
            self.send_frame(frame::WindowUpdate::new(frame::CONNECTION_STREAM, inc));
        }
    }
}
