//! HTTP/2 interop with hyper 1.x (prior knowledge) over loopback: hyper's
//! HTTP/2 client against our server, and our HTTP/2 client against hyper's
//! HTTP/2 server, with the same test service on both servers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop_support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use adapter_tokio::{Client, Protocol};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Body;
use hyper_util::rt::{TokioExecutor, TokioIo};
use interop_support::{
    BIG_LEN, BoxBody, HELLO, HyperServer, Streamed, empty, full, pattern, start_hyper, start_ours,
    trailers,
};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// Fails a test that hangs instead of letting it hang.
const LIMIT: Duration = Duration::from_secs(20);

/// Concurrent streams in the multiplexing tests.
const STREAMS: usize = 50;

// ------------------------------------------------------------------ bodies

/// `data` cut into pieces of `size` bytes.
fn pieces(data: &[u8], size: usize) -> Vec<Bytes> {
    data.chunks(size).map(Bytes::copy_from_slice).collect()
}

// ------------------------------------------------------------------ hyper client -> ours

type HyperSender = hyper::client::conn::http2::SendRequest<BoxBody>;

/// One hyper HTTP/2 client connection to `addr` (prior knowledge).
async fn hyper_h2_connect(addr: SocketAddr) -> HyperSender {
    let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
    let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
        .await
        .unwrap();
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("hyper h2 client connection error: {e}");
        }
    });
    sender
}

fn req(method: Method, addr: SocketAddr, path: &str, body: BoxBody) -> Request<BoxBody> {
    Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(body)
        .unwrap()
}

/// Sends on hyper's HTTP/2 connection; returns status, body and trailers.
async fn hyper_send(
    sender: &mut HyperSender,
    r: Request<BoxBody>,
) -> (StatusCode, Version, Bytes, Option<HeaderMap>) {
    sender.ready().await.unwrap();
    let resp = sender.send_request(r).await.unwrap();
    let (parts, body) = resp.into_parts();
    let collected = body.collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    (parts.status, parts.version, collected.to_bytes(), trailers)
}

#[tokio::test]
async fn hyper_h2_client_get_and_big_body() {
    let (addr, stats) = start_ours().await;
    tokio::time::timeout(LIMIT, async {
        let mut sender = hyper_h2_connect(addr).await;
        let (status, version, body, _) =
            hyper_send(&mut sender, req(Method::GET, addr, "/", empty())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(version, Version::HTTP_2);
        assert_eq!(body, HELLO);
        let (_, _, body, _) =
            hyper_send(&mut sender, req(Method::GET, addr, "/big", empty())).await;
        assert_eq!(body.len(), BIG_LEN);
        assert!(body.iter().all(|&b| b == b'x'));
    })
    .await
    .expect("timed out");
    assert_eq!(stats.accepted(), 1);
    assert_eq!(stats.requests(), 2);
}

#[tokio::test]
async fn hyper_h2_client_posts_one_mebibyte() {
    let (addr, stats) = start_ours().await;
    tokio::time::timeout(LIMIT, async {
        let mut sender = hyper_h2_connect(addr).await;
        let data = pattern(1 << 20);
        // Collected by the server, then sent back.
        let (status, _, body, _) = hyper_send(
            &mut sender,
            req(Method::POST, addr, "/echo", full(data.clone())),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body == data, "echoed bytes differ");
        // Streamed back as it arrives, sent in pieces.
        let streamed = Streamed::new(pieces(&data, 10_000), None, Duration::ZERO).boxed();
        let (_, _, body, _) =
            hyper_send(&mut sender, req(Method::POST, addr, "/stream", streamed)).await;
        assert!(body == data, "streamed echo differs");
    })
    .await
    .expect("timed out");
    assert_eq!(stats.accepted(), 1);
}

#[tokio::test]
async fn hyper_h2_client_fifty_concurrent_streams() {
    let (addr, stats) = start_ours().await;
    tokio::time::timeout(LIMIT, async {
        let sender = hyper_h2_connect(addr).await;
        let mut set = JoinSet::new();
        for i in 0..STREAMS {
            let mut sender = sender.clone();
            set.spawn(async move {
                let path = format!("/n{i}");
                let (status, _, body, _) =
                    hyper_send(&mut sender, req(Method::GET, addr, &path, empty())).await;
                assert_eq!(status, StatusCode::OK);
                assert_eq!(body, path);
            });
        }
        while let Some(done) = set.join_next().await {
            done.unwrap();
        }
    })
    .await
    .expect("timed out");
    assert_eq!(stats.accepted(), 1);
    assert_eq!(stats.requests(), STREAMS as u64);
}

#[tokio::test]
async fn hyper_h2_client_trailers_round_trip() {
    let (addr, _stats) = start_ours().await;
    tokio::time::timeout(LIMIT, async {
        let mut sender = hyper_h2_connect(addr).await;
        let body = Streamed::new(
            pieces(b"0123456789abcdef", 4),
            Some(trailers()),
            Duration::ZERO,
        )
        .boxed();
        let (status, _, body, got) =
            hyper_send(&mut sender, req(Method::POST, addr, "/stream", body)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "0123456789abcdef");
        assert_eq!(got.as_ref(), Some(&trailers()));
    })
    .await
    .expect("timed out");
}

// ------------------------------------------------------------------ our client -> hyper

fn h2_client() -> Client {
    Client::builder().http2_prior_knowledge().build()
}

async fn ours_send<B>(
    client: &Client,
    method: Method,
    addr: SocketAddr,
    path: &str,
    body: B,
) -> (StatusCode, Version, Bytes, Option<HeaderMap>)
where
    B: Body<Data = Bytes, Error = Infallible> + Send + 'static,
{
    let r = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(body)
        .unwrap();
    let resp = client.request(r).await.expect("response");
    let (parts, body) = resp.into_parts();
    let collected = body.collect().await.expect("response body");
    let trailers = collected.trailers().cloned();
    (parts.status, parts.version, collected.to_bytes(), trailers)
}

#[tokio::test]
async fn our_h2_client_against_hyper_server() {
    let (addr, accepted) = start_hyper(HyperServer::Http2).await;
    tokio::time::timeout(LIMIT, async {
        let client = h2_client();
        let (status, version, body, _) =
            ours_send(&client, Method::GET, addr, "/", Empty::new()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(version, Version::HTTP_2);
        assert_eq!(body, HELLO);
        let (_, _, body, _) = ours_send(&client, Method::GET, addr, "/big", Empty::new()).await;
        assert_eq!(body.len(), BIG_LEN);
        let data = pattern(1 << 20);
        let (_, _, body, _) = ours_send(
            &client,
            Method::POST,
            addr,
            "/echo",
            Full::new(Bytes::from(data.clone())),
        )
        .await;
        assert!(body == data, "echo differs");
        let streamed = Streamed::new(pieces(&data, 10_000), None, Duration::ZERO);
        let (_, _, body, _) = ours_send(&client, Method::PUT, addr, "/stream", streamed).await;
        assert!(body == data, "streamed echo differs");
    })
    .await
    .expect("timed out");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn our_h2_client_fifty_concurrent_streams_to_hyper() {
    let (addr, accepted) = start_hyper(HyperServer::Http2).await;
    tokio::time::timeout(LIMIT, async {
        let client = h2_client();
        let mut set = JoinSet::new();
        for i in 0..STREAMS {
            let client = client.clone();
            set.spawn(async move {
                let path = format!("/n{i}");
                let (status, _, body, _) =
                    ours_send(&client, Method::GET, addr, &path, Empty::new()).await;
                assert_eq!(status, StatusCode::OK);
                assert_eq!(body, path);
            });
        }
        while let Some(done) = set.join_next().await {
            done.unwrap();
        }
    })
    .await
    .expect("timed out");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn our_h2_client_trailers_round_trip_through_hyper() {
    let (addr, _accepted) = start_hyper(HyperServer::Http2).await;
    tokio::time::timeout(LIMIT, async {
        let client = h2_client();
        let body = Streamed::new(
            pieces(b"0123456789abcdef", 4),
            Some(trailers()),
            Duration::ZERO,
        );
        let (status, _, body, got) = ours_send(&client, Method::POST, addr, "/stream", body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "0123456789abcdef");
        assert_eq!(got.as_ref(), Some(&trailers()));
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn our_h2_handshake_over_a_tcp_stream_to_hyper() {
    let (addr, _accepted) = start_hyper(HyperServer::Http2).await;
    tokio::time::timeout(LIMIT, async {
        let io = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = adapter_tokio::handshake_with(io, Protocol::Http2);
        let conn = tokio::spawn(conn);
        let r = Request::get(format!("http://{addr}/x"))
            .body(Empty::<Bytes>::new())
            .unwrap();
        let resp = sender.send_request(r).await.unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "/x");
        drop(sender);
        conn.await.unwrap().unwrap();
    })
    .await
    .expect("timed out");
}
