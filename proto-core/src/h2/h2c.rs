//! HTTP/2 over cleartext by HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2; kept
//! for interoperability although RFC 9113 §3.1 deprecates it).
//!
//! Server: an HTTP/1.1 request with `Upgrade: h2c`, `Connection: Upgrade,
//! HTTP2-Settings` and one valid `HTTP2-Settings` field is answered with
//! `101 Switching Protocols`; the request becomes stream 1 of an HTTP/2
//! connection and its response goes out as HTTP/2. Client: a request carrying
//! [`settings_header`] switches when the server answers 101.

use bytes::{Bytes, BytesMut};

use super::frame::{self, Frame};
use crate::config::Config;
use crate::head::RequestHead;

/// The `HTTP2-Settings` value for our configuration: the SETTINGS payload,
/// base64url without padding (RFC 7540 §3.2.1).
pub fn settings_header(config: &Config) -> Bytes {
    let mut frame = BytesMut::new();
    super::conn::initial_settings(config, crate::connection::Side::Client).encode(&mut frame);
    let payload = frame.get(frame::HEADER_LEN..).unwrap_or_default();
    Bytes::from(base64url_encode(payload))
}

/// Decodes the request's `HTTP2-Settings` (validated like a SETTINGS frame).
pub(crate) fn decode_settings(head: &RequestHead) -> Option<frame::Settings> {
    let value = head.fields.get("http2-settings")?;
    let payload = base64url_decode(value.trim_ascii())?;
    let len = u32::try_from(payload.len()).ok()?;
    let mut buf = BytesMut::with_capacity(frame::HEADER_LEN + payload.len());
    frame::FrameHeader::new(frame::kind::SETTINGS, 0, frame::CONNECTION_STREAM, len)
        .encode(&mut buf);
    buf.extend_from_slice(&payload);
    match frame::decode(&mut buf, frame::MAX_MAX_FRAME_SIZE) {
        Ok(Some(Frame::Settings(s))) if !s.is_ack() => Some(s),
        _ => None,
    }
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// base64url (RFC 4648 §5) without padding; `=` padding is tolerated.
fn base64url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let s = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    if s.len() % 4 == 1 || s.len() > 64 * 1024 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut acc: u32 = 0;
        for &c in chunk {
            acc = (acc << 6) | u32::from(sextet(c)?);
        }
        let bits = chunk.len() * 6;
        acc <<= 24 - bits;
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(bytes.get(1..1 + bits / 8).unwrap_or_default());
    }
    Some(out)
}

fn base64url_encode(data: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let mut acc = [0u8; 3];
        acc[..chunk.len()].copy_from_slice(chunk);
        let n = (u32::from(acc[0]) << 16) | (u32::from(acc[1]) << 8) | u32::from(acc[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips() {
        for len in 0..20 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 5) as u8).collect();
            let enc = base64url_encode(&data);
            assert!(!enc.contains(&b'='));
            assert_eq!(base64url_decode(&enc).unwrap(), data);
        }
        assert_eq!(
            base64url_decode(b"AAMAAABkAARAAAAAAAIAAAAA").unwrap().len(),
            18
        );
        assert!(base64url_decode(b"A").is_none());
        assert!(
            base64url_decode(b"AA+A").is_none(),
            "standard alphabet is not base64url"
        );
    }

    /// RFC 7540 §3.2.1: the header carries a SETTINGS payload we can decode.
    #[test]
    fn settings_header_decodes_as_settings_3_2_1() {
        let cfg = Config::default();
        let mut head = RequestHead::new(crate::head::Method::Get, "/");
        head.fields
            .push(Bytes::from_static(b"HTTP2-Settings"), settings_header(&cfg));
        let s = decode_settings(&head).unwrap();
        assert_eq!(
            s.max_concurrent_streams(),
            Some(cfg.h2.max_concurrent_streams)
        );
        assert_eq!(s.enable_push(), Some(0));
    }
}
