//! Raw-peer tests of RFC 9113 flow control (§5.2, §6.9, §6.9.1, §6.9.2)
//! against a server core: receive windows enforced, WINDOW_UPDATE validated
//! and batched, send windows respected (including negative ones).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use proto_core::h2::frame::{self, Settings};
use tests::h2::*;
use tests::*;

fn ready_with(cfg: Config) -> Peer {
    let mut p = Peer::server(cfg);
    p.handshake();
    p
}

fn ready() -> Peer {
    ready_with(no_timers())
}

/// Sends `n` bytes of DATA on `id` in frames of at most 16,384 bytes.
fn send_data(p: &mut Peer, id: u32, mut n: usize, end: bool) {
    while n > 0 {
        let k = n.min(16_384);
        n -= k;
        p.queue(frame::Data::new(sid(id), vec![b'd'; k], end && n == 0));
    }
    p.drive();
}

/// Server: responds 200 on `id` and queues `len` body bytes (written by the
/// harness as capacity allows).
fn respond_body(p: &mut Peer, id: u32, len: usize) {
    p.ep.conn
        .send_response(sid(id), response(200, &[]), false)
        .unwrap();
    p.ep.send_body(sid(id), &vec![b'r'; len], true, None);
    p.drive();
}

fn data_sent(p: &Peer, id: u32) -> usize {
    p.body(id).len()
}

// ---- receiving: windows enforced -------------------------------------------------

/// RFC 9113 §6.9.1: DATA beyond the stream's receive window (65,535 here) is
/// a stream error FLOW_CONTROL_ERROR; the connection survives.
#[test]
fn data_beyond_stream_window_is_flow_control_error_6_9_1() {
    let mut cfg = no_timers();
    cfg.h2.initial_window_size = 65_535;
    let mut p = ready_with(cfg);
    p.headers(1).request("POST", "/").send();
    send_data(&mut p, 1, 65_535, false);
    p.assert_frames(&[]);
    p.data(1, b"x", false);
    p.assert_frames(&["RST_STREAM 1 FLOW_CONTROL_ERROR"]);
    p.assert_alive();
}

/// RFC 9113 §6.9.1: DATA beyond the connection receive window is a
/// connection error FLOW_CONTROL_ERROR.
#[test]
fn data_beyond_connection_window_is_flow_control_error_6_9_1() {
    let mut cfg = no_timers();
    cfg.h2.connection_window_size = 65_535;
    cfg.h2.initial_window_size = 1 << 20;
    let mut p = ready_with(cfg);
    p.headers(1).request("POST", "/").send();
    p.headers(3).request("POST", "/").send();
    send_data(&mut p, 1, 40_000, false);
    send_data(&mut p, 3, 25_535, false);
    p.assert_frames(&[]);
    p.data(3, b"x", false);
    p.assert_goaway(3, ErrorCode::FLOW_CONTROL_ERROR);
}

/// RFC 9113 §6.1, §6.9.1: padding counts against the windows.
#[test]
fn padding_counts_against_window_6_1() {
    let mut cfg = no_timers();
    cfg.h2.initial_window_size = 65_535;
    let mut p = ready_with(cfg);
    p.headers(1).request("POST", "/").send();
    send_data(&mut p, 1, 65_535 - 200, false);
    // 100 data + 100 padding + 1 pad-length octet = 201 > 200 left.
    p.send(frame::Data::new(sid(1), vec![0u8; 100], false).with_padding(100));
    p.assert_frames(&["RST_STREAM 1 FLOW_CONTROL_ERROR"]);
}

/// RFC 9113 §6.9: a WINDOW_UPDATE with increment 0 on a stream is a stream
/// error PROTOCOL_ERROR.
#[test]
fn window_update_zero_on_stream_is_protocol_error_6_9() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.window_update(1, 0);
    p.assert_frames(&["RST_STREAM 1 PROTOCOL_ERROR"]);
    p.assert_alive();
}

/// RFC 9113 §6.9: a WINDOW_UPDATE with increment 0 on the connection is a
/// connection error PROTOCOL_ERROR.
#[test]
fn window_update_zero_on_connection_is_protocol_error_6_9() {
    let mut p = ready();
    p.window_update(0, 0);
    p.assert_goaway(0, ErrorCode::PROTOCOL_ERROR);
}

/// RFC 9113 §6.9.1: a WINDOW_UPDATE that pushes a stream's send window above
/// 2^31-1 is a stream error FLOW_CONTROL_ERROR.
#[test]
fn stream_window_overflow_is_flow_control_error_6_9_1() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.window_update(1, 0x7fff_ffff);
    p.assert_frames(&["RST_STREAM 1 FLOW_CONTROL_ERROR"]);
    p.assert_alive();
}

/// RFC 9113 §6.9.1: a WINDOW_UPDATE that pushes the connection send window
/// above 2^31-1 is a connection error FLOW_CONTROL_ERROR.
#[test]
fn connection_window_overflow_is_flow_control_error_6_9_1() {
    let mut p = ready();
    p.window_update(0, 0x7fff_0000);
    p.assert_frames(&[]);
    p.window_update(0, 0x0001_0000);
    p.assert_goaway(0, ErrorCode::FLOW_CONTROL_ERROR);
}

/// RFC 9113 §6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE change that makes a
/// stream window exceed 2^31-1 is a connection error FLOW_CONTROL_ERROR.
#[test]
fn settings_window_change_overflow_is_flow_control_error_6_9_2() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.window_update(1, 0x7fff_ffff - 65_535);
    p.assert_frames(&[]);
    p.settings(Settings::default().with_initial_window_size(65_536));
    p.assert_goaway(1, ErrorCode::FLOW_CONTROL_ERROR);
}

// ---- receiving: windows released as the application reads -----------------

/// RFC 9113 §6.9: the core sends no WINDOW_UPDATE for data the application
/// has not read (backpressure), and returns window in batches, not per frame,
/// once it reads.
#[test]
fn window_update_when_app_reads_batched_6_9() {
    let mut cfg = no_timers();
    cfg.h2.initial_window_size = 65_535;
    let mut p = ready_with(cfg);
    p.headers(1).request("POST", "/").send();
    for _ in 0..30 {
        p.data(1, &[b'a'; 1000], false);
    }
    p.assert_frames(&[]);
    let (got, st) = p.ep.read_body(sid(1));
    assert_eq!((got.len(), st), (30_000, ReadState::Blocked));
    p.drive();
    p.assert_frames(&[]);
    // Past half of the window: one batched WINDOW_UPDATE for the stream.
    for _ in 0..10 {
        p.data(1, &[b'a'; 1000], false);
        let _ = p.ep.read_body(sid(1));
        p.drive();
    }
    let stream_updates: Vec<String> = p
        .take()
        .into_iter()
        .filter(|f| f.starts_with("WINDOW_UPDATE 1 "))
        .collect();
    assert_eq!(stream_updates.len(), 1, "{stream_updates:#?}");
    let inc: u32 = stream_updates[0]
        .rsplit('+')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((32_767..=40_000).contains(&inc), "batched increment {inc}");
}

/// RFC 9113 §6.9: a peer that keeps sending as windows open can send far
/// more than one window's worth, as long as the application reads.
#[test]
fn large_body_flows_as_app_reads_6_9() {
    let mut cfg = no_timers();
    cfg.h2.initial_window_size = 65_535;
    cfg.h2.connection_window_size = 65_535;
    let mut p = ready_with(cfg);
    p.headers(1).request("POST", "/").send();
    let mut stream_credit: i64 = 65_535;
    let mut conn_credit: i64 = 65_535;
    let mut sent = 0usize;
    let mut read = 0usize;
    let total = 1 << 20;
    while sent < total {
        let k = (total - sent)
            .min(16_384)
            .min(stream_credit.min(conn_credit) as usize);
        assert!(
            k > 0,
            "stalled: no window after {sent} bytes: {:#?}",
            p.rendered()
        );
        p.data(1, &vec![1u8; k], sent + k == total);
        sent += k;
        stream_credit -= k as i64;
        conn_credit -= k as i64;
        let (b, _) = p.ep.read_body(sid(1));
        read += b.len();
        p.drive();
        for f in p.take_frames() {
            match f {
                frame::Frame::WindowUpdate(w) if w.stream_id == sid(0) => {
                    conn_credit += i64::from(w.increment);
                }
                frame::Frame::WindowUpdate(w) if w.stream_id == sid(1) => {
                    stream_credit += i64::from(w.increment);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let (b, st) = p.ep.read_body(sid(1));
    read += b.len();
    assert_eq!((read, st), (total, ReadState::End));
}

// ---- sending: windows respected ---------------------------------------------------

/// RFC 9113 §6.9.1: the core never sends more DATA than the peer's stream
/// window (65,535 by default) and resumes on WINDOW_UPDATE.
#[test]
fn send_respects_stream_window_6_9_1() {
    let mut p = ready();
    p.window_update(0, 1 << 20);
    p.headers(1).request("GET", "/").end_stream().send();
    let _ = p.take();
    respond_body(&mut p, 1, 100_000);
    assert_eq!(data_sent(&p, 1), 65_535, "{:#?}", p.rendered());
    p.window_update(1, 10_000);
    assert_eq!(data_sent(&p, 1), 75_535);
    p.window_update(1, 30_000);
    assert_eq!(data_sent(&p, 1), 100_000);
    let last = p.rendered().last().cloned().unwrap();
    assert!(last.starts_with("DATA 1 es"), "{last}");
}

/// RFC 9113 §6.9.1: the connection window (65,535 by default) bounds all
/// streams together.
#[test]
fn send_respects_connection_window_6_9_1() {
    let mut p = ready_with(no_timers());
    p.settings(Settings::default().with_initial_window_size(1 << 20));
    p.headers(1).request("GET", "/").end_stream().send();
    p.headers(3).request("GET", "/").end_stream().send();
    let _ = p.take();
    respond_body(&mut p, 1, 50_000);
    respond_body(&mut p, 3, 50_000);
    assert_eq!(
        data_sent(&p, 1) + data_sent(&p, 3),
        65_535,
        "{:#?}",
        p.rendered()
    );
    p.window_update(0, 34_465);
    assert_eq!(data_sent(&p, 1) + data_sent(&p, 3), 100_000);
}

/// RFC 9113 §6.5.2, §4.2: DATA frames respect the peer's
/// SETTINGS_MAX_FRAME_SIZE (the harness checks every frame) and a larger
/// setting is used.
#[test]
fn send_respects_peer_max_frame_size_4_2() {
    let mut p = Peer::server(no_timers());
    p.handshake_with(
        Settings::default()
            .with_max_frame_size(32_768)
            .with_initial_window_size(1 << 20),
    );
    p.window_update(0, 1 << 20);
    p.headers(1).request("GET", "/").end_stream().send();
    let _ = p.take();
    respond_body(&mut p, 1, 100_000);
    let sizes: Vec<usize> = p
        .take_frames()
        .into_iter()
        .filter_map(|f| match f {
            frame::Frame::Data(d) => Some(d.data.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 100_000);
    assert!(sizes.iter().all(|&n| n <= 32_768), "{sizes:?}");
    assert!(
        sizes.iter().any(|&n| n > 16_384),
        "uses the larger size: {sizes:?}"
    );
}

/// RFC 9113 §6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE decrease can make a
/// stream's send window negative; the core then sends nothing until
/// WINDOW_UPDATEs bring it above zero, and exactly as much as allowed.
#[test]
fn initial_window_decrease_makes_window_negative_6_9_2() {
    let mut p = ready();
    p.window_update(0, 1 << 20);
    p.headers(1).request("GET", "/").end_stream().send();
    let _ = p.take();
    respond_body(&mut p, 1, 100_000);
    assert_eq!(data_sent(&p, 1), 65_535);
    let _ = p.take();
    // 16,384 - 65,535 = -49,151.
    p.settings(Settings::default().with_initial_window_size(16_384));
    p.assert_frames(&["SETTINGS ACK"]);
    p.window_update(1, 49_151);
    p.assert_frames(&[]);
    assert_eq!(data_sent(&p, 1), 65_535, "window is exactly 0");
    p.window_update(1, 1_000);
    assert_eq!(data_sent(&p, 1), 66_535, "{:#?}", p.rendered());
    // A new stream starts with the new initial window.
    p.headers(3).request("GET", "/").end_stream().send();
    respond_body(&mut p, 3, 20_000);
    assert_eq!(data_sent(&p, 3), 16_384);
}

/// RFC 9113 §6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE increase applies to open
/// streams at once and unblocks them.
#[test]
fn initial_window_increase_unblocks_6_9_2() {
    let mut p = ready();
    p.window_update(0, 1 << 20);
    p.headers(1).request("GET", "/").end_stream().send();
    let _ = p.take();
    respond_body(&mut p, 1, 100_000);
    assert_eq!(data_sent(&p, 1), 65_535);
    p.settings(Settings::default().with_initial_window_size(100_000));
    assert_eq!(data_sent(&p, 1), 100_000, "{:#?}", p.rendered());
}

/// RFC 9113 §6.9.2: SETTINGS_INITIAL_WINDOW_SIZE does not change the
/// connection window.
#[test]
fn initial_window_does_not_change_connection_window_6_9_2() {
    let mut p = ready();
    p.settings(Settings::default().with_initial_window_size(1 << 20));
    p.headers(1).request("GET", "/").end_stream().send();
    let _ = p.take();
    respond_body(&mut p, 1, 100_000);
    assert_eq!(
        data_sent(&p, 1),
        65_535,
        "connection window is still 65,535"
    );
}

/// RFC 9113 §6.9.1: `write_capacity` reflects the windows; `Writable` comes
/// when a WINDOW_UPDATE opens room again.
#[test]
fn writable_after_window_update_6_9_1() {
    let mut p = ready();
    p.headers(1).request("GET", "/").end_stream().send();
    p.ep.conn
        .send_response(sid(1), response(200, &[]), false)
        .unwrap();
    let mut body = Bytes::from(vec![0u8; 70_000]);
    let n = p.ep.conn.stream(sid(1)).unwrap().write(&mut body).unwrap();
    assert_eq!(n, 65_535);
    assert_eq!(p.ep.conn.stream(sid(1)).unwrap().write_capacity(), 0);
    p.drive();
    let _ = p.take_events();
    p.window_update(0, 100);
    p.window_update(1, 100);
    assert!(
        p.take_events()
            .iter()
            .any(|e| e == "Writable { id: StreamId(1) }"),
        "{:#?}",
        p.ep.log
    );
    assert_eq!(p.ep.conn.stream(sid(1)).unwrap().write_capacity(), 100);
}

/// RFC 9113 §6.9: WINDOW_UPDATE may arrive for a stream we finished sending
/// on (half-closed (local)/closed); it is not an error.
#[test]
fn window_update_after_end_stream_is_fine_6_9() {
    let mut p = ready();
    p.headers(1).request("POST", "/").send();
    p.ep.respond(sid(1), response(200, &[]), b"done");
    p.drive();
    p.window_update(1, 5);
    p.data(1, b"x", true);
    p.drive();
    p.window_update(1, 5);
    // The only reset allowed is §8.1's RST_STREAM(NO_ERROR): "response done,
    // stop sending the request", sent when the response completed first.
    assert!(
        p.goaways().is_empty() && p.resets().iter().all(|r| *r == (1, ErrorCode::NO_ERROR)),
        "{:#?}",
        p.rendered()
    );
}

/// RFC 9113 §6.9.2 + §6.9.1: content accepted under the old window but not
/// yet framed must respect a window lowered by SETTINGS before it is sent
/// (found by the python `h2` interop server).
#[test]
fn queued_content_respects_window_lowered_by_settings_6_9_2() {
    use bytes::{Bytes, BytesMut};
    use proto_core::h2::frame::{self, Frame, Settings};

    fn frames(conn: &mut Connection) -> Vec<Frame> {
        let out = drain_transmit(conn);
        let mut buf = BytesMut::from(&out[..]);
        let mut v = Vec::new();
        while let Some(f) = frame::decode(&mut buf, 1 << 24).unwrap() {
            v.push(f);
        }
        v
    }
    let data_len = |fs: &[Frame]| -> usize {
        fs.iter()
            .map(|f| {
                if let Frame::Data(d) = f {
                    d.data.len()
                } else {
                    0
                }
            })
            .sum()
    };
    let mut conn = Connection::with_protocol(Side::Client, Protocol::Http2, Config::default(), T0);
    let _ = drain_transmit(&mut conn);
    let mut input = BytesMut::new();
    Settings::default().encode(&mut input);
    Settings::ack().encode(&mut input);
    assert_eq!(conn.recv(T0, &input), input.len());
    let id = conn
        .send_request(request(Method::Post, "/", &[("host", "x")]), false)
        .unwrap();
    let mut body = Bytes::from(vec![7u8; 60_000]);
    assert_eq!(conn.stream(id).unwrap().write(&mut body).unwrap(), 60_000);
    // Before anything is written out, the server lowers the window.
    let mut lower = BytesMut::new();
    Settings::default()
        .with_initial_window_size(16_384)
        .encode(&mut lower);
    assert_eq!(conn.recv(T0, &lower), lower.len());
    let sent = frames(&mut conn);
    assert_eq!(data_len(&sent), 16_384, "exactly the lowered window");
    let mut more = BytesMut::new();
    frame::WindowUpdate::new(id, 65_535).encode(&mut more);
    assert_eq!(conn.recv(T0, &more), more.len());
    let sent = frames(&mut conn);
    assert_eq!(
        data_len(&sent),
        60_000 - 16_384,
        "the rest once the window opens"
    );
}

/// RFC 9113 §6.9 + ARCHITECTURE (manual mode, for proxies): reading does not
/// give window back; `release(n)` does, and never more than was read.
#[test]
fn manual_flow_control_releases_only_on_release_6_9() {
    use bytes::{Bytes, BytesMut};
    use proto_core::h2::frame::{self, Frame, Settings};

    let mut cfg = Config::default();
    cfg.h2.manual_flow_control = true;
    cfg.h2.initial_window_size = 65_535;
    let mut conn = Connection::with_protocol(Side::Server, Protocol::Http2, cfg, T0);
    let _ = drain_transmit(&mut conn);
    let mut input = BytesMut::from(&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..]);
    Settings::default().encode(&mut input);
    let mut enc = proto_core::hpack::Encoder::new();
    let mut block = BytesMut::new();
    enc.encode(
        [
            (&b":method"[..], &b"POST"[..], false),
            (b":scheme", b"http", false),
            (b":path", b"/", false),
            (b":authority", b"x", false),
        ],
        &mut block,
    );
    frame::Headers::new(sid(1), block.freeze(), false, true).encode(&mut input);
    for len in [16_384, 16_384, 7_232] {
        frame::Data::new(sid(1), Bytes::from(vec![1u8; len]), false).encode(&mut input);
    }
    assert_eq!(conn.recv(T0, &input), input.len());
    let mut read = 0;
    while let ReadChunk::Data(d) = conn.stream(sid(1)).unwrap().read() {
        read += d.len();
    }
    assert_eq!(read, 40_000);
    let window_updates = |conn: &mut Connection| -> Vec<(u32, u32)> {
        let out = drain_transmit(conn);
        let mut buf = BytesMut::from(&out[..]);
        let mut v = Vec::new();
        while let Some(f) = frame::decode(&mut buf, 1 << 24).unwrap() {
            if let Frame::WindowUpdate(w) = f {
                v.push((w.stream_id.get(), w.increment));
            }
        }
        v
    };
    assert_eq!(
        window_updates(&mut conn),
        vec![],
        "reading alone releases nothing"
    );
    conn.stream(sid(1)).unwrap().release(100_000);
    assert_eq!(
        window_updates(&mut conn),
        vec![(1, 40_000)],
        "capped at what was read"
    );
}
