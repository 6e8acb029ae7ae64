//! Shared test support: the deterministic in-memory pair harness.
