//! `101 Switching Protocols` and `CONNECT` tunnels: the transport is handed
//! over to the application on both ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;

use adapter_tokio::{Client, Incoming, service_fn, upgrade};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Empty;
use support::{start, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Answers upgrade requests with 101 (or 200 to CONNECT), then echoes the
/// tunnel's bytes upper-cased.
async fn upgrader(mut req: Request<Incoming>) -> Result<Response<Empty<Bytes>>, Infallible> {
    let on_upgrade = upgrade::on(&mut req);
    tokio::spawn(async move {
        let mut io = on_upgrade.await.expect("upgraded");
        let mut buf = [0u8; 1024];
        loop {
            let n = io.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            io.write_all(&buf[..n].to_ascii_uppercase()).await.unwrap();
        }
    });
    let mut resp = Response::new(Empty::new());
    if req.method() != Method::CONNECT {
        *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        resp.headers_mut()
            .insert(header::CONNECTION, "upgrade".parse().unwrap());
        resp.headers_mut()
            .insert(header::UPGRADE, "shout".parse().unwrap());
    }
    Ok(resp)
}

#[tokio::test]
async fn upgrade_with_our_client() {
    within(10, async {
        let server = start(service_fn(upgrader)).await;
        let req = Request::get(server.url("/ws"))
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "shout")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let resp = Client::new().request(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
        let mut io = upgrade::on(resp).await.unwrap();
        io.write_all(b"hello tunnel").await.unwrap();
        let mut buf = [0u8; 12];
        io.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"HELLO TUNNEL");
    })
    .await;
}

#[tokio::test]
async fn bytes_sent_right_after_the_request_reach_the_tunnel() {
    within(10, async {
        let server = start(service_fn(upgrader)).await;
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        // The tunnel's first bytes travel with the request head.
        s.write_all(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nearly")
            .await
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&got).ends_with("EARLY") {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "{}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(
            !text.to_ascii_lowercase().contains("content-length"),
            "{text}"
        );
        s.write_all(b" and late").await.unwrap();
        let n = s.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b" AND LATE");
    })
    .await;
}

#[tokio::test]
async fn on_upgrade_fails_without_an_upgrade() {
    within(10, async {
        let server = start(service_fn(|mut req: Request<Incoming>| async move {
            let on_upgrade = upgrade::on(&mut req);
            let status = if on_upgrade.await.is_err() {
                "no upgrade"
            } else {
                "?"
            };
            let _ = status;
            Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
        }))
        .await;
        let resp = Client::new().get(server.url("/")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    })
    .await;
}
