//! Slow-read defence (`Config::send_timeout`): a peer that stops reading
//! while a response is owed to it has its connection closed after the
//! timeout, and what it was owed is dropped, so neither the core nor the
//! adapter keeps memory or a task for it. Progress of the transport, however
//! slow, keeps the connection. Driven on the virtual clock.
//!
//! RFC 9112 §9.5 ("an implementation ought to … close connections whose
//! peers are unresponsive") and RFC 9113 §10.5 (denial-of-service
//! considerations: a peer that holds resources without reading).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use tests::h2::Peer;
use tests::*;

const TIMEOUT: Duration = Duration::from_secs(10);

fn cfg() -> Config {
    let mut c = no_timers();
    c.send_timeout = Some(TIMEOUT);
    c
}

fn owed(conn: &mut Connection) -> usize {
    conn.poll_transmit().iter().map(Bytes::len).sum()
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn stalled(evs: &[Event]) -> bool {
    evs.iter().any(|e| {
        matches!(
            e,
            Event::Closed {
                reason: CloseReason::TimedOut(TimerKind::SendStall)
            }
        )
    })
}

/// An HTTP/1 server that queued a 1 MiB response to `GET /`; nothing of it
/// has been written yet.
fn h1_server_owing_a_mebibyte() -> Connection {
    let mut conn = Connection::new(Side::Server, cfg(), T0);
    conn.recv(T0, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let id = events(&mut conn)
        .iter()
        .find_map(|e| match e {
            Event::Request { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap();
    let mut head = response(200, &[("content-length", "1048576")]);
    head.fields.push_static("x", "y");
    conn.send_response(id, head, false).unwrap();
    let mut body = Bytes::from(vec![b'r'; 1 << 20]);
    let mut s = conn.stream(id).unwrap();
    while !body.is_empty() && s.write(&mut body).unwrap() > 0 {}
    assert!(owed(&mut conn) > 0);
    conn
}

/// RFC 9112 §9.5: the transport takes nothing for `send_timeout` → the
/// connection closes with `TimedOut(SendStall)` and nothing is owed any more.
#[test]
fn rfc9112_9_5_h1_peer_that_never_reads_is_closed() {
    let mut conn = h1_server_owing_a_mebibyte();
    assert_eq!(conn.poll_timeout(), Some(T0 + TIMEOUT));
    conn.handle_timeout(T0 + (TIMEOUT - Duration::from_millis(1)));
    assert!(!stalled(&events(&mut conn)));
    conn.handle_timeout(T0 + TIMEOUT);
    let evs = events(&mut conn);
    assert!(stalled(&evs), "{evs:#?}");
    assert!(evs.iter().any(|e| matches!(
        e,
        Event::TimedOut {
            kind: TimerKind::SendStall
        }
    )));
    assert_eq!(owed(&mut conn), 0, "a stalled peer's bytes are dropped");
    assert!(conn.is_closed());
}

/// A slow reader that keeps taking bytes is not cut off: each write moves
/// the deadline; only a full `send_timeout` without progress closes.
#[test]
fn rfc9112_9_5_h1_slow_but_steady_reader_is_kept() {
    let mut conn = h1_server_owing_a_mebibyte();
    let mut now = T0;
    for _ in 0..5 {
        // 9 s apart, 1 KiB each time: slow, but never stalled for 10 s.
        now = now + Duration::from_secs(9);
        let _ = owed(&mut conn);
        conn.transmit_complete(1024);
        conn.handle_timeout(now);
        assert!(!stalled(&events(&mut conn)), "closed at {now:?}");
    }
    // Then it stops reading: closed within two timeouts of the last write.
    let last = now;
    while conn
        .poll_timeout()
        .is_some_and(|t| t <= last + TIMEOUT + TIMEOUT)
        && !conn.is_closed()
    {
        let at = conn.poll_timeout().unwrap();
        conn.handle_timeout(at);
        let _ = owed(&mut conn);
    }
    assert!(conn.is_closed());
    assert_eq!(owed(&mut conn), 0);
}

/// Nothing owed, no timer: an idle connection is not a stalled one.
#[test]
fn send_stall_timer_only_while_bytes_are_owed() {
    let mut conn = h1_server_owing_a_mebibyte();
    let n = owed(&mut conn);
    conn.transmit_complete(n);
    assert_eq!(owed(&mut conn), 0);
    assert_eq!(
        conn.poll_timeout(),
        None,
        "disarmed once everything is written"
    );
}

/// RFC 9113 §10.5: an HTTP/2 peer that opened its windows but does not read
/// the socket is closed after `send_timeout`; no GOAWAY is queued for it.
#[test]
fn rfc9113_10_5_h2_peer_that_never_reads_is_closed() {
    let mut c = cfg();
    c.h2.initial_window_size = 1 << 20;
    let mut p = Peer::server(c);
    p.handshake();
    // The client opens big windows, then asks for a large response.
    p.window_update(0, (1 << 24) - 65_535);
    p.settings(proto_core::h2::frame::Settings::default().with_initial_window_size(1 << 22));
    p.headers(1).request("GET", "/").end_stream().send();
    assert_eq!(p.ep.requests().len(), 1, "{:#?}", p.ep.log);
    let conn = &mut p.ep.conn;
    conn.send_response(sid(1), response(200, &[]), false)
        .unwrap();
    let mut body = Bytes::from(vec![b'r'; 1 << 20]);
    let mut s = conn.stream(sid(1)).unwrap();
    while !body.is_empty() && s.write(&mut body).unwrap() > 0 {}
    assert!(owed(conn) > 0);
    let now = p.now;
    assert_eq!(conn.poll_timeout(), Some(now + TIMEOUT));
    conn.handle_timeout(now + TIMEOUT);
    let evs = events(conn);
    assert!(stalled(&evs), "{evs:#?}");
    assert_eq!(owed(conn), 0);
}
