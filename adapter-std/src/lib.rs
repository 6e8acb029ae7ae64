//! `adapter-std`: HTTP/1.1 and HTTP/2 servers and clients on plain
//! `std::net` sockets and threads, driving the sans-IO
//! [`proto_core::Connection`]. No async runtime.
//!
//! # Server
//!
//! ```no_run
//! use std::io::Read;
//! use std::time::Duration;
//!
//! use adapter_std::{Body, SendBody, Server};
//! use http::{Request, Response};
//!
//! fn main() -> std::io::Result<()> {
//!     let server = Server::bind("127.0.0.1:8080")?;
//!     println!("listening on http://{}", server.local_addr()?);
//!     let shutdown = server.shutdown_handle();
//!     // Elsewhere: `shutdown.shutdown(Duration::from_secs(10))` stops
//!     // accepting and gives requests in progress 10 s to finish.
//!     # let _ = (shutdown, Duration::ZERO);
//!     server.serve(|req: Request<Body>| {
//!         if req.uri().path() == "/echo" {
//!             // Streams the request body back as it arrives.
//!             let mut body = req.into_body();
//!             return Response::new(SendBody::writer(move |w| {
//!                 std::io::copy(&mut body, w).map(drop)
//!             }));
//!         }
//!         let mut text = String::new();
//!         let _ = req.into_body().read_to_string(&mut text);
//!         Response::new(SendBody::from("Hello, World!"))
//!     })
//! }
//! ```
//!
//! A handler is any `Fn(Request<Body>) -> Response<SendBody> + Send + Sync`
//! ([`Handler`]); a tower service runs through [`serve_tower`].
//! [`serve_connection`] serves one stream of any [`Transport`] kind.
//!
//! # Client
//!
//! ```no_run
//! use adapter_std::Client;
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let client = Client::new();
//! let resp = client.get("http://127.0.0.1:8080/")?;
//! println!("{}", resp.status());
//! let body = resp.into_body().collect()?;
//! # let _ = body; Ok(()) }
//! ```
//!
//! # Upgrades
//!
//! `101 Switching Protocols` (e.g. WebSocket) and `CONNECT` tunnels over
//! HTTP/1.1, on both sides: the connection is handed over as a blocking
//! `Read + Write` ([`upgrade::Upgraded`], TLS included) that first yields
//! the bytes already read past the HTTP message. See [`upgrade`].
//!
//! # TLS
//!
//! With the `rustls` feature, `Builder::tls` serves HTTPS and
//! `ClientBuilder::tls` enables `https://` URIs (SNI from the URI's host).
//! ALPN chooses the protocol (RFC 7301): `h2` is HTTP/2 (RFC 9113 §3.2),
//! `http/1.1` HTTP/1.1; left empty, the ALPN list is filled in from the
//! configured [`Protocol`] (`Auto`: both). Each connection's thread runs
//! its own handshake (never the accept loop), bounded by the core's
//! header-read timeout; failures close only that connection and are
//! counted in [`Stats::handshake_failures`]. The `rustls` crate is
//! re-exported (`adapter_std::rustls`) so versions always match.
//!
//! # How it works
//!
//! Per connection, one thread owns the core and loops: time
//! (`handle_timeout`), input, events, vectored writes of the core's gather
//! list, then a wait for the next message or the core's deadline. Once an
//! exchange involves another thread (a handler on the pool, a body), a
//! reader thread per connection blocks in `read` and forwards input over
//! the same channel that handler threads use for their commands, so one
//! `recv_timeout` waits for all of it (std has no `poll`; see the `driver`
//! module's notes for the trade-offs); until then a server connection
//! thread reads its socket itself, bounded by the core's deadline (no
//! hand-off per read). Server requests run on a
//! bounded pool of handler threads ([`Builder::workers`], [`Builder::queue`];
//! when it is full the connection answers `503` at once and keeps reading),
//! so a slow handler blocks neither its connection nor the other streams;
//! HTTP/1.1 requests without a body (and not upgrading) are the exception:
//! the connection's own thread answers them, as it has nothing else to do
//! meanwhile (a streamed response body still goes to the pool).
//! Bodies are bounded both ways: see [`Body`] and [`BodyWriter`].
//! Trailers go both ways too: [`SendBody::with_trailers`] or
//! [`BodyWriter::set_trailers`] to send (HTTP/1.1 chunked trailer section,
//! HTTP/2 trailing HEADERS), [`Body::trailers`] after the end to receive. Limits
//! and timeouts are the core's ([`proto_core::Config`]).
//!
//! With TLS, the reader thread forwards ciphertext and the connection
//! thread owns the rustls session: it decrypts input for the core and
//! encrypts the core's output, so no TLS state is shared between threads.
//!
//! Not yet supported: `h2c` upgrade in the client; upgrades and `CONNECT`
//! tunnels over HTTP/2 (RFC 8441).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod client;
mod direct;
mod driver;
mod error;
mod inbox;
mod pool;
mod server;
mod tls;
mod tower;
mod transport;
pub mod upgrade;

use adapter_common::conv;

pub use body::{Body, BodyWriter, SEND_WINDOW, SendBody};
pub use client::{Client, ClientBuilder};
pub use error::{BoxError, Error, TimeoutKind};
pub use server::{Builder, Handler, Server, ShutdownHandle, Stats, serve_connection};
pub use tower::{TowerHandler, block_on, serve_tower};
pub use transport::Transport;

/// The core's configuration, re-exported for convenience.
pub use proto_core::{Config, Protocol};

/// HTTP/2 error codes (in [`Error::Reset`]), re-exported for convenience.
pub use proto_core::ErrorCode;

/// The rustls version this adapter's TLS support is built with.
#[cfg(feature = "rustls")]
pub use rustls;
