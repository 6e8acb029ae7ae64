#![no_main]
//! Shell over `proto_core::fuzz::h2_frame_decode`; the checks live there.

libfuzzer_sys::fuzz_target!(|data: &[u8]| proto_core::fuzz::h2_frame_decode(data));
