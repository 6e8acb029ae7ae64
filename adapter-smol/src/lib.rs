//! `adapter-smol`: HTTP/1.1 and HTTP/2 servers and clients on the smol
//! family (`async-io` sockets and timers, `async-executor` tasks,
//! `futures-io` traits), driving the sans-IO [`proto_core::Connection`].
//! The same API shape as `adapter-tokio`.
//!
//! It runs under any executor that can drive `futures-io` streams and
//! `async-io` timers: smol, a hand-made [`async_executor::Executor`], or
//! async-std (whose sockets can be given to [`serve_connection`] and
//! [`Client::from_io`]).
//!
//! # Server
//!
//! ```no_run
//! use std::convert::Infallible;
//!
//! use adapter_smol::{Incoming, Server, service_fn};
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//!
//! fn main() -> std::io::Result<()> {
//!     smol::block_on(async {
//!         let server = Server::bind("127.0.0.1:8080").await?;
//!         println!("listening on http://{}", server.local_addr()?);
//!         let stats = server.stats();
//!         server
//!             .serve(service_fn(|req: Request<Incoming>| async move {
//!                 let body = format!("Hello, {}!", req.uri().path());
//!                 Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
//!             }))
//!             .await?;
//!         println!("served {} requests on {} connections", stats.requests(), stats.accepted());
//!         Ok(())
//!     })
//! }
//! ```
//!
//! A service is any [`tower_service::Service`] from `http::Request<Incoming>`
//! to `http::Response<B>` with `B` an [`http_body::Body`] (see
//! [`HttpService`]), or an async function wrapped by [`service_fn`].
//! [`serve_connection`] serves one transport of any kind (any `futures-io`
//! `AsyncRead + AsyncWrite`: a TLS stream, an async-std socket...).
//! [`ShutdownHandle::shutdown`] stops a server gracefully.
//!
//! # Where tasks run
//!
//! Per connection, one task owns the core; a handler that does not answer
//! at once continues in its own task, so a slow handler blocks neither its
//! connection nor other HTTP/2 streams. By default these tasks are spawned
//! with `smol::spawn` (smol's global executor, which runs on its own
//! threads); [`Builder::executor`] and [`ClientBuilder::executor`] put them
//! on an `Arc<async_executor::Executor>` of yours instead (which you must
//! run).
//!
//! # Client
//!
//! ```no_run
//! use adapter_smol::Client;
//! use http_body_util::{BodyExt, Empty};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let client = Client::new();
//! let req = http::Request::get("http://127.0.0.1:8080/").body(Empty::<bytes::Bytes>::new())?;
//! let resp = client.request(req).await?;
//! println!("{}", resp.status());
//! let body = resp.into_body().collect().await?.to_bytes();
//! # let _ = body; Ok(()) }
//! ```
//!
//! HTTP/2 (prior knowledge) multiplexes every request to an authority on one
//! connection: `Client::builder().http2_prior_knowledge().build()`.
//!
//! # How it works
//!
//! The connection task is a hand-written `poll` loop: commands from stream
//! handles, socket input (`recv_buf`), events, socket output (vectored
//! writes of the core's gather list), timer (`poll_timeout`, on an
//! `async_io::Timer`). Bodies flow through bounded windows in both
//! directions, so a slow consumer stops the socket being read and a slow
//! peer stops the body being polled. Limits and timeouts are the core's
//! ([`proto_core::Config`]), passed through unchanged.
//!
//! Protocol upgrades (`101`, e.g. WebSocket) and `CONNECT` tunnels: see
//! [`upgrade`].
//!
//! # TLS (feature `rustls`)
//!
//! Over rustls through `futures-rustls` (rustls is re-exported as
//! `adapter_smol::rustls`, so configs need no version matching).
//! `Builder::tls(rustls::ServerConfig)`: every accepted connection does its
//! handshake in its own task (never in the accept loop), bounded by the
//! config's `header_read_timeout` (or `TLS_HANDSHAKE_TIMEOUT`); a failed
//! handshake closes only that connection. ALPN (RFC 7301) then selects the
//! protocol: `h2` is HTTP/2 (RFC 9113 §3.2), `http/1.1` HTTP/1.1; an empty
//! ALPN list in the config is filled in from the builder's protocol.
//! `ClientBuilder::tls(rustls::ClientConfig)` enables `https://` URIs (SNI
//! and certificate name from the URI host); with `protocol(Protocol::Auto)`
//! the client offers both and speaks what the server chose, HTTP/2
//! connections being shared by concurrent requests. `http` and `https`
//! never share a pooled connection. Example: `Builder::tls`; the `hello`
//! (`--tls`) and `client` (`--cacert`) examples work together.
//!
//! Not yet supported: `h2c` upgrade in the client.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod driver;
mod rt;
mod server;
mod shutdown;
mod socket;
#[cfg(feature = "rustls")]
mod tls;
pub mod upgrade;

/// The rustls this crate was built with (feature `rustls`), for building
/// the configs given to [`Builder::tls`] and [`ClientBuilder::tls`].
#[cfg(feature = "rustls")]
pub use rustls;

use adapter_common::{body, cmd, conv, error, service};

pub use adapter_common::error::{BoxError, Error, TimeoutKind};
pub use body::Incoming;
pub use client::{Client, ClientBuilder, SendRequest, handshake, handshake_with};
pub use server::{Builder, Server, ShutdownHandle, Stats, serve_connection};
pub use service::{HttpService, ServiceFn, service_fn};
#[cfg(feature = "rustls")]
pub use tls::TLS_HANDSHAKE_TIMEOUT;

/// The core's configuration, re-exported for convenience.
pub use proto_core::{Config, Protocol};

/// HTTP/2 error codes (in [`Error::Reset`]), re-exported for convenience.
pub use proto_core::ErrorCode;
