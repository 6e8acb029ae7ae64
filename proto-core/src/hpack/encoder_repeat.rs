//! A block the same as the last one, encoded from a table the last one left
//! as it was, encodes to the same bytes: a server answering alike keeps
//! sending the same response fields, all of them indexed or never added to
//! the table. Such a block is copied instead of encoded again.

use bytes::BytesMut;

use super::Encoder;

/// Most bytes of input and output remembered (larger blocks are encoded).
const KEEP_MAX: usize = 512;

/// The last block's output followed by its input, and the encoder's
/// generation right after it; `None` when it cannot be repeated.
#[derive(Debug, Default)]
pub(super) struct LastBlock {
    bytes: Vec<u8>,
    output_len: usize,
    generation: Option<u64>,
}

/// One field as remembered: sensitivity, lengths, then the bytes.
fn record(bytes: &mut Vec<u8>, name: &[u8], value: &[u8], sensitive: bool) {
    bytes.push(u8::from(sensitive));
    bytes.extend_from_slice(&(name.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&(value.len() as u64).to_le_bytes());
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(value);
}

impl LastBlock {
    /// The remembered output if `fields` are the remembered input.
    fn output_for<'a>(
        &self,
        fields: impl Iterator<Item = (&'a [u8], &'a [u8], bool)>,
    ) -> Option<&[u8]> {
        let (output, mut input) = self.bytes.split_at_checked(self.output_len)?;
        for (name, value, sensitive) in fields {
            let (&s, rest) = input.split_first()?;
            let (n, rest) = rest.split_first_chunk::<8>()?;
            let (v, rest) = rest.split_first_chunk::<8>()?;
            if s != u8::from(sensitive)
                || u64::from_le_bytes(*n) != name.len() as u64
                || u64::from_le_bytes(*v) != value.len() as u64
            {
                return None;
            }
            let (n, rest) = rest.split_at_checked(name.len())?;
            let (v, rest) = rest.split_at_checked(value.len())?;
            if n != name || v != value {
                return None;
            }
            input = rest;
        }
        input.is_empty().then_some(output)
    }
}

impl Encoder {
    /// [`Encoder::encode`], copying the last block's bytes when `fields`
    /// are the same and nothing changed the table or the coding since.
    pub(crate) fn encode_repeating<'a, I>(&mut self, fields: I, dst: &mut BytesMut)
    where
        I: Iterator<Item = (&'a [u8], &'a [u8], bool)> + Clone,
    {
        if !self.repeat_last(fields.clone(), dst) {
            self.encode_remembering(fields, dst);
        }
    }

    /// Copies the last block's bytes to `dst` if `fields` are the same and
    /// nothing changed the table or the coding since; false (and nothing
    /// written) otherwise.
    pub(crate) fn repeat_last<'a>(
        &self,
        fields: impl Iterator<Item = (&'a [u8], &'a [u8], bool)>,
        dst: &mut BytesMut,
    ) -> bool {
        if self.pending.is_some() || self.last.generation != Some(self.generation) {
            return false;
        }
        match self.last.output_for(fields) {
            Some(output) => {
                dst.extend_from_slice(output);
                true
            }
            None => false,
        }
    }

    /// [`Encoder::encode`], remembering the block if it can be repeated.
    pub(crate) fn encode_remembering<'a, I>(&mut self, fields: I, dst: &mut BytesMut)
    where
        I: Iterator<Item = (&'a [u8], &'a [u8], bool)> + Clone,
    {
        let before = self.generation;
        let pending = self.pending.is_some();
        let start = dst.len();
        self.encode(fields.clone(), dst);
        self.last.generation = None;
        // A block that changed the table (or began with a size update)
        // would not encode the same way again.
        if pending || self.generation != before {
            return;
        }
        let output = dst.get(start..).unwrap_or_default();
        let input: usize = fields.clone().map(|(n, v, _)| 17 + n.len() + v.len()).sum();
        if output.len() + input > KEEP_MAX {
            return;
        }
        let bytes = &mut self.last.bytes;
        bytes.clear();
        bytes.extend_from_slice(output);
        self.last.output_len = output.len();
        for (name, value, sensitive) in fields {
            record(bytes, name, value, sensitive);
        }
        self.last.generation = Some(self.generation);
    }

    /// Lets go of the remembered block and of unused table slots (an idle
    /// connection's memory; the entries stay).
    pub(crate) fn release_scratch(&mut self) {
        self.last = LastBlock::default();
        self.table.shrink_to_fit();
    }

    /// Bytes held for the remembered block (tests of the idle release).
    #[cfg(test)]
    pub(crate) fn scratch_capacity(&self) -> usize {
        self.last.bytes.capacity()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::{Bytes, BytesMut};

    use super::super::{Encoder, HuffmanMode};
    use crate::hpack::Decoder;

    type List = Vec<(Vec<u8>, Vec<u8>, bool)>;

    fn lists() -> Vec<List> {
        let l = |fields: &[(&str, &str, bool)]| -> List {
            fields
                .iter()
                .map(|&(n, v, s)| (n.as_bytes().to_vec(), v.as_bytes().to_vec(), s))
                .collect()
        };
        let long = "v".repeat(300);
        vec![
            l(&[(":status", "200", false)]),
            l(&[
                (":status", "200", false),
                ("content-type", "text/plain", false),
                ("content-length", "13", false),
            ]),
            l(&[
                (":status", "200", false),
                ("content-type", "text/plain", false),
                ("content-length", "14", false),
            ]),
            l(&[(":status", "200", false), ("content-length", "13", false)]),
            l(&[(":status", "200", false), ("content-length", "13", true)]),
            l(&[(":status", "404", false), ("x-new", "a", false)]),
            l(&[(":status", "200", false), ("x-new", "b", false)]),
            l(&[("cookie", "a=1; session=0123456789abcdefghij", false)]),
            l(&[("authorization", "secret", false)]),
            l(&[("x-long", &long, false)]),
            l(&[("x-long", &long, false), ("x-long2", &long, false)]),
            l(&[]),
        ]
    }

    fn block(e: &mut Encoder, list: &List, repeating: bool) -> Bytes {
        let mut dst = BytesMut::new();
        let it = list.iter().map(|(n, v, s)| (&n[..], &v[..], *s));
        if repeating {
            e.encode_repeating(it, &mut dst);
        } else {
            e.encode(it, &mut dst);
        }
        dst.freeze()
    }

    /// Over long pseudo-random runs of blocks (repeats, table changes, size
    /// updates, coding modes), copying a repeated block gives exactly the
    /// bytes encoding it gives, and the peer decodes every block.
    #[test]
    fn repeated_blocks_encode_as_encoding_them_would() {
        let lists = lists();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut copied = 0;
        for _run in 0..50 {
            let (mut a, mut b) = (Encoder::new(), Encoder::new());
            let mut peer = Decoder::new(4096);
            for _ in 0..400 {
                match next(40) {
                    0 => {
                        let size = [0, 64, 256, 4096][next(4)];
                        a.set_max_table_size(size);
                        b.set_max_table_size(size);
                    }
                    1 => {
                        let mode = [
                            HuffmanMode::Shorter,
                            HuffmanMode::Always,
                            HuffmanMode::Never,
                        ][next(3)];
                        a.set_huffman(mode);
                        b.set_huffman(mode);
                    }
                    _ => {
                        // Mostly the same few lists, so that repeats are common.
                        let list = &lists[if next(3) == 0 { next(lists.len()) } else { 1 }];
                        let fields = list.iter().map(|(n, v, s)| (&n[..], &v[..], *s));
                        copied += usize::from(
                            a.pending.is_none()
                                && a.last.generation == Some(a.generation)
                                && a.last.output_for(fields).is_some(),
                        );
                        let x = block(&mut a, list, true);
                        let y = block(&mut b, list, false);
                        assert_eq!(x, y, "{list:?}");
                        peer.decode(&x, usize::MAX, |_| {}).unwrap();
                    }
                }
            }
        }
        assert!(copied > 5_000, "{copied}");
    }
}
