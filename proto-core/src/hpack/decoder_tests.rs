#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::hpack::appendix_c::hex;

fn decode(d: &mut Decoder, block: &str) -> Result<Vec<Field>, DecodeError> {
    let mut fields = Vec::new();
    d.decode(&hex(block), usize::MAX, |f| fields.push(f))
        .map(|()| fields)
}

fn decode_fresh(block: &str) -> Result<Vec<Field>, DecodeError> {
    decode(&mut Decoder::new(4096), block)
}

/// RFC 7541 §5.1: a block holding only `3f` (a size update whose integer never ends) is
/// truncated, not a panic (the `hpack` crate's RUSTSEC-2023-0085).
#[test]
fn lone_3f_is_truncated() {
    assert_eq!(decode_fresh("3f"), Err(DecodeError::Truncated));
    assert_eq!(decode_fresh("ff"), Err(DecodeError::Truncated));
    assert_eq!(decode_fresh("7f"), Err(DecodeError::Truncated));
}

/// RFC 7541 §5.1: integers beyond `u32::MAX`, or with too many continuation bytes, are
/// rejected rather than wrapped.
#[test]
fn integer_overflow() {
    assert_eq!(
        decode_fresh("3fe1ffffff0f"),
        Err(DecodeError::IntegerOverflow)
    );
    assert_eq!(
        decode_fresh("ffffffffffff7f"),
        Err(DecodeError::IntegerOverflow)
    );
    assert_eq!(
        decode_fresh("ff80808080808000"),
        Err(DecodeError::IntegerOverflow)
    );
}

/// RFC 7541 §4.2: "This dynamic table size update MUST occur at the beginning of the first
/// header block following the change"; one after a field is a decoding error.
#[test]
fn size_update_after_field() {
    assert_eq!(decode_fresh("8220"), Err(DecodeError::SizeUpdateNotAtStart));
    // Several at the start are fine.
    let mut d = Decoder::new(4096);
    assert_eq!(decode(&mut d, "203fe11f82").unwrap().len(), 1);
    assert_eq!(d.max_table_size(), 4096);
}

/// RFC 7541 §6.3: "The new maximum size MUST be lower than or equal to the limit determined by
/// the protocol using HPACK" (our SETTINGS_HEADER_TABLE_SIZE).
#[test]
fn size_update_above_limit() {
    // 31 + 0x61 + (0x1f << 7) = 4096 is allowed, 4097 is not.
    assert!(decode_fresh("3fe11f").is_ok());
    assert_eq!(
        decode_fresh("3fe21f"),
        Err(DecodeError::SizeUpdateTooLarge {
            requested: 4097,
            max: 4096
        })
    );
    let mut d = Decoder::new(4096);
    d.set_max_table_size(8192);
    assert!(decode(&mut d, "3fe13f").is_ok()); // 8192
    assert_eq!(d.max_table_size(), 8192);
}

/// RFC 7541 §4.2: after we lower SETTINGS_HEADER_TABLE_SIZE below the table's size, the next
/// block must begin with an update to at most the new value (the smallest one, if the setting
/// went down and up again).
#[test]
fn size_update_required_after_lowering_the_setting() {
    let mut d = Decoder::new(4096);
    decode(&mut d, "4001610162").unwrap(); // a: b, indexed
    d.set_max_table_size(100);
    assert_eq!(decode(&mut d, "82"), Err(DecodeError::MissingSizeUpdate));
    assert_eq!(decode(&mut d, ""), Err(DecodeError::MissingSizeUpdate));

    let mut d = Decoder::new(4096);
    decode(&mut d, "4001610162").unwrap();
    d.set_max_table_size(0);
    d.set_max_table_size(4096);
    // Only the final size: missing the minimum.
    assert_eq!(
        decode(&mut d, "3fe11f82"),
        Err(DecodeError::MissingSizeUpdate)
    );

    let mut d = Decoder::new(4096);
    decode(&mut d, "4001610162").unwrap();
    d.set_max_table_size(0);
    d.set_max_table_size(4096);
    assert_eq!(decode(&mut d, "203fe11f82").unwrap().len(), 1);
    assert_eq!((d.table_size(), d.max_table_size()), (0, 4096)); // evicted by the 0
    // Satisfied once: later blocks need no update.
    assert_eq!(decode(&mut d, "82").unwrap().len(), 1);

    // Raising the setting requires nothing.
    let mut d = Decoder::new(4096);
    d.set_max_table_size(65536);
    assert_eq!(decode(&mut d, "82").unwrap().len(), 1);
}

/// RFC 7541 §6.1: "The index value of 0 is not used. It MUST be treated as a decoding error if
/// found in an indexed header field representation."
#[test]
fn index_zero() {
    assert_eq!(decode_fresh("80"), Err(DecodeError::InvalidIndex(0)));
}

/// RFC 7541 §2.3.3: "Indices strictly greater than the sum of the lengths of both tables MUST
/// be treated as a decoding error."
#[test]
fn index_beyond_tables() {
    assert_eq!(decode_fresh("be"), Err(DecodeError::InvalidIndex(62)));
    assert_eq!(decode_fresh("bd").unwrap()[0].name, "www-authenticate");
    // As a literal's name index, too.
    assert_eq!(decode_fresh("7f0000"), Err(DecodeError::InvalidIndex(63)));
    let mut d = Decoder::new(4096);
    decode(&mut d, "4001610162").unwrap();
    assert_eq!(decode(&mut d, "be").unwrap()[0].value, "b");
    assert_eq!(decode(&mut d, "bf"), Err(DecodeError::InvalidIndex(63)));
    assert_eq!(
        decode(&mut d, "ffffffff0f"),
        Err(DecodeError::InvalidIndex(33_554_558))
    );
}

/// RFC 7541 §5.2: a Huffman-coded string containing EOS is a decoding error.
#[test]
fn huffman_eos() {
    // Literal without indexing, Huffman-coded name of 4 bytes of ones (EOS + 2 bits).
    assert_eq!(
        decode_fresh("0084ffffffff0161"),
        Err(DecodeError::HuffmanEos)
    );
}

/// RFC 7541 §5.2: padding longer than 7 bits is a decoding error.
#[test]
fn huffman_padding_too_long() {
    assert_eq!(decode_fresh("0081ff0161"), Err(DecodeError::HuffmanPadding));
    // "0" (00000) + 3 bits of padding, then a whole byte of ones.
    assert_eq!(
        decode_fresh("008207ff0161"),
        Err(DecodeError::HuffmanPadding)
    );
}

/// RFC 7541 §5.2: padding that is not the most significant bits of EOS is a decoding error.
#[test]
fn huffman_padding_not_ones() {
    assert_eq!(decode_fresh("0081030161"), Err(DecodeError::HuffmanPadding));
    assert!(decode_fresh("0081070161").is_ok());
}

/// RFC 7541 §5.2: a string whose length runs past the block is truncated; a huge claimed
/// length is refused before any allocation.
#[test]
fn literal_length_past_end() {
    assert_eq!(decode_fresh("00056162"), Err(DecodeError::Truncated));
    assert_eq!(
        decode_fresh("00016100"),
        Ok(vec![Field {
            name: "a".into(),
            value: "".into(),
            sensitive: false
        }])
    );
    assert_eq!(decode_fresh("000161"), Err(DecodeError::Truncated));
    assert_eq!(decode_fresh("007fffffff0f"), Err(DecodeError::Truncated));
    assert_eq!(decode_fresh("00ffffffff0f"), Err(DecodeError::Truncated));
    assert_eq!(decode_fresh("400161ffffff7f"), Err(DecodeError::Truncated));
}

/// RFC 9113 §6.5.2 (SETTINGS_MAX_HEADER_LIST_SIZE): once the list exceeds the limit no more
/// fields are emitted, but the whole block is decoded so the dynamic table stays in sync
/// (RFC 7541 §2.2: "the decoder ... MUST ... process all the representations").
#[test]
fn header_list_too_large_keeps_table_in_sync() {
    let mut d = Decoder::new(4096);
    // 82 (:method GET, 42), then `a: b` indexed (34), then `c: d` indexed (34).
    let block = hex("82 4001610162 4001630164");
    let mut seen = Vec::new();
    assert_eq!(
        d.decode(&block, 80, |f| seen.push(f)),
        Err(DecodeError::HeaderListTooLarge)
    );
    assert_eq!(seen.len(), 2);
    assert!(!DecodeError::HeaderListTooLarge.is_connection_error());
    // Both literals were inserted: `be` is `c: d`, `bf` is `a: b`.
    let fields = decode(&mut d, "bebf").unwrap();
    assert_eq!(
        (&fields[0].name, &fields[0].value),
        (&"c".into(), &"d".into())
    );
    assert_eq!(
        (&fields[1].name, &fields[1].value),
        (&"a".into(), &"b".into())
    );
    // The limit is inclusive.
    assert!(d.decode(&hex("bebf"), 68, drop).is_ok());
    assert_eq!(
        d.decode(&hex("bebf"), 67, drop),
        Err(DecodeError::HeaderListTooLarge)
    );
    // A compression error after the limit is still reported as such.
    assert_eq!(
        d.decode(&hex("bebf80"), 40, drop),
        Err(DecodeError::InvalidIndex(0))
    );
}

/// Plain literals are slices of the block; Huffman-coded ones share one buffer per block.
#[test]
fn zero_copy() {
    let block = hex("0003616263 03646566 1003616263 03646566");
    let mut fields = Vec::new();
    Decoder::new(4096)
        .decode(&block, usize::MAX, |f| fields.push(f))
        .unwrap();
    let range = block.as_ptr_range();
    for f in &fields {
        assert!(range.contains(&f.name.as_ptr()) && range.contains(&f.value.as_ptr()));
    }
    // Two Huffman strings: "0" and "0", one buffer, adjacent.
    let block = hex("0081070161 0081070161");
    let mut fields = Vec::new();
    Decoder::new(4096)
        .decode(&block, usize::MAX, |f| fields.push(f))
        .unwrap();
    assert_eq!(fields[0].name, "0");
    assert_eq!(
        fields[0].name.as_ptr().wrapping_add(1),
        fields[1].name.as_ptr()
    );
    // Longer strings ("www.example.com", "no-cache", from §C.4) fill the same buffer in turn.
    let block = hex("008cf1e3c2e5f23a6ba0ab90f4ff86a8eb10649cbf 0080 80");
    let mut fields = Vec::new();
    Decoder::new(4096)
        .decode(&block, usize::MAX, |f| fields.push(f))
        .unwrap();
    assert_eq!(
        (&fields[0].name[..], &fields[0].value[..]),
        (&b"www.example.com"[..], &b"no-cache"[..])
    );
    assert_eq!(
        fields[0].name.as_ptr().wrapping_add(15),
        fields[0].value.as_ptr()
    );
    // Empty Huffman-coded strings are valid (§5.2: no bits, no padding).
    assert_eq!((fields[1].name.len(), fields[1].value.len()), (0, 0));
}

/// RFC 7541 §4.4: a literal with indexing larger than the table empties it; not an error.
#[test]
fn oversized_literal_empties_table() {
    let mut d = Decoder::new(40);
    decode(&mut d, "4001610162").unwrap();
    assert_eq!(d.table_size(), 34);
    let fields = decode(&mut d, "400161086262626262626262").unwrap();
    assert_eq!(fields[0].value, "bbbbbbbb");
    assert_eq!((d.table_size(), d.table().len()), (0, 0));
}

/// The representations' flags (RFC 7541 §6.2): never indexed is sensitive; the other two
/// are not, and only incremental indexing touches the table.
#[test]
fn representation_flags() {
    let mut d = Decoder::new(4096);
    let f = decode(&mut d, "0001610162 1001610162 4001610162").unwrap();
    assert_eq!(
        f.iter().map(|f| f.sensitive).collect::<Vec<_>>(),
        [false, true, false]
    );
    assert_eq!(d.table().len(), 1);
}

/// A literal with an indexed name from the dynamic table, which the insertion then evicts.
#[test]
fn name_from_evicted_entry() {
    let mut d = Decoder::new(70);
    decode(&mut d, "4001610162").unwrap(); // a: b (34)
    let f = decode(&mut d, "7e0163").unwrap(); // name index 62 (`a`), value c: fits (68)
    assert_eq!((&f[0].name, &f[0].value), (&"a".into(), &"c".into()));
    assert_eq!(d.table().len(), 2);
    // Name index 63 is the oldest entry, a: b, which inserting a: d evicts.
    let f = decode(&mut d, "7f000164").unwrap();
    assert_eq!((&f[0].name, &f[0].value), (&"a".into(), &"d".into()));
    assert_eq!(d.table_size(), 68);
}
