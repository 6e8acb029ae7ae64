#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;

use super::*;
use crate::hpack::appendix_c::hex;
use crate::hpack::{Decoder, Field};

fn encode(e: &mut Encoder, fields: &[(&str, &str)]) -> Bytes {
    let mut dst = BytesMut::new();
    e.encode(
        fields
            .iter()
            .map(|&(n, v)| (n.as_bytes(), v.as_bytes(), false)),
        &mut dst,
    );
    dst.freeze()
}

fn decode(d: &mut Decoder, block: &Bytes) -> Vec<Field> {
    let mut out = Vec::new();
    d.decode(block, usize::MAX, |f| out.push(f)).unwrap();
    out
}

/// RFC 7541 §4.2/§6.3: a smaller peer setting is signalled at the start of the next block,
/// once.
#[test]
fn size_update_when_peer_shrinks() {
    let mut e = Encoder::new();
    e.set_max_table_size(256);
    assert_eq!(encode(&mut e, &[(":method", "GET")]), hex("3fe101 82"));
    assert_eq!(encode(&mut e, &[(":method", "GET")]), hex("82"));
}

/// RFC 7541 §4.2: "If the maximum size is changed multiple times between two header blocks,
/// the smallest maximum size that occurs in that interval MUST be signaled in a dynamic table
/// size update. The final maximum size is always signaled, resulting in at most two dynamic
/// table size updates."
#[test]
fn size_update_minimum_then_final() {
    let mut e = Encoder::new();
    encode(&mut e, &[("x-a", "b")]);
    assert_eq!(e.table_size(), 36);
    e.set_max_table_size(0);
    e.set_max_table_size(100);
    e.set_max_table_size(4096);
    assert_eq!(encode(&mut e, &[]), hex("20 3fe11f"));
    assert_eq!(e.table_size(), 0);

    // Shrinking twice: only the last (smallest and final) is sent.
    e.set_max_table_size(1000);
    e.set_max_table_size(500);
    assert_eq!(encode(&mut e, &[]), hex("3fd503"));
}

/// A peer setting above our limit does not grow the table and sends nothing; raising our
/// limit does (RFC 7541 §6.3: the encoder may use any size up to the peer's setting).
#[test]
fn size_limit_caps_the_peer_setting() {
    let mut e = Encoder::new();
    e.set_max_table_size(65536);
    assert_eq!(encode(&mut e, &[]), hex(""));
    e.set_table_size_limit(8192);
    assert_eq!(encode(&mut e, &[]), hex("3fe13f"));
    e.set_table_size_limit(1000);
    assert_eq!(encode(&mut e, &[]), hex("3fc907"));
    // Grow-then-shrink back to the same size between blocks sends nothing.
    e.set_table_size_limit(2000);
    e.set_table_size_limit(1000);
    assert_eq!(encode(&mut e, &[]), hex(""));
}

/// Repeated fields are sent as one-byte dynamic indices the second time.
#[test]
fn repeated_fields_are_indexed() {
    let mut e = Encoder::new();
    let fields = [
        (":authority", "example.com"),
        ("user-agent", "test/1.0"),
        ("x-custom", "yes"),
    ];
    let first = encode(&mut e, &fields);
    let second = encode(&mut e, &fields);
    assert!(first.len() > 20);
    assert_eq!(second, hex("c0 bf be"));
    let mut d = Decoder::new(4096);
    decode(&mut d, &first);
    let got = decode(&mut d, &second);
    assert_eq!(
        got.iter()
            .map(|f| (&f.name[..], &f.value[..]))
            .collect::<Vec<_>>(),
        [
            (&b":authority"[..], &b"example.com"[..]),
            (b"user-agent", b"test/1.0"),
            (b"x-custom", b"yes")
        ]
    );
}

/// Policy: credentials are never indexed (RFC 7541 §6.2.3, §7.1.3), with a name index when
/// the static table has the name; the caller's sensitive flag does the same.
#[test]
fn credentials_are_never_indexed() {
    let mut e = Encoder::new();
    e.set_huffman(HuffmanMode::Never);
    // authorization is static index 23: 0001 1111 then 23 - 15 = 8.
    assert_eq!(encode(&mut e, &[("authorization", "x")]), hex("1f08 0178"));
    assert_eq!(encode(&mut e, &[("set-cookie", "y")]), hex("1f28 0179"));
    assert_eq!(e.table_size(), 0);
    let mut dst = BytesMut::new();
    e.encode([(&b":method"[..], &b"GET"[..], true)], &mut dst);
    // Even an exact static match is sent as a literal when sensitive.
    assert_eq!(dst, hex("12 03474554"));
}

/// Policy: `:path` and the like are not indexed; neither are entries over 3/4 of the table.
#[test]
fn unique_values_are_not_indexed() {
    let mut e = Encoder::new();
    e.set_huffman(HuffmanMode::Never);
    assert_eq!(encode(&mut e, &[(":path", "/a")]), hex("04 022f61"));
    let big = "v".repeat(3100);
    let block = encode(&mut e, &[("x-big", &big)]);
    assert_eq!(block[0], 0x00);
    assert_eq!(e.table_size(), 0);
    encode(&mut e, &[("x-small", &big[..3000])]);
    assert_eq!(e.table_size(), 3000 + 7 + 32);
}

/// RFC 9113 §8.2.3: `cookie` is sent as one field per crumb; short crumbs are never indexed,
/// long ones are indexed and cost one byte when repeated.
#[test]
fn cookie_crumbs() {
    let mut e = Encoder::new();
    let long = "session=0123456789abcdef0123456789";
    let value = format!("a=1; {long}");
    let first = encode(&mut e, &[("cookie", &value)]);
    let mut d = Decoder::new(4096);
    let mut fields = decode(&mut d, &first);
    assert_eq!(fields.len(), 2);
    assert!(fields[0].sensitive && !fields[1].sensitive);
    crate::hpack::join_cookies(&mut fields);
    assert_eq!(fields[0].value, value);
    // Second time: the short crumb is a literal again (never indexed, static name 32), the
    // long one an index.
    let second = encode(&mut e, &[("cookie", &value)]);
    // "a=1" Huffman-codes to 00011 100000 00001 = 1c 01.
    assert_eq!(second, hex("1f11 821c01 be"));
}

/// Huffman coding only when it is shorter, by default.
#[test]
fn huffman_only_when_shorter() {
    let mut e = Encoder::new();
    // "www.example.com" codes to 12 bytes, a random-looking token does not shrink.
    assert_eq!(encode(&mut e, &[("x-a", "www.example.com")])[5], 0x80 | 12);
    let token = "{}{}{}{}";
    let block = encode(&mut e, &[("x-b", token)]);
    assert_eq!(&block[block.len() - 9..], b"\x08{}{}{}{}");
}
