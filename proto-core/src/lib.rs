//! `proto-core`: sans-IO HTTP state machines.
//!
//! Bytes in, events out, bytes to send out, deadlines out. This crate never
//! touches a socket, a thread, a clock or an async runtime: the caller passes
//! the time in and moves the bytes. See [`Connection`] for the driving loop.
//!
//! The HTTP/1 building blocks are public on their own in [`h1`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
#[cfg(test)]
mod config_tests;
mod connection;
mod error;
mod event;
#[cfg(fuzzing)]
pub mod fuzz;
pub mod h1;
pub mod h2;
mod head;
pub mod hpack;
#[cfg(feature = "http")]
mod http_conv;
#[cfg(test)]
mod idle_release_tests;
mod input;
#[cfg(test)]
mod test_rng;
mod time;
mod timer;
mod transmit;

pub use config::{Config, H2Config, MinRate};
pub use connection::{Connection, Protocol, ReadChunk, Shutdown, Side, StreamMut};
pub use error::{CloseReason, ErrorCode, PeerError, UserError};
pub use event::{Event, StreamId, TimerKind, UpgradeKind, Version};
pub use head::{Fields, HeaderField, Method, RequestHead, ResponseHead, reason_phrase};
pub use time::Instant;

/// Re-exported so callers need not depend on `core::time` paths.
pub use core::time::Duration;
