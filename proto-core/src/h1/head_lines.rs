//! One pass over the lines of an HTTP/1 head (RFC 9112 §2–§5): the start
//! line and the field lines split into offsets, each byte looked at once.
//!
//! The splitter enforces the grammar and the byte rules of the line scan
//! ([`super::parse::scan_lines`]: no bare CR, bare LF only when allowed, no
//! control byte but HTAB, no line starting with whitespace) together. So it
//! can run on bytes nothing has checked yet (a head that arrived whole: the
//! fast path) as well as on a head the resumable scan has already found.
//! On unchecked bytes any failure only means "take the slow path", which
//! reports whatever the scan finds first; on a checked head the byte rules
//! cannot fail and the failures are the grammar's ([`Bad`]).

use core::ops::Range;

use crate::event::Version;

/// A head (or trailer section) outside the grammar. The words are those the
/// parser has always used for each case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bad {
    /// Method not a token, target empty or with a byte outside
    /// `%x21-7E / obs-text` (or not UTF-8), or a missing SP.
    RequestLine,
    /// Not `HTTP/1.0` or `HTTP/1.1` (or no SP after it in a status line).
    Version,
    /// Something other than the line end after the request line's version.
    LineEnding,
    /// Status code not three digits, or no SP / line end after it.
    StatusLine,
    /// Field name not a token, or not followed directly by a colon.
    FieldName,
    /// More field lines than allowed.
    TooManyFields,
    /// A byte rule of the line scan broken, or no empty line: unreachable on
    /// a head that passed the scan; on unchecked bytes, "ask the scan".
    Unchecked,
    /// The field sink is full (the fast path's fixed room): "ask the scan".
    Full,
}

/// Where the parts of a request line are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RequestLine {
    pub(super) method: Range<usize>,
    pub(super) target: Range<usize>,
    pub(super) version: Version,
    /// Where the field lines start.
    pub(super) next: usize,
}

/// Where the parts of a status line are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StatusLine {
    pub(super) version: Version,
    /// 000..=999; the range check is the caller's.
    pub(super) status: u16,
    /// The reason phrase as received (empty when no SP follows the code).
    pub(super) reason: Range<usize>,
    pub(super) next: usize,
}

/// What the field lines held besides the fields themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldLines {
    /// The offset after the empty line that ends the block.
    pub(super) end: usize,
    /// Fields named Host (any case) and the value of the last one.
    pub(super) hosts: usize,
    pub(super) host: Range<usize>,
}

/// Receives each field as (name, value) offsets, in order.
pub(super) trait FieldSink {
    fn field(&mut self, name: Range<usize>, value: Range<usize>) -> Result<(), Bad>;
}

/// `tchar` (RFC 9110 §5.6.2) as a set of ASCII bytes.
const TCHAR: u128 =
    set(b"!#$%&'*+-.^_`|~") | range(b'0', b'9') | range(b'A', b'Z') | range(b'a', b'z');

const fn set(bytes: &[u8]) -> u128 {
    let mut m = 0;
    let mut i = 0;
    while i < bytes.len() {
        m |= 1 << bytes[i];
        i += 1;
    }
    m
}

const fn range(lo: u8, hi: u8) -> u128 {
    let mut m = 0;
    let mut b = lo;
    while b <= hi {
        m |= 1 << b;
        b += 1;
    }
    m
}

/// The set `s` as a table, so that a lookup is one load.
const fn table(s: u128) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 128 {
        t[b] = s & (1 << b) != 0;
        b += 1;
    }
    t
}

static TCHAR_TABLE: [bool; 256] = table(TCHAR);

/// `tchar` (RFC 9110 §5.6.2).
#[inline]
pub(super) fn is_tchar(b: u8) -> bool {
    TCHAR_TABLE.get(usize::from(b)) == Some(&true)
}

/// Bytes of `uri-host [":" port]` (RFC 3986 §3.2.2): unreserved,
/// pct-encoded, sub-delims, and `:[]` for ports and IP literals.
pub(super) fn is_host_byte(b: u8) -> bool {
    static HOST: [bool; 256] = table(
        set(b"-._~%!$&'()*+,;=:[]") | range(b'0', b'9') | range(b'A', b'Z') | range(b'a', b'z'),
    );
    HOST.get(usize::from(b)) == Some(&true)
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `i`, if there are eight.
#[inline]
fn word(s: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(*s.get(i..)?.first_chunk::<8>()?))
}

/// Flags (high bit of the byte) the bytes of `x` below `n` (n <= 0x80):
/// exact for the lowest flagged byte, which is all the callers use (a borrow
/// can only flag bytes above a true one).
#[inline]
fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(u64::from(n) * LO) & !x & HI
}

/// Flags the DEL bytes of `x`, exact for the lowest one.
#[inline]
fn del(x: u64) -> u64 {
    let y = x ^ (0x7f * LO);
    y.wrapping_sub(LO) & !y & HI
}

/// Flags (high bit of the byte) the bytes of `x` that are ASCII letters of
/// either case or `-`; exact for every byte (no borrow crosses bytes: the
/// high bit is masked off before adding, and bytes with it set are excluded).
#[inline]
fn letters_or_dashes(x: u64) -> u64 {
    const SEVEN: u64 = 0x7f * LO;
    // Folded to lowercase, then "> 0x60 and < 0x7b".
    let low = (x | (0x20 * LO)) & SEVEN;
    let letter = (SEVEN + 0x7b * LO).wrapping_sub(low) & !x & (low + (0x7f - 0x60) * LO);
    let y = x ^ (u64::from(b'-') * LO);
    let dash = !(((y & SEVEN) + SEVEN) | y);
    (letter | dash) & HI
}

/// The index in the word of the lowest flagged byte of `m` (not zero).
#[inline]
fn lowest(m: u64) -> usize {
    (m.trailing_zeros() / 8) as usize
}

/// The first byte of `s` at or after `i` that cannot be in a request-target
/// (SP, a control byte or DEL), or `s.len()`; and whether a byte >= 0x80
/// came before it.
#[inline]
fn target_end(s: &[u8], mut i: usize) -> (usize, bool) {
    let mut high = 0;
    while let Some(x) = word(s, i) {
        let m = below(x, 0x21) | del(x);
        if m != 0 {
            let k = lowest(m);
            // The bytes before the stop (k < 8, so the shift is in range).
            high |= x & HI & ((1u64 << (8 * k)) - 1);
            return (i + k, high != 0);
        }
        high |= x & HI;
        i += 8;
    }
    let mut high = high != 0;
    while let Some(&b) = s.get(i) {
        if b <= b' ' || b == 0x7f {
            break;
        }
        high |= b >= 0x80;
        i += 1;
    }
    (i, high)
}

/// The offset after the line end at `i` (CRLF, or LF if `bare_lf`).
#[inline]
fn line_end(s: &[u8], i: usize, bare_lf: bool) -> Result<usize, Bad> {
    match s.get(i) {
        Some(b'\r') if s.get(i + 1) == Some(&b'\n') => Ok(i + 2),
        Some(b'\n') if bare_lf => Ok(i + 1),
        _ => Err(Bad::Unchecked),
    }
}

/// `HTTP/1.0` or `HTTP/1.1` at `i` (RFC 9112 §2.3; other versions are
/// refused, with the error of a malformed one).
#[inline]
fn version(s: &[u8], i: usize) -> Result<Version, Bad> {
    match s.get(i..i.wrapping_add(8)) {
        Some(b"HTTP/1.1") => Ok(Version::Http11),
        Some(b"HTTP/1.0") => Ok(Version::Http10),
        _ => Err(Bad::Version),
    }
}

/// `request-line = method SP request-target SP HTTP-version CRLF`
/// (RFC 9112 §3) at the start of `s`.
pub(super) fn request_line(s: &[u8], bare_lf: bool) -> Result<RequestLine, Bad> {
    let mut i = 0;
    while s.get(i).is_some_and(|&b| is_tchar(b)) {
        i += 1;
    }
    if i == 0 || s.get(i) != Some(&b' ') {
        return Err(Bad::RequestLine);
    }
    let method = 0..i;
    let start = i + 1;
    let (end, high) = target_end(s, start);
    if end == start || s.get(end) != Some(&b' ') {
        return Err(Bad::RequestLine);
    }
    let target = start..end;
    if high && core::str::from_utf8(s.get(target.clone()).unwrap_or_default()).is_err() {
        return Err(Bad::RequestLine);
    }
    let version = version(s, end + 1)?;
    let next = match s.get(end + 9) {
        Some(b'\r' | b'\n') => line_end(s, end + 9, bare_lf)?,
        Some(_) => return Err(Bad::LineEnding),
        None => return Err(Bad::Unchecked),
    };
    Ok(RequestLine {
        method,
        target,
        version,
        next,
    })
}

/// `status-line = HTTP-version SP status-code SP [ reason-phrase ]`
/// (RFC 9112 §4) at the start of `s`. The SP before an empty reason may be
/// missing (the reason is informational only).
pub(super) fn status_line(s: &[u8], bare_lf: bool) -> Result<StatusLine, Bad> {
    let version = version(s, 0)?;
    if s.get(8) != Some(&b' ') {
        return Err(Bad::Version);
    }
    let mut status = 0u16;
    for i in 9..12 {
        match s.get(i) {
            Some(&d @ b'0'..=b'9') => status = status * 10 + u16::from(d - b'0'),
            _ => return Err(Bad::StatusLine),
        }
    }
    let (reason, end) = match s.get(12) {
        Some(b' ') => {
            let end = value_end(s, 13)?;
            (13..end, end)
        }
        Some(b'\r' | b'\n') => (12..12, 12),
        Some(_) => return Err(Bad::StatusLine),
        None => return Err(Bad::Unchecked),
    };
    Ok(StatusLine {
        version,
        status,
        reason,
        next: line_end(s, end, bare_lf)?,
    })
}

/// The CR or LF that ends the line holding `i`, the bytes before it being
/// VCHAR, obs-text, SP or HTAB (RFC 9110 §5.5).
#[inline]
fn value_end(s: &[u8], mut i: usize) -> Result<usize, Bad> {
    loop {
        // The first control byte (or DEL) of the next word, if it has one;
        // byte by byte once fewer than eight are left.
        let k = match word(s, i) {
            Some(x) => match below(x, 0x20) | del(x) {
                0 => {
                    i += 8;
                    continue;
                }
                m => i + lowest(m),
            },
            None => i,
        };
        match s.get(k) {
            Some(b'\r' | b'\n') => return Ok(k),
            Some(&b) if b == b'\t' || (b >= b' ' && b != 0x7f) => i = k + 1,
            _ => return Err(Bad::Unchecked),
        }
    }
}

/// The field lines from `i` through the empty line that ends them
/// (RFC 9112 §5: `field-name ":" OWS field-value OWS`), each handed to
/// `sink`, at most `limit` of them. No whitespace may come before the colon
/// (§5.1) and no line may start with it (obs-fold, §5.2).
pub(super) fn field_lines(
    s: &[u8],
    mut i: usize,
    bare_lf: bool,
    limit: usize,
    sink: &mut impl FieldSink,
) -> Result<FieldLines, Bad> {
    let mut count = 0;
    let mut hosts = 0;
    let mut host = 0..0;
    loop {
        let start = i;
        match s.get(i) {
            Some(b'\r' | b'\n') => {
                return Ok(FieldLines {
                    end: line_end(s, i, bare_lf)?,
                    hosts,
                    host,
                });
            }
            Some(&b) if is_tchar(b) => i += 1,
            Some(b' ' | b'\t') | None => return Err(Bad::Unchecked),
            Some(_) => return Err(Bad::FieldName),
        }
        // Letters and dashes (most names) eight at a time, then byte by byte.
        while let Some(x) = word(s, i) {
            let other = !letters_or_dashes(x) & HI;
            if other != 0 {
                i += lowest(other);
                break;
            }
            i += 8;
        }
        while s.get(i).is_some_and(|&b| is_tchar(b)) {
            i += 1;
        }
        if s.get(i) != Some(&b':') {
            return Err(Bad::FieldName);
        }
        let name = start..i;
        i += 1;
        while matches!(s.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let from = i;
        let end = value_end(s, i)?;
        let mut to = end;
        while to > from && matches!(s.get(to - 1), Some(b' ' | b'\t')) {
            to -= 1;
        }
        if count == limit {
            return Err(Bad::TooManyFields);
        }
        count += 1;
        if name.len() == 4
            && s.get(name.clone())
                .is_some_and(|n| n.eq_ignore_ascii_case(b"host"))
        {
            hosts += 1;
            host = from..to;
        }
        sink.field(name, from..to)?;
        i = line_end(s, end, bare_lf)?;
    }
}

/// Room for the fields of a head whose bytes are not split off yet (the
/// fast path), as offsets; more fields than this, or a head longer than
/// 64 KiB, take the slow path. `u16`s: the array is zeroed for every head,
/// and at half the size that is a few stores instead of a `memset` call.
pub(super) struct Offsets {
    at: [[u16; 4]; Self::ROOM],
    len: usize,
}

impl Offsets {
    const ROOM: usize = 32;

    pub(super) fn new() -> Self {
        Self {
            at: [[0; 4]; Self::ROOM],
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The (name, value) ranges, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Range<usize>, Range<usize>)> + '_ {
        let at = self.at.get(..self.len).unwrap_or_default();
        at.iter().map(|&[a, b, c, d]| {
            let at = usize::from;
            (at(a)..at(b), at(c)..at(d))
        })
    }
}

impl FieldSink for Offsets {
    #[inline]
    fn field(&mut self, name: Range<usize>, value: Range<usize>) -> Result<(), Bad> {
        let slot = self.at.get_mut(self.len).ok_or(Bad::Full)?;
        let at = |x: usize| u16::try_from(x).map_err(|_| Bad::Full);
        *slot = [
            at(name.start)?,
            at(name.end)?,
            at(value.start)?,
            at(value.end)?,
        ];
        self.len += 1;
        Ok(())
    }
}

#[cfg(test)]
#[path = "head_lines_tests.rs"]
mod tests;
