//! Compiles and runs the README's Rust examples as doctests, so the README
//! cannot drift from the API.
#![doc = include_str!("../../README.md")]
