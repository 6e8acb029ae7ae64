//! Interop with hyper 1.x over loopback: hyper's client against our server,
//! and our client against hyper's server, with the same test service on
//! both servers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop_support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use adapter_tokio::Client;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Body;
use hyper_util::rt::TokioIo;
use interop_support::{
    BIG_LEN, BoxBody, HELLO, HyperServer, Streamed, empty, full, pattern, start_hyper, start_ours,
    trailers,
};
use tokio::net::TcpStream;

/// Fails a test that hangs instead of letting it hang.
const LIMIT: Duration = Duration::from_secs(20);

// ------------------------------------------------------------------ bodies

/// `data` cut into `n` roughly equal pieces.
fn pieces(data: &[u8], n: usize) -> Vec<Bytes> {
    data.chunks(data.len().div_ceil(n))
        .map(Bytes::copy_from_slice)
        .collect()
}

/// The `trailer` header declaring [`trailers`]: hyper sends only declared
/// trailer fields.
fn trailer_names() -> HeaderValue {
    HeaderValue::from_static("x-checksum, x-count")
}

// ------------------------------------------------------------------ hyper server

// ------------------------------------------------------------------ hyper client -> ours

type HyperSender<B> = hyper::client::conn::http1::SendRequest<B>;

/// One hyper client connection to `addr`; the connection task's handle
/// resolves when the connection ends.
async fn hyper_connect<B>(addr: SocketAddr) -> (HyperSender<B>, tokio::task::JoinHandle<bool>)
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
    let (sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    let task = tokio::spawn(async move {
        match conn.await {
            Ok(()) => true,
            Err(e) => {
                eprintln!("hyper client connection error: {e}");
                false
            }
        }
    });
    (sender, task)
}

fn req(method: Method, addr: SocketAddr, path: &str, body: impl Into<BoxBody>) -> Request<BoxBody> {
    Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header(header::HOST, addr.to_string())
        .body(body.into())
        .unwrap()
}

/// Sends `req` on a hyper connection; returns status, headers, body, trailers.
async fn hyper_send(
    sender: &mut HyperSender<BoxBody>,
    req: Request<BoxBody>,
) -> (StatusCode, HeaderMap, Bytes, Option<HeaderMap>) {
    sender.ready().await.expect("connection still usable");
    let resp = sender.send_request(req).await.expect("response");
    let (parts, body) = resp.into_parts();
    let collected = body.collect().await.expect("response body");
    let trailers = collected.trailers().cloned();
    (parts.status, parts.headers, collected.to_bytes(), trailers)
}

#[tokio::test]
async fn hyper_client_many_requests_on_one_connection() {
    let (addr, stats) = start_ours().await;
    tokio::time::timeout(LIMIT, async {
        let (mut tx, _conn) = hyper_connect(addr).await;

        let (status, headers, body, _) =
            hyper_send(&mut tx, req(Method::GET, addr, "/", empty())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain");
        assert_eq!(headers[header::CONTENT_LENGTH], "13");
        assert_eq!(body, HELLO);

        let data = pattern(100_000);
        let (status, _, body, _) = hyper_send(
            &mut tx,
            req(Method::POST, addr, "/echo", full(data.clone())),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body == data, "content-length upload echoed wrong");

        let data = pattern(250_001);
        let chunked = Streamed::new(pieces(&data, 5), None, Duration::ZERO);
        let (status, _, body, _) =
            hyper_send(&mut tx, req(Method::PUT, addr, "/echo", chunked.boxed())).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body == data, "chunked upload echoed wrong");

        let (status, headers, body, _) =
            hyper_send(&mut tx, req(Method::GET, addr, "/big", empty())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[header::CONTENT_LENGTH],
            BIG_LEN.to_string().as_str()
        );
        assert_eq!(body.len(), BIG_LEN);

        let data = pattern(64 * 1024 + 1);
        let slow = Streamed::new(pieces(&data, 4), None, Duration::from_millis(20));
        let (status, headers, body, _) =
            hyper_send(&mut tx, req(Method::POST, addr, "/stream", slow.boxed())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::TRANSFER_ENCODING], "chunked");
        assert!(body == data, "streamed echo wrong");

        let (_, _, body, _) = hyper_send(&mut tx, req(Method::GET, addr, "/last", empty())).await;
        assert_eq!(body, "/last");
    })
    .await
    .expect("timed out");
    assert_eq!(
        stats.accepted(),
        1,
        "hyper's requests did not share one connection"
    );
    assert_eq!(stats.requests(), 6);
}

#[tokio::test]
async fn hyper_client_head_request() {
    let (addr, _) = start_ours().await;
    tokio::time::timeout(LIMIT, async {
        let (mut tx, _conn) = hyper_connect(addr).await;
        let (status, headers, body, _) =
            hyper_send(&mut tx, req(Method::HEAD, addr, "/", empty())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_LENGTH], "13");
        assert!(body.is_empty());
        // The connection is still in step after a body-less HEAD response.
        let (_, _, body, _) = hyper_send(&mut tx, req(Method::GET, addr, "/", empty())).await;
        assert_eq!(body, HELLO);
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn hyper_client_trailers_round_trip() {
    let (addr, _) = start_ours().await;
    tokio::time::timeout(LIMIT, async {
        let (mut tx, _conn) = hyper_connect(addr).await;
        let data = pattern(10_000);
        let body = Streamed::new(pieces(&data, 3), Some(trailers()), Duration::ZERO);
        let mut r = req(Method::POST, addr, "/stream", body.boxed());
        r.headers_mut()
            .insert(header::TE, HeaderValue::from_static("trailers"));
        r.headers_mut().insert(header::TRAILER, trailer_names());
        let (status, _, body, got) = hyper_send(&mut tx, r).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body == data);
        assert_eq!(got.expect("response trailers"), trailers());
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn hyper_client_connection_close_ends_cleanly() {
    let (addr, stats) = start_ours().await;
    tokio::time::timeout(LIMIT, async {
        let (mut tx, conn) = hyper_connect(addr).await;
        let mut r = req(Method::GET, addr, "/bye", empty());
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        let (status, headers, body, _) = hyper_send(&mut tx, r).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONNECTION], "close");
        assert_eq!(body, "/bye");
        assert!(conn.await.unwrap(), "hyper saw an unclean close");
    })
    .await
    .expect("timed out");
    assert_eq!(stats.requests(), 1);
}

// ------------------------------------------------------------------ our client -> hyper

async fn ours_send<B>(
    client: &Client,
    method: Method,
    addr: SocketAddr,
    path: &str,
    body: B,
    te_trailers: bool,
) -> (StatusCode, HeaderMap, Bytes, Option<HeaderMap>)
where
    B: Body<Data = Bytes, Error = Infallible> + Send + 'static,
{
    let mut r = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if te_trailers {
        r = r
            .header(header::TE, "trailers")
            .header(header::TRAILER, trailer_names());
    }
    let resp = client
        .request(r.body(body).unwrap())
        .await
        .expect("response");
    let (parts, body) = resp.into_parts();
    let collected = body.collect().await.expect("response body");
    let trailers = collected.trailers().cloned();
    (parts.status, parts.headers, collected.to_bytes(), trailers)
}

#[tokio::test]
async fn our_client_against_hyper_server_reuses_the_connection() {
    let (addr, accepted) = start_hyper(HyperServer::Http1).await;
    tokio::time::timeout(LIMIT, async {
        let client = Client::new();

        for _ in 0..3 {
            let (status, headers, body, _) =
                ours_send(&client, Method::GET, addr, "/", Empty::new(), false).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(headers[header::CONTENT_TYPE], "text/plain");
            assert_eq!(body, HELLO);
        }

        let data = pattern(100_000);
        let (status, _, body, _) = ours_send(
            &client,
            Method::POST,
            addr,
            "/echo",
            Full::new(Bytes::from(data.clone())),
            false,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body == data, "content-length upload echoed wrong");

        let data = pattern(250_001);
        let chunked = Streamed::new(pieces(&data, 5), None, Duration::from_millis(5));
        let (status, _, body, _) =
            ours_send(&client, Method::PUT, addr, "/echo", chunked, false).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body == data, "chunked upload echoed wrong");

        let (status, headers, body, _) =
            ours_send(&client, Method::GET, addr, "/big", Empty::new(), false).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[header::CONTENT_LENGTH],
            BIG_LEN.to_string().as_str()
        );
        assert_eq!(body.len(), BIG_LEN);

        // hyper streams this one back chunked while we are still sending.
        let data = pattern(300_000);
        let slow = Streamed::new(pieces(&data, 6), None, Duration::from_millis(10));
        let (status, headers, body, _) =
            ours_send(&client, Method::POST, addr, "/stream", slow, false).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::TRANSFER_ENCODING], "chunked");
        assert!(body == data, "streamed echo wrong");
    })
    .await
    .expect("timed out");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "our client opened more than one connection to hyper"
    );
}

#[tokio::test]
async fn our_client_trailers_round_trip_through_hyper() {
    let (addr, _) = start_hyper(HyperServer::Http1).await;
    tokio::time::timeout(LIMIT, async {
        let client = Client::new();
        let data = pattern(10_000);
        let body = Streamed::new(pieces(&data, 3), Some(trailers()), Duration::ZERO);
        let (status, _, got, t) =
            ours_send(&client, Method::POST, addr, "/stream", body, true).await;
        assert_eq!(status, StatusCode::OK);
        assert!(got == data);
        assert_eq!(t.expect("response trailers"), trailers());
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn our_handshake_over_a_tcp_stream_to_hyper() {
    let (addr, accepted) = start_hyper(HyperServer::Http1).await;
    tokio::time::timeout(LIMIT, async {
        let io = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = adapter_tokio::handshake(io);
        let conn = tokio::spawn(conn);
        for path in ["/a", "/b", "/c"] {
            let req = Request::get(format!("http://{addr}{path}"))
                .header(header::HOST, addr.to_string())
                .body(Empty::<Bytes>::new())
                .unwrap();
            let resp = sender.send_request(req).await.expect("response");
            assert_eq!(resp.status(), StatusCode::OK);
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, path);
        }
        drop(sender);
        conn.await
            .unwrap()
            .expect("connection ends cleanly once the sender is gone");
    })
    .await
    .expect("timed out");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}
