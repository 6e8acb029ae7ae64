//! HTTP/2 control frames received: RST_STREAM (with the reset budget),
//! SETTINGS (theirs, and the acknowledgement of ours), PING, WINDOW_UPDATE,
//! PRIORITY_UPDATE (RFC 9113 §6.4–§6.9, RFC 9218 §7.1).

use super::flow::DEFAULT_WINDOW;
use super::frame::{self};
use super::stream::State;
use crate::connection::Side;
use crate::error::ErrorCode;
use crate::event::{Event, TimerKind};

use super::conn::{H2Conn, PingKind};

impl H2Conn {
    pub(super) fn on_rst_stream(&mut self, r: frame::RstStream) {
        let id = r.stream_id.get();
        if !self.streams.contains_key(&id) {
            if !self.is_closed_id(id) {
                // §6.4: RST_STREAM on an idle stream.
                return self
                    .connection_error(ErrorCode::PROTOCOL_ERROR, "RST_STREAM on an idle stream");
            }
            return;
        }
        if self.side == Side::Client
            && r.error_code == ErrorCode::NO_ERROR
            && self.streams.get(&id).is_some_and(|s| !s.state.recv_open())
        {
            // §8.1: a complete response, then "stop sending the request":
            // the response stays readable.
            if let Some(s) = self.streams.get_mut(&id) {
                s.state = State::Closed;
                s.pending.clear();
                self.conn_pending -= core::mem::take(&mut s.pending_len);
                s.finish = None;
            }
            return self.maybe_retire(id);
        }
        if self.side == Side::Server && !self.spend_reset_token() {
            return;
        }
        self.hold_if_answering(id);
        self.remove_stream(id, Some((r.error_code, true)));
    }

    /// Rapid Reset (CVE-2023-44487) and MadeYouReset (CVE-2025-8671): each
    /// stream the peer cancels, or makes us cancel, costs a token; tokens
    /// refill over time. False (and GOAWAY) when the budget is exhausted.
    pub(super) fn spend_reset_token(&mut self) -> bool {
        let refill = self.cfg.h2.reset_refill.as_nanos().max(1);
        let elapsed = self
            .now
            .saturating_duration_since(self.reset_refilled)
            .as_nanos();
        let earned = u32::try_from(elapsed / refill).unwrap_or(u32::MAX);
        if earned > 0 {
            self.reset_tokens = self
                .reset_tokens
                .saturating_add(earned)
                .min(self.cfg.h2.max_resets);
            self.reset_refilled = self.now;
        }
        if self.reset_tokens == 0 {
            self.connection_error(ErrorCode::ENHANCE_YOUR_CALM, "too many stream resets");
            return false;
        }
        self.reset_tokens -= 1;
        true
    }

    pub(super) fn on_settings(&mut self, s: frame::Settings) {
        if s.is_ack() {
            if self.settings_unacked == 0 {
                return self.connection_error(ErrorCode::PROTOCOL_ERROR, "unexpected SETTINGS ACK");
            }
            self.settings_unacked -= 1;
            // The initial SETTINGS carried `cfg` itself; later ones what
            // `update_settings` queued.
            if self.settings_pending.len() > self.settings_unacked as usize {
                if let Some(acked) = self.settings_pending.pop_front() {
                    self.apply_local_settings(acked);
                }
            }
            if self.settings_unacked == 0 {
                self.timers.stop(TimerKind::SettingsAck);
            }
            self.decoder
                .set_max_table_size(self.cfg.h2.header_table_size as usize);
            return;
        }
        if self.apply_settings(&s) {
            self.send_frame(frame::Settings::ack());
            self.pending_control += 1;
            self.events.push_back(Event::PeerSettings { settings: s });
        }
    }

    /// Our new settings were acknowledged: they bind from now on (§6.5.3).
    /// A changed SETTINGS_INITIAL_WINDOW_SIZE moves every stream's receive
    /// window by the difference, as the peer moved its send windows (§6.9.2).
    pub(super) fn apply_local_settings(&mut self, acked: crate::config::H2Config) {
        let old = i64::from(self.cfg.h2.initial_window_size.max(DEFAULT_WINDOW));
        let new = i64::from(acked.initial_window_size.max(DEFAULT_WINDOW));
        if new != old {
            for s in self.streams.values_mut() {
                let _ = s.recv_window.adjust(new - old);
            }
        }
        let h2 = &mut std::sync::Arc::make_mut(&mut self.cfg).h2;
        h2.max_concurrent_streams = acked.max_concurrent_streams;
        h2.initial_window_size = acked.initial_window_size;
        h2.max_header_list_size = acked.max_header_list_size;
        h2.header_table_size = acked.header_table_size;
    }

    /// Applies the peer's settings (§6.5.2, §6.9.2); false after a
    /// connection error.
    pub(super) fn apply_settings(&mut self, s: &frame::Settings) -> bool {
        if s.entry_count() > self.cfg.h2.max_settings_entries {
            self.connection_error(ErrorCode::ENHANCE_YOUR_CALM, "too many SETTINGS entries");
            return false;
        }
        if self.side == Side::Client && s.enable_push().is_some_and(|v| v != 0) {
            // §6.5.2: a server must not enable push.
            self.connection_error(ErrorCode::PROTOCOL_ERROR, "server sent ENABLE_PUSH=1");
            return false;
        }
        if let Some(n) = s.header_table_size() {
            self.encoder.set_max_table_size(n as usize);
        }
        if let Some(n) = s.max_concurrent_streams() {
            let grew = n > self.peer.max_concurrent_streams;
            self.peer.max_concurrent_streams = n;
            if grew && self.side == Side::Client {
                self.events.push_back(Event::StreamsAvailable);
            }
        }
        if let Some(n) = s.max_frame_size() {
            self.peer.max_frame_size = n;
        }
        if let Some(n) = s.max_header_list_size() {
            self.peer.max_header_list_size = n;
        }
        if let Some(n) = s.enable_connect_protocol() {
            self.peer.enable_connect_protocol = n == 1;
        }
        if let Some(n) = s.initial_window_size() {
            // §6.9.2: the change applies to every stream's send window.
            let delta = i64::from(n) - i64::from(self.peer.initial_window_size);
            self.peer.initial_window_size = n;
            let mut overflow = false;
            for st in self.streams.values_mut() {
                overflow |= st.send_window.adjust(delta).is_err();
            }
            if overflow {
                self.connection_error(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "window overflow after SETTINGS",
                );
                return false;
            }
            if delta > 0 {
                self.window_opened();
            }
        }
        true
    }

    pub(super) fn on_ping(&mut self, p: frame::Ping) {
        if !p.ack {
            self.send_frame(frame::Ping::pong(p.payload));
            self.pending_control += 1;
            return;
        }
        if self.ping_outstanding == Some(p.payload) {
            self.ping_outstanding = None;
            self.timers.stop(TimerKind::PingTimeout);
            match self.ping_kind {
                PingKind::User => self.events.push_back(Event::Pong { payload: p.payload }),
                PingKind::KeepAlive => {}
                PingKind::Shutdown => {
                    self.shutdown_ping = false;
                    self.goaway_phase_two();
                }
            }
        }
    }

    pub(super) fn on_window_update(&mut self, w: frame::WindowUpdate) {
        let id = w.stream_id.get();
        if id == 0 {
            if self.send_window.increase(w.increment).is_err() {
                return self
                    .connection_error(ErrorCode::FLOW_CONTROL_ERROR, "connection window overflow");
            }
            return self.window_opened();
        }
        let Some(s) = self.streams.get_mut(&id) else {
            if !self.is_closed_id(id) {
                return self.connection_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "WINDOW_UPDATE on an idle stream",
                );
            }
            return;
        };
        if s.send_window.increase(w.increment).is_err() {
            // §6.9.1: a stream window overflow is a stream error.
            return self.peer_stream_error(
                w.stream_id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "stream window overflow",
            );
        }
        if !s.scheduled && (!s.pending.is_empty() || s.finish.is_some()) {
            self.schedule(id);
        }
        let wanted = self.streams.get(&id).is_some_and(|s| s.write_wanted);
        if wanted && self.write_capacity_of(id) > 0 {
            if let Some(s) = self.streams.get_mut(&id) {
                s.write_wanted = false;
                let sid = s.id;
                self.events.push_back(Event::Writable { id: sid });
            }
        }
    }

    pub(super) fn on_priority_update(&mut self, p: frame::PriorityUpdate) {
        if self.side == Side::Client {
            // RFC 9218 §7.1: only clients send PRIORITY_UPDATE.
            return self
                .connection_error(ErrorCode::PROTOCOL_ERROR, "PRIORITY_UPDATE from a server");
        }
        let (u, i) = super::priority::parse(&p.field_value);
        let id = p.prioritized_stream_id.get();
        if let Some(s) = self.streams.get_mut(&id) {
            s.urgency = u;
            s.incremental = i;
        }
        self.events.push_back(Event::PriorityUpdate {
            id: p.prioritized_stream_id,
            urgency: u,
            incremental: i,
        });
    }
}
