//! A fixed number of HTTP/2 server exchanges through the core alone (decode a
//! HEADERS frame, respond with 13 bytes, write out), for instruction counts
//! that do not depend on the machine's load:
//!
//! ```sh
//! cargo build --release -p proto-core --example h2_cycle
//! valgrind --tool=callgrind target/release/examples/h2_cycle 1000
//! valgrind --tool=callgrind target/release/examples/h2_cycle 2000
//! ```
//!
//! (difference of the two totals) / 1000 = instructions per request. A second
//! argument `K` feeds K requests (K streams in flight) per `recv`.
//!
//! The client side is canned: the preface, SETTINGS and SETTINGS ACK, then per
//! request a HEADERS frame whose block is fully indexed (HPACK dynamic table,
//! as a browser's repeat requests are) and a connection WINDOW_UPDATE that
//! returns the 13 body bytes, so the server's send window never runs out.

use bytes::{Bytes, BytesMut};
use proto_core::h2::frame::{Frame, Headers, Settings, WindowUpdate};
use proto_core::hpack::Encoder;
use proto_core::{Config, Connection, Event, Instant, Protocol, ResponseHead, Side, StreamId};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const REQUEST: [(&[u8], &[u8]); 7] = [
    (b":method", b"GET"),
    (b":scheme", b"http"),
    (b":authority", b"localhost:8080"),
    (b":path", b"/plaintext"),
    (b"user-agent", b"h2_cycle/1"),
    (
        b"accept",
        b"text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,*/*;q=0.8",
    ),
    (b"accept-encoding", b"gzip, deflate, br"),
];

/// One request on stream `id`: HEADERS (END_STREAM) and WINDOW_UPDATE(0, 13).
fn request(enc: &mut Encoder, id: u32, dst: &mut BytesMut) {
    let mut block = BytesMut::new();
    enc.encode(REQUEST.iter().map(|&(n, v)| (n, v, false)), &mut block);
    Frame::from(Headers::new(StreamId::new(id), block.freeze(), true, true)).encode(dst);
    Frame::from(WindowUpdate::new(StreamId::new(0), 13)).encode(dst);
}

/// Feeds `input`, answers every request, writes everything out.
fn serve(conn: &mut Connection, input: &[u8]) -> usize {
    let mut off = 0;
    let mut out = 0;
    loop {
        off += conn.recv(Instant::ZERO, input.get(off..).unwrap_or_default());
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Request { id, .. } => {
                    let mut head = ResponseHead::new(200);
                    head.fields.push_static("content-type", "text/plain");
                    head.fields.push_static("content-length", "13");
                    if conn.send_response(id, head, false).is_ok() {
                        if let Some(mut s) = conn.stream(id) {
                            let _ = s.write(&mut Bytes::from_static(b"Hello, World!"));
                            let _ = s.finish(None);
                        }
                    }
                }
                Event::Closed { reason } => panic!("closed: {reason:?}"),
                _ => {}
            }
        }
        let n: usize = conn.poll_transmit().iter().map(Bytes::len).sum();
        conn.transmit_complete(n);
        out += n;
        if off >= input.len() && n == 0 {
            return out;
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let batch: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    let mut cfg = Config::default();
    cfg.header_read_timeout = None;
    cfg.idle_timeout = None;
    let mut conn = Connection::with_protocol(Side::Server, Protocol::Http2, cfg, Instant::ZERO);
    let mut enc = Encoder::new();

    let mut start = BytesMut::from(PREFACE);
    Frame::from(Settings::default()).encode(&mut start);
    Frame::from(Settings::ack()).encode(&mut start);
    // The first request fills the dynamic table; the rest are all indexed.
    request(&mut enc, 1, &mut start);
    serve(&mut conn, &start);

    // Every later request is the same bytes but for its stream id: copy a
    // template and patch the id (a few dozen instructions per request, counted).
    let mut template = BytesMut::new();
    request(&mut enc, 3, &mut template);
    let mut total = 0;
    let mut id: u32 = 3;
    let mut buf = BytesMut::new();
    let mut sent = 0;
    while sent < n {
        buf.clear();
        let k = batch.min(n - sent);
        for _ in 0..k {
            let at = buf.len();
            buf.extend_from_slice(&template);
            // The HEADERS frame's stream id: octets 5..9 of its header.
            buf[at + 5..at + 9].copy_from_slice(&id.to_be_bytes());
            id += 2;
        }
        total += serve(&mut conn, &buf);
        sent += k;
    }
    println!("{n} requests in batches of {batch}, {total} bytes out");
}
