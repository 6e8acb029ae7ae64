//! Trailer fields (RFC 9110 §6.5) sent and received by the std server and
//! client: HTTP/1.1 after the last chunk (RFC 9112 §7.1.2), HTTP/2 in a
//! trailing HEADERS frame (RFC 9113 §8.1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;

use adapter_std::{Body, SendBody, Server};
use http::{HeaderMap, HeaderValue, Request, Response};
use support::{GUARD, clients, start};

fn trailers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in pairs {
        map.append(*n, HeaderValue::from_static(v));
    }
    map
}

/// A checksum only known once the body went out: the kind of value
/// trailers exist for.
fn sum(data: &[u8]) -> String {
    data.iter()
        .fold(0u32, |a, &b| a.wrapping_mul(31).wrapping_add(u32::from(b)))
        .to_string()
}

/// `/full`: a body in full with trailers; `/stream`: a streamed body whose
/// trailer is computed while writing; `/empty`: no bytes, only trailers;
/// `/echo-trailers`: reads the request body and answers with the request's
/// trailers as the response body.
fn app(req: Request<Body>) -> Response<SendBody> {
    match req.uri().path() {
        "/full" => Response::new(
            SendBody::from("full body").with_trailers(trailers(&[("x-checksum", "full")])),
        ),
        "/stream" => Response::new(SendBody::writer(|w| {
            let mut all = Vec::new();
            for i in 0..50u8 {
                let piece = vec![b'a' + i % 26; 1000];
                w.write_all(&piece)?;
                all.extend_from_slice(&piece);
            }
            let mut t = HeaderMap::new();
            t.insert("x-checksum", sum(&all).parse().unwrap());
            w.set_trailers(t);
            Ok(())
        })),
        "/empty" => {
            Response::new(SendBody::empty().with_trailers(trailers(&[("grpc-status", "0")])))
        }
        _ => {
            let mut body = req.into_body();
            let mut data = Vec::new();
            body.read_to_end(&mut data).unwrap();
            let mut text = format!("{} bytes;", data.len());
            if let Some(t) = body.trailers() {
                let mut names: Vec<_> = t
                    .iter()
                    .map(|(n, v)| format!("{n}={}", v.to_str().unwrap()))
                    .collect();
                names.sort();
                text.push_str(&names.join(","));
            }
            Response::new(SendBody::from(text))
        }
    }
}

/// RFC 9112 §7.1.2 and RFC 9113 §8.1: trailers of a response given in
/// full reach the client after the body; the body is not framed by
/// `content-length` (HTTP/1.1 must chunk it to carry trailers).
#[test]
fn rfc9112_7_1_2_rfc9113_8_1_server_sends_trailers_after_a_full_body() {
    let server = start(Server::builder(), app);
    for (client, version) in clients() {
        let resp = client.get(server.url("/full").as_str()).unwrap();
        assert_eq!(resp.version(), version);
        assert!(!resp.headers().contains_key("content-length"));
        let mut body = resp.into_body();
        assert!(body.trailers().is_none(), "trailers before the end");
        let mut data = Vec::new();
        body.read_to_end(&mut data).unwrap();
        assert_eq!(data, b"full body");
        assert_eq!(body.trailers().unwrap()["x-checksum"], "full");
    }
    server.stop();
}

/// Trailers set by a streamed body at its end (a checksum of what it
/// wrote), both protocols.
#[test]
fn rfc9112_7_1_2_rfc9113_8_1_streamed_body_sets_trailers_at_its_end() {
    let server = start(Server::builder(), app);
    for (client, _) in clients() {
        let resp = client.get(server.url("/stream").as_str()).unwrap();
        let mut body = resp.into_body();
        let mut data = Vec::new();
        body.read_to_end(&mut data).unwrap();
        assert_eq!(data.len(), 50_000);
        assert_eq!(body.trailers().unwrap()["x-checksum"], sum(&data).as_str());
    }
    server.stop();
}

/// RFC 9113 §8.1: a response of only a head and trailers (HEADERS, then
/// HEADERS with END_STREAM; the gRPC shape), and HTTP/1.1's equivalent
/// (a zero-length chunked body with a trailer section).
#[test]
fn rfc9113_8_1_empty_body_with_trailers() {
    let server = start(Server::builder(), app);
    for (client, _) in clients() {
        let resp = client.get(server.url("/empty").as_str()).unwrap();
        let mut body = resp.into_body();
        let mut data = Vec::new();
        body.read_to_end(&mut data).unwrap();
        assert!(data.is_empty());
        assert_eq!(body.trailers().unwrap()["grpc-status"], "0");
    }
    server.stop();
}

/// The client sends trailers with a request body, given in full and
/// streamed; the server's `Body::trailers` has them after the end.
#[test]
fn rfc9112_7_1_2_rfc9113_8_1_client_sends_request_trailers() {
    let server = start(Server::builder(), app);
    for (client, _) in clients() {
        let mut req = Request::new(
            SendBody::from(vec![b'q'; 3000])
                .with_trailers(trailers(&[("x-a", "1"), ("x-b", "two")])),
        );
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = server.url("/echo-trailers").parse().unwrap();
        let resp = client.request(req).unwrap();
        let text = resp.into_body().collect().unwrap();
        assert_eq!(String::from_utf8(text).unwrap(), "3000 bytes;x-a=1,x-b=two");

        let mut req = Request::new(SendBody::writer(|w| {
            w.write_all(&[b'r'; 70_000])?;
            w.set_trailers(trailers(&[("x-done", "yes")]));
            Ok(())
        }));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = server.url("/echo-trailers").parse().unwrap();
        let resp = client.request(req).unwrap();
        let text = resp.into_body().collect().unwrap();
        assert_eq!(String::from_utf8(text).unwrap(), "70000 bytes;x-done=yes");
    }
    server.stop();
}

/// RFC 9112 §7.1.2 on the wire: the last chunk carries the trailer
/// section (`0`, the fields, an empty line) and the head has no
/// `content-length`.
#[test]
fn rfc9112_7_1_2_trailer_section_on_the_wire() {
    let server = start(Server::builder(), app);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(GUARD)).unwrap();
    s.write_all(b"GET /full HTTP/1.1\r\nhost: x\r\nte: trailers\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap().to_ascii_lowercase();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert_eq!(body, "9\r\nfull body\r\n0\r\nx-checksum: full\r\n\r\n");
    server.stop();
}
