//! The connection-management fields of a received head, read in one pass:
//! `Connection` options (RFC 9110 §7.6.1), `Upgrade` (§7.8), `Expect`
//! (§10.1.1), `HTTP2-Settings` (RFC 7540 §3.2.1).

use super::ascii::Lower;
use super::framing::{self, BodyKind};
use crate::error::PeerError;
use crate::head::{Fields, RequestHead};

const CONNECTION: Lower = Lower::new(b"connection");
const UPGRADE: Lower = Lower::new(b"upgrade");
const EXPECT: Lower = Lower::new(b"expect");
const HTTP2_SETTINGS: Lower = Lower::new(b"http2-settings");
const CONTENT_LENGTH: Lower = Lower::new(b"content-length");
const TRANSFER_ENCODING: Lower = Lower::new(b"transfer-encoding");
const CLOSE: Lower = Lower::new(b"close");
const KEEP_ALIVE: Lower = Lower::new(b"keep-alive");
const H2C: Lower = Lower::new(b"h2c");
const CONTINUE: Lower = Lower::new(b"100-continue");

/// What a head's connection-management fields say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Hints {
    pub(crate) close: bool,
    pub(crate) keep_alive: bool,
    /// `Connection: upgrade` and an `Upgrade` field.
    pub(crate) upgrade: bool,
    /// `Upgrade: h2c` with `Connection: upgrade, HTTP2-Settings` and one
    /// `HTTP2-Settings` field.
    pub(crate) h2c: bool,
    /// `Upgrade` lists `h2c` (whatever `Connection` says).
    pub(crate) h2c_token: bool,
    pub(crate) expect_continue: bool,
    /// A `Transfer-Encoding` field is present.
    pub(crate) transfer_encoding: bool,
    /// The `Content-Length` value(s), for heads we send (received heads
    /// go through the strict framing rules instead).
    pub(crate) content_length: Length,
}

/// `Content-Length` as declared by the application.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Length {
    #[default]
    Absent,
    Valid(u64),
    /// Not 1*DIGIT, too large, or copies that disagree (RFC 9110 §8.6).
    Invalid,
}

/// 1*DIGIT without overflow.
fn decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

impl Hints {
    pub(crate) fn of(fields: &Fields) -> Self {
        let (mut conn_upgrade, mut conn_settings, mut upgrade_field) = (false, false, false);
        let mut h2c_token = false;
        let mut settings_fields = 0usize;
        let mut h = Self::default();
        for f in fields {
            // Cheap length check first: most fields are none of these.
            let name = &f.name[..];
            match name.len() {
                10 if CONNECTION.eq(name) => {
                    for t in tokens(&f.value) {
                        h.close |= CLOSE.eq(t);
                        h.keep_alive |= KEEP_ALIVE.eq(t);
                        conn_upgrade |= UPGRADE.eq(t);
                        conn_settings |= HTTP2_SETTINGS.eq(t);
                    }
                }
                7 if UPGRADE.eq(name) => {
                    upgrade_field = true;
                    h2c_token |= tokens(&f.value).any(|t| H2C.eq(t));
                }
                6 if EXPECT.eq(name) => {
                    h.expect_continue |= tokens(&f.value).any(|t| CONTINUE.eq(t));
                }
                14 if HTTP2_SETTINGS.eq(name) => settings_fields += 1,
                14 if CONTENT_LENGTH.eq(name) => {
                    h.content_length = match (h.content_length, decimal(&f.value)) {
                        (Length::Absent, Some(n)) => Length::Valid(n),
                        (Length::Valid(a), Some(n)) if a == n => Length::Valid(a),
                        _ => Length::Invalid,
                    };
                }
                17 if TRANSFER_ENCODING.eq(name) => h.transfer_encoding = true,
                _ => {}
            }
        }
        h.upgrade = conn_upgrade && upgrade_field;
        h.h2c_token = h2c_token;
        h.h2c = h2c_token && conn_upgrade && conn_settings && settings_fields == 1;
        h
    }
}

impl Hints {
    /// The valid `Content-Length` of a head we send, if it has one (an
    /// invalid one is refused before the head goes anywhere).
    pub(crate) fn length(&self) -> Option<u64> {
        match self.content_length {
            Length::Valid(n) => Some(n),
            Length::Absent | Length::Invalid => None,
        }
    }

    /// [`framing::request_body`] of the head these hints were read from:
    /// without a `Transfer-Encoding` or `Content-Length` field that is no
    /// body, and the fields need not be read again.
    pub(crate) fn request_body(&self, head: &RequestHead) -> Result<BodyKind, PeerError> {
        if !self.transfer_encoding && self.content_length == Length::Absent {
            return Ok(BodyKind::Empty);
        }
        framing::request_body(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_agrees_with_has_token() {
        let f = Fields::new()
            .with("Host", "x")
            .with("Connection", "keep-alive, Upgrade, HTTP2-Settings")
            .with("UPGRADE", "h2c")
            .with("HTTP2-Settings", "AAMAAABk")
            .with("Expect", "100-Continue");
        let h = Hints::of(&f);
        assert_eq!(
            h,
            Hints {
                close: false,
                keep_alive: true,
                upgrade: true,
                h2c: true,
                h2c_token: true,
                expect_continue: true,
                transfer_encoding: false,
                content_length: Length::Absent,
            }
        );
        assert_eq!(h.keep_alive, f.has_token("connection", "keep-alive"));
        let two = f.clone().with("http2-settings", "AAAA");
        assert!(
            !Hints::of(&two).h2c,
            "exactly one HTTP2-Settings (RFC 7540 §3.2.1)"
        );
        let close = Fields::new().with("connection", "close");
        assert!(Hints::of(&close).close && !Hints::of(&close).upgrade);
    }

    /// RFC 9110 §8.6: 1*DIGIT, copies must agree, no overflow.
    #[test]
    fn content_length_values() {
        let len = |vals: &[&'static str]| {
            let mut f = Fields::new().with("Transfer-Encoding", "chunked");
            for v in vals {
                f.push_static("Content-Length", v);
            }
            let h = Hints::of(&f);
            assert!(h.transfer_encoding);
            h.content_length
        };
        assert_eq!(len(&[]), Length::Absent);
        assert_eq!(len(&["13"]), Length::Valid(13));
        assert_eq!(len(&["13", "13"]), Length::Valid(13));
        for bad in [
            &["13", "14"][..],
            &["+5"],
            &[""],
            &["0x5"],
            &["99999999999999999999999"],
        ] {
            assert_eq!(len(bad), Length::Invalid, "{bad:?}");
        }
    }
    /// The shortcut past the framing rules (no `Transfer-Encoding`, no
    /// `Content-Length`) gives what RFC 9112 §6.3 reading gives, on every
    /// list of up to three fields drawn from framing and other names in
    /// several spellings, for both versions.
    #[test]
    fn request_body_shortcut_agrees_with_framing() {
        use crate::event::Version;
        use crate::head::Method;
        let names = [
            "Content-Length",
            "content-length",
            "CONTENT-LENGTH",
            "content-lengtH",
            "content_length",
            "Transfer-Encoding",
            "transfer-encoding",
            "transfer-encodinG",
            "transfer-encodin",
            "Connection",
            "Host",
            "X",
        ];
        let values = ["0", "5", "chunked", "gzip, chunked", "", "5, 5", "a"];
        let mut pairs = Vec::new();
        for n in names {
            for v in values {
                pairs.push((n, v));
            }
        }
        let mut checked = 0;
        let mut lists: Vec<Vec<(&str, &str)>> = vec![vec![]];
        for _ in 0..3 {
            let mut next = Vec::new();
            for l in &lists {
                for &p in pairs.iter().step_by(if l.is_empty() { 1 } else { 5 }) {
                    let mut l = l.clone();
                    l.push(p);
                    next.push(l);
                }
            }
            lists.extend(next.iter().cloned());
            lists.dedup();
            if lists.len() > 20_000 {
                break;
            }
        }
        for l in &lists {
            for version in [Version::Http11, Version::Http10] {
                let mut head = RequestHead::new(Method::Post, "/");
                head.version = version;
                for (n, v) in l {
                    head.fields
                        .push(n.as_bytes().to_vec(), v.as_bytes().to_vec());
                }
                let hints = Hints::of(&head.fields);
                assert_eq!(
                    hints.request_body(&head),
                    framing::request_body(&head),
                    "{l:?}"
                );
                checked += 1;
            }
        }
        assert!(checked > 10_000, "{checked}");
    }
}
