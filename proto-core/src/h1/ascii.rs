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

/// A lowercase ASCII name or token that received bytes are compared with,
/// ignoring case, a word at a time: the words of the name OR-ed with a mask
/// that folds only the letters' case bit, so a non-letter matches only
/// itself (exactly `eq_ignore_ascii_case`). 4 to 16 bytes take two
/// (overlapping) loads; other lengths compare byte by byte.
pub(crate) struct Lower {
    bytes: &'static [u8],
    head: u64,
    head_mask: u64,
    tail: u64,
    tail_mask: u64,
}

impl Lower {
    /// `s` must be lowercase (checked when the constant is built).
    pub(crate) const fn new(s: &'static [u8]) -> Self {
        let n = s.len();
        let w = if n >= 8 { 8 } else { 4 };
        let (mut head, mut head_mask, mut tail, mut tail_mask) = (0, 0, 0, 0);
        let mut i = 0;
        while i < n {
            let b = s[i];
            assert!(!b.is_ascii_uppercase(), "a Lower must be lowercase");
            let fold: u64 = if b.is_ascii_lowercase() { 0x20 } else { 0 };
            if i < w {
                head |= (b as u64) << (8 * i);
                head_mask |= fold << (8 * i);
            }
            if n >= w && i >= n - w {
                let at = 8 * (i - (n - w));
                tail |= (b as u64) << at;
                tail_mask |= fold << at;
            }
            i += 1;
        }
        Self {
            bytes: s,
            head,
            head_mask,
            tail,
            tail_mask,
        }
    }

    /// True if `s` is this name in any case.
    #[inline]
    pub(crate) fn eq(&self, s: &[u8]) -> bool {
        let n = self.bytes.len();
        if s.len() != n {
            return false;
        }
        match n {
            8..=16 => match (s.first_chunk::<8>(), s.last_chunk::<8>()) {
                (Some(a), Some(b)) => {
                    (u64::from_le_bytes(*a) | self.head_mask) == self.head
                        && (u64::from_le_bytes(*b) | self.tail_mask) == self.tail
                }
                _ => false,
            },
            4..=7 => match (s.first_chunk::<4>(), s.last_chunk::<4>()) {
                (Some(a), Some(b)) => {
                    (u64::from(u32::from_le_bytes(*a)) | self.head_mask) == self.head
                        && (u64::from(u32::from_le_bytes(*b)) | self.tail_mask) == self.tail
                }
                _ => false,
            },
            _ => s.eq_ignore_ascii_case(self.bytes),
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

    /// `Lower::eq` is `eq_ignore_ascii_case` for every byte at every
    /// position of names of every length it handles specially and around.
    #[test]
    fn lower_is_eq_ignore_ascii_case() {
        const NAMES: [Lower; 8] = [
            Lower::new(b"h2c"),
            Lower::new(b"host"),
            Lower::new(b"close"),
            Lower::new(b"upgrade"),
            Lower::new(b"te-12345"),
            Lower::new(b"connection"),
            Lower::new(b"http2-settings"),
            Lower::new(b"transfer-encoding"),
        ];
        for name in &NAMES {
            let good = name.bytes;
            assert!(name.eq(good));
            assert!(name.eq(&good.to_ascii_uppercase()));
            for pos in 0..good.len() {
                for b in 0..=255u8 {
                    let mut v = good.to_vec();
                    v[pos] = b;
                    assert_eq!(name.eq(&v), v.eq_ignore_ascii_case(good), "{v:?}");
                }
            }
            for len in 0..20 {
                let v: Vec<u8> = good.iter().copied().cycle().take(len).collect();
                assert_eq!(name.eq(&v), v.eq_ignore_ascii_case(good), "{v:?}");
            }
        }
    }
}
