//! HTTP/1.1 server hot path: one keep-alive request parsed, answered with a
//! 13-byte body, written out; and a pipelined batch of 16.
//!
//! `cargo bench -p proto-core --bench h1 -- --warm-up-time 1 --measurement-time 2`

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use proto_core::{Config, Connection, Event, Instant, ResponseHead, Side};

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\n\
Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,*/*;q=0.8\r\nConnection: keep-alive\r\n\r\n";

/// Feeds `input`, answers every request, drains the output; returns bytes out.
fn serve(conn: &mut Connection, input: &[u8]) -> usize {
    let mut off = 0;
    let mut out = 0;
    while off < input.len() {
        off += conn.recv(Instant::ZERO, &input[off..]);
        while let Some(ev) = conn.poll_event() {
            if let Event::Request { id, .. } = ev {
                let mut head = ResponseHead::new(200);
                head.fields.push_static("content-type", "text/plain");
                head.fields.push_static("content-length", "13");
                conn.send_response(id, head, false).ok();
                if let Some(mut s) = conn.stream(id) {
                    s.write(&mut Bytes::from_static(b"Hello, World!")).ok();
                    s.finish(None).ok();
                }
            }
        }
        let n: usize = conn.poll_transmit().iter().map(Bytes::len).sum();
        conn.transmit_complete(n);
        out += n;
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut cfg = Config::default();
    cfg.header_read_timeout = None;
    cfg.idle_timeout = None;
    let mut conn = Connection::new(Side::Server, cfg.clone(), Instant::ZERO);
    c.bench_function("h1 request→response", |b| {
        b.iter(|| serve(&mut conn, REQUEST))
    });
    let batch: Vec<u8> = REQUEST.repeat(16);
    let mut conn = Connection::new(Side::Server, cfg, Instant::ZERO);
    c.bench_function("h1 pipelined x16", |b| b.iter(|| serve(&mut conn, &batch)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
