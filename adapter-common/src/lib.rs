//! `adapter-common`: the runtime-independent code of the proto-core
//! adapters (`adapter-tokio`, `adapter-smol`, `adapter-std`).
//!
//! Users do not depend on this crate: each adapter re-exports what belongs
//! to its public API (e.g. `adapter_tokio::Error`, `adapter_smol::Incoming`).
//! What is here:
//!
//! - [`conv`]: conversions between the core's heads and `http` types;
//! - [`date`]: the cached `Date` header value;
//! - [`error`]: the async adapters' error type;
//! - [`cmd`], [`body`], [`send`], [`service`]: the async adapters' command
//!   channel to the connection task, received bodies ([`body::Incoming`]),
//!   the send window and body pump, and the service trait;
//! - [`driver`]: the connection task's stream bookkeeping ([`driver::Core`],
//!   [`driver::Stream`]), with what a runtime supplies behind
//!   [`driver::Runtime`], and the role behind [`driver::Handler`];
//! - [`streams`]: the exchanges in progress, found by stream id or key;
//! - [`client`]: the client side of a connection task (request queue,
//!   HTTP/2 multiplexing, GOAWAY retirement);
//! - [`server`]: the server side's request run, reply and `500` handling;
//! - [`first_poll`]: the handler future's first poll, in a box kept per
//!   thread;
//! - [`upgrade`]: the transport handoff after a protocol switch;
//! - `tls` (feature `rustls`): ALPN lists and the protocol ALPN selects.
//!
//! # Synchronization primitives
//!
//! The async adapters' shared code wakes tasks through `tokio::sync`
//! (`mpsc`, `oneshot`, `Notify`) and nothing else. These need no tokio
//! runtime: they only use the `Waker` of the task that polls them, so they
//! work the same on smol, async-std or any other executor. The crate
//! depends on tokio with the `sync` feature only.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod body;
pub mod chan;
pub mod client;
pub mod cmd;
pub mod conv;
pub mod date;
pub mod driver;
pub mod error;
pub mod first_poll;
pub mod send;
pub mod server;
pub mod service;
pub mod streams;
#[cfg(feature = "rustls")]
pub mod tls;
pub mod upgrade;
