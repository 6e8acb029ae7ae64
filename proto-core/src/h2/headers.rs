//! HTTP/2 field sections ↔ the core's heads (RFC 9113 §8.2, §8.3).
//!
//! Received: validation per §8.2.1/§8.2.2/§8.3 (a violation makes the message
//! malformed: a stream error PROTOCOL_ERROR, §8.1.1) and conversion to
//! [`RequestHead`]/[`ResponseHead`]. Sent: pseudo-headers first, names
//! lowercased, connection-specific fields dropped.

use bytes::{Bytes, BytesMut};

use crate::event::Version;
use crate::head::{Fields, Method, RequestHead, ResponseHead};
use crate::hpack::Field;

/// Why a received field section is malformed (always PROTOCOL_ERROR).
pub(crate) type Malformed = &'static str;

/// §8.2.2: fields that only mean something to one HTTP/1.1 hop.
fn connection_specific(name: &[u8]) -> bool {
    matches!(
        name,
        b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding" | b"upgrade"
    )
}

/// RFC 9110 §5.1 token characters, lowercase only (§8.2.1), as a table: one
/// load per byte of every received name.
const LOWER_TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'!' | b'#' | b'$' | b'%' | b'&' | b'\''
            | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~');
        b += 1;
    }
    t
};

fn valid_name(name: &[u8]) -> bool {
    // Most names are lowercase letters and dashes: eight bytes at a time
    // (overlapping at the end), the table for anything else.
    if let Some(last) = name.last_chunk::<8>() {
        let mut words = name.chunks_exact(8);
        let plain = words.all(|w| w.first_chunk::<8>().is_some_and(|a| letters_or_dashes(*a)));
        if plain && letters_or_dashes(*last) {
            return true;
        }
    }
    !name.is_empty() && name.iter().all(|&b| LOWER_TCHAR[usize::from(b)])
}

/// True if all eight bytes are `a`..=`z` or `-` (exact per byte: the high
/// bit is masked off before adding, and bytes with it set are excluded).
fn letters_or_dashes(word: [u8; 8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const SEVEN: u64 = 0x7f * LO;
    const HIGH: u64 = 0x80 * LO;
    let x = u64::from_le_bytes(word);
    let low = x & SEVEN;
    // Bytes > 0x60 and < 0x7b.
    let letter = (SEVEN + 0x7b * LO).wrapping_sub(low) & !x & (low + (0x7f - 0x60) * LO);
    // Bytes equal to '-': zero after the XOR, tested without borrows.
    let y = x ^ (u64::from(b'-') * LO);
    let dash = !(((y & SEVEN) + SEVEN) | y);
    (letter | dash) & HIGH == HIGH
}

/// §8.2.1: no NUL, CR or LF anywhere; no leading or trailing SP/HTAB.
fn valid_value(value: &[u8]) -> bool {
    let edge_ws = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    !has_nul_cr_lf(value) && !edge_ws(value.first()) && !edge_ws(value.last())
}

/// True if `v` holds NUL, CR or LF; eight bytes at a time (values are most
/// of a header block's bytes).
fn has_nul_cr_lf(v: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Exact "has a zero byte" test, applied to x, x ^ CR.., x ^ LF...
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI != 0;
    // ... after the one test that passes almost every word: no byte below
    // 0x0E (NUL, LF and CR all are; exact as a boolean, like `zero`).
    let low = |x: u64| x.wrapping_sub(0x0e * LO) & !x & HI != 0;
    let mut words = v.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        let x = u64::from_le_bytes(a);
        if low(x)
            && (zero(x) || zero(x ^ (u64::from(b'\r') * LO)) || zero(x ^ (u64::from(b'\n') * LO)))
        {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| b == 0 || b == b'\r' || b == b'\n')
}

/// Which of the fields looked up after a section is built were in it, so
/// that absent ones (the usual case) are not searched for. Names are exact:
/// a valid received name is lowercase (§8.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Named {
    pub(crate) host: bool,
    pub(crate) content_length: bool,
    pub(crate) priority: bool,
    pub(crate) expect: bool,
}

/// The regular fields of a section, validated; `cookie` crumbs rejoined
/// (§8.2.3) so HTTP/1-style consumers see one field.
fn regular_field(
    fields: &mut Fields,
    cookies: &mut Option<BytesMut>,
    named: &mut Named,
    f: Field,
) -> Result<(), Malformed> {
    if !valid_name(&f.name) {
        return Err("invalid or uppercase field name");
    }
    if !valid_value(&f.value) {
        return Err("invalid field value");
    }
    // One look at the name for everything that depends on it.
    match &f.name[..] {
        // §8.2.2 (the names of `connection_specific`).
        b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding" | b"upgrade" => {
            return Err("connection-specific field");
        }
        // §8.2.2: TE may only carry "trailers".
        b"te" if !f.value.eq_ignore_ascii_case(b"trailers") => {
            return Err("te other than trailers");
        }
        b"cookie" => {
            match cookies {
                Some(joined) => {
                    joined.extend_from_slice(b"; ");
                    joined.extend_from_slice(&f.value);
                }
                None => *cookies = Some(BytesMut::from(&f.value[..])),
            }
            return Ok(());
        }
        b"host" => named.host = true,
        b"content-length" => named.content_length = true,
        b"priority" => named.priority = true,
        b"expect" => named.expect = true,
        _ => {}
    }
    fields.push(f.name, f.value);
    Ok(())
}

/// Assembles a received request (§8.3.1).
pub(crate) struct RequestBuilder {
    method: Option<Bytes>,
    scheme: Option<Bytes>,
    authority: Option<Bytes>,
    path: Option<Bytes>,
    protocol: Option<Bytes>,
    fields: Fields,
    cookies: Option<BytesMut>,
    named: Named,
    regular_seen: bool,
    error: Option<Malformed>,
}

impl RequestBuilder {
    /// A builder filling `fields` (empty; its storage may be recycled).
    pub(crate) fn new(fields: Fields) -> Self {
        Self {
            method: None,
            scheme: None,
            authority: None,
            path: None,
            protocol: None,
            fields,
            cookies: None,
            named: Named::default(),
            regular_seen: false,
            error: None,
        }
    }

    /// Which looked-up fields the request has so far.
    pub(crate) fn named(&self) -> Named {
        self.named
    }

    /// Takes one decoded field; the first problem is kept.
    pub(crate) fn field(&mut self, f: Field) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_field(f) {
            self.error = Some(e);
        }
    }

    fn try_field(&mut self, f: Field) -> Result<(), Malformed> {
        if f.name.first() == Some(&b':') {
            // §8.3: pseudo-headers come first, once each.
            if self.regular_seen {
                return Err("pseudo-header after a regular field");
            }
            if !valid_value(&f.value) {
                return Err("invalid pseudo-header value");
            }
            let slot = match &f.name[..] {
                b":method" => &mut self.method,
                b":scheme" => &mut self.scheme,
                b":authority" => &mut self.authority,
                b":path" => &mut self.path,
                b":protocol" => &mut self.protocol,
                _ => return Err("unknown or response pseudo-header in a request"),
            };
            if slot.is_some() {
                return Err("duplicate pseudo-header");
            }
            *slot = Some(f.value);
            return Ok(());
        }
        self.regular_seen = true;
        regular_field(&mut self.fields, &mut self.cookies, &mut self.named, f)
    }

    /// The head, or why the request is malformed. `extended_connect` says
    /// whether we advertised SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §4).
    pub(crate) fn finish(self, extended_connect: bool) -> Result<RequestHead, Malformed> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let method_bytes = self.method.ok_or("missing :method")?;
        if method_bytes.is_empty() {
            return Err("empty :method");
        }
        let method = Method::from_bytes(method_bytes);
        let mut fields = self.fields;
        if let Some(c) = self.cookies {
            fields.push(Bytes::from_static(b"cookie"), c.freeze());
        }
        let target = if method == Method::Connect && self.protocol.is_none() {
            // §8.5: CONNECT names only the authority.
            if self.scheme.is_some() || self.path.is_some() {
                return Err(":scheme or :path in CONNECT");
            }
            self.authority.clone().ok_or("CONNECT without :authority")?
        } else {
            if self.protocol.is_some() && (!extended_connect || method != Method::Connect) {
                return Err(":protocol without extended CONNECT");
            }
            if self.scheme.as_ref().is_none_or(|s| s.is_empty()) {
                return Err("missing :scheme");
            }
            let path = self.path.ok_or("missing :path")?;
            // §8.3.1: empty :path is malformed; "*" only for OPTIONS.
            if path.is_empty() || (&path[..] == b"*" && method != Method::Options) {
                return Err("invalid :path");
            }
            path
        };
        if let Some(authority) = self.authority {
            // §8.3.1: a Host field, if any, must agree with :authority.
            let host = if self.named.host {
                fields.get("host")
            } else {
                None
            };
            match host {
                Some(host) if *host != authority => return Err(":authority and host differ"),
                Some(_) => {}
                None => fields.push(Bytes::from_static(b"host"), authority),
            }
        }
        Ok(RequestHead {
            method,
            target,
            version: Version::H2,
            fields,
            protocol: self.protocol,
        })
    }
}

/// A received response or trailer section.
pub(crate) struct ResponseBuilder {
    status: Option<Bytes>,
    fields: Fields,
    cookies: Option<BytesMut>,
    named: Named,
    regular_seen: bool,
    /// Trailers: no pseudo-headers at all (§8.1).
    trailers: bool,
    error: Option<Malformed>,
}

impl ResponseBuilder {
    /// A builder filling `fields` (empty; its storage may be recycled).
    pub(crate) fn new(trailers: bool, fields: Fields) -> Self {
        Self {
            status: None,
            fields,
            cookies: None,
            named: Named::default(),
            regular_seen: false,
            trailers,
            error: None,
        }
    }

    pub(crate) fn field(&mut self, f: Field) {
        if self.error.is_some() {
            return;
        }
        let r = if f.name.first() == Some(&b':') {
            if self.trailers {
                Err("pseudo-header in trailers")
            } else if self.regular_seen {
                Err("pseudo-header after a regular field")
            } else if &f.name[..] != b":status" {
                Err("request pseudo-header in a response")
            } else if self.status.is_some() {
                Err("duplicate :status")
            } else {
                self.status = Some(f.value);
                Ok(())
            }
        } else {
            self.regular_seen = true;
            regular_field(&mut self.fields, &mut self.cookies, &mut self.named, f)
        };
        if let Err(e) = r {
            self.error = Some(e);
        }
    }

    /// Which looked-up fields the section has so far.
    pub(crate) fn named(&self) -> Named {
        self.named
    }

    fn into_fields(self) -> Fields {
        let mut fields = self.fields;
        if let Some(c) = self.cookies {
            fields.push(Bytes::from_static(b"cookie"), c.freeze());
        }
        fields
    }

    pub(crate) fn finish_response(self) -> Result<ResponseHead, Malformed> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let status = self.status.as_ref().ok_or("missing :status")?;
        let status = match &status[..] {
            [a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            _ => return Err("invalid :status"),
        };
        Ok(ResponseHead {
            status,
            reason: Bytes::new(),
            version: Version::H2,
            fields: self.into_fields(),
        })
    }

    pub(crate) fn finish_trailers(self) -> Result<Fields, Malformed> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(self.into_fields())
    }
}

/// Lowercases a name only when needed (most are already lowercase).
fn lower(name: &Bytes) -> Bytes {
    if name.iter().any(u8::is_ascii_uppercase) {
        Bytes::from(name.to_ascii_lowercase())
    } else {
        name.clone()
    }
}

/// The regular fields to send, lowercased, without connection-specific ones
/// and without `host` (carried as `:authority`).
fn outgoing(fields: &Fields, out: &mut Vec<(Bytes, Bytes)>, drop_host: bool) {
    for f in fields {
        let name = lower(&f.name);
        if connection_specific(&name) || (drop_host && &name[..] == b"host") {
            continue;
        }
        // §8.2.2: TE is sent only as "trailers".
        if &name[..] == b"te" && !f.value.eq_ignore_ascii_case(b"trailers") {
            continue;
        }
        out.push((name, f.value.clone()));
    }
}

/// The field list of a request: pseudo-headers, then the fields (§8.3.1).
pub(crate) fn request_fields(head: &RequestHead, out: &mut Vec<(Bytes, Bytes)>) {
    let target = &head.target;
    let (scheme, authority, path) = split_target(target);
    let authority = authority.or_else(|| head.fields.get("host").cloned());
    out.push((Bytes::from_static(b":method"), head.method.to_bytes()));
    if let Some(protocol) = &head.protocol {
        // RFC 8441 §4: extended CONNECT carries :protocol, :scheme and :path.
        out.push((Bytes::from_static(b":protocol"), protocol.clone()));
    }
    if head.method == Method::Connect && head.protocol.is_none() {
        if let Some(a) = authority.or(Some(target.clone())) {
            out.push((Bytes::from_static(b":authority"), a));
        }
    } else {
        out.push((Bytes::from_static(b":scheme"), scheme));
        if let Some(a) = authority {
            out.push((Bytes::from_static(b":authority"), a));
        }
        out.push((Bytes::from_static(b":path"), path));
    }
    outgoing(&head.fields, out, true);
}

/// Splits an origin- or absolute-form target into scheme, authority, path.
fn split_target(target: &Bytes) -> (Bytes, Option<Bytes>, Bytes) {
    for (prefix, scheme) in [(&b"https://"[..], "https"), (&b"http://"[..], "http")] {
        if target.len() > prefix.len() && target[..prefix.len()].eq_ignore_ascii_case(prefix) {
            let rest = target.slice(prefix.len()..);
            let end = rest
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(rest.len());
            let path = if end == rest.len() {
                Bytes::from_static(b"/")
            } else if rest[end] == b'?' {
                let mut p = BytesMut::from(&b"/"[..]);
                p.extend_from_slice(&rest[end..]);
                p.freeze()
            } else {
                rest.slice(end..)
            };
            return (
                Bytes::from_static(scheme.as_bytes()),
                Some(rest.slice(..end)),
                path,
            );
        }
    }
    let path = if target.is_empty() {
        Bytes::from_static(b"/")
    } else {
        target.clone()
    };
    (Bytes::from_static(b"http"), None, path)
}

/// True if `s` holds an ASCII uppercase letter; eight bytes at a time.
fn has_uppercase(s: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const SEVEN: u64 = 0x7f * LO;
    // "Has a byte > 0x40 and < 0x5b" (exact for every byte value: the high
    // bit is masked off before adding, and bytes with it set are excluded).
    let between = |x: u64| {
        let low = x & SEVEN;
        ((SEVEN + 0x5b * LO).wrapping_sub(low) & !x & (low + (0x7f - 0x40) * LO)) & (0x80 * LO) != 0
    };
    let Some(last) = s.last_chunk::<8>() else {
        return s.iter().any(u8::is_ascii_uppercase);
    };
    // Whole words, then the last eight bytes (overlapping the rest).
    let mut words = s.chunks_exact(8);
    words.any(|w| {
        w.first_chunk::<8>()
            .is_some_and(|a| between(u64::from_le_bytes(*a)))
    }) || between(u64::from_le_bytes(*last))
}

/// True if [`outgoing`] keeps every field of `fields` as it is (no `host`
/// dropping): every name lowercase, none connection-specific, `te` only as
/// "trailers". Such fields can be encoded straight from the head.
pub(crate) fn sent_as_is(fields: &Fields) -> bool {
    fields.iter().all(|f| {
        !has_uppercase(&f.name)
            && !connection_specific(&f.name)
            && (&f.name[..] != b"te" || f.value.eq_ignore_ascii_case(b"trailers"))
    })
}

/// The field list of a response: `:status`, then the fields (§8.3.2).
pub(crate) fn response_fields(head: &ResponseHead, out: &mut Vec<(Bytes, Bytes)>) {
    out.push((Bytes::from_static(b":status"), status_bytes(head.status)));
    outgoing(&head.fields, out, false);
}

/// Trailer fields to send (no pseudo-headers, §8.1).
pub(crate) fn trailer_fields(fields: &Fields, out: &mut Vec<(Bytes, Bytes)>) {
    outgoing(fields, out, false);
}

pub(crate) fn status_bytes(status: u16) -> Bytes {
    match status {
        200 => Bytes::from_static(b"200"),
        204 => Bytes::from_static(b"204"),
        304 => Bytes::from_static(b"304"),
        404 => Bytes::from_static(b"404"),
        500 => Bytes::from_static(b"500"),
        _ => {
            let s = status.min(999);
            let digits = [
                b'0' + (s / 100) as u8,
                b'0' + (s / 10 % 10) as u8,
                b'0' + (s % 10) as u8,
            ];
            Bytes::copy_from_slice(&digits)
        }
    }
}

/// Parses a received `content-length` (all copies must agree, RFC 9110 §8.6).
pub(crate) fn content_length(fields: &Fields) -> Result<Option<u64>, Malformed> {
    let mut found = None;
    for v in fields.get_all("content-length") {
        for part in v.split(|&b| b == b',') {
            let part = part.trim_ascii();
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) || part.len() > 19 {
                return Err("invalid content-length");
            }
            let n = part
                .iter()
                .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
            if found.is_some_and(|f| f != n) {
                return Err("conflicting content-length");
            }
            found = Some(n);
        }
    }
    Ok(found)
}

#[cfg(test)]
#[path = "headers_tests.rs"]
mod tests;
