//! Chunked transfer-coding decode (RFC 9112 §7.1): a 64 KiB body as 16 chunks
//! of 4 KiB (a typical streaming server), the same body in 256-byte chunks with
//! an extension on each (framing-heavy), and one with trailers.
//!
//! `cargo bench -p proto-core --bench chunked -- --warm-up-time 1 --measurement-time 2`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use proto_core::Config;
use proto_core::h1::chunked::{ChunkedDecoder, Decoded};

const BODY: usize = 64 * 1024;

fn encode(chunk: usize, ext: &str, trailers: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut left = BODY;
    let mut i = 0u8;
    while left > 0 {
        let n = chunk.min(left);
        out.extend_from_slice(format!("{n:x}{ext}\r\n").as_bytes());
        out.extend(std::iter::repeat_n(b'a' + i % 26, n));
        out.extend_from_slice(b"\r\n");
        left -= n;
        i = i.wrapping_add(1);
    }
    out.extend_from_slice(format!("0\r\n{trailers}\r\n").as_bytes());
    out
}

fn decode_all(buf: &mut BytesMut, cfg: &Config) -> usize {
    let mut dec = ChunkedDecoder::new();
    let mut n = 0;
    loop {
        match dec.decode(buf, usize::MAX, cfg).unwrap() {
            Decoded::Data(d) => n += d.len(),
            Decoded::End(f) => return n + f.len(),
            Decoded::NeedMore => panic!("truncated"),
        }
    }
}

fn bench(c: &mut Criterion) {
    let cfg = Config::default();
    let mut group = c.benchmark_group("chunked decode 64 KiB");
    group.throughput(Throughput::Bytes(BODY as u64));
    for (name, wire) in [
        ("4 KiB chunks", encode(4096, "", "")),
        ("256 B chunks + ext", encode(256, ";name=\"value\"", "")),
        (
            "4 KiB chunks + trailers",
            encode(4096, "", "grpc-status: 0\r\nserver-timing: db;dur=53\r\n"),
        ),
    ] {
        assert!(decode_all(&mut BytesMut::from(&wire[..]), &cfg) >= BODY);
        // The copy into a fresh buffer is setup, not measured.
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || BytesMut::from(&wire[..]),
                |buf| black_box(decode_all(buf, &cfg)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
