//! Upgrade (RFC 9110 §7.8, 101) and CONNECT tunnels (RFC 9110 §9.3.6):
//! `Upgrade` event, `Closed{Upgraded}`, and the leftover bytes handed over
//! exactly, in both roles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::*;

/// The bytes past the upgrading message: what `take_upgrade` returned plus
/// what `recv` never took (a core may stop reading at the head).
fn leftover(ep: &mut Endpoint, id: StreamId) -> Vec<u8> {
    let mut v = ep
        .conn
        .take_upgrade(id)
        .map(|b| b.to_vec())
        .expect("take_upgrade returned None");
    v.extend_from_slice(&ep.inbound);
    v
}

fn assert_upgraded(ep: &Endpoint, kind: UpgradeKind) {
    let ups: Vec<_> = ep
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Upgrade { id, kind } => Some((*id, *kind)),
            _ => None,
        })
        .collect();
    assert_eq!(ups, vec![(sid(1), kind)], "{:#?}", ep.log);
    assert_eq!(ep.closed(), Some(&CloseReason::Upgraded), "{:#?}", ep.log);
    let up = ep
        .log
        .iter()
        .position(|l| l.starts_with("Upgrade"))
        .unwrap();
    let cl = ep.log.iter().position(|l| l.starts_with("Closed")).unwrap();
    assert!(up < cl);
}

const TUNNEL: &[u8] = b"\x00\x01binary\r\n\r\nGET / HTTP/1.1\r\n\r\n\xff";

fn server_upgrade(delivery: Delivery) {
    let mut raw = Raw::with(Side::Server, no_timers(), delivery);
    let mut input =
        b"GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
            .to_vec();
    input.extend_from_slice(TUNNEL);
    raw.feed(&input);
    assert_eq!(
        raw.ep.requests().len(),
        1,
        "bytes after an upgrade request parsed as HTTP"
    );
    assert!(raw.closed().is_none());
    raw.ep.respond(
        sid(1),
        response(101, &[("connection", "upgrade"), ("upgrade", "websocket")]),
        b"",
    );
    raw.drive();
    assert_eq!(
        raw.out(),
        "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n"
    );
    assert_upgraded(&raw.ep, UpgradeKind::Protocol);
    assert_eq!(show(&leftover(&mut raw.ep, sid(1))), show(TUNNEL));
    assert_eq!(
        raw.ep.conn.take_upgrade(sid(1)),
        None,
        "leftover returned twice"
    );
}

/// RFC 9110 §7.8: a server that answers `101` hands the bytes after the
/// request head over, exactly (whole delivery).
#[test]
fn rfc9110_7_8_server_101_hands_over_leftover() {
    server_upgrade(Delivery::WHOLE);
}

/// RFC 9110 §7.8: same, byte by byte.
#[test]
fn rfc9110_7_8_server_101_hands_over_leftover_bytewise() {
    server_upgrade(Delivery::BYTEWISE);
}

/// RFC 9110 §7.8 ("A server MAY ignore a received Upgrade header field"):
/// any other response resumes HTTP/1.1; the next request is parsed.
#[test]
fn rfc9110_7_8_server_declined_upgrade_resumes_http() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert_eq!(raw.ep.requests().len(), 1);
    raw.ep.respond_cl(sid(1), 200, b"plain");
    raw.drive();
    let reqs: Vec<_> = raw
        .ep
        .requests()
        .iter()
        .map(|(id, h, _)| (*id, h.target.clone()))
        .collect();
    assert_eq!(reqs.len(), 2, "{:#?}", raw.ep.log);
    assert_eq!(&reqs[1].1[..], b"/next");
    raw.ep.respond_cl(sid(3), 200, b"next");
    raw.drive();
    assert_eq!(statuses(&raw.ep.wire), vec![200, 200]);
    assert_eq!(raw.ep.count(|e| matches!(e, Event::Upgrade { .. })), 0);
    assert!(raw.closed().is_none());
}

/// RFC 9110 §9.3.6: a 2xx to CONNECT turns the connection into a tunnel;
/// the bytes after the request head are handed over.
#[test]
fn rfc9110_9_3_6_server_connect_2xx_tunnels() {
    let mut raw = Raw::server(no_timers());
    let mut input = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n".to_vec();
    input.extend_from_slice(TUNNEL);
    raw.feed(&input);
    assert_eq!(raw.ep.requests().len(), 1);
    assert_eq!(raw.ep.requests()[0].1.method, Method::Connect);
    raw.ep.respond(sid(1), response(200, &[]), b"");
    raw.drive();
    assert_eq!(
        raw.out(),
        "HTTP/1.1 200 OK\r\n\r\n",
        "RFC 9110 §9.3.6: no framing fields in a 2xx to CONNECT"
    );
    assert_upgraded(&raw.ep, UpgradeKind::Connect);
    assert_eq!(show(&leftover(&mut raw.ep, sid(1))), show(TUNNEL));
}

/// RFC 9110 §9.3.6: a non-2xx to CONNECT is an ordinary response; the
/// connection stays HTTP.
#[test]
fn rfc9110_9_3_6_server_connect_refused_stays_http() {
    let mut raw = Raw::server(no_timers());
    raw.feed(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    raw.ep.respond_cl(sid(1), 403, b"no");
    raw.drive();
    raw.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert_eq!(raw.ep.requests().len(), 2, "{:#?}", raw.ep.log);
    assert_eq!(raw.ep.count(|e| matches!(e, Event::Upgrade { .. })), 0);
}

fn client_upgrade(head: RequestHead, reply: &[u8], kind: UpgradeKind, delivery: Delivery) {
    let mut raw = Raw::with(Side::Client, no_timers(), delivery);
    raw.ep.request(head, b"");
    raw.drive();
    let mut input = reply.to_vec();
    input.extend_from_slice(TUNNEL);
    raw.feed(&input);
    assert_upgraded(&raw.ep, kind);
    assert_eq!(show(&leftover(&mut raw.ep, sid(1))), show(TUNNEL));
}

/// RFC 9110 §7.8 (client): a 101 → `Upgrade{Protocol}`; the bytes after the
/// 101 head are handed over exactly.
#[test]
fn rfc9110_7_8_client_101_hands_over_leftover() {
    for d in [Delivery::WHOLE, Delivery::BYTEWISE] {
        client_upgrade(
            request(
                Method::Get,
                "/chat",
                &[("host", "example.com"), ("connection", "upgrade"), ("upgrade", "websocket")],
            ),
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            UpgradeKind::Protocol,
            d,
        );
    }
}

/// RFC 9110 §9.3.6 (client): a 2xx to CONNECT → `Upgrade{Connect}`; even a
/// Content-Length in it is ignored ("A client MUST ignore any Content-Length
/// or Transfer-Encoding header fields received in a successful response to
/// CONNECT").
#[test]
fn rfc9110_9_3_6_client_connect_2xx_hands_over_leftover() {
    for d in [Delivery::WHOLE, Delivery::BYTEWISE] {
        client_upgrade(
            request(
                Method::Connect,
                "example.com:443",
                &[("host", "example.com:443")],
            ),
            b"HTTP/1.1 200 Connection Established\r\nContent-Length: 3\r\n\r\n",
            UpgradeKind::Connect,
            d,
        );
    }
}

/// RFC 9110 §7.8, pair: a 101 ends both HTTP connections with `Upgraded`.
#[test]
fn rfc9110_7_8_pair_upgrade() {
    let mut p = Pair::with(no_timers(), no_timers(), Delivery::WHOLE);
    p.server.app = Some(Box::new(|cx, ev| {
        if let Event::Request { id, .. } = ev {
            cx.respond(
                *id,
                response(101, &[("connection", "upgrade"), ("upgrade", "x-proto")]),
                b"",
            );
        }
    }));
    p.request(
        request(
            Method::Get,
            "/",
            &[
                ("host", "example.com"),
                ("connection", "upgrade"),
                ("upgrade", "x-proto"),
            ],
        ),
        b"",
    );
    p.drive();
    assert_upgraded(&p.server, UpgradeKind::Protocol);
    assert_upgraded(&p.client, UpgradeKind::Protocol);
    assert_eq!(p.server.conn.take_upgrade(sid(1)).map(|b| b.len()), Some(0));
    assert_eq!(p.client.conn.take_upgrade(sid(1)).map(|b| b.len()), Some(0));
}
