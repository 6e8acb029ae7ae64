//! HTTP/2 commands from the application and the send scheduler.
//!
//! Windows are debited when `write` accepts bytes, so queued content never
//! waits for flow control; the scheduler only interleaves it. Header blocks
//! are HPACK-encoded at the moment they are appended to the transmit queue,
//! so the encoder's table follows wire order.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::conn::H2Conn;
use super::frame;
use super::headers;
use super::stream::{HeadState, State, Stream};
use crate::connection::Side;
use crate::error::{ErrorCode, UserError};
use crate::event::{Event, StreamId};
use crate::head::{Fields, Method, RequestHead, ResponseHead};
use crate::hpack;

/// How many bytes the scheduler frames per `poll_transmit` batch.
pub(crate) const BATCH: usize = 256 * 1024;

/// Pending pieces one DATA frame gathers at most (small writes share a frame).
const MAX_PIECES: usize = 4;

/// Never-indexed fields (RFC 7541 §7.1.3): credentials.
fn sensitive(name: &[u8]) -> bool {
    matches!(name, b"authorization" | b"proxy-authorization")
}

impl H2Conn {
    /// HPACK-encodes `self.scratch` and queues HEADERS (+ CONTINUATION).
    fn queue_header_block(&mut self, id: StreamId, end_stream: bool) {
        let fields = core::mem::take(&mut self.scratch);
        let list = fields.iter().map(|(n, v)| (&n[..], &v[..], sensitive(n)));
        self.queue_block(id, end_stream, list);
        self.scratch = fields;
        self.scratch.clear();
    }

    /// HPACK-encodes `fields` and queues them as HEADERS (+ CONTINUATION).
    /// The block is encoded straight into the transmit buffer, behind room
    /// for its frame header; one too large for a frame is moved out again
    /// and split.
    fn queue_block<'a, I>(&mut self, id: StreamId, end_stream: bool, fields: I)
    where
        I: Iterator<Item = (&'a [u8], &'a [u8], bool)> + Clone,
    {
        self.frame_block(id, end_stream, |encoder, buf| {
            encoder.encode_repeating(fields, buf);
            true
        });
    }

    /// [`queue_block`](Self::queue_block) with the block written by
    /// `encode`, which may decline (writing nothing): then nothing is queued
    /// and the answer is false.
    fn frame_block(
        &mut self,
        id: StreamId,
        end_stream: bool,
        encode: impl FnOnce(&mut hpack::Encoder, &mut BytesMut) -> bool,
    ) -> bool {
        let buf = self.tx.buf();
        let start = buf.len();
        buf.extend_from_slice(&[0; frame::HEADER_LEN]);
        if !encode(&mut self.encoder, buf) {
            buf.truncate(start);
            return false;
        }
        let len = buf.len() - start - frame::HEADER_LEN;
        let max = self
            .peer
            .max_frame_size
            .clamp(frame::DEFAULT_MAX_FRAME_SIZE, frame::MAX_MAX_FRAME_SIZE);
        let fits = u32::try_from(len).ok().filter(|&n| n <= max);
        if let Some((n, head)) = fits.zip(buf.get_mut(start..start + frame::HEADER_LEN)) {
            // What `Headers::encode_split` writes for a block that fits.
            let mut flags = frame::flags::END_HEADERS;
            if end_stream {
                flags |= frame::flags::END_STREAM;
            }
            let h = frame::FrameHeader::new(frame::kind::HEADERS, flags, id, n);
            head.copy_from_slice(&h.to_bytes());
            self.tx.appended(frame::HEADER_LEN + len);
            return true;
        }
        let block = buf.split_off(start + frame::HEADER_LEN).freeze();
        buf.truncate(start);
        frame::Headers::new(id, block, end_stream, true)
            .encode_split(self.peer.max_frame_size, buf);
        let n = buf.len() - start;
        self.tx.appended(n);
        true
    }

    /// Fewer open streams than the peer allows. The open ones are some of
    /// the map's: counted only when the map's size alone is not below it.
    fn below_peer_limit(&self) -> bool {
        let max = self.peer.max_concurrent_streams as usize;
        self.streams.len() < max
            || self
                .streams
                .values()
                .filter(|s| s.state != State::Closed)
                .count()
                < max
    }

    pub(crate) fn can_send_request(&self) -> bool {
        self.side == Side::Client
            && !self.closed
            && self.goaway_received.is_none()
            && self.goaway_sent.is_none()
            && self.below_peer_limit()
            && self.next_local_id < (1 << 31)
    }

    pub(crate) fn send_request(
        &mut self,
        head: RequestHead,
        end_stream: bool,
    ) -> Result<StreamId, UserError> {
        if self.side != Side::Client {
            return Err(UserError::WrongSide);
        }
        if self.closed || self.goaway_received.is_some() || self.goaway_sent.is_some() {
            return Err(UserError::Closed);
        }
        if !self.below_peer_limit() {
            // §5.1.2: wait for `StreamsAvailable`.
            return Err(UserError::Busy);
        }
        if head.protocol.is_some() && !self.peer.enable_connect_protocol {
            // RFC 8441 §3: only once the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL=1.
            return Err(UserError::InvalidState(
                "the server has not enabled extended CONNECT",
            ));
        }
        let id = self.next_local_id;
        if id > (1 << 31) - 1 {
            // §5.1.1: ids are exhausted; a new connection is needed.
            return Err(UserError::Closed);
        }
        self.next_local_id += 2;
        let sid = StreamId::new(id);
        self.scratch.clear();
        headers::request_fields(&head, &mut self.scratch);
        self.queue_header_block(sid, end_stream);
        // Encoded: the list's storage can hold the response's head.
        self.spare_fields.keep(head.fields);
        // The response body will need a queue: a spare one costs nothing.
        let queue = self.spare_queues.pop().unwrap_or_default();
        let mut stream = Stream::with_queues(
            sid,
            head.method.clone(),
            self.peer.initial_window_size,
            self.cfg
                .h2
                .initial_window_size
                .max(super::flow::DEFAULT_WINDOW),
            queue,
            VecDeque::new(),
        );
        if end_stream {
            stream.state = stream.state.send_end();
        }
        self.streams.insert(id, stream);
        self.update_idle_timer();
        Ok(sid)
    }

    pub(crate) fn send_response(
        &mut self,
        id: StreamId,
        head: ResponseHead,
        end_stream: bool,
    ) -> Result<(), UserError> {
        if self.side != Side::Server {
            return Err(UserError::WrongSide);
        }
        let key = id.get();
        let s = self.streams.get(&key).ok_or(UserError::UnknownStream)?;
        if s.head != HeadState::Pending || !s.state.send_open() {
            return Err(UserError::InvalidState("a response was already sent"));
        }
        if !(200..=999).contains(&head.status) {
            // §8.6: no 101 in HTTP/2; 1xx go through send_informational.
            return Err(UserError::InvalidHead("final status must be 200..=999"));
        }
        let no_content = s.method == Method::Head || head.status == 204 || head.status == 304;
        let end = end_stream || (no_content && s.method != Method::Head && head.status != 200);
        // The list `response_fields` would make when the fields go out as
        // they are, read from the head.
        let status = headers::status_bytes(head.status);
        let fields = head.fields.iter();
        let fields = fields.map(|f| (&f.name[..], &f.value[..], sensitive(&f.name)));
        let list = core::iter::once((&b":status"[..], &status[..], false)).chain(fields);
        // The same as the last block: copied. (Every remembered list went
        // through `outgoing`, so a head equal to one goes out as it is.)
        let repeated = self.frame_block(id, end, |e, buf| e.repeat_last(list.clone(), buf));
        if !repeated && headers::sent_as_is(&head.fields) {
            self.frame_block(id, end, |e, buf| {
                e.encode_remembering(list, buf);
                true
            });
        } else if !repeated {
            self.scratch.clear();
            headers::response_fields(&head, &mut self.scratch);
            self.queue_header_block(id, end);
        }
        // Encoded: the list's storage can hold the next request's head.
        self.spare_fields.keep(head.fields);
        let Some(s) = self.streams.get_mut(&key) else {
            return Ok(());
        };
        s.head = HeadState::Final;
        s.expect_continue = false;
        if end {
            self.send_side_ended(key);
        }
        Ok(())
    }

    /// We sent END_STREAM on `key`. A server whose response is complete
    /// while the request is still arriving asks the client to stop with
    /// RST_STREAM(NO_ERROR) (RFC 9113 §8.1) instead of waiting for content
    /// nobody will read.
    fn send_side_ended(&mut self, key: u32) {
        let Some(s) = self.streams.get_mut(&key) else {
            return;
        };
        s.state = s.state.send_end();
        if self.side == Side::Server && s.state == State::HalfClosedLocal {
            let sid = s.id;
            self.send_frame(frame::RstStream::new(sid, ErrorCode::NO_ERROR));
            self.remember_reset(key);
            self.remove_stream(key, None);
            return;
        }
        self.maybe_retire(key);
    }

    pub(crate) fn send_informational(
        &mut self,
        id: StreamId,
        head: ResponseHead,
    ) -> Result<(), UserError> {
        if self.side != Side::Server {
            return Err(UserError::WrongSide);
        }
        if !(100..200).contains(&head.status) || head.status == 101 {
            return Err(UserError::InvalidHead(
                "informational status must be 1xx other than 101",
            ));
        }
        let s = self
            .streams
            .get_mut(&id.get())
            .ok_or(UserError::UnknownStream)?;
        if s.head != HeadState::Pending {
            return Err(UserError::InvalidState(
                "the final response was already sent",
            ));
        }
        if head.status == 100 {
            if !s.expect_continue {
                return Ok(());
            }
            s.expect_continue = false;
        }
        self.scratch.clear();
        headers::response_fields(&head, &mut self.scratch);
        self.queue_header_block(id, false);
        Ok(())
    }

    pub(crate) fn accept_continue(&mut self, id: StreamId) -> Result<(), UserError> {
        let s = self
            .streams
            .get_mut(&id.get())
            .ok_or(UserError::UnknownStream)?;
        if s.expect_continue {
            s.expect_continue = false;
            self.send_continue(id);
        }
        Ok(())
    }

    pub(super) fn send_continue(&mut self, id: StreamId) {
        self.scratch.clear();
        self.scratch
            .push((Bytes::from_static(b":status"), Bytes::from_static(b"100")));
        self.queue_header_block(id, false);
    }

    /// Client: a 100 arrived (nothing is held back in HTTP/2: the body was
    /// never blocked on it, RFC 9110 §10.1.1 lets clients send anyway).
    pub(super) fn continue_received(&mut self, _id: u32) {}

    pub(crate) fn write_capacity(&self, id: StreamId) -> usize {
        self.write_capacity_of(id.get())
    }

    pub(super) fn write_capacity_of(&self, key: u32) -> usize {
        let conn_room = self.conn_room();
        self.streams
            .get(&key)
            .map_or(0, |s| self.capacity(s, conn_room))
    }

    /// Connection window not yet claimed by queued content.
    fn conn_room(&self) -> usize {
        self.send_window
            .available()
            .saturating_sub(self.conn_pending)
    }

    /// What `write` would accept on `s` now, given `conn_room`.
    fn capacity(&self, s: &Stream, conn_room: usize) -> usize {
        stream_capacity(self.closed, self.side, self.cfg.send_buffer, s, conn_room)
    }

    /// Emits `Writable` for every stream waiting for room that has some now
    /// (after a window grew). No allocation: this runs per WINDOW_UPDATE.
    pub(super) fn wake_writers(&mut self) {
        let conn_room = self.conn_room();
        let mut streams = core::mem::take(&mut self.streams);
        for s in streams.values_mut() {
            if s.write_wanted && self.capacity(s, conn_room) > 0 {
                s.write_wanted = false;
                self.events.push_back(Event::Writable { id: s.id });
            }
            self.maybe_waiting |= s.write_wanted;
        }
        self.streams = streams;
    }

    pub(crate) fn write(&mut self, id: StreamId, data: &mut Bytes) -> Result<usize, UserError> {
        let key = id.get();
        let conn_room = self.conn_room();
        let (closed, side, send_buffer) = (self.closed, self.side, self.cfg.send_buffer);
        // One look-up: the stream's fields and the connection's are apart.
        let s = self.streams.get_mut(&key).ok_or(UserError::UnknownStream)?;
        if side == Side::Server && s.head == HeadState::Pending {
            return Err(UserError::InvalidState("no head sent yet"));
        }
        if !s.state.send_open() || s.finish.is_some() {
            return Err(UserError::InvalidState("the body is finished"));
        }
        let no_content = side == Side::Server && s.method == Method::Head;
        let cap = stream_capacity(closed, side, send_buffer, s, conn_room);
        let offered = data.len();
        let take = cap.min(offered);
        if take < offered {
            s.write_wanted = true;
            self.maybe_waiting = true;
        }
        if take == 0 {
            return Ok(0);
        }
        let chunk = data.split_to(take);
        if no_content {
            // §8.1.1 / RFC 9110 §9.3.2: a HEAD response has no content.
            return Ok(take);
        }
        s.pending_len += take;
        if s.pending.capacity() == 0 {
            if let Some(q) = self.spare_queues.pop() {
                s.pending = q;
            }
        }
        s.pending.push_back(chunk);
        self.conn_pending += take;
        self.ready.schedule(s);
        Ok(take)
    }

    pub(crate) fn finish(
        &mut self,
        id: StreamId,
        trailers: Option<Fields>,
    ) -> Result<(), UserError> {
        let key = id.get();
        let s = self.streams.get_mut(&key).ok_or(UserError::UnknownStream)?;
        if s.head == HeadState::Pending && self.side == Side::Server {
            return Err(UserError::InvalidState("no head sent yet"));
        }
        if !s.state.send_open() || s.finish.is_some() {
            return Err(UserError::InvalidState("the body is already finished"));
        }
        s.finish = Some(trailers.filter(|t| !t.is_empty()));
        self.ready.schedule(s);
        Ok(())
    }

    pub(crate) fn reset(&mut self, id: StreamId, code: ErrorCode) {
        if self.streams.contains_key(&id.get()) {
            self.app_reset(id, code);
        }
    }

    /// After a window grew: streams blocked on flow control go back in the
    /// scheduler, and writers waiting for room are told.
    pub(super) fn window_opened(&mut self) {
        if !self.maybe_waiting {
            return;
        }
        // Set again below (or by the scheduler) for whoever still waits.
        self.maybe_waiting = false;
        for s in self.streams.values_mut() {
            if !s.pending.is_empty() || s.finish.is_some() {
                self.ready.schedule(s);
            }
        }
        self.wake_writers();
    }

    /// Puts a stream with something to send in its urgency's queue.
    pub(super) fn schedule(&mut self, key: u32) {
        let Some(s) = self.streams.get_mut(&key) else {
            return;
        };
        self.ready.schedule(s);
    }

    /// Frames queued content into the transmit queue: the most urgent
    /// streams first; among equals, incremental ones round-robin a frame at a
    /// time and the others one after another (RFC 9218 §4).
    fn run_scheduler(&mut self) {
        while self.tx.len() < BATCH {
            let Some((urgency, key)) = self.ready.pop() else {
                break;
            };
            let conn_window = self.send_window.available();
            let Some(s) = self.streams.get_mut(&key) else {
                continue;
            };
            s.scheduled = false;
            let sid = s.id;
            // §6.9.1: the windows in force now bound the frame, whatever they
            // were when the content was accepted (SETTINGS may have lowered them).
            let max_frame = (self.peer.max_frame_size as usize)
                .min(s.send_window.available())
                .min(conn_window);
            if max_frame == 0 && !s.pending.is_empty() {
                // Blocked on flow control: rescheduled by WINDOW_UPDATE.
                self.maybe_waiting = true;
                continue;
            }
            // One DATA frame of up to max_frame bytes in at most MAX_PIECES
            // pieces of pending: measured first, so that its header goes
            // before them into the transmit queue.
            let (mut len, mut pieces) = (0, 0);
            for piece in s.pending.iter().take(MAX_PIECES) {
                if len == max_frame {
                    break;
                }
                len += piece.len().min(max_frame - len);
                pieces += 1;
            }
            s.pending_len -= len;
            let _ = s.send_window.consume(len);
            let finishing = s.pending_len == 0 && s.finish.is_some();
            let trailers = if finishing {
                s.finish.take().flatten()
            } else {
                None
            };
            let end_on_data = finishing && trailers.is_none();
            if len > 0 || end_on_data {
                let before = self.tx.buf().len();
                frame::Data::encode_header(len as u32, end_on_data, sid, self.tx.buf());
                let n = self.tx.buf().len() - before;
                self.tx.appended(n);
                let mut left = len;
                for _ in 0..pieces {
                    let Some(front) = s.pending.front_mut() else {
                        break;
                    };
                    let piece = if left >= front.len() {
                        s.pending.pop_front().unwrap_or_default()
                    } else {
                        front.split_to(left)
                    };
                    left -= piece.len();
                    self.tx.push(piece);
                }
            }
            let more = !s.pending.is_empty();
            // Back in its queue below.
            s.scheduled = more;
            let incremental = s.incremental;
            // Room in the stream's send budget again (none once it finished:
            // its sending side ends below).
            let wanted = s.write_wanted && len > 0 && !finishing;
            self.conn_pending -= len;
            let _ = self.send_window.consume(len);
            if let Some(t) = trailers {
                self.scratch.clear();
                headers::trailer_fields(&t, &mut self.scratch);
                self.queue_header_block(sid, true);
            }
            if finishing {
                self.send_side_ended(key);
            } else if more {
                if incremental {
                    self.ready.push_back(urgency, key)
                } else {
                    self.ready.push_front(urgency, key)
                }
            }
            if wanted && self.write_capacity_of(key) > 0 {
                if let Some(s) = self.streams.get_mut(&key) {
                    s.write_wanted = false;
                }
                self.events.push_back(Event::Writable { id: sid });
            }
        }
    }

    pub(crate) fn poll_transmit(&mut self) -> &[Bytes] {
        if self.tx.len() < BATCH && !self.closed {
            self.run_scheduler();
        }
        let owed = !self.tx.is_empty() && !self.closed;
        self.timers
            .watch_send(owed, self.now, self.cfg.send_timeout);
        self.tx.chunks()
    }

    pub(crate) fn transmit_complete(&mut self, n: usize) {
        self.tx.advance(n);
        self.timers.sent(n);
        if !self.closed {
            self.timers
                .watch_send(!self.tx.is_empty(), self.now, self.cfg.send_timeout);
        }
        if self.tx.is_empty() && self.pending_control > 0 {
            let was_paused = self.pending_control >= self.cfg.h2.max_pending_control;
            self.pending_control = 0;
            if was_paused {
                // Frames already buffered waited for the answers to drain.
                self.process();
            }
        }
    }

    /// Changes our settings mid-connection: the advertised ones (concurrency,
    /// initial window, header list and table sizes) go out in a SETTINGS frame
    /// and bind once acknowledged (§6.5.3); the local limits apply at once.
    pub(crate) fn update_settings(&mut self, new: crate::config::H2Config) {
        if self.closed {
            return;
        }
        let latest = self.settings_pending.back().unwrap_or(&self.cfg.h2).clone();
        let mut s = frame::Settings::default();
        let mut changed = false;
        if new.max_concurrent_streams != latest.max_concurrent_streams {
            s = s.with_max_concurrent_streams(new.max_concurrent_streams);
            changed = true;
        }
        let window = new.initial_window_size.max(super::flow::DEFAULT_WINDOW);
        if window != latest.initial_window_size.max(super::flow::DEFAULT_WINDOW) {
            s = s.with_initial_window_size(window);
            changed = true;
        }
        if new.max_header_list_size != latest.max_header_list_size {
            s = s.with_max_header_list_size(new.max_header_list_size);
            changed = true;
        }
        if new.header_table_size != latest.header_table_size {
            s = s.with_header_table_size(new.header_table_size);
            changed = true;
        }
        // Limits that are ours alone apply now.
        let advertised = self.cfg.h2.clone();
        std::sync::Arc::make_mut(&mut self.cfg).h2 = crate::config::H2Config {
            max_concurrent_streams: advertised.max_concurrent_streams,
            initial_window_size: advertised.initial_window_size,
            max_header_list_size: advertised.max_header_list_size,
            header_table_size: advertised.header_table_size,
            ..new.clone()
        };
        if changed {
            self.send_frame(s);
            self.settings_unacked += 1;
            self.settings_pending.push_back(new);
            self.arm(
                crate::event::TimerKind::SettingsAck,
                Some(self.cfg.h2.settings_timeout),
            );
        }
    }

    /// Sends a PING; the answer comes as `Event::Pong`.
    pub(crate) fn ping(&mut self, payload: [u8; 8]) {
        if !self.closed {
            self.ping_outstanding = Some(payload);
            self.ping_kind = super::conn::PingKind::User;
            self.send_frame(frame::Ping::new(payload));
        }
    }

    pub(crate) fn take_upgrade(&mut self, _id: StreamId) -> Option<Bytes> {
        None
    }
}

/// What `write` would accept on `s` now, given `conn_room`, on a connection
/// `closed` or not, of `side`, with `send_buffer` per stream.
fn stream_capacity(
    closed: bool,
    side: Side,
    send_buffer: usize,
    s: &Stream,
    conn_room: usize,
) -> usize {
    if closed || !s.state.send_open() || s.finish.is_some() {
        return 0;
    }
    if side == Side::Server && s.head == HeadState::Pending {
        return 0;
    }
    // Windows are debited when content is framed, so what is already
    // queued counts against them here.
    let budget = send_buffer.saturating_sub(s.pending_len);
    let stream_room = s.send_window.available().saturating_sub(s.pending_len);
    stream_room.min(conn_room).min(budget)
}

#[cfg(test)]
#[path = "send_tests.rs"]
mod tests;
