//! Word-at-a-time scanning for the bytes that matter in a head: control
//! characters (CR, LF, HTAB, NUL, DEL, ...). Ordinary bytes are skipped
//! eight at a time, which keeps head validation a small part of a request.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// True if any byte of `x` is a control character (< 0x20, or DEL).
/// Bytes >= 0x80 (obs-text) are not controls.
#[inline]
fn has_ctl(x: u64) -> bool {
    // "has a byte less than n" and "has a zero byte" (exact as booleans).
    let below_space = x.wrapping_sub(0x20 * LO) & !x & HI;
    let y = x ^ (0x7f * LO);
    let del = y.wrapping_sub(LO) & !y & HI;
    (below_space | del) != 0
}

/// The index of the first control byte in `s` at or after `i`, or at least
/// the start of the last partial word: the caller checks bytes from there one
/// by one. Never past `s.len()`.
#[inline]
pub(crate) fn skip_plain(s: &[u8], mut i: usize) -> usize {
    while let Some(word) = s
        .get(i..i.wrapping_add(8))
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        if has_ctl(u64::from_le_bytes(word)) {
            break;
        }
        i += 8;
    }
    i
}

/// RFC 9110 §5.5: a field value may hold VCHAR, obs-text, SP and HTAB, but
/// no other control character (CR, LF and NUL included).
pub(crate) fn is_field_value(v: &[u8]) -> bool {
    let mut i = 0;
    loop {
        i = skip_plain(v, i);
        match v.get(i) {
            None => return true,
            Some(&b) if b == b'\t' || (b >= b' ' && b != 0x7f) => i += 1,
            Some(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_control_byte_at_every_position() {
        for ctl in (0u8..0x20).chain([0x7f]) {
            for pos in 0..20 {
                let mut v = vec![b'a'; 20];
                v[pos] = ctl;
                let at = skip_plain(&v, 0);
                assert!(at <= pos, "ctl {ctl:#x} at {pos} skipped to {at}");
                assert_eq!(is_field_value(&v), ctl == b'\t', "ctl {ctl:#x} at {pos}");
            }
        }
        let plain: Vec<u8> = (0x20u8..0x7f).chain(0x80..=0xff).collect();
        assert_eq!(skip_plain(&plain, 0) + plain.len() % 8, plain.len());
        assert!(is_field_value(&plain));
    }
}
