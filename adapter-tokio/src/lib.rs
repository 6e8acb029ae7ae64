//! `adapter-tokio`: HTTP/1.1 and HTTP/2 servers and clients on tokio,
//! driving the sans-IO [`proto_core::Connection`].
//!
//! # Server
//!
//! ```no_run
//! use std::convert::Infallible;
//! use std::time::Duration;
//!
//! use adapter_tokio::{Incoming, Server, service_fn};
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     let server = Server::bind("127.0.0.1:8080").await?;
//!     println!("listening on http://{}", server.local_addr()?);
//!
//!     // Ctrl-C: stop accepting, give requests in progress 10 s to finish.
//!     let shutdown = server.shutdown_handle();
//!     tokio::spawn(async move {
//!         let _ = tokio::signal::ctrl_c().await;
//!         shutdown.shutdown(Duration::from_secs(10));
//!     });
//!
//!     let stats = server.stats();
//!     server
//!         .serve(service_fn(|req: Request<Incoming>| async move {
//!             let body = format!("Hello, {}!", req.uri().path());
//!             Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
//!         }))
//!         .await?;
//!     println!("served {} requests on {} connections", stats.requests(), stats.accepted());
//!     Ok(())
//! }
//! ```
//!
//! A service is any [`tower_service::Service`] from `http::Request<Incoming>`
//! to `http::Response<B>` with `B` an [`http_body::Body`] (see
//! [`HttpService`]): an axum `Router`, a tower stack, or an async function
//! wrapped by [`service_fn`]. [`serve_connection`] serves one transport of
//! any kind (a Unix socket, an in-memory duplex...).
//!
//! # TLS
//!
//! With the feature `rustls`, `Builder::tls` serves HTTPS and
//! `ClientBuilder::tls` enables `https://` URIs, over tokio-rustls with
//! the ring provider (`rustls` is re-exported). ALPN (RFC 7301) chooses
//! the protocol: `h2` is HTTP/2 (RFC 9113 §3.2), `http/1.1` HTTP/1.1; a
//! config without an ALPN list gets the one for the configured [`Protocol`]
//! (server `Auto`: both, `h2` preferred; client `Http1`, the default: only
//! `http/1.1`, `Auto`: both). The server runs each handshake in its
//! connection's task, bounded by the config's `header_read_timeout` (or
//! `TLS_HANDSHAKE_TIMEOUT`); the client sends the URI host as SNI and
//! pools by scheme and authority, sharing HTTP/2 connections.
//!
//! ```no_run
//! # #[cfg(feature = "rustls")]
//! # async fn run(
//! #     server_tls: adapter_tokio::rustls::ServerConfig,
//! #     client_tls: adapter_tokio::rustls::ClientConfig,
//! # ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use adapter_tokio::{Client, Protocol, Server};
//!
//! let server = Server::builder().tls(server_tls).bind("127.0.0.1:8443").await?;
//! # let _ = server;
//! let client = Client::builder().protocol(Protocol::Auto).tls(client_tls).build();
//! let resp = client.get("https://localhost:8443/".parse()?).await?;
//! println!("{:?}", resp.version()); // HTTP/2.0 if the server chose h2
//! # Ok(()) }
//! ```
//!
//! # Client
//!
//! ```no_run
//! use adapter_tokio::Client;
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
//! connection:
//!
//! ```no_run
//! use adapter_tokio::Client;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let client = Client::builder().http2_prior_knowledge().build();
//! let (a, b) = tokio::join!(
//!     client.get("http://127.0.0.1:8080/a".parse()?),
//!     client.get("http://127.0.0.1:8080/b".parse()?),
//! );
//! assert_eq!(a?.version(), http::Version::HTTP_2);
//! # let _ = b; Ok(()) }
//! ```
//!
//! # How it works
//!
//! Per connection, one task owns the core and loops: commands from stream
//! handles, socket input (`recv_buf`), events, socket output (vectored
//! writes of the core's gather list), timer (`poll_timeout`). Handlers run
//! in their own tasks once they need to wait; bodies flow through bounded
//! windows in both directions, so a slow consumer stops the socket being
//! read and a slow peer stops the body being polled. Limits and timeouts are
//! the core's ([`proto_core::Config`]), passed through unchanged.
//!
//! Protocol upgrades (`101`, e.g. WebSocket) and `CONNECT` tunnels: see
//! [`upgrade`].
//!
//! Not yet supported: `h2c` upgrade in the client.

mod client;
mod driver;
mod server;
#[cfg(feature = "rustls")]
mod tls;
pub mod upgrade;

use adapter_common::{body, cmd, conv, error, service};

pub use adapter_common::error::{BoxError, Error, TimeoutKind};
pub use body::Incoming;
pub use client::{Client, ClientBuilder, SendRequest, handshake, handshake_with};
pub use server::{Builder, Server, ShutdownHandle, Stats, serve_connection};
pub use service::{HttpService, ServiceFn, service_fn};
#[cfg(feature = "rustls")]
pub use tls::TLS_HANDSHAKE_TIMEOUT;

/// The rustls version this crate's TLS uses (feature `rustls`), re-exported
/// so that configs need no version matching.
#[cfg(feature = "rustls")]
pub use rustls;

/// The core's configuration, re-exported for convenience.
pub use proto_core::{Config, Protocol};

/// HTTP/2 error codes (in [`Error::Reset`]), re-exported for convenience.
pub use proto_core::ErrorCode;
