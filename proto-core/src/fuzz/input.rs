//! Fuzzer bytes → choices, like `arbitrary::Unstructured`: total (running out
//! of bytes yields zeros), so every input is a valid script.

/// Reads choices off the front of the fuzzer's bytes.
#[derive(Debug)]
pub(crate) struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn u8(&mut self) -> u8 {
        let Some((&b, rest)) = self.data.split_first() else {
            return 0;
        };
        self.data = rest;
        b
    }

    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub(crate) fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::from(self.u8()).checked_rem(n).unwrap_or(0)
    }

    /// One of `choices` (the first when out of bytes).
    pub(crate) fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        let i = self.below(choices.len());
        choices[i]
    }
}

/// xorshift64*: cheap, reproducible splits from a seed.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `1..=max` (`max` >= 1).
    pub(crate) fn between_1_and(&mut self, max: usize) -> usize {
        let max = u64::try_from(max.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.next() % max).unwrap_or(0) + 1
    }
}
