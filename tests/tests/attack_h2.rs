//! HTTP/2 attack suite over loopback, against every adapter (tokio, smol,
//! std): hostile traffic from a raw HTTP/2 client while the prober keeps
//! asking (see `attack_support`). Each test asserts how the attacker is cut
//! off (the frame and code, with the RFC 9113 section), within how many
//! streams, frames or seconds, and `attack_support::run` asserts the
//! prober's answers (no failure, bounded latency) and the peak memory growth.
//!
//! Limits relied on are `proto_core::Config`'s (defaults unless a test says
//! otherwise); each test names the ones it exercises.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attack_support;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use attack_support::h2wire::{H2Wire, In, flag, kind, raw_frame};
use attack_support::{Config, Ctx, ErrorCode, per_adapter};
use proto_core::h2::frame::{Frame, Settings};

/// How long an attacker may take to be cut off once it misbehaves.
const CUT: Duration = Duration::from_secs(3);

/// A connection past the SETTINGS exchange: an attack then starts on a
/// settled connection, and the reader's ACK of the server's SETTINGS cannot
/// fall inside a header block sent in pieces (which made the CONTINUATION
/// floods end in PROTOCOL_ERROR now and then on a loaded machine).
fn open(ctx: &Ctx) -> H2Wire {
    let mut c = H2Wire::open(ctx.addr).expect("connect");
    assert!(
        c.wait_settings(CUT),
        "no SETTINGS from the server:\n{}",
        c.transcript()
    );
    c
}

/// Asserts the server sent GOAWAY `code` within [`CUT`] and then closed the
/// connection; returns GOAWAY's last stream id.
#[track_caller]
fn assert_goaway(c: &mut H2Wire, code: ErrorCode) -> u32 {
    let Some((last, got)) = c.goaway(CUT) else {
        panic!("no GOAWAY within {CUT:?}:\n{}", c.transcript());
    };
    assert_eq!(got, code, "GOAWAY code:\n{}", c.transcript());
    assert!(
        c.wait_closed(CUT),
        "GOAWAY {code:?} but the connection stayed open"
    );
    last
}

/// Asserts the connection still serves: a PING is answered and `GET /` on
/// stream `id` gets `200`.
#[track_caller]
fn assert_usable(c: &mut H2Wire, id: u32) {
    assert!(c.ping_pong(CUT), "no PING ACK:\n{}", c.transcript());
    c.get(id, "/").unwrap();
    assert_eq!(
        c.status_of(id, CUT),
        Some(200),
        "no 200 on stream {id}:\n{}",
        c.transcript()
    );
}

/// The most streams a reset budget of `max_resets` refilled every `refill`
/// admits over `elapsed`, as a last stream id (client ids are odd).
fn reset_bound(cfg: &Config, elapsed: Duration) -> u32 {
    let refill = cfg.h2.reset_refill.as_nanos().max(1);
    let earned = u32::try_from(elapsed.as_nanos() / refill).unwrap_or(u32::MAX);
    2 * (cfg.h2.max_resets + earned + 1) + 1
}

/// Opens streams 1, 3, 5, ... each followed by `misbehave(id)`, in batches,
/// until the server sends GOAWAY (or `max_streams`); asserts GOAWAY
/// ENHANCE_YOUR_CALM within the reset budget (RFC 9113 §10.5).
fn exhaust_reset_budget(
    ctx: &mut Ctx,
    cfg: &Config,
    path: &str,
    end_stream: bool,
    misbehave: impl Fn(u32) -> Vec<u8>,
) -> u32 {
    let mut c = open(ctx);
    let start = Instant::now();
    let mut id = 1u32;
    while id < 20_001 && !c.is_closed() && c.goaway(Duration::ZERO).is_none() {
        let mut batch = Vec::new();
        for _ in 0..20 {
            let block = c.request_block(if end_stream { "GET" } else { "POST" }, path, &[]);
            batch.extend_from_slice(&H2Wire::headers_frame(id, &block, end_stream));
            batch.extend_from_slice(&misbehave(id));
            id += 2;
        }
        if c.send_raw(&batch).is_err() {
            break;
        }
    }
    let last = assert_goaway(&mut c, ErrorCode::ENHANCE_YOUR_CALM);
    let took = start.elapsed();
    let bound = reset_bound(cfg, took);
    assert!(
        last <= bound,
        "cut off only at stream {last} (bound {bound}, {took:?})"
    );
    assert!(took <= CUT, "cut off after {took:?}");
    ctx.outcome(format!(
        "GOAWAY(ENHANCE_YOUR_CALM) at stream {last} (bound {bound}) in {took:.0?}"
    ));
    last
}

fn rst(id: u32, code: ErrorCode) -> Vec<u8> {
    raw_frame(kind::RST_STREAM, 0, id, &code.0.to_be_bytes())
}

fn window_update(id: u32, inc: u32) -> Vec<u8> {
    raw_frame(kind::WINDOW_UPDATE, 0, id, &inc.to_be_bytes())
}

// ---- Rapid Reset and MadeYouReset -------------------------------------------------

per_adapter!(
    /// CVE-2023-44487 Rapid Reset (RFC 9113 §10.5): HEADERS + RST_STREAM
    /// (CANCEL) pairs as fast as possible on `/slow` (handlers start): the
    /// reset budget (`h2.max_resets` 200, refilled one per `h2.reset_refill`
    /// 100 ms) runs out → GOAWAY ENHANCE_YOUR_CALM.
    rapid_reset,
    Config::default(),
    |ctx: &mut Ctx| {
        let cfg = Config::default();
        exhaust_reset_budget(ctx, &cfg, "/slow", true, |id| rst(id, ErrorCode::CANCEL));
    }
);

/// MadeYouReset (CVE-2025-8671): one stream error the client provokes, first
/// alone (exact RST_STREAM code), then on every stream until the reset
/// budget runs out.
fn made_you_reset(
    ctx: &mut Ctx,
    want: ErrorCode,
    end_stream: bool,
    misbehave: impl Fn(u32) -> Vec<u8>,
) {
    let mut c = open(ctx);
    let method = if end_stream { "GET" } else { "POST" };
    let block = c.request_block(method, "/slow", &[]);
    let mut first = H2Wire::headers_frame(1, &block, end_stream);
    first.extend_from_slice(&misbehave(1));
    c.send_raw(&first).unwrap();
    assert_eq!(c.reset_of(1, CUT), Some(want), "{}", c.transcript());
    assert_usable(&mut c, 3);
    drop(c);
    let cfg = Config::default();
    let last = exhaust_reset_budget(ctx, &cfg, "/slow", end_stream, misbehave);
    ctx.outcome(format!(
        "RST_STREAM({want:?}) each, then GOAWAY(ENHANCE_YOUR_CALM) at stream {last} \
         (bound {})",
        reset_bound(&cfg, CUT)
    ));
}

per_adapter!(
    /// MadeYouReset via WINDOW_UPDATE 0 on a stream: RST_STREAM
    /// PROTOCOL_ERROR (RFC 9113 §6.9), each one costing a reset token.
    made_you_reset_window_update_zero,
    Config::default(),
    |ctx: &mut Ctx| made_you_reset(ctx, ErrorCode::PROTOCOL_ERROR, true, |id| {
        window_update(id, 0)
    })
);

per_adapter!(
    /// MadeYouReset via a stream window pushed past 2^31-1: RST_STREAM
    /// FLOW_CONTROL_ERROR (RFC 9113 §6.9.1).
    made_you_reset_window_overflow,
    Config::default(),
    |ctx: &mut Ctx| made_you_reset(ctx, ErrorCode::FLOW_CONTROL_ERROR, true, |id| {
        window_update(id, 0x7fff_ffff)
    })
);

per_adapter!(
    /// MadeYouReset via PRIORITY with a 4-byte payload (must be 5): stream
    /// error FRAME_SIZE_ERROR (RFC 9113 §6.3).
    made_you_reset_bad_priority_length,
    Config::default(),
    |ctx: &mut Ctx| made_you_reset(ctx, ErrorCode::FRAME_SIZE_ERROR, true, |id| {
        raw_frame(kind::PRIORITY, 0, id, &[0, 0, 0, 0])
    })
);

per_adapter!(
    /// MadeYouReset via DATA after END_STREAM (half-closed (remote)):
    /// RST_STREAM STREAM_CLOSED (RFC 9113 §5.1).
    made_you_reset_data_half_closed,
    Config::default(),
    |ctx: &mut Ctx| made_you_reset(ctx, ErrorCode::STREAM_CLOSED, true, |id| {
        raw_frame(kind::DATA, 0, id, b"late")
    })
);

per_adapter!(
    /// MadeYouReset via a second HEADERS after END_STREAM (half-closed
    /// (remote)): RST_STREAM STREAM_CLOSED (RFC 9113 §5.1). The block is
    /// the empty block (no HPACK state to keep in sync).
    made_you_reset_headers_half_closed,
    Config::default(),
    |ctx: &mut Ctx| made_you_reset(ctx, ErrorCode::STREAM_CLOSED, true, |id| {
        raw_frame(
            kind::HEADERS,
            flag::END_HEADERS | flag::END_STREAM,
            id,
            &[],
        )
    })
);

// ---- CONTINUATION, HPACK and header-list floods ----------------------------------

/// HEADERS without END_HEADERS on stream 1 carrying `first`, then
/// CONTINUATION frames of `fragment` (never END_HEADERS) until cut off.
fn continuation_flood(ctx: &mut Ctx, fragment: &[u8], bound_frames: u32) {
    let mut c = open(ctx);
    let start = Instant::now();
    let block = c.request_block("GET", "/", &[]);
    c.send_raw(&raw_frame(kind::HEADERS, flag::END_STREAM, 1, &block))
        .unwrap();
    let unit = raw_frame(kind::CONTINUATION, 0, 1, fragment);
    let sent = c.flood(&unit, 1_000_000);
    let last = assert_goaway(&mut c, ErrorCode::ENHANCE_YOUR_CALM);
    let took = start.elapsed();
    assert_eq!(last, 0, "the unfinished stream 1 was never opened");
    assert!(took <= CUT, "cut off after {took:?}");
    assert!(sent < 1_000_000, "the server read a million CONTINUATIONs");
    ctx.outcome(format!(
        "GOAWAY(ENHANCE_YOUR_CALM) after at most {bound_frames} CONTINUATION frames in \
         {took:.0?} ({sent} written before the close was seen)"
    ));
}

per_adapter!(
    /// CONTINUATION flood with payload (CVE-2024-27316 family, RFC 9113
    /// §6.10, §10.5): 16 KiB fragments; the unfinished block is bounded to
    /// 2 × `h2.max_header_list_size` (16 KiB) + 4 KiB → ENHANCE_YOUR_CALM
    /// on the third fragment, before `h2.max_continuation_frames` (32).
    continuation_flood_with_payload,
    Config::default(),
    |ctx: &mut Ctx| continuation_flood(ctx, &[b'a'; 16 * 1024], 3)
);

per_adapter!(
    /// CONTINUATION flood without payload (RFC 9113 §6.10, §10.5): empty
    /// fragments → ENHANCE_YOUR_CALM after `h2.max_continuation_frames` (32).
    continuation_flood_without_payload,
    Config::default(),
    |ctx: &mut Ctx| continuation_flood(ctx, &[], 33)
);

/// A literal field with incremental indexing and a new name (RFC 7541 §6.2.1)
/// whose value is `len` bytes: it enters the peer's dynamic table.
fn literal_indexed(name: &[u8], len: usize) -> Vec<u8> {
    let mut b = vec![0x40, u8::try_from(name.len()).unwrap()];
    b.extend_from_slice(name);
    // value length, 7-bit prefix integer (RFC 7541 §5.1), no Huffman
    if len < 127 {
        b.push(u8::try_from(len).unwrap());
    } else {
        b.push(127);
        let mut rest = len - 127;
        while rest >= 128 {
            b.push(u8::try_from(rest % 128).unwrap() | 0x80);
            rest /= 128;
        }
        b.push(u8::try_from(rest).unwrap());
    }
    b.extend(std::iter::repeat_n(b'v', len));
    b
}

per_adapter!(
    /// HPACK bomb (dynamic-table amplification, RFC 7541 §7.3, RFC 9113
    /// §10.5.1): one 4,000-byte field enters the table, then requests of
    /// 3,000 one-byte references to it (12 MB each once decoded). Decoding
    /// stops at `h2.max_header_list_size` (16 KiB): each such request is
    /// answered 431 (RFC 6585 §5) at the cost of its own block's bytes, and
    /// the connection keeps serving.
    hpack_bomb,
    Config::default(),
    |ctx: &mut Ctx| {
        let mut c = open(ctx);
        let start = Instant::now();
        // Pseudo-headers as static-table references: :method GET (2),
        // :scheme http (6), :path / (4); :authority literal without indexing.
        let mut base = vec![0x82, 0x86, 0x84, 0x01, 9];
        base.extend_from_slice(b"localhost");
        let mut first = base.clone();
        first.extend_from_slice(&literal_indexed(b"x-bomb", 4000));
        c.send_raw(&H2Wire::headers_frame(1, &first, true)).unwrap();
        assert_eq!(c.status_of(1, CUT), Some(200), "{}", c.transcript());
        let mut bomb = base;
        // Index 62: the newest dynamic entry (RFC 7541 §2.3.3).
        bomb.extend(std::iter::repeat_n(0x80 | 62, 3000));
        let mut n = 0;
        for i in 1..=50u32 {
            let id = 1 + 2 * i;
            c.send_raw(&H2Wire::headers_frame(id, &bomb, true)).unwrap();
            assert_eq!(c.status_of(id, CUT), Some(431), "{}", c.transcript());
            n += 1;
        }
        assert_usable(&mut c, 103);
        ctx.outcome(format!(
            "431 for each of {n} bombs (12 MB decoded each), connection usable, {:.0?}",
            start.elapsed()
        ));
    }
);

per_adapter!(
    /// 16,000-field header list (RFC 9113 §10.5.1): one-byte static
    /// references (`accept-encoding: gzip, deflate`) spread over CONTINUATION
    /// frames: over `h2.max_header_list_size` (16 KiB) → 431, connection
    /// usable.
    sixteen_thousand_fields,
    Config::default(),
    |ctx: &mut Ctx| {
        let mut c = open(ctx);
        let block = c.request_block("GET", "/", &[]);
        let mut all = raw_frame(kind::HEADERS, flag::END_STREAM, 1, &block);
        let refs = vec![0x80 | 16u8; 16_000];
        for (i, chunk) in refs.chunks(8000).enumerate() {
            let eh = if i == 1 { flag::END_HEADERS } else { 0 };
            all.extend_from_slice(&raw_frame(kind::CONTINUATION, eh, 1, chunk));
        }
        c.send_raw(&all).unwrap();
        assert_eq!(c.status_of(1, CUT), Some(431), "{}", c.transcript());
        assert_usable(&mut c, 3);
        ctx.outcome("431, connection usable");
    }
);

per_adapter!(
    /// Huge header list in one field (RFC 9113 §10.5.1): a 40 KiB value over
    /// HEADERS + CONTINUATION exceeds the unfinished-block bound (2 ×
    /// `h2.max_header_list_size` + 4 KiB = 36 KiB) → GOAWAY
    /// ENHANCE_YOUR_CALM; a 20 KiB one is decoded up to the limit → 431.
    huge_header_list,
    Config::default(),
    |ctx: &mut Ctx| {
        let mut c = open(ctx);
        let mut base = vec![0x82, 0x86, 0x84, 0x01, 9];
        base.extend_from_slice(b"localhost");
        let mut block = base.clone();
        block.extend_from_slice(&literal_indexed(b"x-huge", 20 * 1024));
        let mut frames = raw_frame(kind::HEADERS, flag::END_STREAM, 1, &block[..16_000]);
        frames.extend_from_slice(&raw_frame(
            kind::CONTINUATION,
            flag::END_HEADERS,
            1,
            &block[16_000..],
        ));
        c.send_raw(&frames).unwrap();
        assert_eq!(c.status_of(1, CUT), Some(431), "{}", c.transcript());
        let mut block = base;
        block.extend_from_slice(&literal_indexed(b"x-huge", 40 * 1024));
        let mut frames = raw_frame(kind::HEADERS, flag::END_STREAM, 3, &block[..16_000]);
        let rest = &block[16_000..];
        let (a, b) = rest.split_at(rest.len() / 2);
        frames.extend_from_slice(&raw_frame(kind::CONTINUATION, 0, 3, a));
        frames.extend_from_slice(&raw_frame(kind::CONTINUATION, flag::END_HEADERS, 3, b));
        let _ = c.send_raw(&frames);
        let last = assert_goaway(&mut c, ErrorCode::ENHANCE_YOUR_CALM);
        assert_eq!(last, 1);
        ctx.outcome("20 KiB: 431; 40 KiB: GOAWAY(ENHANCE_YOUR_CALM) at the 3rd frame");
    }
);

per_adapter!(
    /// Zero-length headers (CVE-2019-9516): requests of 400 fields with an
    /// empty name and value (12,800 bytes as HPACK counts them, under
    /// `h2.max_header_list_size`, so validation sees them). An empty name is malformed (RFC 9113 §8.2.1) →
    /// RST_STREAM PROTOCOL_ERROR (§8.1.1), no memory kept; repeated, the
    /// resets exhaust the reset budget → GOAWAY ENHANCE_YOUR_CALM.
    zero_length_headers,
    Config::default(),
    |ctx: &mut Ctx| {
        let cfg = Config::default();
        let mut c = open(ctx);
        let start = Instant::now();
        let mut base = vec![0x82, 0x86, 0x84, 0x01, 9];
        base.extend_from_slice(b"localhost");
        // Literal without indexing, new name: 0x00, name len 0, value len 0.
        let mut block = base;
        for _ in 0..400 {
            block.extend_from_slice(&[0x00, 0x00, 0x00]);
        }
        c.send_raw(&H2Wire::headers_frame(1, &block, true)).unwrap();
        assert_eq!(
            c.reset_of(1, CUT),
            Some(ErrorCode::PROTOCOL_ERROR),
            "{}",
            c.transcript()
        );
        let mut id = 3;
        while id < 20_001 && !c.is_closed() && c.goaway(Duration::ZERO).is_none() {
            let mut batch = Vec::new();
            for _ in 0..20 {
                batch.extend_from_slice(&H2Wire::headers_frame(id, &block, true));
                id += 2;
            }
            if c.send_raw(&batch).is_err() {
                break;
            }
        }
        let last = assert_goaway(&mut c, ErrorCode::ENHANCE_YOUR_CALM);
        let bound = reset_bound(&cfg, start.elapsed());
        assert!(last <= bound, "cut off at stream {last} (bound {bound})");
        ctx.outcome(format!(
            "RST_STREAM(PROTOCOL_ERROR) each, GOAWAY(ENHANCE_YOUR_CALM) at stream {last} \
             (bound {bound})"
        ));
    }
);

// ---- Control-frame floods --------------------------------------------------------

/// Floods `unit` on a fresh connection (we read everything the server sends)
/// and asserts GOAWAY `code` before `count` copies were written.
fn flood_until_goaway(ctx: &mut Ctx, setup: &[u8], unit: &[u8], count: usize, what: &str) {
    let mut c = open(ctx);
    if !setup.is_empty() {
        c.send_raw(setup).unwrap();
    }
    let start = Instant::now();
    let sent = c.flood(unit, count);
    let last = assert_goaway(&mut c, ErrorCode::ENHANCE_YOUR_CALM);
    let took = start.elapsed();
    assert!(took <= CUT, "cut off after {took:?}");
    assert!(sent < count, "the server read all {count} frames");
    ctx.outcome(format!(
        "GOAWAY(ENHANCE_YOUR_CALM) (last={last}) after `h2.max_empty_frames` {what} in {took:.0?}"
    ));
}

per_adapter!(
    /// Empty DATA flood (CVE-2019-9518, RFC 9113 §10.5) on an open request
    /// body: over `h2.max_empty_frames` (10,000) → ENHANCE_YOUR_CALM.
    empty_data_flood,
    Config::default(),
    |ctx: &mut Ctx| {
        let mut setup = Vec::new();
        let mut enc = proto_core::hpack::Encoder::new();
        let mut block = bytes::BytesMut::new();
        enc.encode(
            [
                (&b":method"[..], &b"POST"[..], false),
                (b":scheme", b"http", false),
                (b":authority", b"localhost", false),
                (b":path", b"/echo", false),
            ],
            &mut block,
        );
        setup.extend_from_slice(&H2Wire::headers_frame(1, &block, false));
        let unit = raw_frame(kind::DATA, 0, 1, &[]);
        flood_until_goaway(ctx, &setup, &unit, 1_000_000, "empty DATA frames");
    }
);

per_adapter!(
    /// Unknown-frame flood (RFC 9113 §5.5 says ignore them; §10.5 lets us
    /// budget them): over `h2.max_empty_frames` (10,000) → ENHANCE_YOUR_CALM.
    unknown_frame_flood,
    Config::default(),
    |ctx: &mut Ctx| {
        let unit = raw_frame(0x77, 0, 0, b"junk");
        flood_until_goaway(ctx, &[], &unit, 1_000_000, "unknown frames");
    }
);

/// Writes `unit` over a raw connection that never reads, until the write
/// blocks (the 2 s write timeout) or fails; returns the bytes written.
fn flood_without_reading(ctx: &Ctx, unit: &[u8], budget: usize) -> (usize, bool) {
    let mut s = TcpStream::connect(ctx.addr).unwrap();
    s.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut hello = attack_support::h2wire::PREFACE.to_vec();
    hello.extend_from_slice(&raw_frame(kind::SETTINGS, 0, 0, &[]));
    s.write_all(&hello).unwrap();
    let batch = unit.repeat(16 * 1024 / unit.len());
    let mut sent = 0;
    while sent < budget {
        match s.write(&batch) {
            Ok(n) => sent += n,
            Err(_) => return (sent, true),
        }
    }
    (sent, false)
}

/// A control-frame flood (every frame owes an answer): read by us, the
/// flood costs the server only CPU; not read, the server stops reading once
/// `h2.max_pending_control` (1,024) answers are unwritten, so our writes
/// stall after the socket buffers fill (RFC 9113 §10.5).
fn control_flood(ctx: &mut Ctx, unit: &[u8], what: &str) {
    let mut c = open(ctx);
    let start = Instant::now();
    let sent = c.flood(unit, 100_000);
    assert_eq!(sent, 100_000);
    assert!(c.ping_pong(Duration::from_secs(5)), "{}", c.transcript());
    let read_took = start.elapsed();
    drop(c);
    let budget = 256 << 20;
    let (bytes, stalled) = flood_without_reading(ctx, unit, budget);
    assert!(
        stalled,
        "wrote {budget} bytes of {what} without the server pushing back"
    );
    ctx.outcome(format!(
        "read: 100,000 {what} answered in {read_took:.0?}; unread: server stopped reading \
         after {} KiB (`h2.max_pending_control` 1,024)",
        bytes / 1024
    ));
}

per_adapter!(
    /// PING flood (CVE-2019-9512).
    ping_flood,
    Config::default(),
    |ctx: &mut Ctx| control_flood(ctx, &raw_frame(kind::PING, 0, 0, b"floodme!"), "PINGs")
);

per_adapter!(
    /// SETTINGS flood (CVE-2019-9515): each SETTINGS owes an ACK.
    settings_flood,
    Config::default(),
    |ctx: &mut Ctx| {
        // SETTINGS_MAX_CONCURRENT_STREAMS = 100, a harmless value.
        let unit = raw_frame(kind::SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
        control_flood(ctx, &unit, "SETTINGS");
    }
);

per_adapter!(
    /// RST_STREAM flood on closed streams (CVE-2019-9514 family): RST_STREAM
    /// on a closed stream may be ignored (RFC 9113 §5.1 "closed"), but a
    /// flood of them carries nothing → `h2.max_empty_frames`, or cheap.
    rst_stream_flood,
    Config::default(),
    |ctx: &mut Ctx| {
        let mut c = open(ctx);
        c.get(1, "/").unwrap();
        assert!(c.response_end(1, CUT).is_some());
        let start = Instant::now();
        let sent = c.flood(&rst(1, ErrorCode::CANCEL), 200_000);
        let goaway = c.goaway(Duration::from_millis(500));
        match goaway {
            Some((_, code)) => {
                assert_eq!(code, ErrorCode::ENHANCE_YOUR_CALM);
                ctx.outcome(format!(
                    "GOAWAY(ENHANCE_YOUR_CALM) after {sent} written in {:.0?}",
                    start.elapsed()
                ));
            }
            None => {
                assert_usable(&mut c, 3);
                ctx.outcome(format!(
                    "ignored (cheap): {sent} RST_STREAM on a closed stream in {:.0?}, \
                     connection usable",
                    start.elapsed()
                ));
            }
        }
    }
);

// ---- Flow control --------------------------------------------------------------

per_adapter!(
    /// Connection window overflow: WINDOW_UPDATE on stream 0 past 2^31-1 →
    /// GOAWAY FLOW_CONTROL_ERROR (RFC 9113 §6.9.1), at once.
    window_overflow,
    Config::default(),
    |ctx: &mut Ctx| {
        let mut c = open(ctx);
        let mut b = window_update(0, 0x7fff_ffff);
        b.extend_from_slice(&window_update(0, 0x7fff_ffff));
        c.send_raw(&b).unwrap();
        assert_goaway(&mut c, ErrorCode::FLOW_CONTROL_ERROR);
        ctx.outcome("GOAWAY(FLOW_CONTROL_ERROR) at the 2nd frame");
    }
);

per_adapter!(
    /// A peer that never opens its window (CVE-2019-9517, internal data
    /// buffering): SETTINGS_INITIAL_WINDOW_SIZE 0, then `/big` (16 MiB) on
    /// 100 streams. Nothing may be sent; what the server holds per stream is
    /// bounded by `send_buffer` (256 KiB), so memory stays flat.
    window_never_opened,
    Config::default(),
    |ctx: &mut Ctx| {
        let mut c = H2Wire::connect(ctx.addr, Settings::default().with_initial_window_size(0), true)
            .unwrap();
        let mut batch = Vec::new();
        for i in 0..100u32 {
            let b = c.request_block("GET", "/big", &[]);
            batch.extend_from_slice(&H2Wire::headers_frame(1 + 2 * i, &b, true));
        }
        c.send_raw(&batch).unwrap();
        assert_eq!(c.status_of(199, CUT), Some(200), "{}", c.transcript());
        // Give the handlers time to push what they can.
        std::thread::sleep(Duration::from_millis(500));
        let data: usize = c
            .seen
            .iter()
            .map(|i| match i {
                In::Frame(Frame::Data(d), _) => d.data.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(data, 0, "DATA sent into a zero window (§6.9.1)");
        assert!(c.ping_pong(CUT));
        ctx.outcome("held: no DATA, 100 × 16 MiB responses parked, memory bounded");
    }
);

per_adapter!(
    /// Data dribble (CVE-2019-9511): window of 1 byte, then WINDOW_UPDATE +1
    /// at a time on 100 streams of `/big`: the server may only send 1-byte
    /// DATA frames; memory stays bounded and other clients are served.
    data_dribble,
    Config::default(),
    |ctx: &mut Ctx| {
        let mut c = H2Wire::connect(ctx.addr, Settings::default().with_initial_window_size(1), true)
            .unwrap();
        let mut batch = Vec::new();
        for i in 0..100u32 {
            let b = c.request_block("GET", "/big", &[]);
            batch.extend_from_slice(&H2Wire::headers_frame(1 + 2 * i, &b, true));
        }
        c.send_raw(&batch).unwrap();
        let start = Instant::now();
        let mut rounds = 0;
        while start.elapsed() < Duration::from_millis(800) {
            let mut w = Vec::new();
            for i in 0..100u32 {
                w.extend_from_slice(&window_update(1 + 2 * i, 1));
            }
            if c.send_raw(&w).is_err() {
                break;
            }
            rounds += 1;
        }
        let (mut frames, mut max) = (0usize, 0usize);
        while c.next_until(Instant::now() + Duration::from_millis(100)).is_some() {}
        for i in &c.seen {
            if let In::Frame(Frame::Data(d), _) = i {
                frames += 1;
                max = max.max(d.data.len());
            }
        }
        assert!(max <= 1 + rounds, "DATA beyond the window");
        assert!(c.ping_pong(CUT));
        ctx.outcome(format!(
            "dribbled: {rounds} rounds of +1 × 100 streams, {frames} DATA frames, memory bounded"
        ));
    }
);

// ---- Stream ids and concurrency ---------------------------------------------------

per_adapter!(
    /// Lower stream id than one already opened → GOAWAY PROTOCOL_ERROR
    /// (RFC 9113 §5.1.1), at the offending frame.
    lower_stream_id,
    Config::default(),
    |ctx: &mut Ctx| {
        let mut c = open(ctx);
        c.get(5, "/").unwrap();
        assert_eq!(c.status_of(5, CUT), Some(200));
        c.get(3, "/").unwrap();
        let last = assert_goaway(&mut c, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(last, 5);
        ctx.outcome("GOAWAY(PROTOCOL_ERROR) at the 1st lower id");
    }
);

per_adapter!(
    /// Reused stream id after the stream closed → connection error (RFC 9113
    /// §5.1.1; STREAM_CLOSED or PROTOCOL_ERROR, §5.1 "closed").
    reused_stream_id,
    Config::default(),
    |ctx: &mut Ctx| {
        let mut c = open(ctx);
        c.get(1, "/").unwrap();
        assert!(c.response_end(1, CUT).is_some());
        c.get(1, "/").unwrap();
        let Some((last, code)) = c.goaway(CUT) else {
            panic!("no GOAWAY:\n{}", c.transcript());
        };
        assert!(
            code == ErrorCode::PROTOCOL_ERROR || code == ErrorCode::STREAM_CLOSED,
            "{code:?}"
        );
        assert!(c.wait_closed(CUT));
        ctx.outcome(format!("GOAWAY({code:?}) last={last} at the reused id"));
    }
);

per_adapter!(
    /// More streams than SETTINGS_MAX_CONCURRENT_STREAMS
    /// (`h2.max_concurrent_streams` 100): the extra streams get RST_STREAM
    /// REFUSED_STREAM (RFC 9113 §5.1.2); the admitted ones are answered.
    exceed_max_concurrent_streams,
    Config::default(),
    |ctx: &mut Ctx| {
        let mut c = open(ctx);
        let mut batch = Vec::new();
        for i in 0..150u32 {
            let b = c.request_block("GET", "/slow", &[]);
            batch.extend_from_slice(&H2Wire::headers_frame(1 + 2 * i, &b, true));
        }
        c.send_raw(&batch).unwrap();
        for i in 100..150u32 {
            let id = 1 + 2 * i;
            assert_eq!(
                c.reset_of(id, CUT),
                Some(ErrorCode::REFUSED_STREAM),
                "stream {id}:\n{}",
                c.transcript()
            );
        }
        for i in 0..100u32 {
            assert_eq!(c.status_of(1 + 2 * i, CUT), Some(200));
        }
        ctx.outcome("RST_STREAM(REFUSED_STREAM) for streams 101..150, the first 100 answered");
    }
);

// ---- Slowloris and slow read ---------------------------------------------------------

fn short_timeouts() -> Config {
    let mut c = Config::default();
    c.header_read_timeout = Some(Duration::from_millis(500));
    c.idle_timeout = Some(Duration::from_secs(1));
    c
}

per_adapter!(
    /// Slowloris (RFC 9113 §10.5): 50 connections each sending an unfinished
    /// header block (HEADERS without END_HEADERS, never continued) → closed
    /// by the header-block timer (`header_read_timeout`, 500 ms here) with
    /// GOAWAY; 50 more that stop half-way through the preface are closed too.
    slowloris,
    short_timeouts(),
    |ctx: &mut Ctx| {
        let start = Instant::now();
        let mut conns = Vec::new();
        for _ in 0..50 {
            let mut c = open(ctx);
            let block = c.request_block("GET", "/", &[]);
            c.send_raw(&raw_frame(kind::HEADERS, flag::END_STREAM, 1, &block[..3]))
                .unwrap();
            conns.push(c);
        }
        let mut raw = Vec::new();
        for _ in 0..50 {
            let mut s = TcpStream::connect(ctx.addr).unwrap();
            s.write_all(&attack_support::h2wire::PREFACE[..10]).unwrap();
            s.set_read_timeout(Some(CUT)).unwrap();
            raw.push(s);
        }
        for c in &mut conns {
            assert!(c.wait_closed(CUT), "{}", c.transcript());
        }
        let codes: Vec<_> = conns
            .iter_mut()
            .filter_map(|c| c.goaway(Duration::ZERO).map(|g| g.1))
            .collect();
        for s in &mut raw {
            let _ = attack_support::read_until_close(s, CUT);
        }
        let took = start.elapsed();
        assert!(took <= Duration::from_millis(500) + CUT, "{took:?}");
        ctx.outcome(format!(
            "closed after `header_read_timeout` (500 ms): 100 connections in {took:.0?}, \
             GOAWAY codes {:?}",
            codes.first()
        ));
    }
);

// ---- §8.2.1 field validation -----------------------------------------------------

per_adapter!(
    /// RFC 9113 §8.2.1 (and §8.2.2 connection-specific fields): each
    /// malformed request gets RST_STREAM PROTOCOL_ERROR (§8.1.1) and the
    /// connection stays usable.
    field_validation_8_2_1,
    Config::default(),
    |ctx: &mut Ctx| {
        let cases: &[(&str, &[u8], &[u8])] = &[
            ("leading space in value", b"x-a", b" v"),
            ("leading tab in value", b"x-a", b"\tv"),
            ("trailing space in value", b"x-a", b"v "),
            ("trailing tab in value", b"x-a", b"v\t"),
            ("CR in value", b"x-a", b"a\rb"),
            ("LF in value", b"x-a", b"a\nb"),
            ("NUL in value", b"x-a", b"a\0b"),
            ("uppercase name", b"X-Upper", b"v"),
            ("connection", b"connection", b"keep-alive"),
            ("keep-alive", b"keep-alive", b"timeout=5"),
            ("proxy-connection", b"proxy-connection", b"keep-alive"),
            ("transfer-encoding", b"transfer-encoding", b"chunked"),
            ("upgrade", b"upgrade", b"h2c"),
            ("te other than trailers", b"te", b"gzip"),
        ];
        let mut c = open(ctx);
        let mut id = 1;
        for (what, n, v) in cases {
            let b = c.request_block("GET", "/", &[(n, v)]);
            c.send_raw(&H2Wire::headers_frame(id, &b, true)).unwrap();
            assert_eq!(
                c.reset_of(id, CUT),
                Some(ErrorCode::PROTOCOL_ERROR),
                "{what}: {}",
                c.transcript()
            );
            assert_usable(&mut c, id + 2);
            id += 4;
        }
        ctx.outcome(format!(
            "RST_STREAM(PROTOCOL_ERROR) for all {} cases, connection usable",
            cases.len()
        ));
    }
);

per_adapter!(
    /// Slow read (RFC 9113 §10.5; `send_timeout`, 500 ms here, default 30 s):
    /// a client opens every window to the maximum, asks for `/big` (16 MiB)
    /// and never reads. Once the socket buffers are full the server makes no
    /// progress; it closes the connection after `send_timeout` and drops what
    /// it still owed, so memory stays flat.
    slow_read,
    {
        let mut c = Config::default();
        c.send_timeout = Some(Duration::from_millis(500));
        c
    },
    |ctx: &mut Ctx| {
        let mut s = TcpStream::connect(ctx.addr).unwrap();
        let mut b = attack_support::h2wire::PREFACE.to_vec();
        // SETTINGS_INITIAL_WINDOW_SIZE = 2^31-1, then ACK the server's.
        b.extend_from_slice(&raw_frame(kind::SETTINGS, 0, 0, &[0, 4, 0x7f, 0xff, 0xff, 0xff]));
        b.extend_from_slice(&raw_frame(kind::SETTINGS, flag::ACK, 0, &[]));
        b.extend_from_slice(&window_update(0, 0x7fff_0000));
        let mut enc = proto_core::hpack::Encoder::new();
        let mut block = bytes::BytesMut::new();
        enc.encode(
            [
                (&b":method"[..], &b"GET"[..], false),
                (b":scheme", b"http", false),
                (b":authority", b"localhost", false),
                (b":path", b"/big", false),
            ],
            &mut block,
        );
        b.extend_from_slice(&H2Wire::headers_frame(1, &block, true));
        s.write_all(&b).unwrap();
        let start = Instant::now();
        // Not reading is the attack; the server's timer, not this sleep,
        // decides when the connection ends (checked below).
        std::thread::sleep(Duration::from_millis(2000));
        s.set_read_timeout(Some(CUT)).unwrap();
        let got = attack_support::read_until_close(&mut s, CUT);
        let took = start.elapsed();
        assert!(
            got.len() < attack_support::BIG_LEN,
            "the whole response ({} bytes) arrived: the server never gave up",
            got.len()
        );
        assert!(took < Duration::from_millis(2000) + CUT, "not closed: {took:?}");
        ctx.outcome(format!(
            "closed after `send_timeout` (500 ms) with {} KiB of 16 MiB delivered",
            got.len() / 1024
        ));
    }
);
