//! End-to-end tests over loopback: the std server against the std client.
//! No sleeps for synchronization: channels and counters; timeouts are guards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use adapter_std::{Body, Builder, Client, SendBody, Server, ShutdownHandle, Stats};
use http::{Request, Response, StatusCode};

const GUARD: Duration = Duration::from_secs(5);

struct Running {
    addr: SocketAddr,
    stats: Stats,
    shutdown: ShutdownHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn stop(mut self) -> std::io::Result<()> {
        self.shutdown.shutdown(Duration::from_secs(1));
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.shutdown(Duration::ZERO);
    }
}

fn start<H: adapter_std::Handler>(builder: Builder, handler: H) -> Running {
    let server = builder.bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let stats = server.stats();
    let shutdown = server.shutdown_handle();
    let thread = Some(std::thread::spawn(move || server.serve(handler)));
    Running {
        addr,
        stats,
        shutdown,
        thread,
    }
}

fn hello(req: Request<Body>) -> Response<SendBody> {
    let body = if req.uri().path() == "/big" {
        SendBody::from(vec![b'x'; 1 << 20])
    } else {
        SendBody::from("Hello, World!")
    };
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    resp
}

fn echo(req: Request<Body>) -> Response<SendBody> {
    let mut body = req.into_body();
    Response::new(SendBody::writer(move |w| {
        std::io::copy(&mut body, w).map(drop)
    }))
}

fn h2_client() -> Client {
    Client::builder().http2_prior_knowledge().build()
}

#[test]
fn hello_h1_and_h2() {
    let server = start(Server::builder(), hello);
    for (client, version) in [
        (Client::new(), http::Version::HTTP_11),
        (h2_client(), http::Version::HTTP_2),
    ] {
        let resp = client.get(server.url("/").as_str()).unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.version(), version);
        assert_eq!(resp.headers()["content-length"], "13");
        assert_eq!(resp.headers()["content-type"], "text/plain");
        assert_eq!(resp.into_body().collect().unwrap(), b"Hello, World!");
        let big = client.get(server.url("/big").as_str()).unwrap();
        assert_eq!(big.into_body().collect().unwrap().len(), 1 << 20);
    }
    server.stop().unwrap();
}

#[test]
fn connections_share_the_builders_config() {
    let config = Arc::new(proto_core::Config::default());
    let server = start(Server::builder().config(config.clone()), hello);
    let client = Client::builder().config(config.clone()).build();
    let before = Arc::strong_count(&config);
    let resp = client.get(server.url("/").as_str()).unwrap();
    assert_eq!(resp.into_body().collect().unwrap(), b"Hello, World!");
    // The client's and the server's connection hold the same `Config`
    // (each used to get its own copy).
    assert!(
        Arc::strong_count(&config) >= before + 2,
        "{}",
        Arc::strong_count(&config)
    );
    server.stop().unwrap();
}

#[test]
fn keep_alive_reuses_one_connection() {
    let server = start(Server::builder(), hello);
    let client = Client::new();
    for _ in 0..5 {
        let resp = client.get(server.url("/").as_str()).unwrap();
        assert_eq!(resp.into_body().collect().unwrap(), b"Hello, World!");
    }
    assert_eq!(client.connections_opened(), 1);
    assert_eq!(server.stats.accepted(), 1);
    assert_eq!(server.stats.requests(), 5);
    server.stop().unwrap();
}

fn payload() -> Vec<u8> {
    (0..(1u32 << 20)).map(|i| (i * 7 % 251) as u8).collect()
}

/// A `POST /` to `server` carrying `body`.
fn post(server: &Running, body: SendBody) -> Request<SendBody> {
    let mut req = Request::new(body);
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = server.url("/").parse().unwrap();
    req
}

#[test]
fn streaming_echo_of_one_mib_both_protocols() {
    let server = start(Server::builder(), echo);
    let data = payload();
    for client in [Client::new(), h2_client()] {
        // Given in full.
        let resp = client
            .request(post(&server, SendBody::from(data.clone())))
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.into_body().collect().unwrap() == data);
        // Streamed from a writer, in odd-sized pieces.
        let copy = data.clone();
        let writer = SendBody::writer(move |w| {
            for piece in copy.chunks(10_007) {
                w.write_all(piece)?;
            }
            Ok(())
        });
        let resp = client.request(post(&server, writer)).unwrap();
        assert!(resp.into_body().collect().unwrap() == data);
    }
    server.stop().unwrap();
}

/// `Body::chunk` hands out the body as it came, without copying: after a
/// partial `read`, the rest of that piece first; then `None` at the end,
/// and again after it.
#[test]
fn body_chunks_follow_a_partial_read_and_end_with_none() {
    fn rechunk(req: Request<Body>) -> Response<SendBody> {
        let mut body = req.into_body();
        let mut all = vec![0u8; 3];
        body.read_exact(&mut all).unwrap();
        let mut pieces = 0;
        while let Some(piece) = body.chunk().unwrap() {
            assert!(!piece.is_empty());
            all.extend_from_slice(&piece);
            pieces += 1;
        }
        assert!(pieces > 0);
        assert!(body.chunk().unwrap().is_none());
        Response::new(SendBody::from(all))
    }
    let server = start(Server::builder(), rechunk);
    let data = payload();
    for client in [Client::new(), h2_client()] {
        let resp = client
            .request(post(&server, SendBody::from(data.clone())))
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.into_body().collect().unwrap() == data);
    }
    server.stop().unwrap();
}

/// A handler where `/slow` waits for the test's go-ahead.
fn slow_server(builder: Builder) -> (Running, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let started_tx = Mutex::new(started_tx);
    let release_rx = Mutex::new(release_rx);
    let server = start(builder, move |req: Request<Body>| {
        if req.uri().path() == "/slow" {
            started_tx.lock().unwrap().send(()).unwrap();
            release_rx.lock().unwrap().recv_timeout(GUARD).unwrap();
            return Response::new(SendBody::from("slow"));
        }
        Response::new(SendBody::from("fast"))
    });
    (server, started_rx, release_tx)
}

fn slow_handler_does_not_block(client: Client, expected_conns: u64) {
    let (server, started, release) = slow_server(Server::builder());
    let slow_url = server.url("/slow");
    let c = client.clone();
    let slow = std::thread::spawn(move || {
        let resp = c.get(slow_url.as_str()).unwrap();
        resp.into_body().collect().unwrap()
    });
    started.recv_timeout(GUARD).unwrap();
    let fast = client.get(server.url("/fast").as_str()).unwrap();
    assert_eq!(fast.into_body().collect().unwrap(), b"fast");
    release.send(()).unwrap();
    assert_eq!(slow.join().unwrap(), b"slow");
    assert_eq!(client.connections_opened(), expected_conns);
    assert_eq!(server.stats.accepted(), expected_conns);
    server.stop().unwrap();
}

#[test]
fn slow_handler_does_not_block_another_h2_stream() {
    slow_handler_does_not_block(h2_client(), 1);
}

#[test]
fn slow_handler_does_not_block_another_h1_connection() {
    slow_handler_does_not_block(Client::new(), 2);
}

#[test]
fn full_pool_answers_503() {
    let (server, started, release) = slow_server(Server::builder().workers(1).queue(0));
    let slow_url = server.url("/slow");
    let slow = std::thread::spawn(move || {
        let resp = h2_client().get(slow_url.as_str()).unwrap();
        resp.into_body().collect().unwrap()
    });
    started.recv_timeout(GUARD).unwrap();
    let resp = h2_client().get(server.url("/fast").as_str()).unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    // An HTTP/1.1 request without a body is answered on its connection's
    // own thread: a full pool does not turn it away.
    let resp = Client::new().get(server.url("/fast").as_str()).unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.into_body().collect().unwrap(), b"fast");
    release.send(()).unwrap();
    assert_eq!(slow.join().unwrap(), b"slow");
    assert_eq!(server.stats.rejected(), 1);
    server.stop().unwrap();
}

#[test]
fn graceful_shutdown_finishes_the_request_in_flight() {
    for client in [Client::new(), h2_client()] {
        let (mut server, started, release) = slow_server(Server::builder());
        let slow_url = server.url("/slow");
        let slow = std::thread::spawn(move || {
            let resp = client.get(slow_url.as_str()).unwrap();
            let version = resp.version();
            let status = resp.status();
            let body = resp.into_body().collect();
            (status, body.unwrap_or_else(|e| panic!("{version:?}: {e}")))
        });
        started.recv_timeout(GUARD).unwrap();
        server.shutdown.shutdown(Duration::from_secs(5));
        release.send(()).unwrap();
        let (status, body) = slow.join().unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, b"slow");
        server.thread.take().unwrap().join().unwrap().unwrap();
        assert_eq!(server.stats.active(), 0);
        assert!(TcpStream::connect(server.addr).is_err(), "still accepting");
    }
}

#[test]
fn client_multiplexes_h2_from_several_threads() {
    const N: usize = 8;
    // Every handler waits until all N requests are in flight at once.
    let gate = Arc::new((Mutex::new(0usize), Condvar::new()));
    let g = gate.clone();
    let server = start(Server::builder(), move |req: Request<Body>| {
        let (count, cv) = &*g;
        let mut n = count.lock().unwrap();
        *n += 1;
        cv.notify_all();
        let (n, timeout) = cv.wait_timeout_while(n, GUARD, |n| *n < N).unwrap();
        drop(n);
        if timeout.timed_out() {
            let mut resp = Response::new(SendBody::empty());
            *resp.status_mut() = StatusCode::GATEWAY_TIMEOUT;
            return resp;
        }
        Response::new(SendBody::from(req.uri().path().to_owned()))
    });
    let client = h2_client();
    let threads: Vec<_> = (0..N)
        .map(|i| {
            let client = client.clone();
            let url = server.url(&format!("/{i}"));
            std::thread::spawn(move || {
                let resp = client.get(url.as_str()).unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                assert_eq!(resp.version(), http::Version::HTTP_2);
                resp.into_body().collect().unwrap()
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        assert_eq!(t.join().unwrap(), format!("/{i}").into_bytes());
    }
    assert_eq!(client.connections_opened(), 1);
    assert_eq!(server.stats.accepted(), 1);
    server.stop().unwrap();
}

#[cfg(unix)]
#[test]
fn serve_connection_over_a_unix_socket_pair() {
    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    let served = std::thread::spawn(move || adapter_std::serve_connection(a, hello));
    b.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    b.set_read_timeout(Some(GUARD)).unwrap();
    let mut answer = String::new();
    b.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("Hello, World!"), "{answer}");
    served.join().unwrap().unwrap();
}

#[test]
fn tower_service_runs_on_handler_threads() {
    use std::convert::Infallible;
    use std::future::Ready;
    use std::task::{Context, Poll};

    #[derive(Clone)]
    struct Svc;
    impl tower_service::Service<Request<Body>> for Svc {
        type Response = Response<String>;
        type Error = Infallible;
        type Future = Ready<Result<Response<String>, Infallible>>;
        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, req: Request<Body>) -> Self::Future {
            std::future::ready(Ok(Response::new(format!("tower {}", req.uri().path()))))
        }
    }
    let server = start(Server::builder(), adapter_std::serve_tower(Svc));
    let resp = Client::new().get(server.url("/t").as_str()).unwrap();
    assert_eq!(resp.headers()["content-length"], "8");
    assert_eq!(resp.into_body().collect().unwrap(), b"tower /t");
    server.stop().unwrap();
}

/// RFC 9112 §9.6 lingering close: after answering a bad request with 400 and
/// closing, the server discards input for a moment, but not without bound —
/// a client that keeps flooding is cut off after about 1 MiB (plus socket
/// buffers), not after a second of loopback throughput (hundreds of MiB); 64 MiB is the test's bound.
/// Writes filler bytes, `sent` of `limit` already written, until `limit`
/// or until a write fails (its timeout: the peer stopped reading, or it
/// closed); returns the new total.
fn write_until_refused(s: &mut TcpStream, mut sent: usize, limit: usize) -> usize {
    let piece = vec![b'x'; 64 * 1024];
    while sent < limit {
        match s.write(&piece[..piece.len().min(limit - sent)]) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    sent
}

#[test]
fn rfc9112_9_6_lingering_close_discards_a_bounded_amount() {
    let server = start(Builder::new(), hello);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_write_timeout(Some(GUARD)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n")
        .unwrap();
    const LIMIT: usize = 64 << 20;
    let sent = write_until_refused(&mut s, 0, LIMIT);
    eprintln!("taken after the close: {sent} bytes");
    assert!(
        sent < LIMIT,
        "the server kept discarding input: {sent} bytes taken after its close"
    );
}

/// A body its handler does not read holds the connection's reading back
/// (at most `max_recv_buffer` queued for the body, plus the read budget and
/// socket buffers): the client's writes stall instead of the server taking
/// 64 MiB into memory; once the handler reads, the whole body arrives.
#[test]
fn an_unread_upload_stalls_its_sender_then_arrives_whole() {
    const LEN: usize = 64 << 20;
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let (got_tx, got_rx) = mpsc::channel::<usize>();
    let got_tx = Mutex::new(got_tx);
    let server = start(Builder::new(), move |req: Request<Body>| {
        go_rx.lock().unwrap().recv_timeout(GUARD * 4).unwrap();
        let mut body = req.into_body();
        let mut got = 0;
        while let Some(piece) = body.chunk().unwrap() {
            got += piece.len();
        }
        got_tx.lock().unwrap().send(got).unwrap();
        Response::new(SendBody::from("done"))
    });
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.write_all(format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {LEN}\r\n\r\n").as_bytes())
        .unwrap();
    // Writing until a write finds no room for a while: the server stopped
    // reading (the timeout detects the stall; it does not wait for it).
    s.set_write_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut sent = write_until_refused(&mut s, 0, LEN);
    eprintln!("taken before the handler read: {sent} bytes");
    assert!(
        sent < LEN,
        "the server took all {sent} bytes of an unread body"
    );
    go_tx.send(()).unwrap();
    s.set_write_timeout(Some(GUARD)).unwrap();
    sent = write_until_refused(&mut s, sent, LEN);
    assert_eq!(sent, LEN, "the rest of the body was refused");
    assert_eq!(got_rx.recv_timeout(GUARD).unwrap(), LEN);
    s.set_read_timeout(Some(GUARD)).unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    server.stop().unwrap();
}
