//! The HTTP/2 client (prior knowledge) against our server over loopback:
//! multiplexing on one connection, flow-controlled streaming both ways,
//! trailers, the peer's stream limit, and connection retirement after GOAWAY
//! (graceful shutdown, and a refused stream sent again on a new connection).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use adapter_tokio::{
    Builder, Client, Config, Error, Incoming, Protocol, ShutdownHandle, Stats, service_fn,
};
use bytes::Bytes;
use http::{Request, Response, StatusCode, Version};
use http_body::Frame;
use http_body_util::{BodyExt, Empty, Full};
use support::{
    chan_body, echo, echo_checksum_trailer, get, mebibyte, payload_with_checksum_trailer,
    send_chunks, start, start_with, within,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Barrier, Notify, mpsc, oneshot};
use tokio::task::JoinSet;

fn h2_client() -> Client {
    Client::builder().http2_prior_knowledge().build()
}

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("{:?} {}", req.version(), req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

#[tokio::test]
async fn get_over_prior_knowledge() {
    within(10, async {
        let server = start(service_fn(hello)).await;
        let resp = h2_client().get(server.url("/hello")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.version(), Version::HTTP_2);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "HTTP/2.0 /hello");
    })
    .await;
}

/// Every handler waits until all 100 requests arrived: they can only all
/// complete if they are in flight at once, and they share one connection.
#[tokio::test]
async fn hundred_concurrent_requests_on_one_connection() {
    within(20, async {
        const N: usize = 100;
        let barrier = Arc::new(Barrier::new(N));
        let server = start(service_fn(move |req: Request<Incoming>| {
            let barrier = barrier.clone();
            async move {
                if req.uri().path() != "/again" {
                    barrier.wait().await;
                }
                hello(req).await
            }
        }))
        .await;
        let client = h2_client();
        let mut set = JoinSet::new();
        for i in 0..N {
            let client = client.clone();
            let uri = server.url(&format!("/{i}"));
            set.spawn(async move {
                let resp = client.get(uri).await.unwrap();
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(body, format!("HTTP/2.0 /{i}"));
            });
        }
        while let Some(done) = set.join_next().await {
            done.unwrap();
        }
        assert_eq!(server.stats.accepted(), 1);
        assert_eq!(server.stats.requests(), N as u64);
        // Later requests reuse it too.
        let resp = client.get(server.url("/again")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(server.stats.accepted(), 1);
    })
    .await;
}

/// The server allows 4 streams at once: the client queues the rest until
/// streams end (`Busy`, then `StreamsAvailable`), all on one connection.
#[tokio::test]
async fn requests_beyond_the_peer_stream_limit_wait_their_turn() {
    within(20, async {
        const LIMIT: usize = 4;
        let mut config = Config::default();
        config.h2.max_concurrent_streams = LIMIT as u32;
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (in_flight2, most2) = (in_flight.clone(), most.clone());
        let server = start_with(
            Builder::new().config(config),
            service_fn(move |req: Request<Incoming>| {
                let (in_flight, most) = (in_flight2.clone(), most2.clone());
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    hello(req).await
                }
            }),
        )
        .await;
        let client = h2_client();
        let mut set = JoinSet::new();
        for i in 0..40 {
            let client = client.clone();
            let uri = server.url(&format!("/{i}"));
            set.spawn(async move {
                let resp = client.get(uri).await.unwrap();
                resp.into_body().collect().await.unwrap().to_bytes()
            });
        }
        while let Some(done) = set.join_next().await {
            assert!(done.unwrap().starts_with(b"HTTP/2.0 /"));
        }
        assert_eq!(server.stats.accepted(), 1);
        assert_eq!(server.stats.requests(), 40);
        assert!(most.load(Ordering::SeqCst) <= LIMIT);
    })
    .await;
}

/// 1 MiB up and 1 MiB down through windows of 64 KiB (the HTTP/2 default
/// the client starts with) while the response streams back as the request
/// body is still being sent.
#[tokio::test]
async fn streaming_echo_of_one_mebibyte_both_ways() {
    within(30, async {
        let server = start(service_fn(echo)).await;
        let (tx, body) = chan_body(2);
        let req = Request::post(server.url("/echo")).body(body).unwrap();
        let client = h2_client();
        let pending = tokio::spawn(async move { client.request(req).await });
        tx.send(Frame::data(Bytes::from(vec![7u8; 1000])))
            .await
            .unwrap();
        let resp = pending.await.unwrap().unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        let expected = mebibyte();
        let mut want = vec![7u8; 1000];
        want.extend_from_slice(&expected);
        let sender = send_chunks(tx, expected);
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        sender.await.unwrap();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "echoed bytes differ");
    })
    .await;
}

/// A slow reader: the response body (1 MiB) is read a chunk at a time with
/// yields in between; flow control keeps the server from running ahead and
/// the bytes arrive intact.
#[tokio::test]
async fn large_response_to_a_slow_reader() {
    within(30, async {
        let big: Bytes = (0..(1 << 20)).map(|i: usize| (i % 13) as u8).collect();
        let served = big.clone();
        let server = start(service_fn(move |_req: Request<Incoming>| {
            let body = served.clone();
            async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
        }))
        .await;
        let resp = h2_client().get(server.url("/big")).await.unwrap();
        let mut body = resp.into_body();
        let mut got = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                got.extend_from_slice(&data);
            }
            tokio::task::yield_now().await;
        }
        assert!(got == big, "body differs");
    })
    .await;
}

#[tokio::test]
async fn trailers_both_ways() {
    within(10, async {
        // The server answers with the request's trailer `x-checksum` both as
        // the body and as a response trailer.
        let server = start(service_fn(echo_checksum_trailer)).await;
        let body = payload_with_checksum_trailer().await;
        let req = Request::post(server.url("/")).body(body).unwrap();
        let resp = h2_client().request(req).await.unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        let collected = resp.into_body().collect().await.unwrap();
        assert_eq!(collected.trailers().unwrap()["x-echoed"], "abc123");
        assert_eq!(collected.to_bytes(), "abc123");
    })
    .await;
}

#[tokio::test]
async fn handshake_with_over_any_io() {
    within(10, async {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(async move {
            Builder::new()
                .protocol(Protocol::Http2)
                .serve_connection(b, service_fn(hello))
                .await
        });
        let (sender, conn) = adapter_tokio::handshake_with(a, Protocol::Http2);
        let conn = tokio::spawn(conn);
        assert!(sender.is_http2());
        let req = Request::get("http://example.com/x")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let (r1, r2) = tokio::join!(
            sender.send_request(req),
            sender.send_request(
                Request::get("/y")
                    .header("host", "example.com")
                    .body(Empty::<Bytes>::new())
                    .unwrap()
            )
        );
        let b1 = r1.unwrap().into_body().collect().await.unwrap().to_bytes();
        let b2 = r2.unwrap().into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            (&b1[..], &b2[..]),
            (&b"HTTP/2.0 /x"[..], &b"HTTP/2.0 /y"[..])
        );
        drop(sender);
        conn.await.unwrap().unwrap();
        server.await.unwrap().unwrap();
    })
    .await;
}

/// A dropped response body cancels only its own stream.
#[tokio::test]
async fn dropped_body_cancels_only_its_stream() {
    within(10, async {
        let server = start(service_fn(echo)).await;
        let client = h2_client();
        let (tx, body) = chan_body(2);
        let req = Request::post(server.url("/a")).body(body).unwrap();
        let resp = client.request(req).await.unwrap();
        tx.send(Frame::data(Bytes::from_static(b"x")))
            .await
            .unwrap();
        drop(resp);
        let resp = client.get(server.url("/b")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.into_body().collect().await.unwrap();
        assert_eq!(server.stats.accepted(), 1);
    })
    .await;
}

/// Sends `"dropped"` when the handler's future is dropped.
struct DropSignal(mpsc::UnboundedSender<&'static str>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send("dropped");
    }
}

/// A caller that stops waiting for a response (drops the request's future)
/// cancels the request's stream: the client resets it with CANCEL (RFC 9113
/// §8.1: a client may cancel a request it no longer needs; §5.4.2), and the
/// server aborts its handler. Other streams go on.
#[tokio::test]
async fn dropped_response_future_cancels_its_stream() {
    within(10, async {
        let (events, mut seen) = mpsc::unbounded_channel();
        let server = start(service_fn(move |req: Request<Incoming>| {
            let events = events.clone();
            async move {
                if req.uri().path() == "/ok" {
                    return Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                        b"ok",
                    ))));
                }
                let _ = events.send("started");
                let _signal = DropSignal(events);
                std::future::pending::<()>().await;
                unreachable!()
            }
        }))
        .await;
        let client = h2_client();
        let waiting = {
            let client = client.clone();
            let url = server.url("/never");
            tokio::spawn(async move { client.get(url).await })
        };
        assert_eq!(seen.recv().await, Some("started"));
        waiting.abort();
        assert_eq!(
            seen.recv().await,
            Some("dropped"),
            "the handler was aborted"
        );
        let resp = client.get(server.url("/ok")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(server.stats.accepted(), 1, "on the same connection");
    })
    .await;
}

// ---- GOAWAY --------------------------------------------------------------

/// A transport that reports when a GOAWAY frame has been written through
/// it (a server's transport: no preface in front of the frames).
struct GoAwayTap<IO> {
    io: IO,
    header: [u8; 9],
    have: usize,
    skip: usize,
    seen: Option<oneshot::Sender<()>>,
}

impl<IO> GoAwayTap<IO> {
    fn new(io: IO, seen: oneshot::Sender<()>) -> Self {
        Self {
            io,
            header: [0; 9],
            have: 0,
            skip: 0,
            seen: Some(seen),
        }
    }

    fn wrote(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            let n = (9 - self.have).min(bytes.len());
            self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have == 9 {
                self.have = 0;
                let h = self.header;
                self.skip = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
                if h[3] == 0x7 {
                    if let Some(seen) = self.seen.take() {
                        let _ = seen.send(());
                    }
                }
            }
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for GoAwayTap<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for GoAwayTap<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.wrote(&buf[..n]);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A listener whose connections are served one by one, each with its own
/// shutdown handle (so one can be shut down while the server keeps
/// accepting), and a tap telling when each sent its first GOAWAY.
struct PerConnServer {
    addr: SocketAddr,
    stats: Stats,
    conns: mpsc::UnboundedReceiver<(ShutdownHandle, oneshot::Receiver<()>)>,
}

async fn per_conn_server<S: adapter_tokio::HttpService>(service: S) -> PerConnServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Stats::default();
    let (tx, conns) = mpsc::unbounded_channel();
    let server_stats = stats.clone();
    tokio::spawn(async move {
        loop {
            let Ok((io, _)) = listener.accept().await else {
                return;
            };
            let shutdown = ShutdownHandle::new();
            let (seen_tx, seen_rx) = oneshot::channel();
            let builder = Builder::new()
                .with_stats(server_stats.clone())
                .with_shutdown(shutdown.clone());
            let service = service.clone();
            tokio::spawn(async move {
                let _ = builder
                    .serve_connection(GoAwayTap::new(io, seen_tx), service)
                    .await;
            });
            if tx.send((shutdown, seen_rx)).is_err() {
                return;
            }
        }
    });
    PerConnServer { addr, stats, conns }
}

/// The server shuts the connection down gracefully while a request is in
/// flight: that request completes on it, and later requests go to a new
/// connection without the application noticing.
#[tokio::test]
async fn graceful_shutdown_mid_request_then_a_new_connection() {
    within(20, async {
        let release = Arc::new(Notify::new());
        let (arrived_tx, mut arrived) = mpsc::unbounded_channel::<()>();
        let gate = release.clone();
        let mut server = per_conn_server(service_fn(move |req: Request<Incoming>| {
            let gate = gate.clone();
            let arrived = arrived_tx.clone();
            async move {
                if req.uri().path() == "/slow" {
                    let _ = arrived.send(());
                    gate.notified().await;
                }
                hello(req).await
            }
        }))
        .await;
        let url = |p: &str| -> http::Uri { format!("http://{}{p}", server.addr).parse().unwrap() };
        let client = h2_client();
        let slow = tokio::spawn({
            let client = client.clone();
            let uri = url("/slow");
            async move { client.get(uri).await }
        });
        arrived.recv().await.unwrap();
        let (first, goaway_sent) = server.conns.recv().await.unwrap();
        first.shutdown(Duration::from_secs(10));
        // The GOAWAY is on the wire before the response: the client sees
        // it first.
        goaway_sent.await.unwrap();
        release.notify_one();
        let resp = slow.await.unwrap().unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "HTTP/2.0 /slow");
        for i in 0..3 {
            let resp = client.get(url(&format!("/later{i}"))).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
        }
        assert_eq!(server.stats.accepted(), 2);
        assert_eq!(server.stats.requests(), 4);
    })
    .await;
}

const SETTINGS_EMPTY: [u8; 9] = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];

/// GOAWAY saying the server processed no stream at all.
fn goaway_none() -> Vec<u8> {
    let mut f = vec![0, 0, 8, 0x7, 0, 0, 0, 0, 0];
    f.extend_from_slice(&0u32.to_be_bytes()); // last stream id
    f.extend_from_slice(&0u32.to_be_bytes()); // NO_ERROR
    f
}

/// Reads client frames (after the preface) until a HEADERS frame.
async fn read_until_headers(io: &mut TcpStream) {
    let mut preface = [0u8; 24];
    io.read_exact(&mut preface).await.unwrap();
    assert_eq!(&preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    loop {
        let mut h = [0u8; 9];
        io.read_exact(&mut h).await.unwrap();
        let len = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
        let mut payload = vec![0u8; len];
        io.read_exact(&mut payload).await.unwrap();
        if h[3] == 0x1 {
            return;
        }
    }
}

/// The first connection's server takes the request's HEADERS, then says
/// GOAWAY with last stream id 0: the stream was not processed (RFC 9113
/// §8.7), so the client sends it again on a new connection, even a POST.
#[tokio::test]
async fn refused_stream_is_sent_again_on_a_new_connection() {
    within(20, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Stats::default();
        let server_stats = stats.clone();
        tokio::spawn(async move {
            // First connection: a peer that refuses everything.
            let (mut io, _) = listener.accept().await.unwrap();
            read_until_headers(&mut io).await;
            io.write_all(&SETTINGS_EMPTY).await.unwrap();
            io.write_all(&goaway_none()).await.unwrap();
            // Then the real thing.
            let (io, _) = listener.accept().await.unwrap();
            let builder = Builder::new().with_stats(server_stats);
            let _ = builder.serve_connection(io, service_fn(echo)).await;
        });
        let client = h2_client();
        let req = Request::post(format!("http://{addr}/"))
            .body(Full::new(Bytes::from_static(b"once more")))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "once more");
        assert_eq!(stats.accepted(), 1);
        assert_eq!(stats.requests(), 1);
    })
    .await;
}

/// A refused request on a bare `SendRequest` (no pool to retry with) fails
/// with REFUSED_STREAM, and the handle reports the connection retired.
#[tokio::test]
async fn refused_stream_on_a_bare_connection_is_an_error() {
    within(10, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(async move {
            let (mut io, _) = listener.accept().await.unwrap();
            read_until_headers(&mut io).await;
            io.write_all(&SETTINGS_EMPTY).await.unwrap();
            io.write_all(&goaway_none()).await.unwrap();
            let mut rest = Vec::new();
            let _ = io.read_to_end(&mut rest).await;
        });
        let io = TcpStream::connect(addr).await.unwrap();
        let sender = Client::from_io_with(io, Protocol::Http2);
        let err = sender
            .send_request(get(format!("http://{addr}/").parse().unwrap()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Reset { code, .. } if code == adapter_tokio::ErrorCode::REFUSED_STREAM),
            "{err:?}"
        );
        assert!(sender.is_closed());
        drop(sender);
        peer.await.unwrap();
    })
    .await;
}
