//! HPACK header compression for HTTP/2 (RFC 7541).
//!
//! A [`Decoder`] turns the header blocks a peer sends into [`Field`]s; an [`Encoder`] turns
//! header lists into blocks for the peer. Each keeps the dynamic table of one direction of
//! one connection, so blocks must be decoded in the order they were encoded, each whole.
//!
//! The contract, in brief:
//! - **Errors**: every [`DecodeError`] except [`DecodeError::HeaderListTooLarge`] is a
//!   connection error of type COMPRESSION_ERROR; `HeaderListTooLarge` refuses one stream and
//!   leaves the decoder usable (the block was decoded to the end to keep the table in sync).
//! - **Limits**: the peer's dynamic table is bounded by our SETTINGS_HEADER_TABLE_SIZE
//!   ([`Decoder::set_max_table_size`]); the header list by the `max_list_size` passed to
//!   [`Decoder::decode`] (SETTINGS_MAX_HEADER_LIST_SIZE); integers by `u32::MAX`; string
//!   lengths by the block. Nothing is allocated on the strength of a length the block does
//!   not contain, and nothing panics on any input.
//! - **Zero copy**: decoded fields are [`Bytes`] slices of the block or of the dynamic table;
//!   only Huffman-coded strings are decoded into a new buffer (one per block).
//! - **Settings**: the encoder follows the peer's SETTINGS_HEADER_TABLE_SIZE
//!   ([`Encoder::set_max_table_size`]) and signals changes at the start of the next block.
//! - **Cookies**: the encoder splits `cookie` into crumbs (RFC 9113 §8.2.3); join them with
//!   [`join_cookies`] before handing a decoded list to HTTP/1-style code.
//!
//! ```
//! use bytes::BytesMut;
//! use proto_core::hpack::{Decoder, Encoder, Field};
//!
//! let mut encoder = Encoder::new();
//! let mut decoder = Decoder::new(4096);
//! let request: [(&[u8], &[u8], bool); 4] = [
//!     (b":method", b"GET", false),
//!     (b":path", b"/", false),
//!     (b"cookie", b"session=2f8a9c; theme=dark", false),
//!     (b"authorization", b"Bearer abc", false),
//! ];
//! let mut block = BytesMut::new();
//! encoder.encode(request, &mut block);
//!
//! let mut fields: Vec<Field> = Vec::new();
//! decoder.decode(&block.freeze(), 16 * 1024, |f| fields.push(f))?;
//! proto_core::hpack::join_cookies(&mut fields);
//! assert_eq!(fields[2].value, "session=2f8a9c; theme=dark");
//! assert!(fields[3].sensitive); // credentials are sent never-indexed
//! # Ok::<(), proto_core::hpack::DecodeError>(())
//! ```
//!
//! [`Bytes`]: bytes::Bytes

mod decoder;
mod encoder;
mod error;
mod field;
mod huffman;
mod huffman_table;
mod integer;
mod table;

#[allow(unexpected_cfgs)] // `fuzzing` is set by cargo-fuzz.
pub mod fuzz;

#[cfg(test)]
mod appendix_c;
#[cfg(test)]
mod roundtrip_tests;

pub use decoder::Decoder;
pub use encoder::{Encoder, HuffmanMode, Indexing};
pub use error::DecodeError;
pub use field::{Field, join_cookies};
