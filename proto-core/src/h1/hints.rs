//! The connection-management fields of a received head, read in one pass:
//! `Connection` options (RFC 9110 §7.6.1), `Upgrade` (§7.8), `Expect`
//! (§10.1.1), `HTTP2-Settings` (RFC 7540 §3.2.1).

use crate::head::Fields;

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
    pub(crate) expect_continue: bool,
}

fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

impl Hints {
    pub(crate) fn of(fields: &Fields) -> Self {
        let (mut conn_upgrade, mut conn_settings, mut upgrade_field) = (false, false, false);
        let (mut h2c_token, mut settings_fields) = (false, 0usize);
        let mut h = Self::default();
        for f in fields {
            // Cheap length check first: most fields are none of these.
            let name = &f.name[..];
            match name.len() {
                10 if name.eq_ignore_ascii_case(b"connection") => {
                    for t in tokens(&f.value) {
                        h.close |= t.eq_ignore_ascii_case(b"close");
                        h.keep_alive |= t.eq_ignore_ascii_case(b"keep-alive");
                        conn_upgrade |= t.eq_ignore_ascii_case(b"upgrade");
                        conn_settings |= t.eq_ignore_ascii_case(b"http2-settings");
                    }
                }
                7 if name.eq_ignore_ascii_case(b"upgrade") => {
                    upgrade_field = true;
                    h2c_token |= tokens(&f.value).any(|t| t.eq_ignore_ascii_case(b"h2c"));
                }
                6 if name.eq_ignore_ascii_case(b"expect") => {
                    h.expect_continue |=
                        tokens(&f.value).any(|t| t.eq_ignore_ascii_case(b"100-continue"));
                }
                14 if name.eq_ignore_ascii_case(b"http2-settings") => settings_fields += 1,
                _ => {}
            }
        }
        h.upgrade = conn_upgrade && upgrade_field;
        h.h2c = h2c_token && conn_upgrade && conn_settings && settings_fields == 1;
        h
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
                expect_continue: true
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
}
