//! The RFC 9218 `priority` field value (a Structured Fields dictionary):
//! `u=N` (urgency 0..=7, default 3) and `i` (incremental, default false).

/// Parses a priority field value; unknown or invalid members are ignored
/// (RFC 9218 §4), falling back to the defaults.
pub(crate) fn parse(value: &[u8]) -> (u8, bool) {
    let mut urgency = 3;
    let mut incremental = false;
    for member in value.split(|&b| b == b',') {
        let member = member.trim_ascii();
        let (key, val) = match member.iter().position(|&b| b == b'=') {
            Some(eq) => (&member[..eq], Some(&member[eq + 1..])),
            None => (member, None),
        };
        // Parameters (";...") on a member are allowed and ignored.
        let val = val.map(|v| {
            v.split(|&b| b == b';')
                .next()
                .unwrap_or_default()
                .trim_ascii()
        });
        match (key, val) {
            (b"u", Some([d @ b'0'..=b'7'])) => urgency = d - b'0',
            (b"i", None | Some(b"?1")) => incremental = true,
            (b"i", Some(b"?0")) => incremental = false,
            _ => {}
        }
    }
    (urgency, incremental)
}

#[cfg(test)]
mod tests {
    use super::parse;

    /// RFC 9218 §4.1, §4.2: urgency and incremental, defaults, bad values ignored.
    #[test]
    fn parses_urgency_and_incremental_9218_4() {
        assert_eq!(parse(b""), (3, false));
        assert_eq!(parse(b"u=0"), (0, false));
        assert_eq!(parse(b"u=5, i"), (5, true));
        assert_eq!(parse(b"i=?1,u=1"), (1, true));
        assert_eq!(parse(b"u=9"), (3, false), "out of range is ignored");
        assert_eq!(parse(b"u=2;x=1, i=?0"), (2, false));
        assert_eq!(parse(b"u=a, foo=bar"), (3, false));
    }
}
