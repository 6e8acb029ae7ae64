//! HTTP/1.1 timers: header read (slowloris), idle keep-alive, body read,
//! 100-continue wait, shutdown drain — kept in step with the reading state;
//! and the idle release of kept storage.

use std::collections::VecDeque;

use bytes::BytesMut;

use super::conn::{H1Conn, Reading};
use super::stream::Continue;
use crate::connection::Side;
use crate::error::CloseReason;
use crate::event::{Event, TimerKind};
use crate::head::SpareFields;
use crate::time::Instant;

impl H1Conn {
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        while !self.closed {
            let Some(kind) = self.timers.pop_expired(now) else {
                break;
            };
            self.on_timeout(kind);
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            None
        } else {
            self.timers.next()
        }
    }

    /// Keeps the header-read, idle and body-read timers in step with the state.
    pub(super) fn update_read_timers(&mut self) {
        if self.closed {
            return;
        }
        if !self.streams.is_empty() || !self.rbuf.is_empty() {
            self.timers.stop(TimerKind::IdleRelease);
        } else if self.timers.get(TimerKind::IdleRelease).is_none() {
            self.arm(TimerKind::IdleRelease, self.cfg.idle_release);
        }
        match &self.reading {
            Reading::Head if self.side == Side::Server => {
                self.timers.stop(TimerKind::BodyRead);
                if !self.rbuf.is_empty() && !self.head_paused() {
                    // A head has started: it must complete in time (slowloris).
                    self.timers.stop(TimerKind::Idle);
                    if self.timers.get(TimerKind::HeaderRead).is_none() {
                        self.arm(TimerKind::HeaderRead, self.cfg.header_read_timeout);
                    }
                } else if self.streams.is_empty() && self.next_id > 1 && self.rbuf.is_empty() {
                    // Kept alive between requests.
                    self.timers.stop(TimerKind::HeaderRead);
                    if self.timers.get(TimerKind::Idle).is_none() {
                        self.arm(TimerKind::Idle, self.cfg.idle_timeout);
                    }
                } else if !self.streams.is_empty() {
                    // Answering: the peer is waiting for us, not the reverse.
                    self.timers.stop(TimerKind::HeaderRead);
                    self.timers.stop(TimerKind::Idle);
                }
            }
            Reading::Head => {
                self.timers.stop(TimerKind::BodyRead);
                if self.streams.is_empty() {
                    if self.timers.get(TimerKind::Idle).is_none() {
                        self.arm(TimerKind::Idle, self.cfg.idle_timeout);
                    }
                } else {
                    self.timers.stop(TimerKind::Idle);
                }
            }
            Reading::Body { id, .. } => {
                self.timers.stop(TimerKind::HeaderRead);
                self.timers.stop(TimerKind::Idle);
                let app_is_slow = self
                    .find(*id)
                    .is_some_and(|i| self.streams[i].buffered >= self.cfg.max_recv_buffer);
                if app_is_slow {
                    // Not the peer's fault: it is our reader that lags.
                    self.timers.stop(TimerKind::BodyRead);
                } else if self.timers.get(TimerKind::BodyRead).is_none() {
                    self.arm_body_read(true);
                }
            }
            Reading::Done => {
                self.timers.stop(TimerKind::HeaderRead);
                self.timers.stop(TimerKind::BodyRead);
                if self.side == Side::Client || !self.streams.is_empty() {
                    self.timers.stop(TimerKind::Idle);
                }
            }
        }
    }

    /// Bytes of storage kept for reuse (what `idle_release` lets go).
    #[cfg(test)]
    pub(crate) fn kept_storage(&self) -> usize {
        self.events.capacity() * size_of::<Event>()
            + self.streams.capacity() * size_of::<super::stream::Stream>()
            + self.spare_queue.capacity() * size_of::<bytes::Bytes>()
            + self.spare_fields.kept_bytes()
            + self.tx.capacity()
            + self.rbuf.capacity()
            + self.last_head.as_ref().map_or(0, |l| l.capacity())
    }

    /// `idle_release`: no exchange for a while, so the storage kept for the
    /// next one goes (it is allocated again when a request comes).
    fn release_idle(&mut self) {
        if !self.streams.is_empty() || !self.rbuf.is_empty() {
            return;
        }
        if !self.events.is_empty() || !self.tx.is_empty() {
            // The application or the transport is behind: look again later.
            return self.arm(TimerKind::IdleRelease, self.cfg.idle_release);
        }
        self.events = VecDeque::new();
        self.streams = VecDeque::new();
        self.spare_queue = VecDeque::new();
        self.spare_fields = SpareFields::new();
        self.last_head = None;
        self.tx.release();
        self.rbuf = BytesMut::new();
        self.idle_released = true;
    }

    /// True once after each idle release (see `Connection::take_idle_release`).
    pub(crate) fn take_idle_release(&mut self) -> bool {
        core::mem::take(&mut self.idle_released)
    }

    pub(super) fn on_timeout(&mut self, kind: TimerKind) {
        if kind == TimerKind::IdleRelease {
            return self.release_idle();
        }
        if kind == TimerKind::SendStall {
            if !self.timers.send_stalled(self.now, self.cfg.send_timeout) {
                return;
            }
            // The peer does not read: what it is owed will never leave.
            self.tx.clear();
        }
        self.events.push_back(Event::TimedOut { kind });
        match kind {
            TimerKind::HeaderRead => {
                if self.streams.is_empty() {
                    // RFC 9110 §15.5.9: tell the client why before closing.
                    self.write_error_response(408);
                    self.close(CloseReason::TimedOut(kind));
                } else {
                    // A pipelined head stalled: finish what is in progress, then close.
                    self.keep_alive = false;
                    self.reading = Reading::Done;
                }
            }
            TimerKind::Idle | TimerKind::ShutdownDrain | TimerKind::SendStall => {
                self.close(CloseReason::TimedOut(kind));
            }
            TimerKind::BodyRead => {
                if self.side == Side::Server {
                    if let Reading::Body { id, .. } = self.reading {
                        let front_unanswered = self
                            .streams
                            .front()
                            .is_some_and(|s| s.id == id && s.response_unsent());
                        if front_unanswered {
                            self.write_error_response(408);
                        }
                    }
                }
                self.close(CloseReason::TimedOut(kind));
            }
            TimerKind::ExpectContinue => {
                // RFC 9110 §10.1.1: a client need not wait for 100 indefinitely.
                if let Some(s) = self.streams.front_mut() {
                    if s.expect == Continue::Waiting {
                        s.expect = Continue::None;
                        let id = s.id;
                        self.events.push_back(Event::Writable { id });
                    }
                }
            }
            // HTTP/2 timers are never armed on an HTTP/1 connection;
            // `IdleRelease` returned above.
            TimerKind::SettingsAck
            | TimerKind::KeepAlive
            | TimerKind::PingTimeout
            | TimerKind::HeaderBlock
            | TimerKind::IdleRelease => {}
        }
    }
}
