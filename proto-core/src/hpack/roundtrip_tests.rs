//! Property tests with a deterministic generator: random header lists round trip through an
//! encoder and a decoder over many blocks with table size changes, the two dynamic tables
//! stay identical, and random or mutated input never panics the decoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};

use super::table::STATIC_TABLE;
use super::{Decoder, Encoder, Field, HuffmanMode, join_cookies};
use crate::test_rng::Rng;

/// What these tests draw besides numbers.
impl Rng {
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        match self.below(3) {
            // Token-like text, Huffman-friendly.
            0 => (0..len)
                .map(|_| b"abcdefghijklmnopqrstuvwxyz0123456789-_=/.;"[self.below(42)])
                .collect(),
            // Printable ASCII.
            1 => (0..len).map(|_| 0x20 + self.below(95) as u8).collect(),
            // Any byte: exercises the long Huffman codes.
            _ => (0..len).map(|_| self.next() as u8).collect(),
        }
    }
}

type List = Vec<(Vec<u8>, Vec<u8>, bool)>;

fn random_list(rng: &mut Rng, pool: &List) -> List {
    let n = rng.below(20);
    (0..n)
        .map(|_| match rng.below(10) {
            // Reuse a previous field: exercises the dynamic table.
            0..=4 if !pool.is_empty() => pool[rng.below(pool.len())].clone(),
            5 | 6 => {
                let (name, value) = STATIC_TABLE[rng.below(STATIC_TABLE.len())];
                let len = rng.below(30);
                let value = if rng.chance(50) {
                    value.to_vec()
                } else {
                    rng.bytes(len)
                };
                (name.to_vec(), value, rng.chance(5))
            }
            7 => {
                let crumbs: Vec<Vec<u8>> = (0..rng.below(5) + 1)
                    .map(|_| {
                        let len = rng.below(40);
                        rng.bytes(len)
                    })
                    .collect();
                (b"cookie".to_vec(), crumbs.join(&b"; "[..]), false)
            }
            _ => {
                let len = if rng.chance(5) {
                    1000 + rng.below(4000)
                } else {
                    rng.below(60)
                };
                let name_len = 1 + rng.below(20);
                (rng.bytes(name_len), rng.bytes(len), rng.chance(5))
            }
        })
        .collect()
}

/// Fields as the decoder should see them once cookies are rejoined.
fn expected(list: &List) -> Vec<Field> {
    let mut fields: Vec<Field> = list
        .iter()
        .map(|(n, v, s)| Field {
            name: Bytes::from(n.clone()),
            value: Bytes::from(v.clone()),
            sensitive: *s,
        })
        .collect();
    join_cookies(&mut fields);
    fields
}

/// RFC 7541 §2.2, §4: encode then decode gives the same list; both tables agree after every
/// block, through peer size changes (§4.2, §6.3) and all Huffman modes.
#[test]
fn random_lists_round_trip() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for connection in 0..40 {
        let mut encoder = Encoder::new();
        encoder.set_huffman(
            [
                HuffmanMode::Shorter,
                HuffmanMode::Always,
                HuffmanMode::Never,
            ][connection % 3],
        );
        encoder.set_table_size_limit(16_384);
        let mut decoder = Decoder::new(4096);
        let mut pool: List = Vec::new();
        for block_no in 0..60 {
            if rng.chance(10) {
                // A SETTINGS change (applied by both ends before the next block), sometimes
                // twice in a row to force the minimum-then-final pair.
                for _ in 0..1 + rng.below(2) {
                    let size = [0, 64, 256, 1000, 4096, 8192, 65_536][rng.below(7)];
                    encoder.set_max_table_size(size);
                    decoder.set_max_table_size(size);
                }
            }
            let list = random_list(&mut rng, &pool);
            let mut block = BytesMut::new();
            encoder.encode(
                list.iter().map(|(n, v, s)| (&n[..], &v[..], *s)),
                &mut block,
            );
            let mut got = Vec::new();
            decoder
                .decode(&block.freeze(), usize::MAX, |f| got.push(f))
                .unwrap();
            join_cookies(&mut got);
            let want = expected(&list);
            assert_eq!(
                got.len(),
                want.len(),
                "connection {connection} block {block_no}"
            );
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(
                    (&g.name, &g.value),
                    (&w.name, &w.value),
                    "connection {connection} block {block_no}"
                );
                assert!(g.sensitive || !w.sensitive, "sensitivity dropped");
            }
            assert_eq!(encoder.table_size(), decoder.table_size());
            let enc: Vec<_> = encoder
                .table()
                .iter()
                .map(|e| (e.name.clone(), e.value.clone()))
                .collect();
            let dec: Vec<_> = decoder
                .table()
                .iter()
                .map(|e| (e.name.clone(), e.value.clone()))
                .collect();
            assert_eq!(enc, dec);
            pool.extend(list.into_iter().filter(|(n, _, _)| n != b"cookie"));
            if pool.len() > 200 {
                pool.drain(..100);
            }
        }
    }
}

/// Random bytes, and valid blocks with random bytes flipped, never panic the decoder; what it
/// accepts re-encodes to the same list (the fuzz hook's checks).
#[test]
fn random_input_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let len = rng.below(300);
        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        super::fuzz::decode(&data);
    }
    // Mutations of well-formed blocks reach deeper than random bytes.
    let mut encoder = Encoder::new();
    let mut pool = Vec::new();
    for _ in 0..2000 {
        let list = random_list(&mut rng, &pool);
        let mut block = BytesMut::new();
        encoder.encode(
            list.iter().map(|(n, v, s)| (&n[..], &v[..], *s)),
            &mut block,
        );
        let mut data = block.to_vec();
        for _ in 0..1 + rng.below(3) {
            if !data.is_empty() {
                let at = rng.below(data.len());
                data[at] ^= 1 << rng.below(8);
            }
        }
        data.truncate(127);
        let mut framed = vec![data.len() as u8];
        framed.extend_from_slice(&data);
        super::fuzz::decode(&framed);
        // And straight into a decoder with a small list limit.
        let _ = Decoder::new(4096).decode(&Bytes::from(data), 100, drop);
        pool.extend(list);
        if pool.len() > 100 {
            pool.drain(..50);
        }
    }
}
