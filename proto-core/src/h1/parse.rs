//! Strict HTTP/1.1 head parsing (RFC 9112 §2–§5) on top of `httparse`.
//!
//! `httparse` finds the head and splits it into slices; this module adds the
//! checks `httparse` lets through (bare CR, bare LF by default, obs-fold,
//! whitespace before the colon, NUL/CTL in fields, limits, Host) and turns the
//! slices into zero-copy [`Bytes`] of the receive buffer.
//!
//! `httparse` cannot resume, so it runs once per head: a cheap scan first
//! finds the blank line that ends the head (validating line endings and
//! control bytes as it goes), and only a complete head is handed over.
//! The scan resumes: [`HeadScan`] keeps where it stopped in an incomplete
//! head, so a head trickled in byte by byte costs linear time, not the
//! quadratic time of rescanning (slowloris CPU amplification). It never looks
//! past `max_head_bytes`.

use core::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::error::PeerError;
use crate::event::Version;
use crate::head::{Fields, Method, RequestHead, ResponseHead};

/// Most fields parsed from one head or trailer section, whatever
/// [`Config::max_headers`] says: the field slots live on the stack (a few
/// kilobytes), so a larger configured limit is capped here.
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
    parse_request_into(buf, cfg, scan, &mut Fields::new())
}

/// [`parse_request_resume`] that builds the head's fields in `spare`'s
/// storage (taken when a head is returned), so that a connection recycling
/// the storage of heads it handed out parses without allocating.
pub(crate) fn parse_request_into(
    buf: &mut BytesMut,
    cfg: &Config,
    scan: &mut HeadScan,
    spare: &mut Fields,
) -> Result<Option<RequestHead>, PeerError> {
    let Some(found) = find_head(buf, cfg, true, scan)? else {
        return Ok(None);
    };
    let head = buf.split_to(found.len).freeze();
    let lines = head.get(found.skip..).unwrap_or_default();

    let mut slots = [const { MaybeUninit::uninit() }; MAX_HEADERS_CAP];
    let slots = &mut slots[..cfg.max_headers.min(MAX_HEADERS_CAP)];
    let mut req = httparse::Request::new(&mut []);
    let status = parser_config()
        .parse_request_with_uninit_headers(&mut req, lines, slots)
        .map_err(map_err)?;
    expect_complete(status, lines.len())?;
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(PeerError::MalformedHead("incomplete request line"));
    };

    let target = subslice(&head, target.as_bytes())?;
    if target.len() > cfg.max_uri_len {
        return Err(PeerError::UriTooLong);
    }
    // httparse checked that the method is a token.
    let method = Method::from_bytes(subslice(&head, method.as_bytes())?);
    let version = version(minor)?;
    let fields = collect_fields(&head, req.headers, spare)?;
    check_host(&fields, version)?;
    Ok(Some(RequestHead {
        method,
        target,
        version,
        fields,
        protocol: None,
    }))
}

/// Parses a response head at the start of `buf` (client side).
///
/// Same contract as [`parse_request`]. The status must be in 100..=999; the
/// reason phrase may be empty (and its leading space may be missing, which
/// `httparse` tolerates; the reason is informational only, RFC 9112 §4).
pub fn parse_response(buf: &mut BytesMut, cfg: &Config) -> Result<Option<ResponseHead>, PeerError> {
    parse_response_resume(buf, cfg, &mut HeadScan::default())
}

/// [`parse_response`] that resumes; see [`parse_request_resume`].
pub fn parse_response_resume(
    buf: &mut BytesMut,
    cfg: &Config,
    scan: &mut HeadScan,
) -> Result<Option<ResponseHead>, PeerError> {
    parse_response_into(buf, cfg, scan, &mut Fields::new())
}

/// [`parse_response_resume`] with recycled field storage; see
/// [`parse_request_into`].
pub(crate) fn parse_response_into(
    buf: &mut BytesMut,
    cfg: &Config,
    scan: &mut HeadScan,
    spare: &mut Fields,
) -> Result<Option<ResponseHead>, PeerError> {
    let Some(found) = find_head(buf, cfg, false, scan)? else {
        return Ok(None);
    };
    let head = buf.split_to(found.len).freeze();
    let lines = head.get(found.skip..).unwrap_or_default();

    let mut slots = [const { MaybeUninit::uninit() }; MAX_HEADERS_CAP];
    let slots = &mut slots[..cfg.max_headers.min(MAX_HEADERS_CAP)];
    let mut res = httparse::Response::new(&mut []);
    let status = parser_config()
        .parse_response_with_uninit_headers(&mut res, lines, slots)
        .map_err(map_err)?;
    expect_complete(status, lines.len())?;
    let (Some(minor), Some(code)) = (res.version, res.code) else {
        return Err(PeerError::MalformedHead("incomplete status line"));
    };
    if !(100..=999).contains(&code) {
        return Err(PeerError::MalformedHead("status code out of range"));
    }
    let version = version(minor)?;
    let reason = reason(&head, lines)?;
    let fields = collect_fields(&head, res.headers, spare)?;
    Ok(Some(ResponseHead {
        status: code,
        reason,
        version,
        fields,
    }))
}

/// Parses a complete trailer section (field lines and the final empty line,
/// RFC 9112 §7.1.2) with the same rules as head fields. `section` must already
/// have passed [`scan_lines`]. Errors are reported as [`PeerError::BadChunk`].
pub(crate) fn parse_trailers(section: &Bytes, cfg: &Config) -> Result<Fields, PeerError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS_CAP];
    let slots = &mut slots[..cfg.max_headers.min(MAX_HEADERS_CAP)];
    let status = httparse::parse_headers(section, slots).map_err(|e| match map_err(e) {
        PeerError::MalformedHead(why) => PeerError::BadChunk(why),
        _ => PeerError::BadChunk("too many trailer fields"),
    })?;
    let httparse::Status::Complete((len, headers)) = status else {
        return Err(PeerError::BadChunk("incomplete trailer section"));
    };
    if len != section.len() {
        return Err(PeerError::BadChunk("malformed trailer section"));
    }
    collect_fields(section, headers, &mut Fields::new())
        .map_err(|_| PeerError::BadChunk("malformed trailer section"))
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

/// Strict: no leniency is enabled (obs-fold, spaces before the colon, extra
/// spaces in the start line, invalid lines skipped). These are the defaults;
/// they are spelled out so that a default change cannot loosen the parser.
fn parser_config() -> httparse::ParserConfig {
    let mut c = httparse::ParserConfig::default();
    c.allow_spaces_after_header_name_in_responses(false)
        .allow_obsolete_multiline_headers_in_responses(false)
        .allow_multiple_spaces_in_request_line_delimiters(false)
        .allow_multiple_spaces_in_response_status_delimiters(false)
        .allow_space_before_first_header_name(false)
        .ignore_invalid_headers_in_requests(false)
        .ignore_invalid_headers_in_responses(false);
    c
}

fn map_err(e: httparse::Error) -> PeerError {
    PeerError::MalformedHead(match e {
        httparse::Error::TooManyHeaders => return PeerError::TooManyHeaders,
        httparse::Error::HeaderName => "invalid field name (or whitespace before the colon)",
        httparse::Error::HeaderValue => "invalid field value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status line",
        httparse::Error::Token => "invalid request line",
        httparse::Error::Version => "unsupported or invalid HTTP version",
    })
}

/// Our scan and httparse must agree on where the head ends.
fn expect_complete(status: httparse::Status<usize>, len: usize) -> Result<(), PeerError> {
    match status {
        httparse::Status::Complete(n) if n == len => Ok(()),
        _ => Err(PeerError::MalformedHead("malformed head")),
    }
}

fn version(minor: u8) -> Result<Version, PeerError> {
    match minor {
        0 => Ok(Version::Http10),
        1 => Ok(Version::Http11),
        _ => Err(PeerError::MalformedHead(
            "unsupported or invalid HTTP version",
        )),
    }
}

/// The zero-copy slice of `whole` that `part` (a subslice of it) covers.
fn subslice(whole: &Bytes, part: &[u8]) -> Result<Bytes, PeerError> {
    if part.is_empty() {
        return Ok(Bytes::new());
    }
    let start = part.as_ptr().addr().checked_sub(whole.as_ptr().addr());
    match start.and_then(|s| Some(s..s.checked_add(part.len())?)) {
        Some(r) if r.end <= whole.len() => Ok(whole.slice(r)),
        // Unreachable: httparse returns slices of its input.
        _ => Err(PeerError::MalformedHead("internal: field outside the head")),
    }
}

fn collect_fields(
    head: &Bytes,
    headers: &[httparse::Header<'_>],
    spare: &mut Fields,
) -> Result<Fields, PeerError> {
    let mut fields = Fields::reuse(spare, headers.len());
    for h in headers {
        // httparse strips the OWS around values; trimming again costs little
        // and keeps the guarantee local.
        fields.push(
            subslice(head, h.name.as_bytes())?,
            subslice(head, trim_ows(h.value))?,
        );
    }
    Ok(fields)
}

/// The reason phrase, taken from the raw status line: httparse replaces a
/// reason containing obs-text with "", and we keep it as received.
fn reason(head: &Bytes, lines: &[u8]) -> Result<Bytes, PeerError> {
    // "HTTP/1.x NNN" is 12 bytes; a reason follows a 13th byte, SP.
    let end = lines
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(lines.len());
    let line = lines.get(..end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match (line.get(12), line.get(13..)) {
        (Some(b' '), Some(reason)) => subslice(head, reason),
        _ => Ok(Bytes::new()),
    }
}

/// RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host; no request has
/// more than one; its value must be a valid `uri-host [ ":" port ]` (which
/// may be empty).
fn check_host(fields: &Fields, version: Version) -> Result<(), PeerError> {
    let mut hosts = fields.get_all("host");
    let first = hosts.next();
    if hosts.next().is_some() {
        return Err(PeerError::BadHost);
    }
    match first {
        None if version == Version::Http11 => Err(PeerError::BadHost),
        Some(v) if !v.iter().all(|&b| is_host_byte(b)) => Err(PeerError::BadHost),
        _ => Ok(()),
    }
}

/// Bytes of `uri-host [":" port]` (RFC 3986 §3.2.2): unreserved, pct-encoded,
/// sub-delims, and `:[]` for ports and IP literals.
fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'%'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
        )
}

/// `tchar` (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
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
