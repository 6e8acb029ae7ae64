//! Sending a head again from the copy gives what serializing it gives.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;

use crate::config::Config;
use crate::connection::Side;
use crate::event::Event;
use crate::h1::conn::H1Conn;
use crate::head::ResponseHead;
use crate::time::Instant;

const REQUESTS: [&[u8]; 6] = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
];

/// Responses: status, reason, fields (some repeat exactly, some differ only
/// in case or value, some are refused).
fn response(i: usize) -> ResponseHead {
    let (status, reason, fields): (u16, &str, &[(&str, &str)]) = match i {
        0..=2 => (
            200,
            "",
            &[("content-type", "text/plain"), ("content-length", "5")],
        ),
        3 => (
            200,
            "",
            &[("content-type", "text/plain"), ("Content-Length", "5")],
        ),
        4 => (
            200,
            "",
            &[("content-type", "text/plain"), ("content-length", "05")],
        ),
        5 => (
            200,
            "Fine",
            &[("content-type", "text/plain"), ("content-length", "5")],
        ),
        6 => (
            404,
            "",
            &[("content-type", "text/plain"), ("content-length", "5")],
        ),
        7 => (200, "", &[("content-type", "text/plain")]),
        8 => (200, "", &[("transfer-encoding", "chunked")]),
        9 => (200, "", &[("connection", "close"), ("content-length", "5")]),
        10 => (204, "", &[]),
        11 => (304, "", &[("etag", "\"x\"")]),
        12 => (200, "", &[("content-length", "x")]),
        13 => (200, "", &[("bad name", "v")]),
        14 => (200, "", &[("content-length", "5"), ("content-length", "5")]),
        _ => (200, "", &[("x", "bad\rvalue")]),
    };
    let mut head = ResponseHead::new(status);
    head.reason = Bytes::copy_from_slice(reason.as_bytes());
    for &(n, v) in fields {
        head.fields
            .push(n.as_bytes().to_vec(), v.as_bytes().to_vec());
    }
    head
}

fn server(off: bool) -> H1Conn {
    let mut c = H1Conn::new(Side::Server, Arc::new(Config::default()), Instant::ZERO);
    c.last_head.get_or_insert_with(Box::default).off = off;
    c
}

fn out(c: &mut H1Conn) -> Vec<u8> {
    let v: Vec<u8> = c.poll_transmit().iter().flat_map(|b| b.to_vec()).collect();
    c.transmit_complete(v.len());
    v
}

/// Over long pseudo-random runs of requests and responses (repeats, changed
/// framing additions, HEAD, HTTP/1.0, close, refused heads), a connection
/// that sends repeated heads from its copy writes exactly the bytes and
/// reports exactly the results and events of one that serializes each.
#[test]
fn repeated_heads_are_sent_as_serializing_them_would() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let (mut fast, mut slow) = (server(false), server(true));
    let mut sent = 0;
    for _ in 0..20_000 {
        if fast.is_closed() || !fast.wants_read() {
            (fast, slow) = (server(false), server(true));
        }
        let req = REQUESTS[next(REQUESTS.len())];
        fast.recv(Instant::ZERO, req);
        slow.recv(Instant::ZERO, req);
        let mut ids = Vec::new();
        loop {
            let (a, b) = (fast.poll_event(), slow.poll_event());
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
            match a {
                Some(Event::Request { id, .. }) => ids.push(id),
                Some(_) => {}
                None => break,
            }
        }
        for id in ids {
            // Mostly the same head, so that repeats are common.
            let which = if next(2) == 0 { next(16) } else { 0 };
            let end = next(8) == 0;
            let r = fast.send_response(id, response(which), end);
            assert_eq!(r, slow.send_response(id, response(which), end), "{which}");
            if r.is_ok() && !end {
                let body = if which == 7 || which == 8 { 3 } else { 5 };
                let mut a = Bytes::from(vec![b'x'; body]);
                let mut b = a.clone();
                assert_eq!(fast.write(id, &mut a), slow.write(id, &mut b));
                assert_eq!(fast.finish(id, None), slow.finish(id, None));
                sent += 1;
            }
            assert_eq!(out(&mut fast), out(&mut slow), "{which}");
        }
    }
    assert!(sent > 5_000, "{sent}");
}
