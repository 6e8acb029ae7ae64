//! Timers on the virtual clock (no sleeps): header read (slowloris), idle
//! keep-alive, body read, client idle. RFC 9110 §15.5.9 (408), RFC 9112 §9.5
//! (timeouts), §9.8 (persistence and idle close).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn cfg(header: Option<u64>, idle: Option<u64>, body: Option<u64>) -> Config {
    let mut c = no_timers();
    c.header_read_timeout = header.map(secs);
    c.idle_timeout = idle.map(secs);
    c.body_read_timeout = body.map(secs);
    c
}

/// Reads stream 1's body to its end, letting the connection take more input
/// between reads; returns how many bytes were read.
fn read_to_end(raw: &mut Raw) -> usize {
    let mut n = 0;
    for _ in 0..1000 {
        let (d, st) = raw.ep.read_body(sid(1));
        n += d.len();
        if st == ReadState::End {
            break;
        }
        raw.drive();
    }
    n
}

fn assert_408_and_closed(raw: &Raw, kind: TimerKind) {
    let rs = raw.responses();
    let last = rs
        .last()
        .unwrap_or_else(|| panic!("no response: {:#?}", raw.ep.log));
    assert_eq!(last.status, 408, "{}", raw.out());
    assert!(last.connection_has("close"), "{}", raw.out());
    assert_eq!(
        raw.ep
            .count(|e| matches!(e, Event::TimedOut { kind: k } if *k == kind)),
        1
    );
    assert_eq!(
        raw.closed(),
        Some(&CloseReason::TimedOut(kind)),
        "{:#?}",
        raw.ep.log
    );
}

/// RFC 9110 §15.5.9 + contract: the header-read timer runs from accept; a
/// partial head at the deadline gets 408 and the connection closes.
#[test]
fn rfc9110_15_5_9_header_read_timeout_from_accept() {
    let mut raw = Raw::server(cfg(Some(5), None, None));
    assert_eq!(raw.ep.conn.poll_timeout(), Some(T0 + secs(5)));
    raw.feed(b"GET / HT");
    raw.advance(ms(4999));
    assert!(raw.closed().is_none());
    assert_eq!(raw.out(), "");
    raw.advance(ms(1));
    assert_408_and_closed(&raw, TimerKind::HeaderRead);
}

/// Slowloris: bytes trickling in do not restart the header-read timer.
#[test]
fn rfc9110_15_5_9_header_read_timeout_not_extended_by_trickle() {
    let mut raw = Raw::server(cfg(Some(5), None, None));
    for b in b"GET / HTTP/1.1\r\nHost: exa".iter().take(5) {
        raw.feed(&[*b]);
        raw.advance(ms(999));
    }
    assert!(raw.closed().is_none());
    raw.advance(ms(5));
    assert_408_and_closed(&raw, TimerKind::HeaderRead);
}

/// Contract: the header-read timer counts from accept, not from the first
/// byte, for the first request.
#[test]
fn rfc9110_15_5_9_first_request_timer_counts_from_accept() {
    let mut raw = Raw::server(cfg(Some(5), None, None));
    raw.advance(secs(3));
    raw.feed(b"GET / HT");
    raw.advance(secs(2));
    assert_408_and_closed(&raw, TimerKind::HeaderRead);
}

/// Contract: a complete head in time disarms the header-read timer.
#[test]
fn rfc9110_15_5_9_complete_head_in_time_is_served() {
    let mut raw = Raw::server(cfg(Some(5), None, None)).app(echo_server());
    raw.advance(secs(4));
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.advance(secs(100));
    assert_eq!(statuses(&raw.ep.wire), vec![200]);
    assert!(raw.closed().is_none(), "{:#?}", raw.ep.log);
}

/// Contract: for a later request the header-read timer starts at its first
/// byte (not during the idle gap before it).
#[test]
fn rfc9110_15_5_9_header_read_timeout_from_later_request() {
    let mut raw = Raw::server(cfg(Some(5), Some(60), None)).app(echo_server());
    raw.feed(b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n");
    raw.advance(secs(30));
    assert!(
        raw.closed().is_none(),
        "header timer ran while idle: {:#?}",
        raw.ep.log
    );
    raw.feed(b"GET /b HT");
    raw.advance(ms(4999));
    assert!(raw.closed().is_none());
    raw.advance(ms(1));
    assert_eq!(statuses(&raw.ep.wire), vec![200, 408]);
    assert_408_and_closed(&raw, TimerKind::HeaderRead);
}

/// RFC 9112 §9.8 + contract: an idle kept-alive connection closes silently
/// after `idle_timeout` (and the shorter header-read timer does not fire
/// while idle).
#[test]
fn rfc9112_9_8_idle_timeout_closes_silently() {
    let mut raw = Raw::server(cfg(Some(5), Some(10), None)).app(echo_server());
    raw.feed(b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n");
    let out = raw.out();
    assert_eq!(raw.ep.conn.poll_timeout(), Some(T0 + secs(10)));
    raw.advance(ms(9999));
    assert!(raw.closed().is_none(), "{:#?}", raw.ep.log);
    raw.advance(ms(1));
    assert_eq!(
        raw.ep.count(|e| matches!(
            e,
            Event::TimedOut {
                kind: TimerKind::Idle
            }
        )),
        1
    );
    assert_eq!(raw.closed(), Some(&CloseReason::TimedOut(TimerKind::Idle)));
    assert_eq!(raw.out(), out, "idle close must be silent");
}

/// Contract: a spurious early `handle_timeout` is a no-op.
#[test]
fn contract_spurious_handle_timeout_is_harmless() {
    let mut raw = Raw::server(cfg(Some(5), Some(10), Some(5))).app(echo_server());
    for _ in 0..10 {
        raw.advance(Duration::ZERO);
    }
    raw.advance(ms(100));
    assert!(raw.closed().is_none());
    assert_eq!(raw.ep.log.len(), 1, "{:#?}", raw.ep.log);
}

/// RFC 9110 §15.5.9 + contract: a body that makes no progress for
/// `body_read_timeout` while the app waits → 408 (no response started),
/// `Reset`, `Closed{TimedOut(BodyRead)}`; progress restarts the timer.
#[test]
fn rfc9110_15_5_9_body_read_timeout() {
    let mut raw = Raw::server(cfg(None, None, Some(5))).app(reader());
    raw.feed(b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 10\r\n\r\n01234");
    raw.advance(secs(3));
    raw.feed(b"56");
    raw.advance(secs(4));
    assert!(
        raw.closed().is_none(),
        "progress did not restart the body timer"
    );
    raw.advance(secs(1));
    assert!(
        raw.ep
            .saw(|e| matches!(e, Event::Reset { id, .. } if *id == sid(1))),
        "{:#?}",
        raw.ep.log
    );
    assert_408_and_closed(&raw, TimerKind::BodyRead);
}

/// Contract: the body timer does not run while the *application* is slow to
/// read (the receive buffer is full, the core is not waiting for the peer).
#[test]
fn contract_body_read_timeout_not_while_app_is_slow() {
    let mut c = cfg(None, None, Some(5));
    c.max_recv_buffer = 1024;
    let mut raw = Raw::server(c);
    let mut input =
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 100000\r\n\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'z', 100_000));
    raw.feed(&input);
    assert!(!raw.ep.conn.wants_read());
    raw.advance(secs(60));
    assert!(raw.closed().is_none(), "{:#?}", raw.ep.log);
    assert_eq!(read_to_end(&mut raw), 100_000);
}

/// Contract (client): an idle pooled connection closes after
/// `idle_timeout`; the server sees EOF and closes too.
#[test]
fn rfc9112_9_8_client_idle_timeout() {
    let mut p = Pair::with(cfg(None, Some(10), None), no_timers(), Delivery::WHOLE);
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    p.request(get("/"), b"");
    p.drive();
    p.advance(ms(9999));
    assert!(p.client.closed().is_none());
    p.advance(ms(1));
    assert_eq!(
        p.client.closed(),
        Some(&CloseReason::TimedOut(TimerKind::Idle))
    );
    assert_eq!(
        p.server.closed(),
        Some(&CloseReason::Done),
        "{:#?}",
        p.server.log
    );
}

/// Contract: with every timer disabled nothing is ever scheduled.
#[test]
fn contract_no_timers_no_deadline() {
    let mut raw = Raw::server(no_timers()).app(echo_server());
    assert_eq!(raw.ep.conn.poll_timeout(), None);
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert_eq!(raw.ep.conn.poll_timeout(), None);
}

/// Pair on the virtual clock: the server's header-read timeout against a
/// client that never sends anything (slowloris from accept), via
/// `next_timeout`.
#[test]
fn rfc9110_15_5_9_pair_next_timeout_drives_header_read() {
    let mut p = Pair::with(no_timers(), cfg(Some(5), None, None), Delivery::WHOLE);
    let t = p.next_timeout().unwrap();
    assert_eq!(t, T0 + secs(5));
    p.advance(t.saturating_duration_since(p.now));
    assert_eq!(
        p.server.closed(),
        Some(&CloseReason::TimedOut(TimerKind::HeaderRead))
    );
    assert_eq!(p.elapsed(), secs(5));
}

fn rate_cfg() -> Config {
    let mut c = cfg(None, None, Some(10));
    c.min_body_rate = Some(MinRate {
        bytes_per_second: 100,
        grace: secs(2),
    });
    c
}

/// RFC 9110 §15.5.9 (408) with `min_body_rate`: a body trickled 10 bytes a
/// second never goes silent for `body_read_timeout` (10 s), but falls below
/// 100 B/s once the 2 s grace is over: 408 and close within 3 s.
#[test]
fn rfc9110_15_5_9_min_body_rate_cuts_off_a_trickled_body() {
    let mut raw = Raw::server(rate_cfg()).app(reader());
    raw.feed(b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 10000\r\n\r\n");
    for _ in 0..3 {
        if raw.closed().is_some() {
            break;
        }
        raw.advance(secs(1));
        raw.feed(&[b'x'; 10]);
    }
    assert_408_and_closed(&raw, TimerKind::BodyRead);
}

/// A body arriving faster than the minimum rate is kept for as long as it
/// takes (here 20 s, twice `body_read_timeout`).
#[test]
fn rfc9110_15_5_9_min_body_rate_keeps_a_steady_body() {
    let mut raw = Raw::server(rate_cfg()).app(reader());
    raw.feed(b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 4000\r\n\r\n");
    for _ in 0..20 {
        raw.advance(secs(1));
        assert!(raw.closed().is_none(), "{:#?}", raw.ep.log);
        raw.feed(&[b'x'; 200]);
    }
    assert!(raw.closed().is_none());
    assert!(
        !raw.ep.saw(|e| matches!(e, Event::TimedOut { .. })),
        "{:#?}",
        raw.ep.log
    );
}

/// Contract: time the *application* lagged (receive buffer full, the peer
/// could not send) is not held against the peer's rate: the window restarts
/// when the application reads again.
#[test]
fn contract_min_body_rate_not_while_app_is_slow() {
    let mut c = rate_cfg();
    c.max_recv_buffer = 1024;
    let mut raw = Raw::server(c);
    let mut input =
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 100000\r\n\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'z', 100_000));
    raw.feed(&input);
    raw.advance(secs(60));
    assert!(raw.closed().is_none(), "{:#?}", raw.ep.log);
    assert_eq!(read_to_end(&mut raw), 100_000);
    assert!(raw.closed().is_none(), "{:#?}", raw.ep.log);
}
