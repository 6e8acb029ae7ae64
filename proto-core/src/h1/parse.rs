//! Strict HTTP/1.1 head parsing (RFC 9112 §2–§5), zero-copy: every part of
//! a head is a [`Bytes`] slice of the receive buffer.
//!
//! Two passes exist, and a head takes one of them:
//!
//! - fast: a head that is complete in the buffer the first time it is looked
//!   at is split by [`head_lines`] in one pass that also enforces the byte
//!   rules (bare CR, bare LF unless allowed, obs-fold, control bytes).
//! - slow: anything else (a head cut across reads, an error of any kind, a
//!   limit reached) first goes through the resumable line scan, which finds
//!   the blank line that ends the head and validates line endings and
//!   control bytes as it goes; only a complete head is then split.
//!
//! The fast pass succeeds only where the slow one would give the same head,
//! and never decides an error: so the answer, 414 vs 400 vs 431 included,
//! never depends on how the bytes arrived. The scan resumes: [`HeadScan`]
//! keeps where it stopped in an incomplete head, so a head trickled in byte
//! by byte costs linear time, not the quadratic time of rescanning
//! (slowloris CPU amplification). Neither looks past `max_head_bytes`.

use core::ops::Range;

use bytes::{Bytes, BytesMut};

use super::head_lines::{self, Bad, FieldSink, Offsets};
use crate::config::Config;
use crate::error::PeerError;
use crate::event::Version;
use crate::head::{Fields, Method, RequestHead, ResponseHead, SpareFields};

/// Most fields parsed from one head or trailer section, whatever
/// [`Config::max_headers`] says: a larger configured limit is capped here.
pub const MAX_HEADERS_CAP: usize = 128;

/// Parses a request head at the start of `buf`.
///
/// `Ok(None)`: the head is not complete yet (need more bytes); `buf` is left
/// as it was. `Ok(Some)`: the head's bytes (through the blank line, with any
/// empty lines before the request line, RFC 9112 §2.2) were split off `buf`.
/// `Err`: the head is invalid or over a limit; the connection cannot continue,
/// and the head's bytes may have been consumed.
///
/// Only `HTTP/1.0` and `HTTP/1.1` are accepted; any other version is a
/// [`PeerError::MalformedHead`] (answered with 400, not 505).
pub fn parse_request(buf: &mut BytesMut, cfg: &Config) -> Result<Option<RequestHead>, PeerError> {
    parse_request_resume(buf, cfg, &mut HeadScan::default())
}

/// [`parse_request`] that resumes where the previous call on the same buffer
/// stopped, so that each call looks only at the bytes that arrived since.
///
/// `scan` must come from earlier calls on this buffer that returned
/// `Ok(None)`, with bytes only appended since (or be fresh); it is reset
/// whenever a head is returned or an error. The outcome is the one
/// [`parse_request`] gives for the whole buffer.
pub fn parse_request_resume(
    buf: &mut BytesMut,
    cfg: &Config,
    scan: &mut HeadScan,
) -> Result<Option<RequestHead>, PeerError> {
    parse_request_into(buf, cfg, scan, &mut SpareFields::new())
}

/// [`parse_request_resume`] that builds the head's fields in `spare`'s
/// storage (taken when a head is returned), so that a connection recycling
/// the storage of heads it handed out parses without allocating.
pub(crate) fn parse_request_into(
    buf: &mut BytesMut,
    cfg: &Config,
    scan: &mut HeadScan,
    spare: &mut SpareFields,
) -> Result<Option<RequestHead>, PeerError> {
    let limit = field_limit(cfg);
    let mut offsets = Offsets::new();
    let (head, line, fields) =
        if let Some((found, line)) = fast_request(buf, cfg, scan, &mut offsets) {
            let head = buf.split_to(found.len).freeze();
            let fields = build_fields(&head, &offsets, spare)?;
            (head, line, fields)
        } else {
            let Some(found) = find_head(buf, cfg, true, scan)? else {
                return Ok(None);
            };
            let head = buf.split_to(found.len).freeze();
            let lines = head.get(found.skip..).unwrap_or_default();
            let line = head_lines::request_line(lines, cfg.allow_bare_lf).map_err(Bad::head)?;
            let mut sink = Collect::new(&head, found.skip, spare);
            let fl = head_lines::field_lines(lines, line.next, cfg.allow_bare_lf, limit, &mut sink)
                .map_err(Bad::head)?;
            let (line, fields) = (Parsed::at(line, found.skip, fl), sink.fields);
            (head, line, fields)
        };
    if line.target.len() > cfg.max_uri_len {
        return Err(PeerError::UriTooLong);
    }
    check_host(&head, &line)?;
    // A known method needs no slice of the head (and its reference count).
    let token = head.get(line.method.clone()).unwrap_or_default();
    let method = match Method::known(token) {
        Some(m) => m,
        None => Method::Other(part(&head, line.method)?),
    };
    Ok(Some(RequestHead {
        method,
        target: part(&head, line.target)?,
        version: line.version,
        fields,
        protocol: None,
    }))
}

/// Parses a response head at the start of `buf` (client side).
///
/// Same contract as [`parse_request`]. The status must be in 100..=999; the
/// reason phrase may be empty (and its leading space may be missing; the
/// reason is informational only, RFC 9112 §4) and is kept as received.
pub fn parse_response(buf: &mut BytesMut, cfg: &Config) -> Result<Option<ResponseHead>, PeerError> {
    parse_response_resume(buf, cfg, &mut HeadScan::default())
}

/// [`parse_response`] that resumes; see [`parse_request_resume`].
pub fn parse_response_resume(
    buf: &mut BytesMut,
    cfg: &Config,
    scan: &mut HeadScan,
) -> Result<Option<ResponseHead>, PeerError> {
    parse_response_into(buf, cfg, scan, &mut SpareFields::new())
}

/// [`parse_response_resume`] with recycled field storage; see
/// [`parse_request_into`].
pub(crate) fn parse_response_into(
    buf: &mut BytesMut,
    cfg: &Config,
    scan: &mut HeadScan,
    spare: &mut SpareFields,
) -> Result<Option<ResponseHead>, PeerError> {
    let limit = field_limit(cfg);
    let mut offsets = Offsets::new();
    let (head, line, fields) =
        if let Some((found, line)) = fast_response(buf, cfg, scan, &mut offsets) {
            let head = buf.split_to(found.len).freeze();
            let fields = build_fields(&head, &offsets, spare)?;
            (head, line, fields)
        } else {
            let Some(found) = find_head(buf, cfg, false, scan)? else {
                return Ok(None);
            };
            let head = buf.split_to(found.len).freeze();
            let lines = head.get(found.skip..).unwrap_or_default();
            let mut line = head_lines::status_line(lines, cfg.allow_bare_lf).map_err(Bad::head)?;
            let mut sink = Collect::new(&head, found.skip, spare);
            head_lines::field_lines(lines, line.next, cfg.allow_bare_lf, limit, &mut sink)
                .map_err(Bad::head)?;
            line.reason = shift(line.reason, found.skip);
            let fields = sink.fields;
            (head, line, fields)
        };
    if !(100..=999).contains(&line.status) {
        return Err(PeerError::MalformedHead("status code out of range"));
    }
    Ok(Some(ResponseHead {
        status: line.status,
        reason: part(&head, line.reason)?,
        version: line.version,
        fields,
    }))
}

/// Parses a complete trailer section (field lines and the final empty line,
/// RFC 9112 §7.1.2) with the same rules as head fields. `section` must already
/// have passed [`scan_lines`]. Errors are reported as [`PeerError::BadChunk`].
pub(crate) fn parse_trailers(section: &Bytes, cfg: &Config) -> Result<Fields, PeerError> {
    let mut sink = Collect::new(section, 0, &mut SpareFields::new());
    let lines = head_lines::field_lines(section, 0, cfg.allow_bare_lf, field_limit(cfg), &mut sink)
        .map_err(|bad| match bad {
            Bad::TooManyFields => PeerError::BadChunk("too many trailer fields"),
            Bad::Unchecked | Bad::Full => PeerError::BadChunk("malformed trailer section"),
            _ => match bad.head() {
                PeerError::MalformedHead(why) => PeerError::BadChunk(why),
                _ => PeerError::BadChunk("malformed trailer section"),
            },
        })?;
    if lines.end != section.len() {
        return Err(PeerError::BadChunk("malformed trailer section"));
    }
    Ok(sink.fields)
}

fn field_limit(cfg: &Config) -> usize {
    cfg.max_headers.min(MAX_HEADERS_CAP)
}

impl Bad {
    /// The error a head gets for it.
    fn head(self) -> PeerError {
        PeerError::MalformedHead(match self {
            Self::TooManyFields => return PeerError::TooManyHeaders,
            Self::RequestLine => "invalid request line",
            Self::Version => "unsupported or invalid HTTP version",
            Self::LineEnding => "invalid line ending",
            Self::StatusLine => "invalid status line",
            Self::FieldName => "invalid field name (or whitespace before the colon)",
            // Unreachable on a head the line scan passed.
            Self::Unchecked | Self::Full => "malformed head",
        })
    }
}

/// The parts of a request line (`method`, `target`, in the head's offsets),
/// with what the field lines said about Host.
struct Parsed {
    method: Range<usize>,
    target: Range<usize>,
    version: Version,
    hosts: usize,
    host: Range<usize>,
}

impl Parsed {
    /// `line` and `fields` found `skip` bytes into the head.
    fn at(line: head_lines::RequestLine, skip: usize, fields: head_lines::FieldLines) -> Self {
        Self {
            method: shift(line.method, skip),
            target: shift(line.target, skip),
            version: line.version,
            hosts: fields.hosts,
            host: shift(fields.host, skip),
        }
    }
}

fn shift(r: Range<usize>, by: usize) -> Range<usize> {
    r.start.saturating_add(by)..r.end.saturating_add(by)
}

/// A request head complete in `buf` on the first look, split in one pass.
/// `None` for anything else (incomplete, invalid, a limit reached, more
/// fields than the pass has room for): the slow path decides those.
fn fast_request(
    buf: &[u8],
    cfg: &Config,
    scan: &mut HeadScan,
    offsets: &mut Offsets,
) -> Option<(Found, Parsed)> {
    let (window, skip) = fast_window(buf, cfg, scan)?;
    let lines = window.get(skip..)?;
    let parsed = head_lines::request_line(lines, cfg.allow_bare_lf).and_then(|line| {
        // A longer target is the slow path's 414 (or an earlier 400).
        if line.target.len() > cfg.max_uri_len {
            return Err(Bad::Unchecked);
        }
        let fl = field_lines_at(lines, line.next, skip, cfg, offsets)?;
        Ok((
            Found {
                skip,
                len: fl.end + skip,
            },
            Parsed::at(line, skip, fl),
        ))
    });
    fast_outcome(parsed, window.len(), scan)
}

/// [`fast_request`] for a response head.
fn fast_response(
    buf: &[u8],
    cfg: &Config,
    scan: &mut HeadScan,
    offsets: &mut Offsets,
) -> Option<(Found, head_lines::StatusLine)> {
    let (window, skip) = fast_window(buf, cfg, scan)?;
    let lines = window.get(skip..)?;
    let parsed = head_lines::status_line(lines, cfg.allow_bare_lf).and_then(|mut line| {
        let fl = field_lines_at(lines, line.next, skip, cfg, offsets)?;
        line.reason = shift(line.reason, skip);
        Ok((
            Found {
                skip,
                len: fl.end + skip,
            },
            line,
        ))
    });
    fast_outcome(parsed, window.len(), scan)
}

/// The bytes the fast pass may look at, and the empty lines before the
/// start line; `None` unless this is the first look at the head.
fn fast_window<'a>(buf: &'a [u8], cfg: &Config, scan: &HeadScan) -> Option<(&'a [u8], usize)> {
    if !scan.is_fresh() {
        return None;
    }
    let window = buf.get(..buf.len().min(cfg.max_head_bytes))?;
    Some((window, leading_empty_lines(window, 0, cfg.allow_bare_lf)))
}

/// The field lines of `lines` from `at`, with offsets in the whole head
/// (`skip` bytes before `lines`).
fn field_lines_at(
    lines: &[u8],
    at: usize,
    skip: usize,
    cfg: &Config,
    offsets: &mut Offsets,
) -> Result<head_lines::FieldLines, Bad> {
    let mut shifted = Shifted { skip, offsets };
    head_lines::field_lines(lines, at, cfg.allow_bare_lf, field_limit(cfg), &mut shifted)
}

/// Offsets of `lines` stored as offsets of the head (`skip` bytes longer).
struct Shifted<'a> {
    skip: usize,
    offsets: &'a mut Offsets,
}

impl FieldSink for Shifted<'_> {
    #[inline]
    fn field(&mut self, name: Range<usize>, value: Range<usize>) -> Result<(), Bad> {
        self.offsets
            .field(shift(name, self.skip), shift(value, self.skip))
    }
}

/// Counts the bytes the fast pass looked at (tests: the scan stays linear).
fn fast_outcome<T>(parsed: Result<T, Bad>, window: usize, scan: &mut HeadScan) -> Option<T> {
    scan.looked_at(window);
    parsed.ok()
}

/// The fields at `offsets` in `head`, in `spare`'s storage.
fn build_fields(
    head: &Bytes,
    offsets: &Offsets,
    spare: &mut SpareFields,
) -> Result<Fields, PeerError> {
    let mut fields = spare.take(offsets.len());
    for (name, value) in offsets.iter() {
        // One check for both: the splitter gives them in order.
        if name.start > name.end
            || name.end > value.start
            || value.start > value.end
            || value.end > head.len()
        {
            return Err(PeerError::MalformedHead("internal: field outside the head"));
        }
        fields.push(head.slice(name), head.slice(value));
    }
    Ok(fields)
}

/// Builds the fields of a head already split off, in `spare`'s storage.
struct Collect<'a> {
    head: &'a Bytes,
    /// Where the offsets the splitter gives start in `head`.
    skip: usize,
    fields: Fields,
}

impl<'a> Collect<'a> {
    fn new(head: &'a Bytes, skip: usize, spare: &mut SpareFields) -> Self {
        Self {
            head,
            skip,
            fields: spare.take(0),
        }
    }
}

impl FieldSink for Collect<'_> {
    fn field(&mut self, name: Range<usize>, value: Range<usize>) -> Result<(), Bad> {
        let name = part(self.head, shift(name, self.skip)).map_err(|_| Bad::Unchecked)?;
        let value = part(self.head, shift(value, self.skip)).map_err(|_| Bad::Unchecked)?;
        self.fields.push(name, value);
        Ok(())
    }
}

/// The zero-copy slice of `head` at `r`.
fn part(head: &Bytes, r: Range<usize>) -> Result<Bytes, PeerError> {
    if r.start <= r.end && r.end <= head.len() {
        Ok(head.slice(r))
    } else {
        // Unreachable: the splitter gives offsets inside the head.
        Err(PeerError::MalformedHead("internal: field outside the head"))
    }
}

/// RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host; no request has
/// more than one; its value must be a valid `uri-host [ ":" port ]` (which
/// may be empty).
fn check_host(head: &[u8], line: &Parsed) -> Result<(), PeerError> {
    let valid = || {
        head.get(line.host.clone())
            .is_some_and(|v| v.iter().all(|&b| head_lines::is_host_byte(b)))
    };
    match line.hosts {
        0 if line.version == Version::Http11 => Err(PeerError::BadHost),
        0 => Ok(()),
        1 if valid() => Ok(()),
        _ => Err(PeerError::BadHost),
    }
}

/// Where a complete head lies in the buffer.
struct Found {
    /// Empty lines before the start line (skipped).
    skip: usize,
    /// Total length, `skip` included, through the blank line.
    len: usize,
}

/// How far the checks got in an incomplete head at the start of a buffer,
/// kept between calls by [`parse_request_resume`] and
/// [`parse_response_resume`]. Fresh (`default()`) for a new head.
#[derive(Debug, Clone, Default)]
pub struct HeadScan {
    /// End of the empty lines found before the start line so far.
    skip: usize,
    /// The line checks, from `skip` on.
    lines: LineScan,
    /// The 414 decision on the request line (which starts at `skip`).
    uri: UriScan,
    /// Bytes the scans were handed, over the scan's life (reset or not).
    #[cfg(test)]
    pub(crate) examined: usize,
}

impl HeadScan {
    /// True if no byte of the head has been looked at yet (a CR that ends
    /// the input leaves the scan fresh: it is judged with the next byte).
    fn is_fresh(&self) -> bool {
        self.skip == 0 && self.lines == LineScan::at(0) && self.uri == UriScan::default()
    }

    /// Starts over with the start line at `skip`.
    fn restart_at(&mut self, skip: usize) {
        self.skip = skip;
        self.lines = LineScan::at(skip);
        self.uri = UriScan::default();
    }

    /// Counts `n` bytes looked at (tests only: the scan must stay linear).
    #[inline]
    fn looked_at(&mut self, n: usize) {
        #[cfg(test)]
        {
            self.examined = self.examined.saturating_add(n);
        }
        let _ = n;
    }
}

/// Locates a complete head at the start of `buf`, or says it is incomplete
/// (`None`), or fails on what can be judged already. Resumes from `scan`,
/// and resets it unless the head is incomplete.
fn find_head(
    buf: &[u8],
    cfg: &Config,
    request: bool,
    scan: &mut HeadScan,
) -> Result<Option<Found>, PeerError> {
    let found = resume_head(buf, cfg, request, scan);
    if !matches!(found, Ok(None)) {
        scan.restart_at(0);
    }
    found
}

fn resume_head(
    buf: &[u8],
    cfg: &Config,
    request: bool,
    scan: &mut HeadScan,
) -> Result<Option<Found>, PeerError> {
    // A head longer than the limit is an error however it ends, so only the
    // first `max_head_bytes` need to be looked at.
    let window = &buf[..buf.len().min(cfg.max_head_bytes)];
    if scan.lines.pos > window.len() {
        // Not this buffer's state (the buffer shrank): start over.
        scan.restart_at(0);
    }
    let skip = leading_empty_lines(window, scan.skip, cfg.allow_bare_lf);
    scan.looked_at(skip.saturating_sub(scan.skip));
    if skip != scan.skip {
        // The start line begins later than thought. The scans cannot have
        // gone past the old `skip` by more than a lone CR, so starting them
        // over costs nothing.
        scan.restart_at(skip);
    }
    // A too-long target is decided at a fixed byte (`d`); an error the scan
    // finds before that byte wins, as it would if the bytes came one by one.
    // So the answer (414 vs 400) never depends on how the bytes arrived.
    if request {
        let line = window.get(skip..).unwrap_or_default();
        if let Some(d) = uri_decision(line, cfg.max_uri_len, scan) {
            let before = window.get(..skip.saturating_add(d)).unwrap_or(window);
            scan.looked_at(before.len().saturating_sub(scan.lines.pos));
            scan_lines(before, scan.lines, cfg.allow_bare_lf).map_err(PeerError::MalformedHead)?;
            return Err(PeerError::UriTooLong);
        }
    }
    let from = scan.lines.pos;
    match scan_lines(window, scan.lines, cfg.allow_bare_lf).map_err(PeerError::MalformedHead)? {
        Lines::Complete(len) => {
            scan.looked_at(len.saturating_sub(from));
            Ok(Some(Found { skip, len }))
        }
        Lines::Partial(at) => {
            scan.looked_at(window.len().saturating_sub(from));
            scan.lines = at;
            if buf.len() > cfg.max_head_bytes {
                return Err(PeerError::HeadTooLarge);
            }
            Ok(None)
        }
    }
}

/// The end of the empty lines at the start of `s`, walking on from `from`
/// (an earlier answer for a prefix of `s`): RFC 9112 §2.2 asks a server to
/// ignore at least one CRLF before the request line (a common leftover after
/// a POST body). A lone CR or (strict) LF is left for [`scan_lines`] to judge.
fn leading_empty_lines(s: &[u8], from: usize, allow_bare_lf: bool) -> usize {
    let mut i = from;
    loop {
        match (s.get(i), s.get(i.saturating_add(1))) {
            (Some(b'\r'), Some(b'\n')) => i += 2,
            (Some(b'\n'), _) if allow_bare_lf => i += 1,
            _ => return i,
        }
    }
}

/// How far [`uri_decision`] got on the request line (offsets in the line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UriScan {
    /// No SP or LF before this offset: the method goes on.
    Method(usize),
    /// The target starts at `start`; no SP, CR or LF in `start..pos`.
    Target { start: usize, pos: usize },
    /// No 414 can come from this line (the target ended in time, or there
    /// is no target).
    Settled,
}

impl Default for UriScan {
    fn default() -> Self {
        Self::Method(0)
    }
}

/// If the request line at the start of `line` (possibly incomplete) already
/// shows a target longer than `max`, the byte count at which that became
/// known: a 414 need not wait for the rest of the head (RFC 9112 §3 ¶4).
/// Resumes from (and updates) `scan.uri`, so each byte is looked at once.
fn uri_decision(line: &[u8], max: usize, scan: &mut HeadScan) -> Option<usize> {
    if let UriScan::Method(from) = scan.uri {
        let rest = line.get(from..).unwrap_or_default();
        let found = rest.iter().position(|&b| b == b' ' || b == b'\n');
        scan.looked_at(found.map_or(rest.len(), |k| k + 1));
        let Some(k) = found else {
            scan.uri = UriScan::Method(from.max(line.len()));
            return None;
        };
        let sp = from + k;
        scan.uri = match line.get(sp) {
            Some(b' ') => UriScan::Target {
                start: sp + 1,
                pos: sp + 1,
            },
            _ => UriScan::Settled,
        };
    }
    let UriScan::Target { start, pos } = scan.uri else {
        return None;
    };
    // The target ends at the next SP or line end; none in its first max+1
    // bytes means it is longer than max, known once those bytes are here.
    let Some(decided) = start.checked_add(max).and_then(|d| d.checked_add(1)) else {
        scan.uri = UriScan::Settled;
        return None;
    };
    let end = line.len().min(decided).max(pos);
    let probe = line.get(pos..end).unwrap_or_default();
    scan.looked_at(probe.len());
    if probe.iter().any(|&b| matches!(b, b' ' | b'\r' | b'\n')) {
        scan.uri = UriScan::Settled;
        return None;
    }
    scan.uri = UriScan::Target { start, pos: end };
    (end == decided).then_some(decided)
}

/// Where [`scan_lines`] stopped in an incomplete block: the bytes before
/// `pos` were checked, and the line in progress starts at `line_start`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LineScan {
    line_start: usize,
    pos: usize,
}

impl LineScan {
    /// Nothing checked yet; a line starts at `from`.
    pub(crate) fn at(from: usize) -> Self {
        Self {
            line_start: from,
            pos: from,
        }
    }

    /// The bytes before this offset were checked.
    #[cfg(test)]
    pub(crate) fn pos(self) -> usize {
        self.pos
    }
}

/// The outcome of [`scan_lines`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lines {
    /// The block ends (after its empty line) at this offset.
    Complete(usize),
    /// No empty line yet; resume from here once more bytes are in.
    Partial(LineScan),
}

/// Checks the lines of `s` from `at` up to and including the first empty
/// line, byte by byte:
///
/// - every CR is followed by LF (RFC 9112 §2.2: a bare CR is invalid);
/// - every LF follows a CR unless `allow_bare_lf` (§2.2 allows a recipient to
///   accept bare LF; off by default, as proxies disagree on it);
/// - no line starts with SP/HTAB: that is obs-fold (§5.2) or whitespace
///   before the first field (§2.2), both rejected;
/// - no NUL or other control byte except HTAB, and no DEL (RFC 9110 §5.5).
///
/// It resumes at any byte, not only at a line start: a check looks at most
/// one byte back (the CR before an LF) and, for a CR, one byte ahead, so a
/// CR that ends `s` is where [`Lines::Partial`] says to resume.
pub(crate) fn scan_lines(
    s: &[u8],
    at: LineScan,
    allow_bare_lf: bool,
) -> Result<Lines, &'static str> {
    let mut line_start = at.line_start;
    let mut i = at.pos;
    loop {
        // Only control bytes need a look; a line's first byte always does
        // (obs-fold).
        if i != line_start {
            i = super::ascii::skip_plain(s, i);
        }
        let Some(&b) = s.get(i) else { break };
        match b {
            b'\n' => {
                let crlf = i > line_start && s.get(i - 1) == Some(&b'\r');
                if !crlf && !allow_bare_lf {
                    return Err("bare LF line ending");
                }
                let next = i + 1;
                let empty = i == line_start || (crlf && i - 1 == line_start);
                if empty {
                    return Ok(Lines::Complete(next));
                }
                line_start = next;
            }
            b'\r' if s.get(i + 1).is_some_and(|&n| n != b'\n') => return Err("bare CR"),
            // A CR at the end of the input is judged once the next byte is in.
            b'\r' => {}
            b' ' | b'\t' if i == line_start => {
                return Err("line starts with whitespace (obs-fold)");
            }
            b'\t' => {}
            0..=0x1f | 0x7f => return Err("control character in head"),
            _ => {}
        }
        i += 1;
    }
    let pos = match i.checked_sub(1) {
        Some(cr) if s.get(cr) == Some(&b'\r') => cr,
        _ => i,
    };
    Ok(Lines::Partial(LineScan { line_start, pos }))
}

/// `tchar` (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    head_lines::is_tchar(b)
}

/// True if `s` is a non-empty `token` (RFC 9110 §5.6.2).
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// `s` without leading and trailing OWS (SP / HTAB, RFC 9110 §5.6.3).
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "parse_resume_tests.rs"]
mod resume_tests;
