//! Handler calls by path, for tests that must prove a request never reached
//! a handler (h1_smuggling: the request pipelined behind a rejected one).
//! Only paths under `/smuggled` are recorded, so ordinary traffic (the
//! prober, floods) costs a prefix check and no memory.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The recorded prefix.
pub const PREFIX: &str = "/smuggled";

static CALLS: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);

/// Called by the test routes with each request's path.
pub fn note(path: &str) {
    if path.starts_with(PREFIX) {
        let mut calls = CALLS.lock().unwrap_or_else(PoisonError::into_inner);
        *calls
            .get_or_insert_with(HashMap::new)
            .entry(path.to_owned())
            .or_default() += 1;
    }
}

/// How many times a handler was called for `path`.
pub fn count(path: &str) -> u64 {
    let calls = CALLS.lock().unwrap_or_else(PoisonError::into_inner);
    calls
        .as_ref()
        .and_then(|c| c.get(path))
        .copied()
        .unwrap_or(0)
}
