use super::*;
use crate::head::Fields;

fn request(version: Version, fields: &[(&'static str, &'static str)]) -> RequestHead {
    let mut head = RequestHead::new(Method::Post, "/");
    head.version = version;
    head.fields = fields.iter().map(|&(n, v)| field(n, v)).collect();
    head
}

fn field(name: &'static str, value: &'static str) -> crate::head::HeaderField {
    crate::head::HeaderField {
        name: name.into(),
        value: value.into(),
    }
}

fn req(fields: &[(&'static str, &'static str)]) -> Result<BodyKind, PeerError> {
    request_body(&request(Version::Http11, fields))
}

fn response(
    status: u16,
    version: Version,
    fields: &[(&'static str, &'static str)],
) -> ResponseHead {
    let mut head = ResponseHead::new(status);
    head.version = version;
    head.fields = fields.iter().map(|&(n, v)| field(n, v)).collect::<Fields>();
    head
}

fn res(fields: &[(&'static str, &'static str)]) -> Result<BodyKind, PeerError> {
    response_body(&Method::Get, &response(200, Version::Http11, fields))
}

fn bad_framing(r: Result<BodyKind, PeerError>) -> bool {
    matches!(r, Err(PeerError::BadFraming(_)))
}

/// RFC 9112 §6.3 rule 7: no Transfer-Encoding and no Content-Length means
/// no body for a request.
#[test]
fn rfc9112_6_3_rule_7_request_without_framing_is_empty() {
    assert_eq!(req(&[]), Ok(BodyKind::Empty));
    assert_eq!(req(&[("Content-Length", "0")]), Ok(BodyKind::Empty));
    assert_eq!(req(&[("Content-Length", "42")]), Ok(BodyKind::Length(42)));
    assert_eq!(req(&[("content-length", "007")]), Ok(BodyKind::Length(7)));
    assert_eq!(
        req(&[("Content-Length", "18446744073709551615")]),
        Ok(BodyKind::Length(u64::MAX))
    );
}

/// RFC 9112 §6.3 rule 4 / §7: `chunked` (any case) as the final coding.
#[test]
fn rfc9112_6_3_rule_4_chunked_request() {
    assert_eq!(
        req(&[("Transfer-Encoding", "chunked")]),
        Ok(BodyKind::Chunked)
    );
    assert_eq!(
        req(&[("transfer-encoding", "ChUnKeD")]),
        Ok(BodyKind::Chunked)
    );
    // RFC 9110 §5.6.1.2: OWS around commas and empty elements are accepted.
    assert_eq!(
        req(&[("Transfer-Encoding", " , chunked ,\t")]),
        Ok(BodyKind::Chunked)
    );
}

/// RFC 9112 §6.3 ¶3 (rule 3): Transfer-Encoding with Content-Length "ought
/// to be handled as an error" by a server: rejected.
#[test]
fn rfc9112_6_3_rule_3_te_and_cl_is_rejected() {
    assert!(bad_framing(req(&[
        ("Transfer-Encoding", "chunked"),
        ("Content-Length", "5")
    ])));
    assert!(bad_framing(req(&[
        ("Content-Length", "0"),
        ("Transfer-Encoding", "chunked")
    ])));
    // Even an invalid Content-Length next to TE is the same smuggling attempt.
    assert!(bad_framing(req(&[
        ("Transfer-Encoding", "chunked"),
        ("Content-Length", "x")
    ])));
}

/// RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message MUST be treated
/// as faulty framing.
#[test]
fn rfc9112_6_1_te_in_http10_is_faulty() {
    let head = request(Version::Http10, &[("Transfer-Encoding", "chunked")]);
    assert!(bad_framing(request_body(&head)));
    let head = response(200, Version::Http10, &[("Transfer-Encoding", "chunked")]);
    assert!(bad_framing(response_body(&Method::Get, &head)));
    // Content-Length alone is fine in HTTP/1.0.
    let head = request(Version::Http10, &[("Content-Length", "3")]);
    assert_eq!(request_body(&head), Ok(BodyKind::Length(3)));
}

/// RFC 9112 §6.3 rule 4: a request whose final coding is not chunked MUST
/// get 400.
#[test]
fn rfc9112_6_3_rule_4_request_not_ending_in_chunked_is_400() {
    for te in ["gzip", "chunked, gzip", "identity", "chunked;x=1"] {
        let r = req(&[("Transfer-Encoding", te)]);
        assert!(bad_framing(r.clone()), "{te}: {r:?}");
        assert_eq!(r.map_err(|e| e.status()), Err(400));
    }
    // The last coding counts across several fields.
    assert!(bad_framing(req(&[
        ("Transfer-Encoding", "chunked"),
        ("Transfer-Encoding", "gzip")
    ])));
}

/// RFC 9112 §6.1: a sender MUST NOT apply chunked more than once.
#[test]
fn rfc9112_6_1_chunked_twice_is_rejected() {
    assert!(bad_framing(req(&[(
        "Transfer-Encoding",
        "chunked, chunked"
    )])));
    assert!(bad_framing(req(&[
        ("Transfer-Encoding", "chunked"),
        ("Transfer-Encoding", "chunked")
    ])));
    assert!(bad_framing(res(&[(
        "Transfer-Encoding",
        "chunked, chunked"
    )])));
}

/// RFC 9112 §6.1: a server that receives a transfer coding it does not
/// understand SHOULD respond 501.
#[test]
fn rfc9112_6_1_unknown_coding_is_501() {
    let r = req(&[("Transfer-Encoding", "gzip, chunked")]);
    assert_eq!(r, Err(PeerError::UnsupportedTransferCoding));
    assert_eq!(PeerError::UnsupportedTransferCoding.status(), 501);
    assert_eq!(
        req(&[
            ("Transfer-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked")
        ]),
        Err(PeerError::UnsupportedTransferCoding)
    );
}

/// RFC 9112 §6.1 / RFC 9110 §10.1.4: transfer-coding = token; invalid
/// tokens and a field with no coding are faulty framing.
#[test]
fn rfc9112_6_1_invalid_transfer_coding_syntax() {
    for te in [
        "",
        " , ",
        "chun ked",
        "\"chunked\"",
        "chunked/1",
        "x@y, chunked",
    ] {
        assert!(bad_framing(req(&[("Transfer-Encoding", te)])), "{te:?}");
    }
}

/// RFC 9110 §8.6: Content-Length = 1*DIGIT.
#[test]
fn rfc9110_8_6_content_length_must_be_digits() {
    for cl in [
        "+5",
        "-1",
        "0x5",
        "",
        " ",
        "1 2",
        "5a",
        "1.0",
        "18446744073709551616",
        "99999999999999999999",
    ] {
        let r = req(&[("Content-Length", cl)]);
        assert!(bad_framing(r.clone()), "{cl:?}: {r:?}");
    }
}

/// RFC 9110 §8.6: repeated identical values (as fields or a list) may be
/// taken as one; differing values are invalid.
#[test]
fn rfc9110_8_6_repeated_content_length() {
    assert_eq!(req(&[("Content-Length", "5, 5")]), Ok(BodyKind::Length(5)));
    assert_eq!(
        req(&[("Content-Length", "5"), ("content-length", "5")]),
        Ok(BodyKind::Length(5))
    );
    assert!(bad_framing(req(&[("Content-Length", "5, 6")])));
    assert!(bad_framing(req(&[
        ("Content-Length", "5"),
        ("Content-Length", "6")
    ])));
    assert!(bad_framing(req(&[("Content-Length", "5,")])));
    assert!(bad_framing(res(&[("Content-Length", "1,2")])));
}

/// RFC 9112 §6.3 rule 1: responses to HEAD and 1xx/204/304 end at the head,
/// whatever their fields say.
#[test]
fn rfc9112_6_3_rule_1_bodyless_responses() {
    let with_len = [("Content-Length", "10")];
    let head = response(200, Version::Http11, &with_len);
    assert_eq!(response_body(&Method::Head, &head), Ok(BodyKind::Empty));
    for status in [100, 199, 204, 304] {
        let head = response(status, Version::Http11, &[("Transfer-Encoding", "chunked")]);
        assert_eq!(
            response_body(&Method::Get, &head),
            Ok(BodyKind::Empty),
            "{status}"
        );
    }
    let head = response(200, Version::Http11, &with_len);
    assert_eq!(response_body(&Method::Get, &head), Ok(BodyKind::Length(10)));
}

/// RFC 9112 §6.3 rule 2: a 2xx to CONNECT has no body: the connection is a
/// tunnel from then on. Other statuses to CONNECT are framed as usual.
#[test]
fn rfc9112_6_3_rule_2_connect_2xx_is_a_tunnel() {
    let head = response(200, Version::Http11, &[("Content-Length", "10")]);
    assert_eq!(response_body(&Method::Connect, &head), Ok(BodyKind::Empty));
    let head = response(407, Version::Http11, &[("Content-Length", "10")]);
    assert_eq!(
        response_body(&Method::Connect, &head),
        Ok(BodyKind::Length(10))
    );
}

/// RFC 9112 §6.3 rules 3 and 4 for responses: TE wins over CL; chunked last
/// → chunked; otherwise read until close.
#[test]
fn rfc9112_6_3_rules_3_4_response_transfer_encoding() {
    assert_eq!(
        res(&[("Transfer-Encoding", "chunked")]),
        Ok(BodyKind::Chunked)
    );
    assert_eq!(
        res(&[("Transfer-Encoding", "chunked"), ("Content-Length", "5")]),
        Ok(BodyKind::Chunked)
    );
    assert_eq!(
        res(&[
            ("Content-Length", "bogus"),
            ("Transfer-Encoding", "chunked")
        ]),
        Ok(BodyKind::Chunked)
    );
    assert_eq!(
        res(&[("Transfer-Encoding", "gzip")]),
        Ok(BodyKind::CloseDelimited)
    );
    assert_eq!(
        res(&[("Transfer-Encoding", "chunked, gzip")]),
        Ok(BodyKind::CloseDelimited)
    );
    // Other codings are not decoded: framing only, the head shows the rest.
    assert_eq!(
        res(&[("Transfer-Encoding", "gzip, chunked")]),
        Ok(BodyKind::Chunked)
    );
    assert!(bad_framing(res(&[("Transfer-Encoding", "chun ked")])));
}

/// RFC 9112 §6.3 rules 5, 6, 8 for responses.
#[test]
fn rfc9112_6_3_rules_5_6_8_response_content_length() {
    assert!(bad_framing(res(&[("Content-Length", "-1")])));
    assert_eq!(res(&[("Content-Length", "0")]), Ok(BodyKind::Empty));
    assert_eq!(res(&[("Content-Length", "3")]), Ok(BodyKind::Length(3)));
    assert_eq!(res(&[]), Ok(BodyKind::CloseDelimited));
}
