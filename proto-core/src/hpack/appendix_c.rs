//! RFC 7541 Appendix C, byte for byte, in both directions: the decoder must produce the
//! documented header lists and dynamic tables from the documented bytes, and the encoder must
//! produce the documented bytes (with the default policy where it makes the RFC's choices, with
//! explicit representations where it does not). The documented table sizes catch typos in the
//! transcribed bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};

use super::{Decoder, Encoder, Field, HuffmanMode, Indexing};

type Fields = &'static [(&'static str, &'static str)];

pub(super) fn hex(s: &str) -> Bytes {
    let s: String = s.split_whitespace().collect();
    assert!(s.len() % 2 == 0, "odd hex: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn decode(decoder: &mut Decoder, block: &Bytes) -> Vec<Field> {
    let mut fields = Vec::new();
    decoder
        .decode(block, usize::MAX, |f| fields.push(f))
        .unwrap();
    fields
}

fn pairs(fields: &[Field]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|f| {
            (
                String::from_utf8(f.name.to_vec()).unwrap(),
                String::from_utf8(f.value.to_vec()).unwrap(),
            )
        })
        .collect()
}

fn owned(fields: Fields) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|&(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

fn table_of(t: &super::table::DynamicTable) -> Vec<(String, String)> {
    t.iter()
        .map(|e| {
            (
                String::from_utf8(e.name.to_vec()).unwrap(),
                String::from_utf8(e.value.to_vec()).unwrap(),
            )
        })
        .collect()
}

/// RFC 7541 §C.2.1: literal header field with indexing.
#[test]
fn c_2_1_literal_with_indexing() {
    let bytes = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    let mut d = Decoder::new(4096);
    assert_eq!(
        pairs(&decode(&mut d, &bytes)),
        owned(&[("custom-key", "custom-header")])
    );
    assert_eq!(
        table_of(d.table()),
        owned(&[("custom-key", "custom-header")])
    );
    assert_eq!(d.table_size(), 55);

    let mut e = Encoder::new();
    e.set_huffman(HuffmanMode::Never);
    let mut dst = BytesMut::new();
    e.encode_with(
        [(
            &b"custom-key"[..],
            &b"custom-header"[..],
            Indexing::Incremental,
        )],
        &mut dst,
    );
    assert_eq!(dst, bytes);
    assert_eq!(e.table_size(), 55);
}

/// RFC 7541 §C.2.2: literal header field without indexing (indexed name).
#[test]
fn c_2_2_literal_without_indexing() {
    let bytes = hex("040c 2f73 616d 706c 652f 7061 7468");
    let mut d = Decoder::new(4096);
    let fields = decode(&mut d, &bytes);
    assert_eq!(pairs(&fields), owned(&[(":path", "/sample/path")]));
    assert!(!fields[0].sensitive);
    assert_eq!(d.table_size(), 0);

    let mut e = Encoder::new();
    e.set_huffman(HuffmanMode::Never);
    let mut dst = BytesMut::new();
    e.encode_with(
        [(&b":path"[..], &b"/sample/path"[..], Indexing::Without)],
        &mut dst,
    );
    assert_eq!(dst, bytes);
    // The default policy makes the same choice for `:path`.
    let mut dst = BytesMut::new();
    e.encode([(&b":path"[..], &b"/sample/path"[..], false)], &mut dst);
    assert_eq!(dst, bytes);
    assert_eq!(e.table_size(), 0);
}

/// RFC 7541 §C.2.3: literal header field never indexed; decoded as sensitive.
#[test]
fn c_2_3_literal_never_indexed() {
    let bytes = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
    let mut d = Decoder::new(4096);
    let fields = decode(&mut d, &bytes);
    assert_eq!(pairs(&fields), owned(&[("password", "secret")]));
    assert!(fields[0].sensitive);
    assert_eq!(d.table_size(), 0);

    let mut e = Encoder::new();
    e.set_huffman(HuffmanMode::Never);
    let mut dst = BytesMut::new();
    e.encode([(&b"password"[..], &b"secret"[..], true)], &mut dst);
    assert_eq!(dst, bytes);
}

/// RFC 7541 §C.2.4: indexed header field.
#[test]
fn c_2_4_indexed() {
    let mut d = Decoder::new(4096);
    assert_eq!(
        pairs(&decode(&mut d, &hex("82"))),
        owned(&[(":method", "GET")])
    );
    let mut dst = BytesMut::new();
    Encoder::new().encode([(&b":method"[..], &b"GET"[..], false)], &mut dst);
    assert_eq!(dst, hex("82"));
}

const REQUESTS: [Fields; 3] = [
    &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
    ],
    &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
        ("cache-control", "no-cache"),
    ],
    &[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/index.html"),
        (":authority", "www.example.com"),
        ("custom-key", "custom-value"),
    ],
];

/// Dynamic table after each request (newest first) and its size.
const REQUEST_TABLES: [(Fields, usize); 3] = [
    (&[(":authority", "www.example.com")], 57),
    (
        &[
            ("cache-control", "no-cache"),
            (":authority", "www.example.com"),
        ],
        110,
    ),
    (
        &[
            ("custom-key", "custom-value"),
            ("cache-control", "no-cache"),
            (":authority", "www.example.com"),
        ],
        164,
    ),
];

/// RFC 7541 §C.3: requests without Huffman coding.
const C3: [&str; 3] = [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
];

/// RFC 7541 §C.4: the same requests with Huffman coding.
const C4: [&str; 3] = [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
];

const RESPONSES: [Fields; 3] = [
    &[
        (":status", "302"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ],
    &[
        (":status", "307"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ],
    &[
        (":status", "200"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        ("location", "https://www.example.com"),
        ("content-encoding", "gzip"),
        (
            "set-cookie",
            "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        ),
    ],
];

/// Dynamic table (maximum 256 bytes) after each response, newest first, and its size.
const RESPONSE_TABLES: [(Fields, usize); 3] = [
    (
        &[
            ("location", "https://www.example.com"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("cache-control", "private"),
            (":status", "302"),
        ],
        222,
    ),
    (
        &[
            (":status", "307"),
            ("location", "https://www.example.com"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("cache-control", "private"),
        ],
        222,
    ),
    (
        &[
            (
                "set-cookie",
                "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
            ),
            ("content-encoding", "gzip"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        ],
        215,
    ),
];

/// RFC 7541 §C.5: responses without Huffman coding, table size 256 (evictions).
const C5: [&str; 3] = [
    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
     2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
     6c65 2e63 6f6d",
    "4803 3330 37c1 c0bf",
    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
     54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
     5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
     3d31",
];

/// RFC 7541 §C.6: the same responses with Huffman coding.
const C6: [&str; 3] = [
    "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
     2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    "4883 640e ffc1 c0bf",
    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
     77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
     9587 3160 65c0 03ed 4ee5 b106 3d50 07",
];

/// Decodes the three blocks with one decoder, checking fields and table after each.
fn check_decode(
    table_size: usize,
    blocks: [&str; 3],
    lists: [Fields; 3],
    tables: [(Fields, usize); 3],
) {
    let mut d = Decoder::new(table_size);
    for i in 0..3 {
        assert_eq!(
            pairs(&decode(&mut d, &hex(blocks[i]))),
            owned(lists[i]),
            "block {i}"
        );
        assert_eq!(
            table_of(d.table()),
            owned(tables[i].0),
            "table after block {i}"
        );
        assert_eq!(d.table_size(), tables[i].1, "table size after block {i}");
    }
}

/// Encodes the three lists with one encoder, checking bytes and table after each.
fn check_encode(
    mut e: Encoder,
    explicit: bool,
    blocks: [&str; 3],
    lists: [Fields; 3],
    tables: [(Fields, usize); 3],
) {
    for i in 0..3 {
        let mut dst = BytesMut::new();
        let fields = lists[i].iter().map(|&(n, v)| (n.as_bytes(), v.as_bytes()));
        if explicit {
            e.encode_with(fields.map(|(n, v)| (n, v, Indexing::Incremental)), &mut dst);
        } else {
            e.encode(fields.map(|(n, v)| (n, v, false)), &mut dst);
        }
        assert_eq!(dst, hex(blocks[i]), "block {i}");
        assert_eq!(
            table_of(e.table()),
            owned(tables[i].0),
            "table after block {i}"
        );
        assert_eq!(e.table_size(), tables[i].1, "table size after block {i}");
    }
}

fn encoder(table_size: usize, huffman: HuffmanMode) -> Encoder {
    let mut e = Encoder::with_max_table_size(table_size);
    e.set_huffman(huffman);
    e
}

/// RFC 7541 §C.3.1-§C.3.3: decode; table sizes 57, 110, 164.
#[test]
fn c_3_requests_without_huffman_decode() {
    check_decode(4096, C3, REQUESTS, REQUEST_TABLES);
}

/// RFC 7541 §C.3: the default policy, Huffman off, produces the RFC's bytes.
#[test]
fn c_3_requests_without_huffman_encode() {
    check_encode(
        encoder(4096, HuffmanMode::Never),
        false,
        C3,
        REQUESTS,
        REQUEST_TABLES,
    );
}

/// RFC 7541 §C.4.1-§C.4.3: decode.
#[test]
fn c_4_requests_with_huffman_decode() {
    check_decode(4096, C4, REQUESTS, REQUEST_TABLES);
}

/// RFC 7541 §C.4: the default policy (Huffman when shorter) produces the RFC's bytes, and so
/// does Huffman always.
#[test]
fn c_4_requests_with_huffman_encode() {
    check_encode(Encoder::new(), false, C4, REQUESTS, REQUEST_TABLES);
    check_encode(
        encoder(4096, HuffmanMode::Always),
        false,
        C4,
        REQUESTS,
        REQUEST_TABLES,
    );
}

/// RFC 7541 §C.5.1-§C.5.3: decode with a 256-byte table; sizes 222, 222, 215 after evictions.
#[test]
fn c_5_responses_without_huffman_decode() {
    check_decode(256, C5, RESPONSES, RESPONSE_TABLES);
}

/// RFC 7541 §C.5: the RFC indexes every literal (our default would not index `location`
/// and would send `set-cookie` never-indexed), so encode with explicit representations.
#[test]
fn c_5_responses_without_huffman_encode() {
    check_encode(
        encoder(256, HuffmanMode::Never),
        true,
        C5,
        RESPONSES,
        RESPONSE_TABLES,
    );
}

/// RFC 7541 §C.6.1-§C.6.3: decode.
#[test]
fn c_6_responses_with_huffman_decode() {
    check_decode(256, C6, RESPONSES, RESPONSE_TABLES);
}

/// RFC 7541 §C.6: explicit representations, Huffman always ("307" codes to 3 bytes, no
/// shorter than raw, and the RFC still codes it).
#[test]
fn c_6_responses_with_huffman_encode() {
    check_encode(
        encoder(256, HuffmanMode::Always),
        true,
        C6,
        RESPONSES,
        RESPONSE_TABLES,
    );
}

/// Every truncation of an Appendix C block is `Truncated` or, cut at a representation
/// boundary, a shorter valid list; none panics.
#[test]
fn truncated_appendix_c_blocks() {
    for blocks in [C3, C4] {
        let full = hex(blocks[0]);
        for cut in 0..full.len() {
            let mut d = Decoder::new(4096);
            let part = full.slice(..cut);
            match d.decode(&part, usize::MAX, drop) {
                Ok(()) => assert!([0, 1, 2, 3].contains(&cut), "cut {cut}"),
                Err(e) => assert_eq!(e, super::DecodeError::Truncated, "cut {cut}"),
            }
        }
    }
}
