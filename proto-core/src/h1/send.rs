//! The sending half of an HTTP/1.1 connection: the application's commands
//! (`send_request`, `send_response`, `write`, `finish`, ...) and the
//! ordering of responses on the wire (RFC 9112 §9.3.2).

use bytes::{Bytes, BytesMut};

use super::chunked;
use super::conn::{Decoder, H1Conn, Reading};
use super::encode::{self, Extra};
use super::hints::{Hints, Length};
use super::stream::{Continue, Encoder, RecvState, SendState, Stream};
use crate::connection::Side;
use crate::error::{CloseReason, ErrorCode, UserError};
use crate::event::{Event, StreamId, TimerKind, UpgradeKind, Version};
use crate::head::{Fields, Method, RequestHead, ResponseHead};

/// The application's framing fields, read in one pass: its
/// `transfer-encoding` is replaced by ours, its `content-length` honoured.
fn outgoing(fields: &mut Fields) -> Result<(Hints, Option<u64>), UserError> {
    let hints = Hints::of(fields);
    if hints.transfer_encoding {
        fields.remove("transfer-encoding");
    }
    match hints.content_length {
        Length::Invalid => Err(UserError::InvalidHead(
            "invalid or conflicting content-length",
        )),
        Length::Valid(n) => Ok((hints, Some(n))),
        Length::Absent => Ok((hints, None)),
    }
}

impl H1Conn {
    /// Appends to the transmit queue through a serializer.
    fn emit(&mut self, f: impl FnOnce(&mut BytesMut)) {
        let before = self.tx.buf().len();
        f(self.tx.buf());
        let n = self.tx.buf().len() - before;
        self.tx.appended(n);
    }

    // ---- client ------------------------------------------------------------

    pub(crate) fn can_send_request(&self) -> bool {
        self.side == Side::Client && !self.closed && self.keep_alive && self.streams.is_empty()
    }

    pub(crate) fn send_request(
        &mut self,
        mut head: RequestHead,
        end_stream: bool,
    ) -> Result<StreamId, UserError> {
        if self.side != Side::Client {
            return Err(UserError::WrongSide);
        }
        if self.closed || !self.keep_alive {
            return Err(UserError::Closed);
        }
        if !self.streams.is_empty() {
            return Err(UserError::Busy);
        }
        let host_count = head.fields.get_all("host").count();
        if head.version != Version::Http10 && host_count != 1 {
            // RFC 9112 §3.2: exactly one Host in every HTTP/1.1 request.
            return Err(UserError::InvalidHead(
                "an HTTP/1.1 request needs exactly one Host",
            ));
        }
        let (hints, length) = outgoing(&mut head.fields)?;
        let expect = !end_stream && hints.expect_continue;
        let user_close = hints.close;
        let close = user_close || !self.cfg.keep_alive;
        let mut extra = Extra {
            close: close && !user_close,
            ..Extra::default()
        };
        let encoder = match length {
            Some(n) if end_stream && n > 0 => return Err(UserError::BodyTooShort),
            Some(n) => Encoder::Length { remaining: n },
            // RFC 9110 §8.6: a request with content semantics says its length.
            None if end_stream => {
                if matches!(head.method, Method::Post | Method::Put | Method::Patch) {
                    extra.content_length = Some(0);
                }
                Encoder::Length { remaining: 0 }
            }
            None if head.version == Version::Http10 => {
                return Err(UserError::InvalidHead(
                    "an HTTP/1.0 request body needs content-length",
                ));
            }
            None => {
                extra.chunked = true;
                Encoder::Chunked
            }
        };
        let before = self.tx.buf().len();
        if let Err(e) = encode::write_request(self.tx.buf(), &head, extra) {
            self.tx.buf().truncate(before);
            return Err(e);
        }
        let n = self.tx.buf().len() - before;
        self.tx.appended(n);
        // Serialized: the list's storage can hold the response's head.
        self.spare_fields.keep(head.fields);

        let id = StreamId(self.next_id);
        self.next_id = self.next_id.saturating_add(2);
        let mut stream = Stream::new(
            id,
            head.method.clone(),
            Version::Http11,
            RecvState::AwaitHead,
        );
        stream.close_after = close;
        stream.upgrade_requested = head.method == Method::Connect || hints.upgrade;
        stream.send = if end_stream {
            SendState::Done
        } else {
            SendState::Body(encoder)
        };
        if expect {
            stream.expect = Continue::Waiting;
            self.arm(
                TimerKind::ExpectContinue,
                Some(self.cfg.expect_continue_timeout),
            );
        }
        // Offered, whatever else the request says: the 101 decides.
        self.h2c_offered = hints.h2c_token;
        self.streams.push_back(stream);
        self.timers.stop(TimerKind::Idle);
        self.reading = Reading::Head;
        // A response may already be buffered (e.g. an early 408).
        self.process();
        Ok(id)
    }

    // ---- server ------------------------------------------------------------

    pub(crate) fn send_response(
        &mut self,
        id: StreamId,
        mut head: ResponseHead,
        end_stream: bool,
    ) -> Result<(), UserError> {
        if self.side != Side::Server {
            return Err(UserError::WrongSide);
        }
        if self.closed {
            return Err(UserError::Closed);
        }
        let i = self.find(id).ok_or(UserError::UnknownStream)?;
        let stream = &self.streams[i];
        if !matches!(stream.send, SendState::Idle) {
            return Err(UserError::InvalidState("a response was already sent"));
        }
        let status = head.status;
        let upgrade = match status {
            101 if stream.upgrade_requested && stream.method != Method::Connect => true,
            // RFC 9110 §15.2.2: 101 only answers an Upgrade request.
            101 => return Err(UserError::InvalidHead("101 without an Upgrade request")),
            100..=199 => return Err(UserError::InvalidState("use send_informational for 1xx")),
            200..=299 => stream.method == Method::Connect,
            300..=999 => false,
            _ => return Err(UserError::InvalidHead("status out of range")),
        };
        // The same head as the last one has the same hints (and no
        // transfer-encoding to remove: such a head is not remembered).
        let remembered = self.last_head.as_ref().and_then(|l| l.hints_for(&head));
        let (hints, length) = match remembered {
            Some(hints) => (hints, hints.length()),
            None => outgoing(&mut head.fields)?,
        };
        let user_close = hints.close;
        // RFC 9110 §10.1.1: without 100 the client may or may not send the
        // body, so the connection cannot be reused after this response.
        let refused_body = stream.expect != Continue::None && stream.recv == RecvState::Body;
        // Decided per exchange: a later pipelined request's "close" must not
        // change an earlier response (the output would depend on how the
        // input was split).
        let mut close = !self.cfg.keep_alive
            || self.shutting_down
            || stream.close_after
            || user_close
            || refused_body;
        let no_body = upgrade || stream.method == Method::Head || status == 204 || status == 304;
        let mut extra = Extra::default();
        let encoder = if no_body {
            // RFC 9110 §8.6: a HEAD response may keep the GET's content-length.
            Encoder::Discard
        } else {
            match length {
                Some(n) if end_stream && n > 0 => return Err(UserError::BodyTooShort),
                Some(n) => Encoder::Length { remaining: n },
                None if end_stream => {
                    extra.content_length = Some(0);
                    Encoder::Length { remaining: 0 }
                }
                None if stream.peer_version == Version::Http11 => {
                    extra.chunked = true;
                    Encoder::Chunked
                }
                None => {
                    // RFC 9112 §6.3: HTTP/1.0 cannot chunk; the close ends the body.
                    close = true;
                    Encoder::Close
                }
            }
        };
        extra.close = close && !user_close && !upgrade;
        extra.keep_alive = !close && stream.peer_version == Version::Http10;
        let mut rendered = BytesMut::new();
        let at_front = i == 0;
        let dst = if at_front {
            self.tx.buf()
        } else {
            &mut rendered
        };
        let before = dst.len();
        let copy = self.last_head.as_ref().filter(|_| remembered.is_some());
        match copy.and_then(|l| l.output_for(extra)) {
            Some(bytes) => dst.extend_from_slice(bytes),
            None => {
                if let Err(e) = encode::write_response(dst, &head, extra) {
                    dst.truncate(before);
                    return Err(e);
                }
                let output = dst.get(before..).unwrap_or_default();
                let last = self.last_head.get_or_insert_with(Box::default);
                last.remember(&head, hints, extra, output);
            }
        }
        // Serialized: the list's storage can hold the next request's head.
        self.spare_fields.keep(head.fields);
        if close {
            self.keep_alive = false;
            self.streams[i].close_after = true;
            // RFC 9112 §9.6: nothing after a "close" response is answered.
            self.drop_after(i);
        }
        if at_front {
            let n = self.tx.buf().len() - before;
            self.tx.appended(n);
            self.head_sent(id, encoder, end_stream, upgrade);
        } else {
            self.streams[i].send = SendState::Queued {
                head: rendered.freeze(),
                encoder,
                end: end_stream,
                upgrade,
            };
        }
        // Parsing may resume: an upgrade was declined, or a slot was freed.
        self.process();
        Ok(())
    }

    /// The front stream's response head is in the transmit queue.
    fn head_sent(&mut self, id: StreamId, encoder: Encoder, end: bool, upgrade: bool) {
        if upgrade {
            let kind = if self
                .streams
                .front()
                .is_some_and(|s| s.method == Method::Connect)
            {
                UpgradeKind::Connect
            } else {
                UpgradeKind::Protocol
            };
            return self.upgrade_now(id, kind);
        }
        let Some(front) = self.streams.front_mut() else {
            return;
        };
        front.expect = match front.expect {
            Continue::Expected | Continue::Wanted => {
                // The body was refused: stop reading it.
                if front.recv == RecvState::Body {
                    front.recv = RecvState::Aborted(ErrorCode::NO_ERROR);
                    self.reading = Reading::Done;
                }
                Continue::None
            }
            other => other,
        };
        let Some(front) = self.streams.front_mut() else {
            return;
        };
        front.send = SendState::Body(encoder);
        if end {
            self.end_body(0, None);
        } else if encoder == (Encoder::Length { remaining: 0 }) {
            self.send_finished(0);
        }
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
        let i = self.find(id).ok_or(UserError::UnknownStream)?;
        let stream = &self.streams[i];
        if !matches!(stream.send, SendState::Idle) {
            return Err(UserError::InvalidState(
                "the final response was already sent",
            ));
        }
        // RFC 9110 §15.2: never to HTTP/1.0 clients. Interim responses are
        // advisory, so one for a request still waiting its turn is dropped
        // rather than interleaved with an earlier response.
        if stream.peer_version == Version::Http10 || i != 0 {
            return Ok(());
        }
        if head.status == 100 {
            if stream.expect == Continue::None {
                return Ok(());
            }
            self.streams[i].expect = Continue::None;
        }
        let before = self.tx.buf().len();
        if let Err(e) = encode::write_response(self.tx.buf(), &head, Extra::default()) {
            self.tx.buf().truncate(before);
            return Err(e);
        }
        let n = self.tx.buf().len() - before;
        self.tx.appended(n);
        Ok(())
    }

    pub(crate) fn accept_continue(&mut self, id: StreamId) -> Result<(), UserError> {
        if self.side != Side::Server {
            return Err(UserError::WrongSide);
        }
        let i = self.find(id).ok_or(UserError::UnknownStream)?;
        if self.streams[i].expect == Continue::Expected {
            self.send_continue(i);
        }
        Ok(())
    }

    /// Sends `100 Continue` for stream `i`, or marks it wanted until the
    /// stream reaches the front.
    pub(super) fn send_continue(&mut self, i: usize) {
        if i == 0 && self.streams[0].response_unsent() {
            self.emit(|b| b.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n"));
            self.streams[0].expect = Continue::None;
        } else if self.streams[i].response_unsent() {
            self.streams[i].expect = Continue::Wanted;
        }
    }

    // ---- both: body ----------------------------------------------------------

    pub(crate) fn write_capacity(&self, id: StreamId) -> usize {
        let Some(i) = self.find(id) else { return 0 };
        let stream = &self.streams[i];
        if i != 0 || self.closed || stream.expect == Continue::Waiting {
            return 0;
        }
        match stream.send {
            SendState::Body(Encoder::Discard) => self.cfg.send_buffer,
            SendState::Body(enc) => {
                let room = self.cfg.send_buffer.saturating_sub(self.tx.len());
                match enc {
                    Encoder::Length { remaining } => {
                        room.min(usize::try_from(remaining).unwrap_or(usize::MAX))
                    }
                    _ => room,
                }
            }
            _ => 0,
        }
    }

    pub(crate) fn write(&mut self, id: StreamId, data: &mut Bytes) -> Result<usize, UserError> {
        let i = self.find(id).ok_or(UserError::UnknownStream)?;
        let stream = &self.streams[i];
        match (&stream.send, stream.expect) {
            (_, Continue::Refused) => {
                return Err(UserError::InvalidState(
                    "the server refused the request body",
                ));
            }
            (SendState::Idle, _) => return Err(UserError::InvalidState("no head sent yet")),
            (SendState::Done, _) => return Err(UserError::InvalidState("the body is finished")),
            (SendState::Body(Encoder::Length { remaining }), _)
                if data.len() as u64 > *remaining =>
            {
                return Err(UserError::BodyTooLong);
            }
            _ => {}
        }
        // Below `send_buffer`, a chunk is taken whole: it is the caller's
        // `Bytes`, already in memory, so queueing it costs a reference, and
        // cutting it would cost a round of `Writable` and a transport write
        // per `send_buffer` (a 1 MiB body: 5 gathers instead of 1, ~12%
        // more server CPU per MiB). The queue then exceeds `send_buffer` by
        // at most this chunk: nothing more is taken until it drains below.
        let capacity = self.write_capacity(id);
        let offered = data.len();
        let take = if capacity > 0 { offered } else { 0 };
        if take < offered {
            self.streams[i].write_wanted = true;
        }
        if take == 0 {
            return Ok(0);
        }
        let chunk = data.split_to(take);
        let SendState::Body(encoder) = &mut self.streams[i].send else {
            return Ok(0);
        };
        match encoder {
            Encoder::Discard => {}
            Encoder::Length { remaining } => {
                *remaining -= take as u64;
                self.tx.push(chunk);
            }
            Encoder::Close => self.tx.push(chunk),
            Encoder::Chunked => {
                self.emit(|b| chunked::encode_chunk_header(b, take));
                self.tx.push(chunk);
                self.emit(chunked::encode_chunk_end);
            }
        }
        Ok(take)
    }

    pub(crate) fn finish(
        &mut self,
        id: StreamId,
        trailers: Option<Fields>,
    ) -> Result<(), UserError> {
        let i = self.find(id).ok_or(UserError::UnknownStream)?;
        let stream = &mut self.streams[i];
        match &mut stream.send {
            SendState::Idle => Err(UserError::InvalidState("no head sent yet")),
            // A refused request body counts as finished already.
            SendState::Done if stream.expect == Continue::Refused => Ok(()),
            SendState::Done => Err(UserError::InvalidState("the body is already finished")),
            SendState::Queued {
                encoder: Encoder::Length { remaining },
                ..
            } if *remaining > 0 => {
                self.close(CloseReason::LocalReset);
                Err(UserError::BodyTooShort)
            }
            // Trailers cannot be kept for a response still waiting its turn.
            SendState::Queued { end, .. } => {
                *end = true;
                Ok(())
            }
            SendState::Body(Encoder::Length { remaining }) if *remaining > 0 => {
                // The peer would wait for bytes that never come: the framing is broken.
                self.close(CloseReason::LocalReset);
                Err(UserError::BodyTooShort)
            }
            SendState::Body(_) => {
                if let Some(t) = &trailers {
                    encode::validate_fields(t)?;
                }
                self.end_body(i, trailers.as_ref());
                self.process();
                Ok(())
            }
        }
    }

    /// Writes the end of stream `i`'s body and marks its send half done.
    fn end_body(&mut self, i: usize, trailers: Option<&Fields>) {
        if let SendState::Body(Encoder::Chunked) = self.streams[i].send {
            self.emit(|b| chunked::encode_last_chunk(b, trailers));
        }
        self.send_finished(i);
    }

    /// Stream `i`'s send half is complete: decide what happens to the rest of
    /// its request body, then retire what can be retired.
    pub(super) fn send_finished(&mut self, i: usize) {
        let max_drain = self.cfg.max_drain;
        let Some(stream) = self.streams.get_mut(i) else {
            return;
        };
        if let SendState::Body(Encoder::Close) = stream.send {
            stream.close_after = true;
        }
        stream.send = SendState::Done;
        if self.side == Side::Server && stream.recv == RecvState::Body {
            let id = stream.id;
            let remaining = match &self.reading {
                Reading::Body {
                    id: rid,
                    decoder: Decoder::Length(n),
                } if *rid == id => Some(*n),
                _ => None,
            };
            let stream = &mut self.streams[i];
            let unread = stream.buffered as u64;
            stream.queue.clear();
            stream.buffered = 0;
            stream.discard = true;
            let too_long = remaining.is_some_and(|n| n.saturating_add(unread) > max_drain);
            if stream.close_after || too_long {
                // No point reading a body whose connection is closing anyway.
                stream.recv = RecvState::Aborted(ErrorCode::NO_ERROR);
                self.keep_alive = false;
                self.reading = Reading::Done;
            }
        }
        if self.streams.get(i).is_some_and(|s| s.close_after) {
            self.keep_alive = false;
        }
        self.retire_ready();
    }

    /// The front of the queue changed: start the next response waiting its
    /// turn, or tell its writer there is room.
    pub(super) fn front_changed(&mut self) {
        let Some(front) = self.streams.front_mut() else {
            return;
        };
        let id = front.id;
        if front.expect == Continue::Wanted {
            front.expect = Continue::Expected;
            self.send_continue(0);
        }
        let Some(front) = self.streams.front_mut() else {
            return;
        };
        if let SendState::Queued { .. } = front.send {
            let SendState::Queued {
                head,
                encoder,
                end,
                upgrade,
            } = core::mem::replace(&mut front.send, SendState::Idle)
            else {
                return;
            };
            self.tx.push_copy(head);
            if !end && encoder != (Encoder::Length { remaining: 0 }) {
                self.events.push_back(Event::Writable { id });
            }
            self.head_sent(id, encoder, end, upgrade);
        } else if front.write_wanted {
            front.write_wanted = false;
            self.events.push_back(Event::Writable { id });
        }
    }

    /// Abandons every exchange pipelined after stream `i` and stops reading
    /// further requests: the connection ends after `i`'s response.
    fn drop_after(&mut self, i: usize) {
        if self.streams.len() <= i + 1 {
            if matches!(self.reading, Reading::Head) {
                self.reading = Reading::Done;
            }
            return;
        }
        for s in self.streams.split_off(i + 1) {
            self.push_terminal(Event::Reset {
                id: s.id,
                code: ErrorCode::CANCEL,
                remote: false,
            });
        }
        self.reading = Reading::Done;
        // A pending error answered a request we now drop: nothing follows "close".
        self.pending_error = None;
    }

    pub(crate) fn reset(&mut self, id: StreamId, code: ErrorCode) {
        let Some(i) = self.find(id) else { return };
        if i == 0 || self.side == Side::Client {
            // HTTP/1.1 cannot abandon the exchange on the wire alone.
            self.close(CloseReason::LocalReset);
            return;
        }
        // A later pipelined request: let the earlier responses finish, answer
        // nothing from here on, then close.
        for s in self.streams.split_off(i) {
            let code = if s.id == id { code } else { ErrorCode::CANCEL };
            self.push_terminal(Event::Reset {
                id: s.id,
                code,
                remote: false,
            });
        }
        self.keep_alive = false;
        self.reading = Reading::Done;
    }

    // ---- output --------------------------------------------------------------

    pub(crate) fn poll_transmit(&mut self) -> &[Bytes] {
        let owed = !self.tx.is_empty() && !self.closed;
        self.timers
            .watch_send(owed, self.now, self.cfg.send_timeout);
        self.tx.chunks()
    }

    pub(crate) fn transmit_complete(&mut self, n: usize) {
        self.tx.advance(n);
        self.timers.sent(n);
        if self.closed {
            return;
        }
        self.timers
            .watch_send(!self.tx.is_empty(), self.now, self.cfg.send_timeout);
        if let Some(front) = self.streams.front_mut() {
            if front.write_wanted && matches!(front.send, SendState::Body(_)) {
                let id = front.id;
                if self.write_capacity(id) > 0 {
                    if let Some(front) = self.streams.front_mut() {
                        front.write_wanted = false;
                    }
                    self.events.push_back(Event::Writable { id });
                }
            }
        }
    }
}
