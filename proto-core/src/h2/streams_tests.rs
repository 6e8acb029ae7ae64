//! The stream table against a `BTreeMap` model: the same answers for any
//! order of opening, resetting and looking up streams.

use std::collections::BTreeMap;

use super::Streams;
use crate::event::StreamId;
use crate::h2::stream::Stream;
use crate::head::Method;
use crate::test_rng::Rng;

fn stream(id: u32) -> Stream {
    Stream::new(StreamId::new(id), Method::Get, 65_535, 65_535)
}

/// Both agree on every id up to `top` (live, removed, never opened), on
/// the order of iteration, and the table stays within its size bound.
fn check(t: &Streams, model: &BTreeMap<u32, ()>, top: u32) {
    assert_eq!(t.len(), model.len());
    assert_eq!(t.is_empty(), model.is_empty());
    for id in 0..=top + 2 {
        assert_eq!(t.contains_key(&id), model.contains_key(&id), "id {id}");
        assert_eq!(t.get(&id).map(|s| s.id.get()), model.get(&id).map(|_| id));
    }
    let keys: Vec<u32> = t.keys().collect();
    assert_eq!(keys, model.keys().copied().collect::<Vec<_>>());
    let ids: Vec<u32> = t.values().map(|s| s.id.get()).collect();
    assert_eq!(ids, keys);
    assert!(
        t.slots() <= 2 * t.len() + super::SLACK,
        "{} slots",
        t.slots()
    );
}

#[test]
fn matches_a_btreemap_for_random_opens_and_resets_in_any_order() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut t = Streams::new();
    let mut model = BTreeMap::new();
    let mut next = 1;
    for _ in 0..3000 {
        if model.is_empty() || rng.below(3) != 0 {
            t.insert(next, stream(next));
            model.insert(next, ());
            next += 2;
        } else {
            // Any live stream, not just the oldest or newest.
            let keys: Vec<u32> = model.keys().copied().collect();
            let id = keys[rng.below(keys.len())];
            assert!(t.discard(id));
            model.remove(&id);
        }
        // Removing a closed or never opened id changes nothing.
        let unknown = rng.below(next as usize + 4) as u32;
        if !model.contains_key(&unknown) {
            assert!(!t.discard(unknown));
        }
        if rng.below(50) == 0 {
            check(&t, &model, next);
        }
    }
    check(&t, &model, next);
}

#[test]
fn a_long_lived_first_stream_does_not_keep_the_gaps_of_the_others() {
    let mut t = Streams::new();
    t.insert(1, stream(1));
    for id in (3..20_003).step_by(2) {
        t.insert(id, stream(id));
        assert!(t.discard(id));
        assert!(t.slots() <= 2 + super::SLACK);
    }
    assert!(t.contains_key(&1));
    assert_eq!(t.len(), 1);
}

#[test]
fn many_concurrent_streams_reset_from_the_middle_out() {
    let mut t = Streams::new();
    let mut model = BTreeMap::new();
    let n = 1000;
    for i in 0..n {
        let id = 2 * i + 1;
        t.insert(id, stream(id));
        model.insert(id, ());
    }
    // Alternating around the middle: never an end of the list.
    let mid = n / 2;
    for k in 0..mid {
        for i in [mid - 1 - k, mid + k] {
            let id = 2 * i + 1;
            assert!(t.discard(id));
            model.remove(&id);
        }
        if k % 97 == 0 {
            check(&t, &model, 2 * n);
        }
    }
    check(&t, &model, 2 * n);
    assert!(t.is_empty());
}

#[test]
fn an_out_of_order_insert_or_a_replacement_keeps_the_order() {
    let mut t = Streams::new();
    let mut model = BTreeMap::new();
    for id in [5, 9, 1, 7, 3, 9] {
        t.insert(id, stream(id));
        model.insert(id, ());
    }
    check(&t, &model, 9);
    assert!(t.discard(5));
    model.remove(&5);
    t.insert(5, stream(5));
    model.insert(5, ());
    check(&t, &model, 9);
    t.clear();
    check(&t, &BTreeMap::new(), 9);
}

#[test]
fn values_mut_reaches_every_live_stream_in_id_order() {
    let mut t = Streams::new();
    for id in [1, 3, 5, 7] {
        t.insert(id, stream(id));
    }
    assert!(t.discard(3));
    for s in t.values_mut() {
        s.unreleased = s.id.get();
    }
    let seen: Vec<(u32, u32)> = t.values().map(|s| (s.id.get(), s.unreleased)).collect();
    assert_eq!(seen, [(1, 1), (5, 5), (7, 7)]);
}
