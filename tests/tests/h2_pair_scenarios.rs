//! HTTP/2 scenarios through the in-memory pair (a client core and a server
//! core back to back, virtual clock): concurrency (§5.1.2), large bodies with
//! flow-control stalls (§5.2, §6.9), graceful shutdown mid-stream (§6.8),
//! trailers (§8.1), 100-continue (§8.1, RFC 9110 §10.1.1), HEAD/204 (§8.1.1),
//! and split independence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proto_core::h2::frame::Frame;
use tests::h2::decode_wire;
use tests::*;

fn h2_pair(client: Config, server: Config, delivery: Delivery) -> Pair {
    Pair::with_protocol(Protocol::Http2, client, server, delivery)
}

fn small_windows() -> Config {
    let mut c = no_timers();
    c.h2.initial_window_size = 65_535;
    c.h2.connection_window_size = 65_535;
    c
}

/// A deterministic, printable body of `n` bytes (different per `salt`).
fn body(n: usize, salt: u8) -> Vec<u8> {
    (0..n)
        .map(|i| b'a' + ((i / 7 + usize::from(salt)) % 26) as u8)
        .collect()
}

/// Per-stream body accumulation for the apps below (bodies are not logged:
/// they would bloat assertion messages).
#[derive(Default)]
struct Acc {
    bodies: BTreeMap<StreamId, (Vec<u8>, Option<Fields>)>,
    done: std::collections::BTreeSet<StreamId>,
}

impl Acc {
    /// Reads what is available on `id`; the complete body and trailers once
    /// the end was read (once per stream).
    fn read(&mut self, conn: &mut Connection, id: StreamId) -> Option<(Vec<u8>, Option<Fields>)> {
        if self.done.contains(&id) || conn.stream(id).is_none() {
            return None;
        }
        let e = self.bodies.entry(id).or_default();
        match read_available(conn, id, &mut e.0, &mut e.1) {
            ReadState::End => {
                self.done.insert(id);
                self.bodies.remove(&id)
            }
            ReadState::Blocked => None,
            _ => {
                self.done.insert(id);
                self.bodies.remove(&id);
                None
            }
        }
    }
}

fn checksum(b: &[u8]) -> u32 {
    b.iter()
        .fold(0u32, |a, &x| a.wrapping_mul(31).wrapping_add(u32::from(x)))
}

/// A server that reads each request body to its end, then answers 200 with
/// `resp_len` bytes (salted by the stream id) and, if `trailers`, trailers
/// `x-req-len: <request body length>`. Notes `req <id> len=.. trailers=[..]`.
fn sized_server(resp_len: usize, trailers: bool) -> App {
    let mut acc = Acc::default();
    Box::new(move |cx, ev| {
        let id = match ev {
            Event::Request { id, .. } | Event::Readable { id } => *id,
            _ => return,
        };
        if let Some((b, t)) = acc.read(cx.conn, id) {
            let t = t.as_ref().map(render_fields).unwrap_or_default();
            cx.note(format!("req {id} len={} trailers=[{t}]", b.len()));
            let resp = body(resp_len, id.get() as u8);
            if cx.conn.send_response(id, response(200, &[]), false).is_ok() {
                let tr = trailers.then(|| fields(&[("x-req-len", &b.len().to_string())]));
                cx.send_body(id, &resp, true, tr);
            }
        }
    })
}

/// A client app that reads response bodies and notes their length, a
/// checksum and the trailers.
fn sized_reader() -> App {
    let mut acc = Acc::default();
    Box::new(move |cx, ev| {
        let id = match ev {
            Event::Response { id, .. } | Event::Readable { id } => *id,
            _ => return,
        };
        if let Some((b, t)) = acc.read(cx.conn, id) {
            let t = t.as_ref().map(render_fields).unwrap_or_default();
            cx.note(format!(
                "resp {id} len={} sum={:08x} trailers=[{t}]",
                b.len(),
                checksum(&b)
            ));
        }
    })
}

fn count_frames(wire: &[u8], from_client: bool, f: impl Fn(&Frame) -> bool) -> usize {
    decode_wire(wire, from_client)
        .iter()
        .filter(|x| f(x))
        .count()
}

// ---- concurrency ----------------------------------------------------------------

/// RFC 9113 §5.1.2, §8.1: 100 concurrent streams (the server's default
/// SETTINGS_MAX_CONCURRENT_STREAMS) with bodies both ways all complete, each
/// with exactly one terminal event on both ends.
#[test]
fn hundred_concurrent_streams_5_1_2() {
    let mut p = h2_pair(no_timers(), no_timers(), Delivery::WHOLE);
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    let mut ids = Vec::new();
    for i in 0..100 {
        let b = format!("req-{i}");
        ids.push(p.request(
            request(Method::Post, &format!("/s/{i}"), &[("host", "x")]),
            b.as_bytes(),
        ));
    }
    p.drive();
    let log = p.client.app_log();
    assert_eq!(log.len(), 100, "{log:#?}");
    for (i, id) in ids.iter().enumerate() {
        let want = format!("app: body {id}: POST /s/{i} req-{i}");
        assert!(log.contains(&want), "missing {want}: {log:#?}");
    }
    assert_eq!(p.client.count(|e| matches!(e, Event::Finished { .. })), 100);
    assert_eq!(p.server.count(|e| matches!(e, Event::Finished { .. })), 100);
    assert_eq!(p.client.count(|e| matches!(e, Event::Reset { .. })), 0);
    assert!(p.client.closed().is_none() && p.server.closed().is_none());
}

/// RFC 9113 §5.1.2: more requests than the server's limit: the client holds
/// the extra ones (`Busy`) and sends them after `StreamsAvailable`; nothing
/// is refused on the wire.
#[test]
fn client_waits_for_streams_available_5_1_2() {
    let mut server = no_timers();
    server.h2.max_concurrent_streams = 3;
    let mut p = h2_pair(no_timers(), server, Delivery::WHOLE);
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    p.drive(); // SETTINGS exchanged.
    let mut pending: Vec<usize> = (0..10).collect();
    let mut sent = 0;
    for _ in 0..100 {
        while let Some(&i) = pending.first() {
            match p.client.conn.send_request(get(&format!("/{i}")), true) {
                Ok(id) => {
                    p.client.track_stream(id);
                    pending.remove(0);
                    sent += 1;
                }
                Err(UserError::Busy) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        p.drive();
        if pending.is_empty() {
            break;
        }
    }
    p.drive();
    assert_eq!(sent, 10);
    assert_eq!(p.client.app_log().len(), 10, "{:#?}", p.client.app_log());
    let refused = count_frames(&p.server.wire, false, |f| matches!(f, Frame::RstStream(_)));
    assert_eq!(refused, 0, "no REFUSED_STREAM needed");
}

// ---- large bodies and flow control ------------------------------------------------

fn mib_both_ways(delivery: Delivery) {
    const MIB: usize = 1 << 20;
    let mut p = h2_pair(small_windows(), small_windows(), delivery);
    p.server.app = Some(sized_server(MIB, false));
    p.client.app = Some(sized_reader());
    let req = body(MIB, 0);
    let id = p.request(request(Method::Post, "/big", &[("host", "x")]), &req);
    p.drive();
    assert_eq!(
        p.server.app_log(),
        [format!("app: req {id} len={MIB} trailers=[]")]
    );
    let sum = checksum(&body(MIB, id.get() as u8));
    assert_eq!(
        p.client.app_log(),
        [format!(
            "app: resp {id} len={MIB} sum={sum:08x} trailers=[]"
        )]
    );
    // Windows of 64 KiB for 1 MiB: both ends stalled and were resumed by
    // WINDOW_UPDATEs many times.
    let wu = |wire: &[u8], c| count_frames(wire, c, |f| matches!(f, Frame::WindowUpdate(_)));
    assert!(wu(&p.server.wire, false) >= 16, "server WINDOW_UPDATEs");
    assert!(wu(&p.client.wire, true) >= 16, "client WINDOW_UPDATEs");
    assert_eq!(p.client.count(|e| matches!(e, Event::Finished { .. })), 1);
    assert_eq!(p.server.count(|e| matches!(e, Event::Finished { .. })), 1);
}

/// RFC 9113 §5.2, §6.9: a 1 MiB body each way through 64 KiB windows: the
/// senders stall on flow control and resume on WINDOW_UPDATE; the bodies
/// arrive intact.
#[test]
fn one_mib_both_ways_with_flow_control_stalls_6_9() {
    mib_both_ways(Delivery::WHOLE);
}

/// RFC 9113 §6.9: the same with random `recv` splits and short writes.
#[test]
fn one_mib_both_ways_random_splits_6_9() {
    mib_both_ways(Delivery {
        recv: Split::Random {
            seed: 7,
            max: 20_000,
        },
        write: Split::Random {
            seed: 11,
            max: 30_000,
        },
    });
}

/// RFC 9113 §6.9: a receiver that does not read keeps the sender stalled at
/// exactly the window (no unbounded buffering), and reading resumes it.
#[test]
fn unread_body_stalls_sender_at_window_6_9() {
    let mut p = h2_pair(small_windows(), small_windows(), Delivery::WHOLE);
    let id = p.request(
        request(Method::Post, "/", &[("host", "x")]),
        &body(200_000, 1),
    );
    p.drive();
    let data_bytes = |wire: &[u8]| -> usize {
        decode_wire(wire, true)
            .iter()
            .map(|f| match f {
                Frame::Data(d) => d.data.len(),
                _ => 0,
            })
            .sum()
    };
    assert_eq!(data_bytes(&p.client.wire), 65_535, "stalled at the window");
    let mut total = 0;
    for _ in 0..100 {
        let (b, st) = p.server.read_body(id);
        total += b.len();
        p.drive();
        if st == ReadState::End {
            break;
        }
    }
    assert_eq!(total, 200_000);
    assert_eq!(data_bytes(&p.client.wire), 200_000);
}

// ---- §6.8 graceful shutdown ---------------------------------------------------------

/// RFC 9113 §6.8: a graceful server shutdown while a request is in flight:
/// GOAWAY(2^31-1) + PING, then GOAWAY(1) after the PING ACK; the client
/// opens no new stream, stream 1 completes, both ends close.
#[test]
fn graceful_shutdown_mid_stream_6_8() {
    let mut p = h2_pair(no_timers(), no_timers(), Delivery::WHOLE);
    p.client.app = Some(reader());
    let id = p
        .client
        .conn
        .send_request(request(Method::Post, "/slow", &[("host", "x")]), false)
        .unwrap();
    p.client.track_stream(id);
    p.client.send_body(id, b"part one;", false, None);
    p.drive();
    assert_eq!(p.server.requests().len(), 1);
    p.server.conn.shutdown(Shutdown::Graceful {
        drain: Duration::from_secs(60),
    });
    p.drive();
    let goaways: Vec<(u32, ErrorCode)> = decode_wire(&p.server.wire, false)
        .iter()
        .filter_map(|f| match f {
            Frame::GoAway(g) => Some((g.last_stream_id.get(), g.error_code)),
            _ => None,
        })
        .collect();
    assert_eq!(
        goaways,
        [(0x7fff_ffff, ErrorCode::NO_ERROR), (1, ErrorCode::NO_ERROR)]
    );
    assert!(
        p.client.saw(|e| matches!(e, Event::GoAway { last_stream_id, remote: true, .. } if last_stream_id.get() == 1)),
        "{:#?}",
        p.client.log
    );
    assert!(matches!(
        p.client.conn.send_request(get("/new"), true),
        Err(UserError::Closed)
    ));
    assert!(p.server.closed().is_none() && p.client.closed().is_none());
    // The request in flight completes.
    p.client.send_body(id, b"part two", true, None);
    p.drive();
    let (b, st) = p.server.read_body(id);
    assert_eq!((b, st), (b"part one;part two".to_vec(), ReadState::End));
    p.server.respond(id, response(200, &[]), b"bye");
    p.drive();
    assert_eq!(p.client.app_log(), [format!("app: body {id}: bye")]);
    assert_eq!(
        p.server.closed(),
        Some(&CloseReason::Shutdown),
        "{:#?}",
        p.server.log
    );
    assert!(p.client.closed().is_some(), "{:#?}", p.client.log);
    assert_eq!(p.client.count(|e| matches!(e, Event::Finished { .. })), 1);
}

/// RFC 9113 §6.8: the drain deadline of a graceful shutdown aborts what is
/// left (virtual clock).
#[test]
fn graceful_shutdown_drain_deadline_6_8() {
    let mut p = h2_pair(no_timers(), no_timers(), Delivery::WHOLE);
    let id = p
        .client
        .conn
        .send_request(request(Method::Post, "/", &[("host", "x")]), false)
        .unwrap();
    p.client.track_stream(id);
    p.drive();
    p.server.conn.shutdown(Shutdown::Graceful {
        drain: Duration::from_secs(5),
    });
    p.drive();
    assert!(p.server.closed().is_none());
    p.advance(Duration::from_secs(5));
    assert!(p.server.closed().is_some(), "{:#?}", p.server.log);
    assert!(p.client.closed().is_some(), "{:#?}", p.client.log);
    assert_eq!(p.client.count(|e| matches!(e, Event::Reset { .. })), 1);
}

// ---- §8.1 trailers, 100-continue, HEAD/204 -------------------------------------------

/// RFC 9113 §8.1: trailers on the request and on the response are delivered
/// after the bodies (`ReadChunk::Trailers` before `End`).
#[test]
fn trailers_both_ways_8_1() {
    let mut p = h2_pair(no_timers(), no_timers(), Delivery::WHOLE);
    p.server.app = Some(sized_server(10, true));
    p.client.app = Some(sized_reader());
    let id = p
        .client
        .conn
        .send_request(
            request(Method::Post, "/t", &[("host", "x"), ("te", "trailers")]),
            false,
        )
        .unwrap();
    p.client.track_stream(id);
    p.client.send_body(
        id,
        b"hello",
        true,
        Some(fields(&[("x-checksum", "abc"), ("x-two", "2")])),
    );
    p.drive();
    assert_eq!(
        p.server.app_log(),
        [format!(
            "app: req {id} len=5 trailers=[x-checksum: abc, x-two: 2]"
        )]
    );
    let log = p.client.app_log();
    assert_eq!(log.len(), 1, "{log:#?}");
    assert!(
        log[0].starts_with(&format!("app: resp {id} len=10 ")),
        "{log:#?}"
    );
    assert!(log[0].ends_with("trailers=[x-req-len: 5]"), "{log:#?}");
    // On the wire: the trailers are a HEADERS frame with END_STREAM, after
    // the last DATA (which does not carry END_STREAM).
    let frames = decode_wire(&p.server.wire, false);
    let tail: Vec<String> = frames
        .iter()
        .filter(|f| f.stream_id() == id)
        .map(|f| match f {
            Frame::Headers(h) => format!("HEADERS es={}", h.end_stream),
            Frame::Data(d) => format!("DATA es={}", d.end_stream),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        tail,
        ["HEADERS es=false", "DATA es=false", "HEADERS es=true"]
    );
}

/// RFC 9110 §10.1.1 over RFC 9113 §8.1: a request with `expect:
/// 100-continue` gets an interim 100 when the server reads the body, before
/// the final response.
#[test]
fn expect_continue_gets_100_when_server_reads_8_1() {
    let mut p = h2_pair(no_timers(), no_timers(), Delivery::WHOLE);
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    let head = request(
        Method::Post,
        "/up",
        &[("host", "x"), ("expect", "100-continue")],
    );
    let id = p.client.request(head, b"payload");
    p.drive();
    assert_eq!(
        p.server
            .count(|e| matches!(e, Event::ContinueRequested { .. })),
        1
    );
    let order: Vec<u16> = p
        .client
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Informational { head, .. } => Some(head.status),
            Event::Response { head, .. } => Some(head.status),
            _ => None,
        })
        .collect();
    assert_eq!(order, [100, 200], "{:#?}", p.client.log);
    assert_eq!(
        p.client.app_log(),
        [format!("app: body {id}: POST /up payload")]
    );
}

/// RFC 9110 §10.1.1: a server that answers with a final status without
/// reading sends no 100.
#[test]
fn expect_continue_refused_sends_no_100_8_1() {
    let mut p = h2_pair(no_timers(), no_timers(), Delivery::WHOLE);
    p.server.app = Some(Box::new(|cx, ev| {
        if let Event::Request { id, .. } = ev {
            cx.respond(*id, response(417, &[]), b"");
        }
    }));
    let head = request(
        Method::Post,
        "/up",
        &[("host", "x"), ("expect", "100-continue")],
    );
    let id = p.client.conn.send_request(head, false).unwrap();
    p.client.track_stream(id);
    p.drive();
    let statuses: Vec<u16> = p
        .client
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Informational { head, .. } | Event::Response { head, .. } => Some(head.status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, [417], "{:#?}", p.client.log);
}

/// RFC 9113 §8.1.1, RFC 9110 §9.3.2: a response to HEAD has no content even
/// when the application writes some; content-length is kept.
#[test]
fn head_response_has_no_data_8_1_1() {
    let mut p = h2_pair(no_timers(), no_timers(), Delivery::WHOLE);
    p.server.app = Some(Box::new(|cx, ev| {
        if let Event::Request { id, .. } = ev {
            cx.respond(*id, response(200, &[("content-length", "5")]), b"hello");
        }
    }));
    p.client.app = Some(reader());
    let id = p.request(request(Method::Head, "/", &[("host", "x")]), b"");
    p.drive();
    let resp = p.client.responses();
    assert_eq!(resp.len(), 1, "{:#?}", p.client.log);
    assert_eq!(
        resp[0].1.fields.get("content-length").map(|v| &v[..]),
        Some(&b"5"[..])
    );
    let data = count_frames(
        &p.server.wire,
        false,
        |f| matches!(f, Frame::Data(d) if !d.data.is_empty()),
    );
    assert_eq!(data, 0, "no DATA content for HEAD");
    assert_eq!(
        p.client
            .count(|e| matches!(e, Event::Finished { id: i } if *i == id)),
        1
    );
    assert_eq!(
        p.server
            .count(|e| matches!(e, Event::Finished { id: i } if *i == id)),
        1
    );
}

/// RFC 9110 §15.3.5 over RFC 9113 §8.1.1: a 204 response ends the stream
/// with its HEADERS.
#[test]
fn no_content_204_ends_with_headers_8_1_1() {
    let mut p = h2_pair(no_timers(), no_timers(), Delivery::WHOLE);
    p.server.app = Some(Box::new(|cx, ev| {
        if let Event::Request { id, .. } = ev {
            cx.conn
                .send_response(*id, response(204, &[]), false)
                .unwrap();
        }
    }));
    let id = p.request(get("/"), b"");
    p.drive();
    let resp = p.client.responses();
    assert_eq!(resp.len(), 1);
    assert_eq!(resp[0].1.status, 204);
    assert!(resp[0].2, "204 carries END_STREAM: {:#?}", p.client.log);
    assert_eq!(
        p.client
            .count(|e| matches!(e, Event::Finished { id: i } if *i == id)),
        1
    );
    assert_eq!(
        p.server
            .count(|e| matches!(e, Event::Finished { id: i } if *i == id)),
        1
    );
}

// ---- split independence ----------------------------------------------------------

/// One scenario: 6 streams (GET, POSTs with bodies across window limits,
/// trailers both ways, HEAD, 204), windows of 64 KiB.
fn scenario(delivery: Delivery) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let mut p = h2_pair(small_windows(), small_windows(), delivery);
    p.server.app = Some(sized_server(90_000, true));
    p.client.app = Some(sized_reader());
    p.request(get("/a"), b"");
    p.request(
        request(Method::Post, "/b", &[("host", "x")]),
        &body(100_000, 3),
    );
    let id = p
        .client
        .conn
        .send_request(request(Method::Post, "/c", &[("host", "x")]), false)
        .unwrap();
    p.client.track_stream(id);
    p.client
        .send_body(id, &body(5_000, 9), true, Some(fields(&[("x-t", "1")])));
    p.request(request(Method::Head, "/d", &[("host", "x")]), b"");
    p.request(request(Method::Post, "/e", &[("host", "x")]), b"tiny");
    p.request(get("/f"), b"");
    p.drive();
    assert_eq!(p.client.app_log().len(), 6, "{:#?}", p.client.app_log());
    (p.client.split_log(), p.server.split_log())
}

/// Architecture §2 ("result is independent of how input is chunked"): the
/// same HTTP/2 exchange delivered whole, byte by byte, and in random splits
/// with short writes gives the same per-stream events and application
/// results on both ends.
#[test]
fn split_independence_h2() {
    let (c0, s0) = scenario(Delivery::WHOLE);
    let mut diffs = Vec::new();
    let mut runs = vec![("bytewise".to_owned(), Delivery::BYTEWISE)];
    for seed in 1..=12 {
        runs.push((format!("random({seed})"), Delivery::random(seed)));
    }
    runs.push((
        "fixed(1000)".to_owned(),
        Delivery {
            recv: Split::Fixed(1000),
            write: Split::Fixed(777),
        },
    ));
    for (name, d) in runs {
        let (c, s) = scenario(d);
        for (who, want, got) in [("client", &c0, &c), ("server", &s0, &s)] {
            for key in want.keys().chain(got.keys()) {
                if want.get(key) != got.get(key) {
                    diffs.push(format!(
                        "{name} {who} {key}:\n  whole: {:#?}\n  split: {:#?}",
                        want.get(key),
                        got.get(key)
                    ));
                }
            }
        }
    }
    diffs.dedup();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
