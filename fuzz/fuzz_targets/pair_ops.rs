#![no_main]
//! Shell over `proto_core::fuzz::pair_ops`; the checks live there.

libfuzzer_sys::fuzz_target!(|data: &[u8]| proto_core::fuzz::pair_ops(data));
