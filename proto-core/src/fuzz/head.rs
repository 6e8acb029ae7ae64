//! `h1_head_parse`: the HTTP/1 head parsers on their own.
//!
//! Input: byte 0 options (bit 0 small limits, bit 1 bare LF allowed, bits
//! 2-7 the prefix step), then the bytes. Checked: a head parsed from growing
//! prefixes is the head parsed from the whole input (incomplete is not
//! invalid, and never a different answer); "incomplete" consumes nothing;
//! the resumable parsers, fed the same prefixes one after the other, answer
//! as a fresh parse of each; an accepted head re-serializes and parses back
//! to itself.

use bytes::BytesMut;

use super::raw::small;
use crate::Config;
use crate::h1::encode::{Extra, write_request, write_response};
use crate::h1::parse::{
    HeadScan, parse_request, parse_request_resume, parse_response, parse_response_resume,
};

/// Compare error kinds too (off until the parser reports the same error for
/// a complete head as for its prefixes).
const STRICT_ERRORS: bool = true;

/// A parse outcome rendered for comparison, with the bytes consumed.
fn parse(data: &[u8], cfg: &Config, response: bool) -> (String, usize) {
    let mut buf = BytesMut::from(data);
    let out = if response {
        format!("{:?}", parse_response(&mut buf, cfg))
    } else {
        format!("{:?}", parse_request(&mut buf, cfg))
    };
    (out, data.len() - buf.len())
}

/// [`parse`] of `buf` resuming from `scan`.
fn resume(
    buf: &mut BytesMut,
    cfg: &Config,
    response: bool,
    scan: &mut HeadScan,
) -> (String, usize) {
    let len = buf.len();
    let out = if response {
        format!("{:?}", parse_response_resume(buf, cfg, scan))
    } else {
        format!("{:?}", parse_request_resume(buf, cfg, scan))
    };
    (out, len - buf.len())
}

/// Fuzz hook: see the module docs.
pub fn h1_head_parse(data: &[u8]) {
    let Some((&opts, input)) = data.split_first() else {
        return;
    };
    let mut cfg = Config::default();
    if opts & 1 != 0 {
        small(&mut cfg);
    }
    cfg.allow_bare_lf = opts & 2 != 0;
    let step = usize::from(opts >> 2) + 1;
    for response in [false, true] {
        let whole = parse(input, &cfg, response);
        let (mut grown, mut scan) = (BytesMut::new(), HeadScan::default());
        let mut k = 0;
        let mut prefixes = 0;
        while k < input.len() && prefixes < 4_000 {
            let from = k;
            k = (k + step).min(input.len());
            prefixes += 1;
            let part = parse(&input[..k], &cfg, response);
            grown.extend_from_slice(&input[from..k]);
            let resumed = resume(&mut grown, &cfg, response, &mut scan);
            assert_eq!(resumed, part, "resumed parse of {k} bytes differs");
            if part.0 == "Ok(None)" {
                assert!(part.1 == 0, "incomplete head consumed {} bytes", part.1);
                continue;
            }
            // Which error is reported may still depend on the cut (see
            // tests::head_error_depends_on_split); a success may not.
            let both_err = part.0.starts_with("Err") && whole.0.starts_with("Err");
            assert!(
                part == whole || (both_err && !STRICT_ERRORS),
                "prefix of {k} bytes parsed to {part:?}, the whole input to {whole:?}"
            );
            break;
        }
        round_trip(input, &cfg, response);
    }
}

/// An accepted head can be sent again and means the same.
/// Re-sending may lengthen a head (`name:value` gets a space, an empty
/// reason phrase a standard one), so the re-parse allows the longer size.
fn round_trip(input: &[u8], cfg: &Config, response: bool) {
    let mut buf = BytesMut::from(input);
    let mut out = BytesMut::new();
    let mut relaxed = cfg.clone();
    if response {
        let Ok(Some(head)) = parse_response(&mut buf, cfg) else {
            return;
        };
        let r = write_response(&mut out, &head, Extra::default());
        assert!(r.is_ok(), "parsed response head cannot be re-sent: {r:?}");
        relaxed.max_head_bytes = relaxed.max_head_bytes.max(out.len());
        let again = parse_response(&mut out, &relaxed);
        let Ok(Some(again)) = again else {
            panic!("re-sent response head does not parse: {again:?}");
        };
        assert_eq!((head.status, &head.fields), (again.status, &again.fields));
    } else {
        let Ok(Some(head)) = parse_request(&mut buf, cfg) else {
            return;
        };
        let r = write_request(&mut out, &head, Extra::default());
        assert!(r.is_ok(), "parsed request head cannot be re-sent: {r:?}");
        relaxed.max_head_bytes = relaxed.max_head_bytes.max(out.len());
        let again = parse_request(&mut out, &relaxed);
        assert_eq!(
            again,
            Ok(Some(head)),
            "re-sent request head parses differently"
        );
    }
}
