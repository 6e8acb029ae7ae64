//! HTTP/2 stream and connection endings: stream errors and RST_STREAM,
//! connection errors and GOAWAY (two-phase when graceful, §6.8), shutdown,
//! and the timers.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::conn::{H2Conn, Phase, PingKind, RECENT_RESETS};
use super::frame;
use super::stream::State;
use crate::connection::{Shutdown, Side};
use crate::error::{CloseReason, ErrorCode, PeerError};
use crate::event::{Event, StreamId, TimerKind};
use crate::time::Instant;

/// The graceful-shutdown PING's payload (any value works; this one is ours).
const SHUTDOWN_PING: [u8; 8] = *b"shutdown";
const KEEPALIVE_PING: [u8; 8] = *b"keepaliv";

impl H2Conn {
    /// A connection error (§5.4.1): GOAWAY with `code`, then close.
    pub(super) fn connection_error(&mut self, code: ErrorCode, reason: &'static str) {
        if self.closed {
            return;
        }
        let last = StreamId::new(self.last_peer_id);
        self.send_frame(
            frame::GoAway::new(last, code).with_debug_data(Bytes::from_static(reason.as_bytes())),
        );
        self.close(CloseReason::Peer(PeerError::H2 { code, reason }));
    }

    /// The peer made stream `id` fail: RST_STREAM, and it costs the peer a
    /// reset token (MadeYouReset, CVE-2025-8671).
    pub(super) fn peer_stream_error(&mut self, id: StreamId, code: ErrorCode, _why: &'static str) {
        if self.side == Side::Server && !self.spend_reset_token() {
            return;
        }
        self.stream_error(id, code);
    }

    /// Sends RST_STREAM for `id` and forgets the stream (§5.4.2).
    pub(super) fn stream_error(&mut self, id: StreamId, code: ErrorCode) {
        self.send_reset(id, code);
        self.hold_if_answering(id.get());
        self.remove_stream(id.get(), Some((code, false)));
    }

    /// The application abandons `id` itself: RST_STREAM, and its slot is free.
    pub(super) fn app_reset(&mut self, id: StreamId, code: ErrorCode) {
        self.send_reset(id, code);
        self.remove_stream(id.get(), Some((code, false)));
    }

    fn send_reset(&mut self, id: StreamId, code: ErrorCode) {
        if self.closed {
            return;
        }
        self.send_frame(frame::RstStream::new(id, code));
        self.pending_control += 1;
        self.remember_reset(id.get());
    }

    /// MadeYouReset (CVE-2025-8671): a peer stream the application is still
    /// answering keeps its concurrency slot for `reset_stream_hold` after the
    /// protocol closed it, as its handler may still be running.
    pub(super) fn hold_if_answering(&mut self, id: u32) {
        let answering = self.side == Side::Server
            && self.peer_initiated(id)
            && self
                .streams
                .get(&id)
                .is_some_and(|s| s.state.send_open() || s.pending_len > 0);
        if answering {
            self.held_resets
                .push_back(self.now + self.cfg.h2.reset_stream_hold);
        }
    }

    /// Streams held after a reset, once expired ones are let go.
    pub(super) fn held_streams(&mut self) -> usize {
        while self
            .held_resets
            .front()
            .is_some_and(|&until| until <= self.now)
        {
            self.held_resets.pop_front();
        }
        self.held_resets.len()
    }

    pub(super) fn remember_reset(&mut self, id: u32) {
        if self.recent_resets.len() >= RECENT_RESETS {
            self.recent_resets.pop_front();
        }
        self.recent_resets.push_back(id);
    }

    /// Server: answers a request we will not process with a bodyless status.
    pub(super) fn refuse_with_status(&mut self, id: StreamId, status: u16) {
        let mut block = BytesMut::new();
        let code = Bytes::copy_from_slice(status.to_string().as_bytes());
        self.encoder
            .encode([(&b":status"[..], &code[..], false)], &mut block);
        let before = self.tx.buf().len();
        frame::Headers::new(id, block.freeze(), true, true)
            .encode_split(self.peer.max_frame_size, self.tx.buf());
        let n = self.tx.buf().len() - before;
        self.tx.appended(n);
        // The request may still be sending: stop it without an error (§8.1).
        self.send_frame(frame::RstStream::new(id, ErrorCode::NO_ERROR));
        self.remember_reset(id.get());
    }

    /// Removes a stream: `reset` = Some((code, remote)) ends it with `Reset`,
    /// None with `Finished`. Unread content is given back to the connection
    /// window.
    pub(super) fn remove_stream(&mut self, id: u32, reset: Option<(ErrorCode, bool)>) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let keep = super::conn::spares_kept(&self.cfg);
        recycle_queue(&mut self.spare_queues, &mut s.pending, keep);
        recycle_queue(&mut self.spare_queues, &mut s.queue, keep);
        let (unread, pending_len, sid) = (s.buffered + s.held, s.pending_len, s.id);
        self.streams.discard(id);
        if unread > 0 {
            self.release_connection(unread);
        }
        self.conn_pending -= pending_len;
        self.events.drop_wakeups(Some(sid));
        match reset {
            Some((code, remote)) => self.events.push_back(Event::Reset {
                id: sid,
                code,
                remote,
            }),
            None => {
                if self.peer_initiated(id) {
                    if self.recent_closed.len() >= RECENT_RESETS {
                        self.recent_closed.pop_front();
                    }
                    self.recent_closed.push_back(id);
                }
                self.events.push_back(Event::Finished { id: sid });
            }
        }
        if self.side == Side::Client && self.goaway_received.is_none() && !self.eof {
            self.events.push_back(Event::StreamsAvailable);
        }
        self.after_stream_gone();
    }

    /// Retires `id` if both sides ended (and, on a client, the application
    /// read the end).
    pub(super) fn maybe_retire(&mut self, id: u32) {
        let Some(s) = self.streams.get(&id) else {
            return;
        };
        if s.state != State::Closed || s.finish.is_some() || s.pending_len > 0 {
            return;
        }
        let done = match self.side {
            Side::Server => true,
            Side::Client => s.end_read,
        };
        if done {
            self.remove_stream(id, None);
        }
    }

    /// Closes a draining connection once its last stream is gone.
    fn after_stream_gone(&mut self) {
        if !self.streams.is_empty() || self.closed {
            return;
        }
        self.update_idle_timer();
        let draining = self.eof
            || self.goaway_received.is_some()
            || (self.goaway_sent.is_some() && !self.shutdown_ping);
        if draining {
            let reason = if self.goaway_sent.is_some() {
                CloseReason::Shutdown
            } else {
                CloseReason::Done
            };
            self.close(reason);
        }
    }

    pub(super) fn close(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.phase = Phase::Done;
        self.timers.stop_all();
        let (code, remote) = match &reason {
            CloseReason::Peer(PeerError::H2 { code, .. }) => (*code, true),
            CloseReason::Peer(_) => (ErrorCode::CANCEL, true),
            CloseReason::GoAway(code) => (*code, true),
            _ => (ErrorCode::CANCEL, false),
        };
        let ids: Vec<StreamId> = self.streams.values().map(|s| s.id).collect();
        self.streams.clear();
        self.events.drop_wakeups(None);
        for id in ids {
            self.events.push_back(Event::Reset { id, code, remote });
        }
        self.events.push_back(Event::Closed { reason });
    }

    pub(super) fn on_goaway(&mut self, g: frame::GoAway) {
        let last = g.last_stream_id.get();
        self.goaway_received = Some(self.goaway_received.map_or(last, |prev| prev.min(last)));
        self.events.push_back(Event::GoAway {
            last_stream_id: g.last_stream_id,
            code: g.error_code,
            debug: g.debug_data.clone(),
            remote: true,
        });
        // Streams we opened above `last` were never processed (§6.8).
        let refused: Vec<u32> = self
            .streams
            .keys()
            .filter(|&id| !self.peer_initiated(id) && id > last)
            .collect();
        for id in refused {
            self.remove_stream(id, Some((ErrorCode::REFUSED_STREAM, true)));
        }
        if g.error_code != ErrorCode::NO_ERROR {
            return self.close(CloseReason::GoAway(g.error_code));
        }
        if self.streams.is_empty() {
            self.close(CloseReason::Done);
        }
    }

    /// Graceful shutdown, phase two (§6.8): the PING round trip proved the
    /// peer saw the first GOAWAY, so the real last stream id is final now.
    pub(super) fn goaway_phase_two(&mut self) {
        let last = self.last_peer_id;
        self.goaway_sent = Some(last);
        self.send_frame(frame::GoAway::new(StreamId::new(last), ErrorCode::NO_ERROR));
        self.events.push_back(Event::GoAway {
            last_stream_id: StreamId::new(last),
            code: ErrorCode::NO_ERROR,
            debug: Bytes::new(),
            remote: false,
        });
        self.after_stream_gone();
    }

    pub(crate) fn shutdown(&mut self, how: Shutdown) {
        if self.closed {
            return;
        }
        match how {
            Shutdown::Immediate => {
                let last = StreamId::new(self.last_peer_id);
                self.send_frame(frame::GoAway::new(last, ErrorCode::NO_ERROR));
                self.close(CloseReason::Shutdown);
            }
            Shutdown::Graceful { drain } => {
                if self.goaway_sent.is_some() || self.shutdown_ping {
                    return;
                }
                self.arm(TimerKind::ShutdownDrain, Some(drain));
                if self.side == Side::Server && self.phase != Phase::Done {
                    // Phase one: no new streams please, but the ones in flight
                    // may still arrive (§6.8).
                    let max = StreamId::new((1 << 31) - 1);
                    self.send_frame(frame::GoAway::new(max, ErrorCode::NO_ERROR));
                    self.goaway_sent = Some((1 << 31) - 1);
                    self.shutdown_ping = true;
                    self.ping_outstanding = Some(SHUTDOWN_PING);
                    self.ping_kind = PingKind::Shutdown;
                    self.send_frame(frame::Ping::new(SHUTDOWN_PING));
                } else {
                    self.goaway_phase_two();
                }
            }
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        while !self.closed {
            let Some(kind) = self.timers.pop_expired(now) else {
                break;
            };
            self.on_timeout(kind);
        }
    }

    fn on_timeout(&mut self, kind: TimerKind) {
        if kind == TimerKind::SendStall {
            if !self.timers.send_stalled(self.now, self.cfg.send_timeout) {
                return;
            }
            // The peer does not read: no GOAWAY can reach it either.
            self.tx.clear();
        }
        if kind == TimerKind::IdleRelease {
            return self.release_idle();
        }
        if kind == TimerKind::KeepAlive {
            if self.ping_outstanding.is_none() {
                self.ping_outstanding = Some(KEEPALIVE_PING);
                self.ping_kind = PingKind::KeepAlive;
                self.send_frame(frame::Ping::new(KEEPALIVE_PING));
                self.arm(TimerKind::PingTimeout, Some(self.cfg.h2.keep_alive_timeout));
            }
            self.arm(TimerKind::KeepAlive, self.cfg.h2.keep_alive_interval);
            return;
        }
        self.events.push_back(Event::TimedOut { kind });
        match kind {
            TimerKind::SettingsAck => {
                self.connection_error(ErrorCode::SETTINGS_TIMEOUT, "SETTINGS not acknowledged");
            }
            TimerKind::HeaderBlock => {
                self.connection_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "header block not completed in time",
                );
            }
            TimerKind::Idle => {
                let last = StreamId::new(self.last_peer_id);
                self.send_frame(frame::GoAway::new(last, ErrorCode::NO_ERROR));
                self.close(CloseReason::TimedOut(kind));
            }
            _ => self.close(CloseReason::TimedOut(kind)),
        }
    }

    /// Bytes of storage kept for reuse (what `idle_release` lets go).
    #[cfg(test)]
    pub(crate) fn kept_storage(&self) -> usize {
        self.events.capacity() * size_of::<Event>()
            + self.tx.capacity()
            + self.rbuf.capacity()
            + self.ready.capacity() * 4
            + self.scratch.capacity()
            + self.spare_queues.capacity()
            + self.field_buf.capacity()
            + self.spare_fields.kept_bytes()
            + self.encoder.scratch_capacity()
    }

    /// `idle_release`: no stream for a while, so the storage kept for the
    /// next ones goes (allocated again when a stream opens). Protocol state
    /// (HPACK tables, recent stream ids, settings) stays.
    fn release_idle(&mut self) {
        if !self.streams.is_empty() || self.partial.is_some() {
            return;
        }
        if !self.events.is_empty() || !self.tx.is_empty() || !self.rbuf.is_empty() {
            // The application, the transport or the peer is mid-way: later.
            return self.arm(TimerKind::IdleRelease, self.cfg.idle_release);
        }
        self.events = super::events::Events::default();
        self.streams = super::streams::Streams::new();
        self.tx.release();
        self.rbuf = BytesMut::new();
        self.ready = Default::default();
        self.scratch = Vec::new();
        self.spare_queues = Vec::new();
        self.field_buf = Vec::new();
        self.spare_fields = super::conn::spare_fields(&self.cfg);
        if self.held_resets.is_empty() {
            self.held_resets = VecDeque::new();
        }
        if self.settings_pending.is_empty() {
            self.settings_pending = VecDeque::new();
        }
        self.decoder.release_scratch();
        self.encoder.release_scratch();
        self.idle_released = true;
    }

    /// True once after each idle release (see `Connection::take_idle_release`).
    pub(crate) fn take_idle_release(&mut self) -> bool {
        core::mem::take(&mut self.idle_released)
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            None
        } else {
            self.timers.next()
        }
    }

    /// Idle: no stream open for `idle_timeout` → GOAWAY NO_ERROR and close;
    /// and after `idle_release`, the storage kept for reuse goes.
    pub(super) fn update_idle_timer(&mut self) {
        if self.closed {
            return;
        }
        if self.streams.is_empty() {
            if self.timers.get(TimerKind::Idle).is_none() {
                self.arm(TimerKind::Idle, self.cfg.idle_timeout);
            }
            if self.timers.get(TimerKind::IdleRelease).is_none() {
                self.arm(TimerKind::IdleRelease, self.cfg.idle_release);
            }
        } else {
            self.timers.stop(TimerKind::Idle);
            self.timers.stop(TimerKind::IdleRelease);
        }
        if self.cfg.h2.keep_alive_interval.is_some()
            && self.timers.get(TimerKind::KeepAlive).is_none()
        {
            self.arm(TimerKind::KeepAlive, self.cfg.h2.keep_alive_interval);
        }
    }
}

/// Keeps a retired stream's grown (and emptied) queue for a new stream, if
/// it is not large and fewer than `keep` are kept.
fn recycle_queue(spare: &mut Vec<VecDeque<Bytes>>, q: &mut VecDeque<Bytes>, keep: usize) {
    let cap = q.capacity();
    if cap > 0 && cap <= super::conn::SPARE_QUEUE_KEEP && spare.len() < keep {
        q.clear();
        spare.push(core::mem::take(q));
    }
}
