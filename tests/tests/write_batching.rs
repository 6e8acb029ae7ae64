//! How many transport writes a large body costs. HTTP/2: `write` takes at
//! most `Config::send_buffer` per call (and what the windows allow), and an
//! application that writes on every `Writable` gets one gather per
//! `send_buffer` of body: with the default (256 KiB) a 1 MiB body leaves in
//! 4 writes (the performance issue's bound is 8 per MiB; with the former
//! 64 KiB it was 16). HTTP/1.1: a chunk offered below `send_buffer` is taken
//! whole (the caller already holds it), so a body handed over in one piece
//! leaves in one gather (5 when it was cut at 256 KiB, 17 at 64 KiB).
//! Deterministic: an in-memory pair whose transport takes every byte
//! offered.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bytes::Bytes;
use proto_core::{Config, Connection, Event, Instant, Protocol, ReadChunk, Side};
use tests::{drain_transmit, get, response};

const T0: Instant = Instant::from_nanos(1_000_000_000);
const MIB: usize = 1 << 20;

/// Server transport writes (non-empty `poll_transmit` rounds, each taken
/// whole) while answering one GET with a 1 MiB body.
fn writes_for_one_mib(protocol: Protocol) -> usize {
    let mut ccfg = Config::default();
    // A client that does not throttle (as curl and browsers open big windows).
    ccfg.h2.initial_window_size = 16 * MIB as u32;
    ccfg.h2.connection_window_size = 16 * MIB as u32;
    let mut client = Connection::with_protocol(Side::Client, protocol, ccfg, T0);
    let mut server = Connection::with_protocol(Side::Server, protocol, Config::default(), T0);
    let pump = |client: &mut Connection, server: &mut Connection| {
        let up = drain_transmit(client);
        assert_eq!(server.recv(T0, &up), up.len());
    };
    // Connection set-up (HTTP/2 SETTINGS both ways) is not the body's cost.
    for _ in 0..3 {
        pump(&mut client, &mut server);
        let down = drain_transmit(&mut server);
        assert_eq!(client.recv(T0, &down), down.len());
    }
    client.send_request(get("/big"), true).unwrap();
    pump(&mut client, &mut server);
    let id = loop {
        if let Event::Request { id, .. } = server.poll_event().expect("the request") {
            break id;
        }
    };
    let head = response(200, &[("content-length", &MIB.to_string())]);
    server.send_response(id, head, false).unwrap();
    let mut body = Bytes::from(vec![7u8; MIB]);
    let (mut writes, mut received) = (0, 0);
    for _ in 0..1_000 {
        // The application writes what the stream takes (on `Writable`).
        if let Some(mut s) = server.stream(id) {
            if !body.is_empty() {
                s.write(&mut body).unwrap();
                if body.is_empty() {
                    s.finish(None).unwrap();
                }
            }
        }
        while server.poll_event().is_some() {}
        let down = drain_transmit(&mut server);
        if down.is_empty() && body.is_empty() {
            break;
        }
        if !down.is_empty() {
            writes += 1;
        }
        deliver(&mut client, &down, &mut received);
        pump(&mut client, &mut server);
    }
    assert_eq!(received, MIB, "{protocol:?}: the whole body arrived");
    writes
}

/// The client takes `data` as its application reads (its receive buffer is
/// bounded), like a transport read followed by the application's reads.
fn deliver(client: &mut Connection, mut data: &[u8], received: &mut usize) {
    for _ in 0..10_000 {
        let n = client.recv(T0, data);
        data = &data[n..];
        while let Some(ev) = client.poll_event() {
            if let Event::Response { id, .. } | Event::Readable { id } = ev {
                if let Some(mut s) = client.stream(id) {
                    while let ReadChunk::Data(d) = s.read() {
                        *received += d.len();
                    }
                }
            }
        }
        if data.is_empty() {
            return;
        }
    }
    panic!("the client stopped taking bytes");
}

/// HTTP/1.1: the 1 MiB `Bytes` goes into the queue whole, behind the
/// response head, and out in one gather.
#[test]
fn one_mib_body_takes_one_write_http1() {
    assert_eq!(writes_for_one_mib(Protocol::Http1), 1);
}

/// HTTP/1.1, a body written in pieces: each is taken whole while the queue
/// is below `send_buffer`, none beyond it, so the queue never holds more
/// than `send_buffer` plus one piece.
#[test]
fn http1_queue_exceeds_send_buffer_by_at_most_one_chunk() {
    let mut client =
        Connection::with_protocol(Side::Client, Protocol::Http1, Config::default(), T0);
    let mut server =
        Connection::with_protocol(Side::Server, Protocol::Http1, Config::default(), T0);
    client.send_request(get("/big"), true).unwrap();
    let up = drain_transmit(&mut client);
    assert_eq!(server.recv(T0, &up), up.len());
    let id = loop {
        if let Event::Request { id, .. } = server.poll_event().expect("the request") {
            break id;
        }
    };
    let limit = Config::default().send_buffer;
    let piece = 100 * 1024;
    let head = response(200, &[("content-length", &(10 * piece).to_string())]);
    server.send_response(id, head, false).unwrap();
    let mut s = server.stream(id).unwrap();
    let mut queued = 0;
    for _ in 0..10 {
        let mut chunk = Bytes::from(vec![1u8; piece]);
        let took = s.write(&mut chunk).unwrap();
        if took == 0 {
            assert_eq!(chunk.len(), piece, "nothing cut off a refused chunk");
            break;
        }
        assert_eq!(took, piece, "a chunk is taken whole or not at all");
        queued += took;
    }
    // 100 KiB pieces against 256 KiB: three taken (the third from below the
    // mark), the fourth refused.
    assert_eq!(queued, 3 * piece);
    assert!(queued < limit + piece);
    assert_eq!(s.write_capacity(), 0);
}

/// RFC 9113 §6.9 aside (the client's windows are open), the bound is the
/// per-stream send queue.
#[test]
fn one_mib_body_takes_four_writes_http2() {
    assert_eq!(writes_for_one_mib(Protocol::Http2), 4);
}
