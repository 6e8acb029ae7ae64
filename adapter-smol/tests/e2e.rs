//! End to end over loopback on smol: our server and our client, HTTP/1.1
//! and HTTP/2 (prior knowledge, sniffed by the server's `Protocol::Auto`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use adapter_smol::{Builder, Client, Incoming, service_fn};
use async_executor::Executor;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use support::{chan_body, echo, get, mebibyte, send_chunks, start, start_with, within};

const HELLO: &str = "Hello, World!";

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut resp = Response::new(Full::new(Bytes::from_static(HELLO.as_bytes())));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

fn client(h2: bool) -> Client {
    if h2 {
        Client::builder().http2_prior_knowledge().build()
    } else {
        Client::new()
    }
}

fn hello_get(h2: bool) {
    within(10, async {
        let server = start(service_fn(hello)).await;
        let resp = client(h2).request(get(server.url("/"))).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let version = if h2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        assert_eq!(resp.version(), version);
        assert_eq!(resp.headers()[header::CONTENT_LENGTH], "13");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/plain");
        let date = resp.headers()[header::DATE].to_str().unwrap().to_owned();
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, HELLO);
    });
}

#[test]
fn hello_get_h1() {
    hello_get(false);
}

#[test]
fn hello_get_h2() {
    hello_get(true);
}

#[test]
fn keep_alive_reuses_one_connection() {
    within(10, async {
        let server = start(service_fn(hello)).await;
        let client = Client::new();
        for _ in 0..5 {
            let resp = client.request(get(server.url("/"))).await.unwrap();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, HELLO);
        }
        assert_eq!(server.stats.accepted(), 1);
        assert_eq!(server.stats.requests(), 5);
    });
}

fn streaming_echo(h2: bool) {
    within(10, async {
        let server = start(service_fn(echo)).await;
        let (tx, body) = chan_body(2);
        let req = Request::post(server.url("/echo")).body(body).unwrap();
        let client = client(h2);
        let pending = smol::spawn(async move { client.request(req).await });
        // The response head arrives before the request body is complete:
        // nothing on the way is collecting.
        tx.send(Frame::data(Bytes::from(vec![0u8; 1000])))
            .await
            .unwrap();
        let resp = pending.await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let expected = mebibyte();
        let mut expected_with_prefix = vec![0u8; 1000];
        expected_with_prefix.extend_from_slice(&expected);
        let sender = send_chunks(tx, expected);
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        sender.await;
        assert_eq!(got.len(), expected_with_prefix.len());
        assert!(got == expected_with_prefix, "echoed bytes differ");
    });
}

#[test]
fn streaming_echo_of_one_mebibyte_h1() {
    streaming_echo(false);
}

#[test]
fn streaming_echo_of_one_mebibyte_h2() {
    streaming_echo(true);
}

/// A service whose `/slow` requests say they started and then wait until
/// released; other paths answer at once.
fn gated() -> (
    impl adapter_smol::HttpService,
    async_channel::Receiver<()>,
    async_channel::Sender<()>,
) {
    let (entered_tx, entered_rx) = async_channel::unbounded::<()>();
    let (release_tx, release_rx) = async_channel::unbounded::<()>();
    let svc = service_fn(move |req: Request<Incoming>| {
        let entered = entered_tx.clone();
        let release = release_rx.clone();
        async move {
            if req.uri().path() == "/slow" {
                entered.send(()).await.unwrap();
                release.recv().await.unwrap();
            }
            let body = Full::new(Bytes::from(req.uri().path().to_owned()));
            Ok::<_, Infallible>(Response::new(body))
        }
    });
    (svc, entered_rx, release_tx)
}

#[test]
fn slow_handler_does_not_block_other_h2_streams() {
    within(10, async {
        let (svc, entered, release) = gated();
        let server = start(svc).await;
        let client = client(true);
        let slow = {
            let client = client.clone();
            let uri = server.url("/slow");
            smol::spawn(async move { client.request(get(uri)).await })
        };
        entered.recv().await.unwrap();
        // The slow handler is running on the same connection; a second
        // stream is answered meanwhile.
        let fast = client.request(get(server.url("/fast"))).await.unwrap();
        let body = fast.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "/fast");
        assert_eq!(server.stats.accepted(), 1);
        release.send(()).await.unwrap();
        let slow = slow.await.unwrap();
        let body = slow.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "/slow");
        assert_eq!(server.stats.accepted(), 1);
    });
}

#[test]
fn h2_client_multiplexes_concurrent_requests() {
    const N: usize = 8;
    within(10, async {
        // Every handler waits until all N are running at once: this passes
        // only if the requests are in flight concurrently.
        let barrier = Arc::new(async_lock::Barrier::new(N));
        let server = start(service_fn(move |req: Request<Incoming>| {
            let barrier = barrier.clone();
            async move {
                barrier.wait().await;
                let body = Full::new(Bytes::from(req.uri().path().to_owned()));
                Ok::<_, Infallible>(Response::new(body))
            }
        }))
        .await;
        let client = client(true);
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let client = client.clone();
                let uri = server.url(&format!("/{i}"));
                smol::spawn(async move {
                    let resp = client.request(get(uri)).await.unwrap();
                    assert_eq!(resp.version(), http::Version::HTTP_2);
                    resp.into_body().collect().await.unwrap().to_bytes()
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await, format!("/{i}"));
        }
        assert_eq!(server.stats.accepted(), 1);
        assert_eq!(server.stats.requests(), N as u64);
    });
}

fn graceful_shutdown_mid_request(h2: bool) {
    within(10, async {
        let (svc, entered, release) = gated();
        let server = start(svc).await;
        let client = client(h2);
        let slow = {
            let client = client.clone();
            let uri = server.url("/slow");
            smol::spawn(async move { client.request(get(uri)).await })
        };
        entered.recv().await.unwrap();
        server.shutdown.shutdown(Duration::from_secs(5));
        assert!(server.shutdown.is_shutdown());
        // The request in progress still completes...
        release.send(()).await.unwrap();
        let resp = slow.await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        if !h2 {
            assert_eq!(
                resp.headers()
                    .get(header::CONNECTION)
                    .map(|v| v.to_str().unwrap()),
                Some("close"),
                "{:?}",
                resp
            );
        }
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "/slow");
        // ...then the server returns, and takes no new connections.
        server.task.await.unwrap();
        assert_eq!(server.stats.active(), 0);
        assert!(async_net::TcpStream::connect(server.addr).await.is_err());
    });
}

#[test]
fn graceful_shutdown_mid_request_h1() {
    graceful_shutdown_mid_request(false);
}

#[test]
fn graceful_shutdown_mid_request_h2() {
    graceful_shutdown_mid_request(true);
}

/// A kept-alive connection waiting for its next request closes as soon as a
/// graceful shutdown is asked for: the signal wakes its task (which checks
/// it only when woken, not on every turn).
#[test]
fn graceful_shutdown_closes_a_waiting_connection_at_once() {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    within(10, async {
        let server = start(service_fn(hello)).await;
        let mut conn = async_net::TcpStream::connect(server.addr).await.unwrap();
        conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with(HELLO.as_bytes()) {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the response");
            got.extend_from_slice(&buf[..n]);
        }
        // The connection task now waits; only the shutdown can wake it
        // (well before any of the core's timers would).
        server.shutdown.shutdown(Duration::from_secs(5));
        let mut rest = Vec::new();
        let closed = async {
            conn.read_to_end(&mut rest).await.unwrap();
            true
        };
        let late = async {
            async_io::Timer::after(Duration::from_millis(500)).await;
            false
        };
        assert!(
            futures_lite::future::or(closed, late).await,
            "the shutdown did not wake the waiting connection"
        );
        assert!(rest.is_empty(), "nothing after the response");
        server.task.await.unwrap();
        assert_eq!(server.stats.active(), 0);
    });
}

#[test]
fn serves_on_a_given_executor() {
    let executor = Arc::new(Executor::new());
    let ex = executor.clone();
    within(
        10,
        executor.run(async move {
            let builder = Builder::new().executor(ex.clone());
            let server = start_with(builder, service_fn(hello)).await;
            let client = Client::builder().executor(ex).build();
            let resp = client.request(get(server.url("/"))).await.unwrap();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, HELLO);
        }),
    );
}
