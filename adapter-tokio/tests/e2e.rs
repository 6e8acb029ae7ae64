//! End to end over loopback: our server and our client (and raw TCP peers
//! where the exact bytes matter).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_tokio::{Client, Error, Incoming, TimeoutKind, service_fn};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, Empty, Full};
use support::{
    chan_body, echo, echo_checksum_trailer, get, mebibyte, payload_with_checksum_trailer, raw,
    read_to_end, read_until, send_chunks, start, within,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{Notify, oneshot};

const HELLO: &str = "Hello, World!";

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut resp = Response::new(Full::new(Bytes::from_static(HELLO.as_bytes())));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

#[tokio::test]
async fn hello_get() {
    within(10, async {
        let server = start(service_fn(hello)).await;
        let resp = Client::new().request(get(server.url("/"))).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_LENGTH], "13");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/plain");
        let date = resp.headers()[header::DATE].to_str().unwrap().to_owned();
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, HELLO);
    })
    .await;
}

#[tokio::test]
async fn keep_alive_reuses_one_connection() {
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
    })
    .await;
}

#[tokio::test]
async fn head_request_has_length_but_no_body() {
    within(10, async {
        let server = start(service_fn(hello)).await;
        let out = raw(
            server.addr,
            b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        let (first, second) = out.split_once("\r\n\r\n").unwrap();
        assert!(first.starts_with("HTTP/1.1 200 OK"), "{out}");
        assert!(first.to_ascii_lowercase().contains("content-length: 13"), "{out}");
        assert!(second.starts_with("HTTP/1.1 200 OK"), "HEAD carried a body: {out}");
        assert!(second.ends_with(HELLO), "{out}");
    })
    .await;
}

#[tokio::test]
async fn streaming_echo_of_one_mebibyte() {
    within(20, async {
        let server = start(service_fn(echo)).await;
        let (tx, body) = chan_body(2);
        let req = Request::post(server.url("/echo")).body(body).unwrap();
        let client = Client::new();
        let pending = tokio::spawn(async move { client.request(req).await });
        // The response head arrives before the request body is complete:
        // nothing on the way is collecting.
        tx.send(Frame::data(Bytes::from(vec![0u8; 1000])))
            .await
            .unwrap();
        let resp = pending.await.unwrap().unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let expected = mebibyte();
        let mut expected_with_prefix = vec![0u8; 1000];
        expected_with_prefix.extend_from_slice(&expected);
        let sender = send_chunks(tx, expected);
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        sender.await.unwrap();
        assert_eq!(got.len(), expected_with_prefix.len());
        assert!(got == expected_with_prefix, "echoed bytes differ");
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
        let resp = Client::new().request(req).await.unwrap();
        assert_eq!(resp.headers()[header::TRANSFER_ENCODING], "chunked");
        let collected = resp.into_body().collect().await.unwrap();
        assert_eq!(collected.trailers().unwrap()["x-echoed"], "abc123");
        assert_eq!(collected.to_bytes(), "abc123");
    })
    .await;
}

#[tokio::test]
async fn expect_continue_is_sent_when_the_body_is_read() {
    within(10, async {
        let server = start(service_fn(echo)).await;
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .unwrap();
        let interim = read_until(&mut s, "\r\n\r\n").await;
        assert!(
            interim.starts_with("HTTP/1.1 100 Continue\r\n"),
            "{interim}"
        );
        // (The echo handler's response head may follow at once.)
        s.write_all(b"hello").await.unwrap();
        let out = interim + &read_until(&mut s, "hello").await;
        assert!(out.contains("\r\n\r\nHTTP/1.1 200 OK\r\n"), "{out}");
    })
    .await;
}

#[tokio::test]
async fn expect_continue_refused_by_an_early_final_response() {
    within(10, async {
        let server = start(service_fn(|_req: Request<Incoming>| async {
            let mut resp = Response::new(Empty::<Bytes>::new());
            *resp.status_mut() = StatusCode::EXPECTATION_FAILED;
            Ok::<_, Infallible>(resp)
        }))
        .await;
        // Our client waits for `100 Continue`; the 417 comes instead and the
        // body is never sent.
        let (tx, body) = chan_body(1);
        let req = Request::put(server.url("/"))
            .header(header::EXPECT, "100-continue")
            .header(header::CONTENT_LENGTH, "4")
            .body(body)
            .unwrap();
        let resp = Client::new().request(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::EXPECTATION_FAILED);
        drop(tx);
    })
    .await;
}

#[tokio::test]
async fn client_expect_continue_sends_the_body_after_100() {
    within(10, async {
        let server = start(service_fn(echo)).await;
        let req = Request::post(server.url("/"))
            .header(header::EXPECT, "100-continue")
            .body(Full::new(Bytes::from_static(b"after continue")))
            .unwrap();
        let resp = Client::new().request(req).await.unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "after continue");
    })
    .await;
}

#[tokio::test]
async fn pipelined_requests_answered_in_order() {
    within(10, async {
        let server = start(service_fn(|req: Request<Incoming>| async move {
            let path = req.uri().path().to_owned();
            if path == "/slow" {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(path))))
        }))
        .await;
        let out = raw(
            server.addr,
            b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        let slow = out.find("/slow").unwrap();
        let a = out.find("\r\n\r\n/a").unwrap();
        let b = out.find("\r\n\r\n/b").unwrap();
        assert!(slow < a && a < b, "{out}");
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 3);
    })
    .await;
}

#[tokio::test]
async fn slow_handler_does_not_block_another_connection() {
    within(10, async {
        let release = Arc::new(Notify::new());
        let gate = release.clone();
        let server = start(service_fn(move |req: Request<Incoming>| {
            let gate = gate.clone();
            async move {
                if req.uri().path() == "/slow" {
                    gate.notified().await;
                }
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"done"))))
            }
        }))
        .await;
        let client = Client::new();
        let slow = tokio::spawn({
            let client = client.clone();
            let uri = server.url("/slow");
            async move { client.request(get(uri)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let fast = client.request(get(server.url("/fast"))).await.unwrap();
        assert_eq!(fast.into_body().collect().await.unwrap().to_bytes(), "done");
        assert!(!slow.is_finished());
        release.notify_one();
        let slow = slow.await.unwrap().unwrap();
        assert_eq!(slow.into_body().collect().await.unwrap().to_bytes(), "done");
        assert_eq!(server.stats.accepted(), 2);
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_progress() {
    within(10, async {
        let started = Arc::new(Notify::new());
        let release = Arc::new(Notify::new());
        let (s, r) = (started.clone(), release.clone());
        let server = start(service_fn(move |_req: Request<Incoming>| {
            let (s, r) = (s.clone(), r.clone());
            async move {
                s.notify_one();
                r.notified().await;
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"finished"))))
            }
        }))
        .await;
        // An idle kept-alive connection, closed at once by the shutdown.
        let mut idle = TcpStream::connect(server.addr).await.unwrap();
        let client = Client::new();
        let busy = tokio::spawn({
            let uri = server.url("/");
            async move { client.request(get(uri)).await }
        });
        started.notified().await;
        server.shutdown.shutdown(Duration::from_secs(5));
        assert_eq!(
            read_to_end(&mut idle).await,
            "",
            "idle connection closed silently"
        );
        // New connections are refused once the listener is gone.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(TcpStream::connect(server.addr).await.is_err());
        release.notify_one();
        let resp = busy.await.unwrap().unwrap();
        assert_eq!(resp.headers()[header::CONNECTION], "close");
        assert_eq!(
            resp.into_body().collect().await.unwrap().to_bytes(),
            "finished"
        );
        server.task.await.unwrap().unwrap();
        assert_eq!(server.stats.active(), 0);
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_aborts_what_outlives_the_drain() {
    within(10, async {
        let server = start(service_fn(|_req: Request<Incoming>| async {
            std::future::pending::<()>().await;
            Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
        }))
        .await;
        let client = Client::new();
        let stuck = tokio::spawn({
            let uri = server.url("/");
            async move { client.request(get(uri)).await }
        });
        while server.stats.requests() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let t0 = Instant::now();
        server.shutdown.shutdown(Duration::from_millis(200));
        server.task.await.unwrap().unwrap();
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        assert!(stuck.await.unwrap().is_err());
        assert_eq!(server.stats.active(), 0);
    })
    .await;
}

#[tokio::test]
async fn bad_request_gets_400_even_with_junk_behind_it() {
    within(10, async {
        let server = start(service_fn(hello)).await;
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        let mut junk =
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".to_vec();
        junk.extend(std::iter::repeat_n(b'z', 200 * 1024));
        // The server stops reading after the bad head; write what it takes.
        let _ = tokio::time::timeout(Duration::from_millis(500), s.write_all(&junk)).await;
        let out = read_until(&mut s, "\r\n\r\n").await;
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
        assert!(
            out.to_ascii_lowercase().contains("connection: close"),
            "{out}"
        );
    })
    .await;
}

#[tokio::test]
async fn handler_error_and_panic_become_500() {
    within(10, async {
        let server = start(service_fn(|req: Request<Incoming>| async move {
            match req.uri().path() {
                "/panic" => panic!("handler panicked on purpose"),
                "/error" => Err(std::io::Error::other("handler failed on purpose")),
                _ => Ok(Response::new(Full::new(Bytes::from_static(b"ok")))),
            }
        }))
        .await;
        let client = Client::new();
        for path in ["/error", "/panic", "/"] {
            let resp = client.request(get(server.url(path))).await.unwrap();
            let expected = if path == "/" {
                StatusCode::OK
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            assert_eq!(resp.status(), expected, "{path}");
            resp.into_body().collect().await.unwrap();
        }
    })
    .await;
}

#[tokio::test]
async fn slow_panic_in_a_spawned_handler_becomes_500() {
    within(10, async {
        let server = start(service_fn(|_req: Request<Incoming>| async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if true {
                panic!("handler panicked on purpose after waiting");
            }
            Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
        }))
        .await;
        let resp = Client::new().request(get(server.url("/"))).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    })
    .await;
}

#[tokio::test]
async fn handler_that_ignores_a_large_body_still_answers() {
    within(10, async {
        let server = start(service_fn(hello)).await;
        let client = Client::new();
        let big = Bytes::from(vec![7u8; 512 * 1024]);
        let req = Request::post(server.url("/")).body(Full::new(big)).unwrap();
        let resp = client.request(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), HELLO);
        // The connection closed (too much to drain) or stayed usable; the
        // client copes either way.
        let resp = client.request(get(server.url("/"))).await.unwrap();
        assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), HELLO);
    })
    .await;
}

#[tokio::test]
async fn request_timeout() {
    within(10, async {
        let server = start(service_fn(|_req: Request<Incoming>| async {
            std::future::pending::<()>().await;
            Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
        }))
        .await;
        let client = Client::builder()
            .request_timeout(Duration::from_millis(100))
            .build();
        let err = client.request(get(server.url("/"))).await.unwrap_err();
        assert!(matches!(err, Error::Timeout(TimeoutKind::Request)), "{err}");
    })
    .await;
}

#[tokio::test]
async fn client_rejects_https_and_relative_uris() {
    let client = Client::new();
    let err = client
        .get("https://127.0.0.1/".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    let err = client.get("/x".parse().unwrap()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
}

#[tokio::test]
async fn serve_connection_and_handshake_over_any_io() {
    within(10, async {
        let (a, b) = tokio::io::duplex(64);
        let server = tokio::spawn(adapter_tokio::serve_connection(a, service_fn(echo)));
        let (sender, conn) = adapter_tokio::handshake(b);
        let conn = tokio::spawn(conn);
        for i in 0..3 {
            let body = format!("message {i}").repeat(100);
            let req = Request::post("/")
                .header(header::HOST, "duplex")
                .body(Full::new(Bytes::from(body.clone())))
                .unwrap();
            let resp = sender.send_request(req).await.unwrap();
            assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), body);
        }
        drop(sender);
        conn.await.unwrap().unwrap();
        server.await.unwrap().unwrap();
    })
    .await;
}

#[tokio::test]
async fn dropped_response_body_closes_the_connection_and_the_pool_recovers() {
    within(10, async {
        static BIG: [u8; 1 << 20] = [b'x'; 1 << 20];
        let server = start(service_fn(|_req: Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(&BIG))))
        }))
        .await;
        let client = Client::new();
        let resp = client.request(get(server.url("/"))).await.unwrap();
        let mut body = resp.into_body();
        let first = body.frame().await.unwrap().unwrap();
        assert!(first.data_ref().is_some());
        drop(body);
        let resp = client.request(get(server.url("/"))).await.unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), 1 << 20);
    })
    .await;
}

#[tokio::test]
async fn big_static_response() {
    within(10, async {
        static BIG: [u8; 1 << 20] = [b'y'; 1 << 20];
        let server = start(service_fn(|_req: Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(&BIG))))
        }))
        .await;
        let client = Client::new();
        for _ in 0..3 {
            let resp = client.request(get(server.url("/big"))).await.unwrap();
            assert_eq!(resp.headers()[header::CONTENT_LENGTH], "1048576");
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert!(body.len() == BIG.len() && body.iter().all(|&b| b == b'y'));
        }
        assert_eq!(server.stats.accepted(), 1);
    })
    .await;
}

#[tokio::test]
async fn methods_and_paths_reach_the_handler() {
    within(10, async {
        let server = start(service_fn(|req: Request<Incoming>| async move {
            let line = format!("{} {}", req.method(), req.uri());
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(line))))
        }))
        .await;
        let client = Client::new();
        let req = Request::builder()
            .method(Method::DELETE)
            .uri(server.url("/items/7?force=1"))
            .body(Empty::<Bytes>::new())
            .unwrap();
        let resp = client.request(req).await.unwrap();
        assert_eq!(
            resp.into_body().collect().await.unwrap().to_bytes(),
            "DELETE /items/7?force=1"
        );
    })
    .await;
}

#[tokio::test]
async fn connection_refused_is_an_io_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .build();
    let err = client
        .get(format!("http://{addr}/").parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
}

#[tokio::test]
async fn response_waiter_gone_early_does_not_wedge_the_server() {
    within(10, async {
        let (tx, rx) = oneshot::channel::<()>();
        let rx = Arc::new(tokio::sync::Mutex::new(Some(rx)));
        let server = start(service_fn(move |req: Request<Incoming>| {
            let rx = rx.clone();
            async move {
                if req.uri().path() == "/wait" {
                    if let Some(rx) = rx.lock().await.take() {
                        let _ = rx.await;
                    }
                }
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            }
        }))
        .await;
        let client = Client::builder()
            .request_timeout(Duration::from_millis(50))
            .build();
        assert!(client.request(get(server.url("/wait"))).await.is_err());
        drop(tx);
        let resp = client.request(get(server.url("/"))).await.unwrap();
        assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), "ok");
    })
    .await;
}

fn config(f: impl FnOnce(&mut adapter_tokio::Config)) -> adapter_tokio::Config {
    let mut c = adapter_tokio::Config::default();
    f(&mut c);
    c
}

#[tokio::test]
async fn header_read_timeout_answers_408() {
    within(10, async {
        let builder = adapter_tokio::Builder::new().config(config(|c| {
            c.header_read_timeout = Some(Duration::from_millis(100))
        }));
        let server = support::start_with(builder, service_fn(hello)).await;
        let t0 = Instant::now();
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap(); // never finished
        let out = read_to_end(&mut s).await;
        assert!(out.starts_with("HTTP/1.1 408 "), "{out}");
        assert!(t0.elapsed() >= Duration::from_millis(100));
        // The server lingers until we close too (or for a second).
        drop(s);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(server.stats.active(), 0);
    })
    .await;
}

#[tokio::test]
async fn idle_keep_alive_connection_times_out_and_the_client_recovers() {
    within(10, async {
        let builder = adapter_tokio::Builder::new().config(config(|c| {
            c.idle_timeout = Some(Duration::from_millis(100))
        }));
        let server = support::start_with(builder, service_fn(hello)).await;
        let client = Client::new();
        let resp = client.request(get(server.url("/"))).await.unwrap();
        resp.into_body().collect().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            server.stats.active(),
            0,
            "the server closed the idle connection"
        );
        let resp = client.request(get(server.url("/"))).await.unwrap();
        assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), HELLO);
        assert_eq!(server.stats.accepted(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_on_a_multi_thread_runtime() {
    within(20, async {
        let server = start(service_fn(|req: Request<Incoming>| async move {
            if req.uri().path() == "/echo" {
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?
                    .to_bytes();
                Ok::<_, String>(Response::new(Full::new(body)))
            } else {
                Ok(Response::new(Full::new(Bytes::from_static(
                    HELLO.as_bytes(),
                ))))
            }
        }))
        .await;
        let client = Client::new();
        let mut tasks = Vec::new();
        for t in 0..8 {
            let client = client.clone();
            let (hello_uri, echo_uri) = (server.url("/"), server.url("/echo"));
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    let resp = client.request(get(hello_uri.clone())).await.unwrap();
                    assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), HELLO);
                    let payload = Bytes::from(format!("{t}-{i}-").repeat(500));
                    let req = Request::post(echo_uri.clone())
                        .body(Full::new(payload.clone()))
                        .unwrap();
                    let resp = client.request(req).await.unwrap();
                    assert_eq!(
                        resp.into_body().collect().await.unwrap().to_bytes(),
                        payload
                    );
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(server.stats.requests(), 400);
        assert!(
            server.stats.accepted() <= 8,
            "connections reused: {}",
            server.stats.accepted()
        );
    })
    .await;
}
