//! The adapter under async-std (discontinued upstream; smol is its
//! successor): async-std's executor, reactor and sockets, handed to
//! `serve_connection` and `handshake`. Handlers that do not answer at once
//! run on smol's global executor (the default spawner), which works under
//! any runtime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::time::Duration;

use adapter_smol::{Builder, Incoming, Protocol, handshake_with, service_fn};
use async_std::net::{TcpListener, TcpStream};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};

async fn hello_or_echo(req: Request<Incoming>) -> Result<Response<Incoming>, Infallible> {
    if req.uri().path() == "/echo" {
        return Ok(Response::new(req.into_body()));
    }
    // The request body (empty here) stands in for a fixed reply: the
    // response type is `Incoming` in both branches.
    let mut resp = Response::new(req.into_body());
    resp.headers_mut()
        .insert("x-hello", http::HeaderValue::from_static("world"));
    Ok(resp)
}

fn exchange(protocol: Protocol) {
    async_std::task::block_on(async_std::future::timeout(Duration::from_secs(10), async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let builder = Builder::new();
        let stats = builder.stats();
        let server = async_std::task::spawn(async move {
            let (io, _) = listener.accept().await.unwrap();
            builder
                .serve_connection(io, service_fn(hello_or_echo))
                .await
        });

        let io = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = handshake_with(io, protocol);
        let conn = async_std::task::spawn(conn);

        let req = Request::get(format!("http://{addr}/"))
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["x-hello"], "world");

        let payload = support::mebibyte();
        let req = Request::post(format!("http://{addr}/echo"))
            .body(Full::new(Bytes::from(payload.clone())))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(got == payload, "echoed bytes differ");

        // Dropping the last handle ends the client connection; the server
        // sees the close and returns.
        drop(sender);
        conn.await.unwrap();
        server.await.unwrap();
        assert_eq!(stats.accepted(), 1);
        assert_eq!(stats.requests(), 2);
        assert_eq!(stats.active(), 0);
    }))
    .expect("test timed out");
}

#[test]
fn async_std_sockets_and_runtime_h1() {
    exchange(Protocol::Http1);
}

#[test]
fn async_std_sockets_and_runtime_h2() {
    exchange(Protocol::Http2);
}

#[test]
fn async_std_socket_through_client_from_io() {
    async_std::task::block_on(async_std::future::timeout(Duration::from_secs(10), async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = async_std::task::spawn(async move {
            let (io, _) = listener.accept().await.unwrap();
            adapter_smol::serve_connection(io, service_fn(hello_or_echo)).await
        });
        // `from_io` spawns the connection task on smol's global executor.
        let sender = adapter_smol::Client::from_io(TcpStream::connect(addr).await.unwrap());
        let req = Request::get("/")
            .header(http::header::HOST, addr.to_string())
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.headers()["x-hello"], "world");
        drop(resp);
        drop(sender);
        server.await.unwrap();
    }))
    .expect("test timed out");
}
