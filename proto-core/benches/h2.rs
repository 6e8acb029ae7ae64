//! HTTP/2: frame decode on the frames of a typical exchange mix, and full
//! request cycles through an in-memory client/server pair of `Connection`s
//! (both sides' work: HPACK, frames, streams, flow control). The HTTP/1.1
//! pair cycle is here too, for comparison.
//!
//! `cargo bench -p proto-core --bench h2 -- --warm-up-time 1 --measurement-time 2`
// The core reads no clock; a benchmark has to.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod pair;

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use proto_core::h2::frame::{self, Data, Frame, Headers, Ping, Settings, WindowUpdate};
use proto_core::{Protocol, StreamId};

/// 100 streams' worth of frames: HEADERS (a 40-byte block), DATA of 13 bytes
/// and a 16 KiB DATA, with the connection's WINDOW_UPDATEs, a PING and a
/// SETTINGS ACK in between.
fn frames() -> Vec<u8> {
    let mut buf = BytesMut::new();
    let block = Bytes::from(vec![0x82u8; 40]);
    let big = Bytes::from(vec![b'x'; 16 * 1024]);
    Frame::from(Settings::ack()).encode(&mut buf);
    for i in 0..100u32 {
        let id = StreamId::new(2 * i + 1);
        Frame::from(Headers::new(id, block.clone(), false, true)).encode(&mut buf);
        Frame::from(Data::new(id, &b"Hello, World!"[..], false)).encode(&mut buf);
        Frame::from(Data::new(id, big.clone(), true)).encode(&mut buf);
        Frame::from(WindowUpdate::new(StreamId::new(0), 16 * 1024 + 13)).encode(&mut buf);
        if i % 10 == 0 {
            Frame::from(Ping::new(i.to_be_bytes().repeat(2).try_into().unwrap())).encode(&mut buf);
        }
    }
    buf.to_vec()
}

fn decode_all(buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while let Some(f) = frame::decode(buf, frame::MAX_MAX_FRAME_SIZE).unwrap() {
        n += usize::from(f.kind());
    }
    n
}

fn bench(c: &mut Criterion) {
    let wire = frames();
    let mut group = c.benchmark_group("h2 frame decode");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    // The copy into a fresh buffer is setup, not measured.
    group.bench_function("511 frames", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            |buf| black_box(decode_all(buf)),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("pair cycle");
    group.throughput(Throughput::Elements(1));
    for (name, protocol, depth) in [
        ("h1 request→response", Protocol::Http1, 1),
        ("h2 request→response", Protocol::Http2, 1),
        ("h2 16 in flight, per request", Protocol::Http2, 16),
    ] {
        let mut p = pair::Pair::new(protocol);
        // Per request: `iter_custom` runs `iters` exchanges in one go, so the
        // in-flight depth is kept across them.
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                p.run(iters as usize, depth, &mut ());
                start.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
