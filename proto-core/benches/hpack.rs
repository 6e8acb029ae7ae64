//! HPACK decode and encode on realistic browser traffic: a Chrome-like and a
//! Firefox-like page load of ten requests to one site (a navigation, then
//! scripts, styles, images and an API call, with cookies), so the dynamic table
//! matters, and the matching responses.
//!
//! `cargo bench -p proto-core --bench hpack -- --warm-up-time 1 --measurement-time 2`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use proto_core::hpack::{Decoder, Encoder};

type Block = Vec<(&'static str, String)>;

const AUTHORITY: &str = "www.example-shop.com";
const UA: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like \
                  Gecko) Chrome/124.0.0.0 Safari/537.36";
const SEC_CH_UA: &str =
    "\"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"";
const COOKIE: &str = "_ga=GA1.2.1234567890.1712345678; _gid=GA1.2.987654321.1712345678; \
                      session_id=8f14e45fceea167a5a36dedd4bea2543; \
                      cart=eyJpdGVtcyI6WzEyMyw0NTZdLCJ0b3RhbCI6OTkuOTl9; \
                      _fbp=fb.1.1712345678901.1234567890; consent=analytics%3Dtrue%26marketing%3Dfalse; \
                      theme=dark; lang=en-US; ab_test=checkout_v2; recently_viewed=1234%2C5678%2C9012";

/// (path, accept, sec-fetch-dest, sec-fetch-mode)
const RESOURCES: [(&str, &str, &str, &str); 10] = [
    (
        "/products/category/shoes?page=2&sort=price_asc&utm_source=newsletter&utm_campaign=spring",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;\
         q=0.8,application/signed-exchange;v=b3;q=0.7",
        "document",
        "navigate",
    ),
    (
        "/static/css/main.4f2a9c1e.css",
        "text/css,*/*;q=0.1",
        "style",
        "no-cors",
    ),
    ("/static/js/runtime.8d3b2a71.js", "*/*", "script", "no-cors"),
    ("/static/js/vendor.c91e0f44.js", "*/*", "script", "no-cors"),
    ("/static/js/main.1a2b3c4d.js", "*/*", "script", "no-cors"),
    (
        "/images/products/1234/main.webp?w=640&q=75",
        "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
        "image",
        "no-cors",
    ),
    (
        "/images/products/5678/main.webp?w=640&q=75",
        "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
        "image",
        "no-cors",
    ),
    (
        "/api/v2/cart?include=items,totals",
        "application/json",
        "empty",
        "cors",
    ),
    ("/fonts/inter-var.woff2", "*/*", "font", "cors"),
    (
        "/images/banners/spring-sale.avif",
        "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
        "image",
        "no-cors",
    ),
];

fn requests() -> Vec<Block> {
    let page = format!("https://{AUTHORITY}{}", RESOURCES[0].0);
    RESOURCES
        .iter()
        .enumerate()
        .map(|(i, &(path, accept, dest, mode))| {
            let mut h: Block = vec![
                (":method", "GET".into()),
                (":authority", AUTHORITY.into()),
                (":scheme", "https".into()),
                (":path", path.into()),
                ("sec-ch-ua", SEC_CH_UA.into()),
                ("sec-ch-ua-mobile", "?0".into()),
                ("sec-ch-ua-platform", "\"macOS\"".into()),
            ];
            if i == 0 {
                h.push(("upgrade-insecure-requests", "1".into()));
            }
            h.push(("user-agent", UA.into()));
            h.push(("accept", accept.into()));
            h.push(("sec-fetch-site", "same-origin".into()));
            h.push(("sec-fetch-mode", mode.into()));
            if i == 0 {
                h.push(("sec-fetch-user", "?1".into()));
            }
            h.push(("sec-fetch-dest", dest.into()));
            let referer = if i == 0 {
                format!("https://{AUTHORITY}/products/category/shoes?page=1")
            } else {
                page.clone()
            };
            h.push(("referer", referer));
            h.push(("accept-encoding", "gzip, deflate, br, zstd".into()));
            h.push(("accept-language", "en-US,en;q=0.9,de;q=0.8".into()));
            h.push(("cookie", COOKIE.into()));
            h.push(("priority", if i == 0 { "u=0, i" } else { "u=1" }.into()));
            h
        })
        .collect()
}

const FIREFOX_UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";

/// The same page load as Firefox sends it: its pseudo-header order (method,
/// path, authority, scheme), no client hints, `te: trailers`, its own accept
/// values and the same cookies.
fn firefox_requests() -> Vec<Block> {
    let page = format!("https://{AUTHORITY}{}", RESOURCES[0].0);
    RESOURCES
        .iter()
        .enumerate()
        .map(|(i, &(path, _, dest, mode))| {
            let accept = match dest {
                "document" => {
                    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,\
                     image/webp,*/*;q=0.8"
                }
                "style" => "text/css,*/*;q=0.1",
                "image" => "image/avif,image/webp,*/*",
                "empty" => "application/json",
                _ => "*/*",
            };
            let mut h: Block = vec![
                (":method", "GET".into()),
                (":path", path.into()),
                (":authority", AUTHORITY.into()),
                (":scheme", "https".into()),
                ("user-agent", FIREFOX_UA.into()),
                ("accept", accept.into()),
                ("accept-language", "en-US,en;q=0.5".into()),
                ("accept-encoding", "gzip, deflate, br, zstd".into()),
            ];
            if i > 0 {
                h.push(("referer", page.clone()));
            }
            h.push(("cookie", COOKIE.into()));
            if i == 0 {
                h.push(("upgrade-insecure-requests", "1".into()));
            }
            h.push(("sec-fetch-dest", dest.into()));
            h.push(("sec-fetch-mode", mode.into()));
            h.push(("sec-fetch-site", "same-origin".into()));
            if i == 0 {
                h.push(("sec-fetch-user", "?1".into()));
            }
            h.push(("priority", if i == 0 { "u=0, i" } else { "u=2" }.into()));
            h.push(("te", "trailers".into()));
            h
        })
        .collect()
}

fn responses() -> Vec<Block> {
    RESOURCES
        .iter()
        .enumerate()
        .map(|(i, &(_, _, dest, _))| {
            let content_type = match dest {
                "document" => "text/html; charset=utf-8",
                "style" => "text/css",
                "script" => "application/javascript",
                "image" => "image/webp",
                "font" => "font/woff2",
                _ => "application/json",
            };
            vec![
                (":status", "200".into()),
                ("date", format!("Tue, 14 May 2024 09:41:{:02} GMT", 10 + i)),
                ("content-type", content_type.into()),
                ("content-length", format!("{}", 1000 + i * 7919)),
                (
                    "cache-control",
                    if i == 0 {
                        "private, no-cache"
                    } else {
                        "public, max-age=31536000, immutable"
                    }
                    .into(),
                ),
                (
                    "etag",
                    format!(
                        "\"{:016x}\"",
                        0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1)
                    ),
                ),
                ("server", "nginx".into()),
                (
                    "strict-transport-security",
                    "max-age=63072000; includeSubDomains; preload".into(),
                ),
                ("x-content-type-options", "nosniff".into()),
                ("vary", "Accept-Encoding".into()),
                ("alt-svc", "h3=\":443\"; ma=86400".into()),
            ]
        })
        .collect()
}

fn encode_all(blocks: &[Block]) -> Vec<Bytes> {
    let mut encoder = Encoder::new();
    blocks
        .iter()
        .map(|b| {
            let mut dst = BytesMut::new();
            encoder.encode(
                b.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes(), false)),
                &mut dst,
            );
            dst.freeze()
        })
        .collect()
}

fn bench_set(c: &mut Criterion, name: &str, blocks: &[Block]) {
    let encoded = encode_all(blocks);
    let wire: usize = encoded.iter().map(Bytes::len).sum();
    let plain: usize = blocks
        .iter()
        .flatten()
        .map(|(n, v)| n.len() + v.len())
        .sum();
    let fields: usize = blocks.iter().map(Vec::len).sum();
    println!(
        "{name}: {} blocks, {fields} fields, {plain} header bytes -> {wire} HPACK bytes",
        blocks.len()
    );
    println!(
        "{name}: first block {} bytes, later blocks {:?}",
        encoded[0].len(),
        encoded[1..].iter().map(Bytes::len).collect::<Vec<_>>()
    );

    let mut group = c.benchmark_group(name);
    // Throughput in decoded header bytes (name + value), the same unit for both directions.
    group.throughput(Throughput::Bytes(plain as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut decoder = Decoder::new(4096);
            let mut n = 0;
            for block in &encoded {
                decoder
                    .decode(block, 64 * 1024, |f| n += f.value.len())
                    .unwrap();
            }
            black_box(n)
        })
    });
    group.bench_function("encode", |b| {
        let mut dst = BytesMut::with_capacity(wire * 2);
        b.iter(|| {
            let mut encoder = Encoder::new();
            for block in blocks {
                dst.clear();
                encoder.encode(
                    block
                        .iter()
                        .map(|(n, v)| (n.as_bytes(), v.as_bytes(), false)),
                    &mut dst,
                );
                black_box(&dst);
            }
        })
    });
    group.finish();

    // The Huffman-heavy case alone: the first request of a connection, every string a literal.
    let mut group = c.benchmark_group(format!("{name}_first_block"));
    group.throughput(Throughput::Bytes(encoded[0].len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut decoder = Decoder::new(4096);
            let mut n = 0;
            decoder
                .decode(&encoded[0], 64 * 1024, |f| n += f.value.len())
                .unwrap();
            black_box(n)
        })
    });
    group.finish();
}

fn hpack(c: &mut Criterion) {
    bench_set(c, "requests", &requests());
    bench_set(c, "firefox_requests", &firefox_requests());
    bench_set(c, "responses", &responses());
}

criterion_group!(benches, hpack);
criterion_main!(benches);
