//! Prefix-coded integers (RFC 7541 §5.1).
//!
//! An integer starts in the low `prefix` bits of a byte whose high bits belong to the
//! representation; values that do not fit continue in 7-bit groups, least significant first.
//! Decoding is bounded: at most [`MAX_CONTINUATION`] continuation bytes and a result no larger
//! than `u32::MAX`, so a hostile block can neither overflow nor make us loop.

use bytes::{BufMut, BytesMut};

/// Continuation bytes accepted after the prefix. Five groups of 7 bits reach 2^35, more than
/// the `u32::MAX` cap, so no legitimate value (lengths, indices, table sizes) needs more.
pub(crate) const MAX_CONTINUATION: usize = 5;

/// Largest value decoded. Table sizes are `u32` settings; lengths and indices are smaller.
const MAX_VALUE: u64 = u32::MAX as u64;

/// Why an integer could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntError {
    /// The input ended before the last continuation byte (its high bit was still set).
    Incomplete,
    /// The value exceeds `u32::MAX` or uses more than [`MAX_CONTINUATION`] continuation bytes.
    Overflow,
}

/// Decodes an integer with a `prefix`-bit prefix (1..=8) from the start of `buf`.
///
/// The high `8 - prefix` bits of the first byte are ignored (they are the caller's flags).
/// Returns the value and the number of bytes consumed.
pub(crate) fn decode(buf: &[u8], prefix: u8) -> Result<(usize, usize), IntError> {
    debug_assert!((1..=8).contains(&prefix));
    let mask = u8::MAX >> (8 - prefix);
    let Some(&first) = buf.first() else {
        return Err(IntError::Incomplete);
    };
    let mut value = u64::from(first & mask);
    if value < u64::from(mask) {
        return Ok((to_usize(value)?, 1));
    }
    let mut shift = 0u32;
    for (i, &byte) in buf.iter().enumerate().skip(1) {
        if i > MAX_CONTINUATION {
            return Err(IntError::Overflow);
        }
        // shift <= 28 here, and the 7-bit group fits a u64 with room to spare.
        value += u64::from(byte & 0x7f) << shift;
        if value > MAX_VALUE {
            return Err(IntError::Overflow);
        }
        if byte & 0x80 == 0 {
            return Ok((to_usize(value)?, i + 1));
        }
        shift += 7;
    }
    if buf.len() > MAX_CONTINUATION {
        // Every allowed continuation byte was present and all asked for more.
        return Err(IntError::Overflow);
    }
    Err(IntError::Incomplete)
}

fn to_usize(value: u64) -> Result<usize, IntError> {
    usize::try_from(value).map_err(|_| IntError::Overflow)
}

/// Appends `value` with a `prefix`-bit prefix; `flags` fills the high bits of the first byte.
pub(crate) fn encode(value: usize, prefix: u8, flags: u8, dst: &mut BytesMut) {
    debug_assert!((1..=8).contains(&prefix));
    let mask = u8::MAX >> (8 - prefix);
    let max = usize::from(mask);
    if value < max {
        // `value < mask <= 255`, so the cast is exact.
        dst.put_u8(flags | value as u8);
        return;
    }
    dst.put_u8(flags | mask);
    let mut rest = value - max;
    while rest >= 0x80 {
        dst.put_u8(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    dst.put_u8(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(value: usize, prefix: u8, flags: u8) -> Vec<u8> {
        let mut dst = BytesMut::new();
        encode(value, prefix, flags, &mut dst);
        dst.to_vec()
    }

    /// RFC 7541 §C.1.1: 10 with a 5-bit prefix is one byte.
    #[test]
    fn c_1_1_ten_in_five_bit_prefix() {
        assert_eq!(enc(10, 5, 0), [0b0000_1010]);
        assert_eq!(decode(&[0b1110_1010], 5), Ok((10, 1)));
    }

    /// RFC 7541 §C.1.2: 1337 with a 5-bit prefix is `1f 9a 0a`.
    #[test]
    fn c_1_2_1337_in_five_bit_prefix() {
        assert_eq!(enc(1337, 5, 0), [0x1f, 0x9a, 0x0a]);
        assert_eq!(decode(&[0x1f, 0x9a, 0x0a], 5), Ok((1337, 3)));
    }

    /// RFC 7541 §C.1.3: 42 starting at an octet boundary (8-bit prefix).
    #[test]
    fn c_1_3_42_at_octet_boundary() {
        assert_eq!(enc(42, 8, 0), [42]);
        assert_eq!(decode(&[42], 8), Ok((42, 1)));
    }

    /// RFC 7541 §5.1: a value equal to the prefix maximum takes a zero continuation byte.
    #[test]
    fn prefix_max_needs_continuation() {
        assert_eq!(enc(31, 5, 0xe0), [0xff, 0x00]);
        assert_eq!(decode(&[0xff, 0x00], 5), Ok((31, 2)));
    }

    /// RFC 7541 §5.1: round trip over prefixes and magnitudes, flags preserved.
    #[test]
    fn round_trip() {
        for prefix in 1..=8u8 {
            for value in [
                0,
                1,
                126,
                127,
                128,
                254,
                255,
                256,
                16_383,
                1 << 20,
                u32::MAX as usize,
            ] {
                let bytes = enc(value, prefix, 0);
                assert_eq!(
                    decode(&bytes, prefix),
                    Ok((value, bytes.len())),
                    "{value} {prefix}"
                );
            }
        }
    }

    /// Incomplete is not invalid: a lone prefix-max byte, or a trailing continuation bit.
    #[test]
    fn incomplete() {
        assert_eq!(decode(&[], 5), Err(IntError::Incomplete));
        assert_eq!(decode(&[0x3f], 6), Err(IntError::Incomplete));
        assert_eq!(decode(&[0x1f, 0x9a], 5), Err(IntError::Incomplete));
    }

    /// Bounded decoding: `3f e1 ff ff ff 0f` exceeds `u32::MAX`; six continuation bytes are
    /// refused even when their value is small (overlong zero padding).
    #[test]
    fn overflow() {
        assert_eq!(
            decode(&[0x3f, 0xe1, 0xff, 0xff, 0xff, 0x0f], 6),
            Err(IntError::Overflow)
        );
        assert_eq!(
            decode(&[0x3f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 6),
            Err(IntError::Overflow)
        );
        assert_eq!(
            decode(&[0x3f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 6),
            Err(IntError::Overflow)
        );
        // Five continuation bytes ending in a clear high bit are still fine.
        assert_eq!(
            decode(&[0x3f, 0x80, 0x80, 0x80, 0x80, 0x00], 6),
            Ok((63, 6))
        );
        assert_eq!(
            decode(&[0x3f, 0x80, 0x80, 0x80, 0x80, 0x80], 6),
            Err(IntError::Overflow)
        );
    }
}
