#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

/// The data file transcribed from RFC 7541 Appendix B.
const APPENDIX_B: &str = include_str!("rfc7541-appendix-b.txt");
/// The generated table as checked in.
const GENERATED: &str = include_str!("huffman_table.rs");

/// Parses the data file: `symbol hex_code bit_length` per line, `#` comments.
fn parse_appendix_b() -> Vec<(u32, u8)> {
    let mut codes = Vec::new();
    for line in APPENDIX_B.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let sym: usize = parts.next().unwrap().parse().unwrap();
        let code = u32::from_str_radix(parts.next().unwrap(), 16).unwrap();
        let len: u8 = parts.next().unwrap().parse().unwrap();
        assert_eq!(sym, codes.len(), "symbols in order");
        assert!(parts.next().is_none(), "three columns: {line}");
        assert!(
            len <= 30 && u64::from(code) < 1 << len,
            "code fits its length: {line}"
        );
        codes.push((code, len));
    }
    codes
}

/// The generator: renders `huffman_table.rs` from the data file.
fn render_table(codes: &[(u32, u8)]) -> String {
    let mut out = String::from(
        "//! RFC 7541 Appendix B: the HPACK Huffman code. Generated: do not edit.\n\
         //!\n\
         //! Generated from `rfc7541-appendix-b.txt` by `huffman_tests.rs`, whose test\n\
         //! `table_is_generated_from_appendix_b` fails when the two disagree. Regenerate with\n\
         //! `HPACK_REGENERATE=1 cargo test -p proto-core --lib hpack::huffman`.\n\
         \n\
         /// `(code, length in bits)` for the symbols 0..=255 and EOS (256); codes are aligned to\n\
         /// the least significant bit, as printed in the RFC.\n\
         #[rustfmt::skip]\n\
         pub(super) const CODES: [(u32, u8); 257] = [\n",
    );
    for (sym, &(code, len)) in codes.iter().enumerate() {
        let label = match u8::try_from(sym) {
            Ok(b) if b.is_ascii_graphic() || b == b' ' => format!(" {:?}", char::from(b)),
            Ok(_) => String::new(),
            Err(_) => " EOS".to_owned(),
        };
        out.push_str(&format!("    (0x{code:x}, {len}), // {sym}{label}\n"));
    }
    out.push_str("];\n");
    out
}

/// The checked-in table equals the one generated from the Appendix B data file
/// (`HPACK_REGENERATE=1` rewrites it instead of failing).
#[test]
fn table_is_generated_from_appendix_b() {
    let codes = parse_appendix_b();
    assert_eq!(codes.len(), 257);
    let rendered = render_table(&codes);
    if std::env::var_os("HPACK_REGENERATE").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/hpack/huffman_table.rs");
        std::fs::write(path, &rendered).unwrap();
    } else {
        assert!(
            rendered == GENERATED,
            "huffman_table.rs is stale: see its header"
        );
    }
    assert_eq!(codes, CODES.to_vec());
}

/// RFC 7541 §5.2 / Appendix B: the code is canonical (each code is the previous plus one,
/// shifted to its length; lengths never decrease in (length, symbol) order) and complete
/// (Kraft sum exactly 1). A transcription error in a code or length breaks one of these.
#[test]
fn table_is_canonical_and_complete() {
    let mut by_len: Vec<(u8, usize)> = CODES
        .iter()
        .enumerate()
        .map(|(s, &(_, l))| (l, s))
        .collect();
    by_len.sort();
    let mut expected: u32 = 0;
    let mut prev_len = by_len[0].0;
    for (i, &(len, sym)) in by_len.iter().enumerate() {
        if i > 0 {
            expected = (expected + 1) << (len - prev_len);
        }
        assert_eq!(CODES[sym].0, expected, "symbol {sym}");
        prev_len = len;
    }
    let kraft: u64 = CODES.iter().map(|&(_, l)| 1u64 << (30 - l)).sum();
    assert_eq!(kraft, 1 << 30);
    // EOS is 30 ones (§5.2 relies on it for padding).
    assert_eq!(CODES[256], (0x3fff_ffff, 30));
}

fn enc(s: &[u8]) -> Vec<u8> {
    let mut dst = BytesMut::new();
    encode(s, &mut dst);
    assert_eq!(dst.len(), encoded_len(s));
    dst.to_vec()
}

fn dec(s: &[u8]) -> Result<Vec<u8>, HuffmanError> {
    let mut dst = BytesMut::from(&b"prefix"[..]);
    let r = decode(s, &mut dst);
    assert!(dst.starts_with(b"prefix"));
    r.map(|()| dst[6..].to_vec())
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The Huffman-coded strings of RFC 7541 §C.4 and §C.6, both directions.
#[test]
fn appendix_c_strings() {
    let cases: &[(&str, &str)] = &[
        ("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"),
        ("no-cache", "a8eb 1064 9cbf"),
        ("custom-key", "25a8 49e9 5ba9 7d7f"),
        ("custom-value", "25a8 49e9 5bb8 e8b4 bf"),
        ("302", "6402"),
        ("private", "aec3 771a 4b"),
        (
            "Mon, 21 Oct 2013 20:13:21 GMT",
            "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff",
        ),
        (
            "https://www.example.com",
            "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3",
        ),
        ("307", "640e ff"),
        (
            "Mon, 21 Oct 2013 20:13:22 GMT",
            "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff",
        ),
        ("gzip", "9bd9 ab"),
        (
            "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
            "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 \
             3160 65c0 03ed 4ee5 b106 3d50 07",
        ),
    ];
    for &(plain, coded) in cases {
        assert_eq!(enc(plain.as_bytes()), hex(coded), "{plain}");
        assert_eq!(dec(&hex(coded)).unwrap(), plain.as_bytes(), "{plain}");
    }
}

/// Every symbol, alone and with all others, round trips; so does the empty string.
#[test]
fn round_trip_every_byte() {
    assert_eq!(enc(b""), b"");
    assert_eq!(dec(b"").unwrap(), b"");
    for b in 0..=255u8 {
        for n in 1..=9 {
            let s = vec![b; n];
            assert_eq!(dec(&enc(&s)).unwrap(), s, "byte {b} x{n}");
        }
    }
    let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    assert_eq!(dec(&enc(&all)).unwrap(), all);
}

/// RFC 7541 §5.2: "A Huffman-encoded string literal containing the EOS symbol MUST be treated
/// as a decoding error."
#[test]
fn eos_is_an_error() {
    // EOS alone, padded: 30 ones + 2 ones.
    assert_eq!(dec(&[0xff, 0xff, 0xff, 0xff]), Err(HuffmanError::Eos));
    // 'a' (00011) then EOS then padding.
    let mut bits = String::from("00011");
    bits.push_str(&"1".repeat(30));
    bits.push_str(&"1".repeat(5));
    let bytes: Vec<u8> = bits
        .as_bytes()
        .chunks(8)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
        .collect();
    assert_eq!(dec(&bytes), Err(HuffmanError::Eos));
}

/// RFC 7541 §5.2: "A padding strictly longer than 7 bits MUST be treated as a decoding error."
#[test]
fn padding_longer_than_seven_bits_is_an_error() {
    // A whole byte of ones is 8 bits of padding.
    assert_eq!(dec(&[0xff]), Err(HuffmanError::Padding));
    // "0" is 00000 then 3 bits of padding; another 0xff makes 11 bits.
    assert_eq!(dec(&[0x07]).unwrap(), b"0");
    assert_eq!(dec(&[0x07, 0xff]), Err(HuffmanError::Padding));
}

/// RFC 7541 §5.2: "A padding not corresponding to the most significant bits of the code for
/// the EOS symbol MUST be treated as a decoding error."
#[test]
fn padding_not_ones_is_an_error() {
    // "0" (00000) then padding 011.
    assert_eq!(dec(&[0x03]), Err(HuffmanError::Padding));
    // "0" then padding 000: also the start of another symbol, still not EOS's prefix.
    assert_eq!(dec(&[0x00]), Err(HuffmanError::Padding));
    // "0" (00000), "a" (00011), then 111110: inside an 8-bit code such as ',' (11111010).
    assert_eq!(dec(&[0x00, 0xfe]), Err(HuffmanError::Padding));
}

/// Decoding never writes more than `max_decoded_len`, for the densest input ("0" is 5 bits).
#[test]
fn max_decoded_len_is_tight() {
    for n in 0..40 {
        let s = vec![b'0'; n];
        let coded = enc(&s);
        assert!(max_decoded_len(coded.len()) >= n);
        assert!(max_decoded_len(coded.len()) < n + 2);
    }
}
