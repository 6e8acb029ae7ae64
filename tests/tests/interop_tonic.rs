//! gRPC interop with tonic 0.14: tonic's client, over tonic's own transport
//! (`Channel`, HTTP/2 prior knowledge), calls a tonic service served by our
//! server. The service is written by hand with `tonic::server::Grpc` and
//! prost-derived messages (no `protoc`, no build script): what
//! `tonic-build` would generate, minus the router.
//!
//! Also: tonic's client over our HTTP/2 client (a `SendRequest` as tonic's
//! transport), against the same service on our server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use adapter_tokio::{Incoming, Protocol, SendRequest, Server, Stats, service_fn};
use http::uri::PathAndQuery;
use tonic::codegen::tokio_stream::{self, Stream, StreamExt};
use tonic::{Code, Status};
use tonic_prost::ProstCodec;

/// Fails a test that hangs instead of letting it hang.
const LIMIT: Duration = Duration::from_secs(20);

const SAY_HELLO: &str = "/interop.Greeter/SayHello";
const COUNTDOWN: &str = "/interop.Greeter/Countdown";

// ------------------------------------------------------------------ messages

#[derive(Clone, PartialEq, prost::Message)]
struct HelloRequest {
    #[prost(string, tag = "1")]
    name: String,
    /// Countdown: how many replies before the end (or the error).
    #[prost(uint32, tag = "2")]
    count: u32,
    /// Countdown: end with this status code instead of OK.
    #[prost(int32, tag = "3")]
    fail_with: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HelloReply {
    #[prost(string, tag = "1")]
    message: String,
}

// ------------------------------------------------------------------ service

/// `SayHello`: greets `name`; an empty name is `INVALID_ARGUMENT` with a
/// custom metadata entry (a trailers-only response). A tower service, which
/// makes it a `tonic::server::UnaryService`.
#[derive(Clone)]
struct SayHello;

impl tonic::codegen::Service<tonic::Request<HelloRequest>> for SayHello {
    type Response = tonic::Response<HelloReply>;
    type Error = Status;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Status>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::Request<HelloRequest>) -> Self::Future {
        Box::pin(async move {
            let name = req.into_inner().name;
            if name.is_empty() {
                let mut status = Status::invalid_argument("name is empty");
                status
                    .metadata_mut()
                    .insert("x-reason", "no-name".parse().unwrap());
                return Err(status);
            }
            Ok(tonic::Response::new(HelloReply {
                message: format!("Hello, {name}!"),
            }))
        })
    }
}

type ReplyStream = Pin<Box<dyn Stream<Item = Result<HelloReply, Status>> + Send>>;

/// `Countdown`: `count` replies, then OK or the status `fail_with` (sent in
/// trailers after the messages).
#[derive(Clone)]
struct Countdown;

impl tonic::server::ServerStreamingService<HelloRequest> for Countdown {
    type Response = HelloReply;
    type ResponseStream = ReplyStream;
    type Future =
        Pin<Box<dyn Future<Output = Result<tonic::Response<ReplyStream>, Status>> + Send>>;

    fn call(&mut self, req: tonic::Request<HelloRequest>) -> Self::Future {
        Box::pin(async move {
            let HelloRequest {
                name,
                count,
                fail_with,
            } = req.into_inner();
            let replies = (0..count).rev().map(move |i| {
                Ok(HelloReply {
                    message: format!("{name} {i}"),
                })
            });
            let end = (fail_with != 0).then(|| {
                let mut status = Status::new(Code::from_i32(fail_with), "countdown failed");
                status.metadata_mut().insert("x-left", "0".parse().unwrap());
                Err(status)
            });
            let stream: ReplyStream = Box::pin(tokio_stream::iter(replies.chain(end)));
            Ok(tonic::Response::new(stream))
        })
    }
}

/// The Greeter as an HTTP service for our server: routes by path, as a
/// generated `GreeterServer` does.
async fn greeter(
    req: http::Request<Incoming>,
) -> Result<http::Response<tonic::body::Body>, Infallible> {
    let codec = ProstCodec::<HelloReply, HelloRequest>::default();
    let mut grpc = tonic::server::Grpc::new(codec);
    let resp = match req.uri().path() {
        SAY_HELLO => grpc.unary(SayHello, req).await,
        COUNTDOWN => grpc.server_streaming(Countdown, req).await,
        _ => Status::unimplemented("no such method").into_http(),
    };
    Ok(resp)
}

/// Our server with the Greeter on 127.0.0.1:0 (HTTP/1.1 and HTTP/2 on one
/// port, as by default).
async fn start_greeter() -> (SocketAddr, Stats) {
    let server = Server::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let stats = server.stats();
    tokio::spawn(async move { server.serve(service_fn(greeter)).await });
    (addr, stats)
}

// ------------------------------------------------------------------ tonic client

fn hello(name: &str) -> HelloRequest {
    HelloRequest {
        name: name.to_owned(),
        count: 0,
        fail_with: 0,
    }
}

/// Calls `SayHello` with any tonic transport.
async fn say_hello<T>(
    grpc: &mut tonic::client::Grpc<T>,
    name: &str,
) -> Result<tonic::Response<HelloReply>, Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::ResponseBody: tonic::codegen::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
    T::Error: Into<tonic::codegen::StdError>,
{
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(e.into().to_string()))?;
    let codec = ProstCodec::<HelloRequest, HelloReply>::default();
    grpc.unary(
        tonic::Request::new(hello(name)),
        PathAndQuery::from_static(SAY_HELLO),
        codec,
    )
    .await
}

/// Calls `Countdown`; returns the messages and how the stream ended.
async fn countdown<T>(
    grpc: &mut tonic::client::Grpc<T>,
    count: u32,
    fail_with: Code,
) -> (Vec<String>, Result<(), Status>)
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::ResponseBody: tonic::codegen::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
    T::Error: Into<tonic::codegen::StdError>,
{
    grpc.ready()
        .await
        .map_err(|e| e.into())
        .expect("transport ready");
    let req = HelloRequest {
        name: "t".to_owned(),
        count,
        fail_with: fail_with as i32,
    };
    let codec = ProstCodec::<HelloRequest, HelloReply>::default();
    let resp = grpc
        .server_streaming(
            tonic::Request::new(req),
            PathAndQuery::from_static(COUNTDOWN),
            codec,
        )
        .await
        .expect("stream starts");
    let mut stream = resp.into_inner();
    let mut got = Vec::new();
    loop {
        match stream.next().await {
            Some(Ok(reply)) => got.push(reply.message),
            Some(Err(status)) => return (got, Err(status)),
            None => break,
        }
    }
    (got, Ok(()))
}

async fn tonic_channel(addr: SocketAddr) -> tonic::client::Grpc<tonic::transport::Channel> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connect");
    tonic::client::Grpc::new(channel)
}

#[tokio::test]
async fn tonic_channel_unary() {
    let (addr, stats) = start_greeter().await;
    tokio::time::timeout(LIMIT, async {
        let mut grpc = tonic_channel(addr).await;
        for name in ["Ferris", "tonic"] {
            let resp = say_hello(&mut grpc, name).await.unwrap();
            assert_eq!(resp.into_inner().message, format!("Hello, {name}!"));
        }
    })
    .await
    .expect("timed out");
    assert_eq!(stats.accepted(), 1);
    assert_eq!(stats.requests(), 2);
}

#[tokio::test]
async fn tonic_channel_server_streaming() {
    let (addr, _stats) = start_greeter().await;
    tokio::time::timeout(LIMIT, async {
        let mut grpc = tonic_channel(addr).await;
        let (got, end) = countdown(&mut grpc, 3, Code::Ok).await;
        assert_eq!(got, ["t 2", "t 1", "t 0"]);
        end.unwrap();
        // Many messages: several DATA frames and window updates.
        let (got, end) = countdown(&mut grpc, 5000, Code::Ok).await;
        assert_eq!(got.len(), 5000);
        assert_eq!(got.last().map(String::as_str), Some("t 0"));
        end.unwrap();
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn tonic_channel_status_errors() {
    let (addr, _stats) = start_greeter().await;
    tokio::time::timeout(LIMIT, async {
        let mut grpc = tonic_channel(addr).await;
        // Trailers-only: `grpc-status` in the response head.
        let status = say_hello(&mut grpc, "").await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "name is empty");
        assert_eq!(status.metadata().get("x-reason").unwrap(), "no-name");
        // After messages: `grpc-status` in trailers.
        let (got, end) = countdown(&mut grpc, 2, Code::ResourceExhausted).await;
        assert_eq!(got, ["t 1", "t 0"]);
        let status = end.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), "countdown failed");
        assert_eq!(status.metadata().get("x-left").unwrap(), "0");
        // Unknown method.
        let codec = ProstCodec::<HelloRequest, HelloReply>::default();
        grpc.ready().await.unwrap();
        let status = grpc
            .unary(
                tonic::Request::new(hello("x")),
                PathAndQuery::from_static("/interop.Greeter/Nope"),
                codec,
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
        // The connection is still fine.
        let resp = say_hello(&mut grpc, "again").await.unwrap();
        assert_eq!(resp.into_inner().message, "Hello, again!");
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn tonic_channel_concurrent_calls() {
    let (addr, stats) = start_greeter().await;
    tokio::time::timeout(LIMIT, async {
        let grpc = tonic_channel(addr).await;
        let mut set = tokio::task::JoinSet::new();
        for i in 0..32 {
            let mut grpc = grpc.clone();
            set.spawn(async move {
                let name = format!("n{i}");
                let resp = say_hello(&mut grpc, &name).await.unwrap();
                assert_eq!(resp.into_inner().message, format!("Hello, {name}!"));
            });
        }
        while let Some(done) = set.join_next().await {
            done.unwrap();
        }
    })
    .await
    .expect("timed out");
    assert_eq!(stats.accepted(), 1);
    assert_eq!(stats.requests(), 32);
}

// ------------------------------------------------------------------ tonic over our client

/// Our HTTP/2 connection as tonic's transport: a `GrpcService` over a
/// [`SendRequest`].
#[derive(Clone)]
struct OurTransport {
    sender: SendRequest,
}

impl tonic::codegen::Service<http::Request<tonic::body::Body>> for OurTransport {
    type Response = http::Response<Incoming>;
    type Error = adapter_tokio::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let sender = self.sender.clone();
        Box::pin(async move { sender.send_request(req).await })
    }
}

#[tokio::test]
async fn tonic_client_over_our_h2_client() {
    let (addr, stats) = start_greeter().await;
    tokio::time::timeout(LIMIT, async {
        let io = tokio::net::TcpStream::connect(addr).await.unwrap();
        let sender = adapter_tokio::Client::from_io_with(io, Protocol::Http2);
        let origin: http::Uri = format!("http://{addr}").parse().unwrap();
        let mut grpc = tonic::client::Grpc::with_origin(OurTransport { sender }, origin);
        let resp = say_hello(&mut grpc, "ours").await.unwrap();
        assert_eq!(resp.into_inner().message, "Hello, ours!");
        let (got, end) = countdown(&mut grpc, 3, Code::Ok).await;
        assert_eq!(got, ["t 2", "t 1", "t 0"]);
        end.unwrap();
        let (got, end) = countdown(&mut grpc, 1, Code::PermissionDenied).await;
        assert_eq!(got, ["t 0"]);
        assert_eq!(end.unwrap_err().code(), Code::PermissionDenied);
        let status = say_hello(&mut grpc, "").await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.metadata().get("x-reason").unwrap(), "no-name");
    })
    .await
    .expect("timed out");
    assert_eq!(stats.accepted(), 1);
}
