#![no_main]
//! Shell over `proto_core::fuzz::h1_head_parse`; the checks live there.

libfuzzer_sys::fuzz_target!(|data: &[u8]| proto_core::fuzz::h1_head_parse(data));
