//! Fuzzing entry points: compiled with `--cfg fuzzing` (as `cargo fuzz` builds) and in tests.
//! Fuzz targets are thin shells calling these.

#[cfg(any(fuzzing, test))]
use bytes::{Bytes, BytesMut};

#[cfg(any(fuzzing, test))]
use super::{Decoder, Encoder, join_cookies};

/// Decodes `data` as a sequence of header blocks and checks the decoder's invariants.
///
/// Layout: each block is one length byte then that many bytes (the last block takes what is
/// left). A length byte with the top bit set first lowers or raises our table size setting to
/// `(len & 0x7f) * 64`, exercising the size update rules. Every successfully decoded list is
/// re-encoded and decoded by a second pair, which must give back the same list: decoding
/// must never panic, and what it accepts must round trip.
#[cfg(any(fuzzing, test))]
pub fn decode(data: &[u8]) {
    let mut decoder = Decoder::new(4096);
    let mut encoder = Encoder::new();
    let mut mirror = Decoder::new(4096);
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        if len & 0x80 != 0 {
            decoder.set_max_table_size(usize::from(len & 0x7f) * 64);
        }
        let take = usize::from(len & 0x7f).min(tail.len());
        let (block, tail) = tail.split_at(take);
        rest = tail;
        let mut fields = Vec::new();
        match decoder.decode(&Bytes::copy_from_slice(block), 8 * 1024, |f| fields.push(f)) {
            Ok(()) => {}
            Err(e) if e.is_connection_error() => return,
            Err(_) => continue,
        }
        assert!(decoder.table_size() <= decoder.max_table_size());

        let mut encoded = BytesMut::new();
        encoder.encode(
            fields
                .iter()
                .map(|f| (&f.name[..], &f.value[..], f.sensitive)),
            &mut encoded,
        );
        let mut again = Vec::new();
        let decoded = mirror.decode(&encoded.freeze(), usize::MAX, |f| again.push(f));
        assert_eq!(decoded, Ok(()));
        join_cookies(&mut fields);
        join_cookies(&mut again);
        assert_eq!(fields.len(), again.len());
        for (a, b) in fields.iter().zip(&again) {
            assert_eq!((&a.name, &a.value), (&b.name, &b.value));
            // The encoder may add sensitivity (credentials, short cookies), never drop it.
            assert!(!a.sensitive || b.sensitive);
        }
    }
}
