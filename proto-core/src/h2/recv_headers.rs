//! HTTP/2 receiving header sections: HEADERS and CONTINUATION assembly
//! (RFC 9113 §4.3, §6.2, §6.10), HPACK decoding, and the request, response
//! or trailers they carry (§8.1, §8.3).

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::flow::DEFAULT_WINDOW;
use super::frame::{self, FrameError};
use super::headers::{self, RequestBuilder, ResponseBuilder};
use super::stream::{HeadState, State, Stream};
use crate::connection::Side;
use crate::error::ErrorCode;
use crate::event::{Event, StreamId, TimerKind};
use crate::head::{Fields, Method};
use crate::hpack;

use super::conn::{FIELD_BUF_KEEP, H2Conn, PartialBlock};

impl H2Conn {
    pub(super) fn on_headers(&mut self, h: frame::Headers) {
        if let Some(e) = h.self_dependency_error() {
            // Still decode the block so the HPACK table stays in sync.
            let _ = self.decode_block(&h.block);
            if let FrameError::Stream(id, code, why) = e {
                self.peer_stream_error(id, code, why);
            }
            return;
        }
        if h.end_headers {
            return self.on_header_block(h.stream_id, h.block, h.end_stream);
        }
        if h.block.is_empty() {
            self.count_empty_frame();
        }
        self.partial = Some(PartialBlock {
            stream_id: h.stream_id,
            block: BytesMut::from(&h.block[..]),
            end_stream: h.end_stream,
            continuations: 0,
        });
        self.arm(TimerKind::HeaderBlock, self.cfg.header_read_timeout);
    }

    pub(super) fn on_continuation(&mut self, c: frame::Continuation) {
        let Some(p) = &mut self.partial else {
            // §6.10: CONTINUATION must follow HEADERS without END_HEADERS.
            return self.connection_error(ErrorCode::PROTOCOL_ERROR, "unexpected CONTINUATION");
        };
        p.continuations += 1;
        p.block.extend_from_slice(&c.block);
        if c.block.is_empty() && !c.end_headers {
            // Zero-length fragments carry nothing (CONTINUATION floods).
            self.count_empty_frame();
            if self.closed {
                return;
            }
        }
        let Some(p) = &mut self.partial else { return };
        // CVE-2024-27316 family: bound both the count and the bytes.
        let too_big = p.block.len() > 2 * self.cfg.h2.max_header_list_size as usize + 4096;
        if p.continuations > self.cfg.h2.max_continuation_frames || too_big {
            return self.connection_error(ErrorCode::ENHANCE_YOUR_CALM, "header block too large");
        }
        if c.end_headers {
            let Some(p) = self.partial.take() else { return };
            self.timers.stop(TimerKind::HeaderBlock);
            self.on_header_block(p.stream_id, p.block.freeze(), p.end_stream);
        }
    }

    /// Decodes a complete header block into a field list. `Err(None)`: a
    /// connection error was raised; `Err(Some(_))`: the list was too large.
    pub(super) fn decode_block(&mut self, block: &Bytes) -> Result<Vec<hpack::Field>, Option<()>> {
        // Reused between blocks: handed back once its fields are taken.
        let mut fields = core::mem::take(&mut self.field_buf);
        fields.reserve(16);
        let max = self.cfg.h2.max_header_list_size as usize;
        match self.decoder.decode(block, max, |f| fields.push(f)) {
            Ok(()) => Ok(fields),
            Err(hpack::DecodeError::HeaderListTooLarge) => Err(Some(())),
            Err(_) => {
                self.connection_error(ErrorCode::COMPRESSION_ERROR, "HPACK decoding failed");
                Err(None)
            }
        }
    }

    pub(super) fn on_header_block(&mut self, sid: StreamId, block: Bytes, end_stream: bool) {
        let id = sid.get();
        let decoded = self.decode_block(&block);
        if self.closed {
            return;
        }
        if self.streams.contains_key(&id) {
            return self.on_headers_existing(sid, decoded, end_stream);
        }
        if self.side == Side::Client || !self.peer_initiated(id) {
            // §5.1: HEADERS on a closed or idle stream of ours.
            if self.recent_resets.contains(&id) {
                return;
            }
            return self.connection_error(
                ErrorCode::PROTOCOL_ERROR,
                "HEADERS on a closed or idle stream",
            );
        }
        if id <= self.last_peer_id {
            if self.recent_resets.contains(&id) {
                return;
            }
            if self.recent_closed.contains(&id) {
                // §5.1: frames after END_STREAM on a closed stream.
                return self
                    .connection_error(ErrorCode::STREAM_CLOSED, "HEADERS on a closed stream");
            }
            // §5.1.1: ids only grow; a lower one is unexpected.
            return self
                .connection_error(ErrorCode::PROTOCOL_ERROR, "stream id lower than one used");
        }
        self.last_peer_id = id;
        if self.goaway_sent.is_some_and(|last| id > last) {
            // §6.8: streams above our GOAWAY are ignored.
            return;
        }
        let Ok(mut fields) = decoded else {
            // Too large: answer 431 rather than silently failing (RFC 6585 §5).
            self.refuse_with_status(sid, 431);
            return;
        };
        let max = self.cfg.h2.max_concurrent_streams as usize;
        let held = self.held_streams();
        // The open streams are some of the map's: counted only when the
        // map's size alone reaches the limit (not one by one per stream).
        if self.streams.len() + held >= max {
            let open = self
                .streams
                .values()
                .filter(|s| s.state != State::Closed)
                .count();
            if open + held >= max {
                // §5.1.2: over our limit. A refusal only due to streams the peer
                // got reset while their handlers run is more churn: it costs a
                // reset token (MadeYouReset).
                if open < max && !self.spend_reset_token() {
                    return;
                }
                return self.stream_error(sid, ErrorCode::REFUSED_STREAM);
            }
        }
        // Room for the regular fields and a `host` made from `:authority`.
        let regular = fields.iter().filter(|f| f.name.first() != Some(&b':'));
        let room = regular.count() + 1;
        let mut b = RequestBuilder::new(self.spare_fields.take(room));
        for f in fields.drain(..) {
            b.field(f);
        }
        if fields.capacity() <= FIELD_BUF_KEEP {
            self.field_buf = fields;
        }
        let named = b.named();
        let head = match b.finish(self.cfg.h2.enable_connect_protocol) {
            Ok(h) => h,
            Err(why) => return self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, why),
        };
        let expected_len = if named.content_length {
            match headers::content_length(&head.fields) {
                Ok(n) => n,
                Err(why) => return self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, why),
            }
        } else {
            None
        };
        if end_stream && expected_len.is_some_and(|n| n > 0) {
            return self.peer_stream_error(
                sid,
                ErrorCode::PROTOCOL_ERROR,
                "content-length without DATA",
            );
        }
        // The response body will need a queue: a spare one costs nothing.
        let pending = self.spare_queues.pop().unwrap_or_default();
        let mut stream = Stream::with_queues(
            sid,
            head.method.clone(),
            self.peer.initial_window_size,
            self.cfg.h2.initial_window_size.max(DEFAULT_WINDOW),
            VecDeque::new(),
            pending,
        );
        stream.expected_len = expected_len;
        let priority = if named.priority {
            head.fields.get("priority")
        } else {
            None
        };
        if let Some(p) = priority {
            let (u, i) = super::priority::parse(p);
            stream.urgency = u;
            stream.incremental = i;
        }
        let expect = !end_stream && named.expect && head.fields.has_token("expect", "100-continue");
        stream.expect_continue = expect;
        if end_stream {
            stream.state = stream.state.recv_end();
        }
        self.streams.insert(id, stream);
        self.events.push_back(Event::Request {
            id: sid,
            head,
            end_stream,
        });
        if expect {
            self.events.push_back(Event::ContinueRequested { id: sid });
        }
    }

    /// HEADERS on a stream we know: a response (client), or trailers.
    pub(super) fn on_headers_existing(
        &mut self,
        sid: StreamId,
        decoded: Result<Vec<hpack::Field>, Option<()>>,
        end_stream: bool,
    ) {
        let id = sid.get();
        let Some(stream) = self.streams.get(&id) else {
            return;
        };
        if !stream.state.recv_open() {
            // §5.1 half-closed (remote); costs a reset token (MadeYouReset).
            return self.peer_stream_error(
                sid,
                ErrorCode::STREAM_CLOSED,
                "HEADERS after END_STREAM",
            );
        }
        let Ok(mut fields) = decoded else {
            return self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, "header list too large");
        };
        let is_trailers = self.side == Side::Server || stream.head == HeadState::Final;
        if is_trailers {
            // §8.1: trailers end the stream.
            if !end_stream {
                return self.peer_stream_error(
                    sid,
                    ErrorCode::PROTOCOL_ERROR,
                    "trailers without END_STREAM",
                );
            }
            let mut b = ResponseBuilder::new(true, Fields::with_capacity(2));
            for f in fields.drain(..) {
                b.field(f);
            }
            if fields.capacity() <= FIELD_BUF_KEEP {
                self.field_buf = fields;
            }
            match b.finish_trailers() {
                Ok(t) => {
                    if let Some(s) = self.streams.get_mut(&id) {
                        if !t.is_empty() {
                            s.trailers = Some(t);
                        }
                    }
                    self.recv_end_stream(id);
                }
                Err(why) => self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, why),
            }
            return;
        }
        let regular = fields.iter().filter(|f| f.name.first() != Some(&b':'));
        let room = regular.count();
        let mut b = ResponseBuilder::new(false, self.spare_fields.take(room));
        for f in fields.drain(..) {
            b.field(f);
        }
        if fields.capacity() <= FIELD_BUF_KEEP {
            self.field_buf = fields;
        }
        let named = b.named();
        let head = match b.finish_response() {
            Ok(h) => h,
            Err(why) => return self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, why),
        };
        if head.status < 200 {
            if end_stream || head.status == 101 {
                // §8.1: 1xx never ends a stream; 101 does not exist in HTTP/2 (§8.6).
                return self.peer_stream_error(
                    sid,
                    ErrorCode::PROTOCOL_ERROR,
                    "invalid interim response",
                );
            }
            if head.status == 100 {
                self.continue_received(id);
            }
            self.events
                .push_back(Event::Informational { id: sid, head });
            return;
        }
        let no_content = stream.method == Method::Head || head.status == 204 || head.status == 304;
        let expected_len = if no_content {
            Some(0)
        } else if !named.content_length {
            None
        } else {
            match headers::content_length(&head.fields) {
                Ok(n) => n,
                Err(why) => return self.peer_stream_error(sid, ErrorCode::PROTOCOL_ERROR, why),
            }
        };
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.head = HeadState::Final;
        stream.expected_len = expected_len;
        if end_stream {
            stream.end_read = true;
        }
        self.events.push_back(Event::Response {
            id: sid,
            head,
            end_stream,
        });
        if end_stream {
            self.recv_end_stream(id);
        }
    }
}
