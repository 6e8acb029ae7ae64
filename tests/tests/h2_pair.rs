//! HTTP/2 scenarios through the in-memory pair (RFC 9113).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::*;

fn h2_get(path: &str) -> RequestHead {
    request(Method::Get, path, &[("host", "example.com")])
}

/// RFC 9113 §3.4, §8.1: a GET over prior knowledge gets its response.
#[test]
fn get_over_prior_knowledge() {
    let mut p = Pair::h2();
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    p.request(h2_get("/hello"), b"");
    p.drive();
    assert_eq!(
        p.client.app_log(),
        vec!["app: body 1: GET /hello ".to_owned()]
    );
    assert!(
        p.client.count(|e| matches!(e, Event::Finished { .. })) == 1,
        "{:#?}",
        p.client.log
    );
    assert!(
        p.server.count(|e| matches!(e, Event::Finished { .. })) == 1,
        "{:#?}",
        p.server.log
    );
    assert!(p.client.closed().is_none());
}

/// RFC 9113 §8.1: request and response content both ways, many streams.
#[test]
fn concurrent_posts_with_bodies() {
    let mut p = Pair::h2();
    p.server.app = Some(echo_server());
    p.client.app = Some(reader());
    for i in 0..50 {
        let body = format!("body-{i}");
        p.request(
            request(Method::Post, &format!("/{i}"), &[("host", "x")]),
            body.as_bytes(),
        );
    }
    p.drive();
    let log = p.client.app_log();
    assert_eq!(log.len(), 50, "{log:#?}");
    assert!(log.iter().any(|l| l.contains("POST /7 body-7")), "{log:#?}");
}
