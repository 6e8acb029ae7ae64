//! How HTTP/1.1 exchanges and connections end: peer errors (answered with
//! 400/413/414/431/501), retiring finished exchanges, closing, protocol
//! switches (Upgrade, CONNECT, h2c) and shutdown.

use super::conn::{H1Conn, H2cHandover, Reading};
use super::encode::{self, Extra};
use super::stream::RecvState;
use crate::connection::{Shutdown, Side};
use crate::error::{CloseReason, ErrorCode, PeerError};
use crate::event::{Event, StreamId, TimerKind, UpgradeKind};
use crate::head::ResponseHead;
use bytes::Bytes;

impl H1Conn {
    /// The peer broke the protocol.
    pub(super) fn peer_error(&mut self, err: PeerError) {
        self.reading = Reading::Done;
        self.keep_alive = false;
        if self.side == Side::Client {
            return self.close(CloseReason::Peer(err));
        }
        // A body that broke mid-way: its exchange cannot complete.
        if let Some(last) = self.streams.back() {
            if !last.recv_finished() {
                let id = last.id;
                if last.response_unsent() {
                    self.streams.pop_back();
                    self.push_terminal(Event::Reset {
                        id,
                        code: ErrorCode::PROTOCOL_ERROR,
                        remote: true,
                    });
                } else {
                    // Its response is already on the wire: nothing sensible can follow.
                    return self.close(CloseReason::Peer(err));
                }
            }
        }
        if self.streams.is_empty() {
            self.write_error_response(err.status());
            self.close(CloseReason::Peer(err));
        } else {
            // Earlier pipelined responses go out first (RFC 9112 §9.3.2).
            self.pending_error = Some(Box::new(err));
        }
    }

    /// Server: a bodyless error response that closes the connection.
    pub(super) fn write_error_response(&mut self, status: u16) {
        if self.side != Side::Server {
            return;
        }
        let head = ResponseHead::new(status);
        let extra = Extra {
            content_length: Some(0),
            close: true,
            ..Extra::default()
        };
        let before = self.tx.buf().len();
        if encode::write_response(self.tx.buf(), &head, extra).is_ok() {
            let n = self.tx.buf().len() - before;
            self.tx.appended(n);
        }
    }

    /// Retires finished exchanges from the front, then decides what follows.
    pub(super) fn retire_ready(&mut self) {
        while let Some(front) = self.streams.front() {
            let recv_done = match self.side {
                Side::Server => front.recv_finished(),
                Side::Client => {
                    front.recv_finished() && (front.end_read || front.recv != RecvState::Complete)
                }
            };
            if !(front.send_done() && recv_done) {
                break;
            }
            let id = front.id;
            let aborted = match front.recv {
                RecvState::Aborted(code) if code != ErrorCode::NO_ERROR => Some(code),
                _ => None,
            };
            if front.close_after {
                self.keep_alive = false;
            }
            if let Some(mut done) = self.streams.pop_front() {
                // Kept unless empty or grown unusually large.
                let cap = done.queue.capacity();
                if cap > self.spare_queue.capacity() && cap <= 64 {
                    done.queue.clear();
                    self.spare_queue = done.queue;
                }
            }
            match aborted {
                Some(code) => self.push_terminal(Event::Reset {
                    id,
                    code,
                    remote: true,
                }),
                None => self.push_terminal(Event::Finished { id }),
            }
            self.front_changed();
        }
        if self.streams.is_empty() && !self.closed {
            if let Some(err) = self.pending_error.take() {
                self.write_error_response(err.status());
                return self.close(CloseReason::Peer(*err));
            }
            if !self.keep_alive || self.eof {
                let reason = if self.shutting_down {
                    CloseReason::Shutdown
                } else {
                    CloseReason::Done
                };
                return self.close(reason);
            }
            if self.side == Side::Client {
                self.events.push_back(Event::StreamsAvailable);
            }
            if matches!(self.reading, Reading::Done) {
                self.reading = Reading::Head;
            }
            // A client retires its exchange as its application reads, with
            // no input to follow: start the idle release from here too.
            if self.rbuf.is_empty() && self.timers.get(TimerKind::IdleRelease).is_none() {
                self.arm(TimerKind::IdleRelease, self.cfg.idle_release);
            }
        }
    }

    pub(super) fn close_if_idle(&mut self) {
        if self.streams.is_empty() {
            let reason = if self.shutting_down {
                CloseReason::Shutdown
            } else {
                CloseReason::Done
            };
            self.close(reason);
        }
    }

    /// Queues a stream's terminal event, dropping its still-queued
    /// `Readable`/`Writable`: they can only mislead once the stream is gone.
    pub(super) fn push_terminal(&mut self, event: Event) {
        let gone = match &event {
            Event::Finished { id } | Event::Reset { id, .. } | Event::Upgrade { id, .. } => *id,
            _ => return self.events.push_back(event),
        };
        let stale =
            |e: &Event| matches!(e, Event::Readable { id } | Event::Writable { id } if *id == gone);
        // Scanning is much cheaper than `retain`, and there is rarely one.
        if self.events.iter().any(stale) {
            self.events.retain(|e| !stale(e));
        }
        self.events.push_back(event);
    }

    /// Ends the connection: every open exchange is reset, then `Closed`.
    pub(super) fn close(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.reading = Reading::Done;
        self.timers.stop_all();
        let (code, remote) = match &reason {
            CloseReason::Peer(PeerError::UnexpectedEof) => (ErrorCode::CANCEL, true),
            CloseReason::Peer(_) => (ErrorCode::PROTOCOL_ERROR, true),
            _ => (ErrorCode::CANCEL, false),
        };
        while let Some(s) = self.streams.pop_front() {
            self.push_terminal(Event::Reset {
                id: s.id,
                code,
                remote,
            });
        }
        self.events.push_back(Event::Closed { reason });
    }

    /// Switches protocols after `id`'s head: the rest of the input belongs to
    /// the new protocol.
    pub(super) fn upgrade_now(&mut self, id: StreamId, kind: UpgradeKind) {
        let leftover = self.rbuf.split().freeze();
        self.upgrade = Some(Box::new((id, leftover)));
        if let Some(i) = self.find(id) {
            self.streams.remove(i);
        }
        self.push_terminal(Event::Upgrade { id, kind });
        self.close(CloseReason::Upgraded);
    }

    /// An accepted h2c upgrade: the state the HTTP/2 connection continues from.
    pub(crate) fn take_h2c(&mut self) -> Option<H2cHandover> {
        let switch = *self.h2c.take()?;
        self.closed = true;
        Some(H2cHandover {
            switch,
            cfg: self.cfg.clone(),
            tx: core::mem::take(&mut self.tx),
            leftover: self.rbuf.split(),
            events: core::mem::take(&mut self.events),
        })
    }

    pub(crate) fn take_upgrade(&mut self, id: StreamId) -> Option<Bytes> {
        match self.upgrade.as_deref() {
            Some((uid, _)) if *uid == id => self.upgrade.take().map(|u| u.1),
            _ => None,
        }
    }

    pub(crate) fn shutdown(&mut self, how: Shutdown) {
        if self.closed {
            return;
        }
        match how {
            Shutdown::Immediate => self.close(CloseReason::Shutdown),
            Shutdown::Graceful { drain } => {
                self.shutting_down = true;
                self.keep_alive = false;
                if self.streams.is_empty() {
                    return self.close(CloseReason::Shutdown);
                }
                if matches!(self.reading, Reading::Head) {
                    self.reading = Reading::Done;
                }
                self.arm(TimerKind::ShutdownDrain, Some(drain));
                self.update_read_timers();
            }
        }
    }
}
