#![no_main]
//! Shell over `proto_core::fuzz::h1_server_bytes`; the checks live there.

libfuzzer_sys::fuzz_target!(|data: &[u8]| proto_core::fuzz::h1_server_bytes(data));
