//! The HPACK Huffman code (RFC 7541 §5.2, Appendix B): encoding and a table-driven decoder.
//!
//! Decoding walks the code tree four bits at a time. The tree has 257 leaves and so 256
//! internal nodes; a decoder state is an internal node (the bits read since the last symbol),
//! and [`DECODE`] gives, for every state and nibble, the next state, the symbol completed on the
//! way if any (codes are at least 5 bits long, so a nibble completes at most one), and whether
//! the input may end there. The table is computed at compile time from [`CODES`], the
//! generated copy of Appendix B, so it cannot drift from it.

use bytes::{BufMut, BytesMut};

use super::huffman_table::CODES;

/// Why a Huffman-coded string was rejected (RFC 7541 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HuffmanError {
    /// The string contains the EOS symbol, which "MUST be treated as a decoding error".
    Eos,
    /// The string ends with more than 7 bits of padding, or padding that is not the most
    /// significant bits of EOS (all ones), or in the middle of a symbol.
    Padding,
}

/// Number of bytes `src` takes once Huffman-coded, padding included.
pub(crate) fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src
        .iter()
        .map(|&b| usize::from(CODES[usize::from(b)].1))
        .sum();
    bits.div_ceil(8)
}

/// Appends the Huffman coding of `src` to `dst`, padded with ones to a byte boundary.
pub(crate) fn encode(src: &[u8], dst: &mut BytesMut) {
    dst.reserve(encoded_len(src));
    // Bits accumulate at the bottom of `acc`; `bits` of them are pending. Codes are at most
    // 30 bits and we flush at 32, so pending bits never exceed 61. Older bits shifted past
    // the top of the u64 were already flushed.
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    for &byte in src {
        let (code, len) = CODES[usize::from(byte)];
        acc = (acc << len) | u64::from(code);
        bits += u32::from(len);
        if bits >= 32 {
            bits -= 32;
            // Truncation keeps exactly the 32 oldest pending bits.
            dst.put_u32((acc >> bits) as u32);
        }
    }
    // EOS starts with 30 ones, so padding is ones (§5.2).
    let pad = (8 - bits % 8) % 8;
    acc = (acc << pad) | ((1u64 << pad) - 1);
    bits += pad;
    while bits >= 8 {
        bits -= 8;
        dst.put_u8((acc >> bits) as u8);
    }
}

/// Appends the decoding of `src` to `dst`.
///
/// `dst` grows by at most `src.len() * 8 / 5` bytes (the shortest code is 5 bits); it is
/// left unchanged on error.
pub(crate) fn decode(src: &[u8], dst: &mut BytesMut) -> Result<(), HuffmanError> {
    let start = dst.len();
    // Decode into a zeroed window by index rather than `put_u8` per symbol: one capacity
    // check for the string instead of one per byte. One spare byte lets the loop store a
    // symbol unconditionally (see `decode_into`).
    dst.resize(start + max_decoded_len(src.len()) + 1, 0);
    let result = decode_into(src, &mut dst[start..]);
    dst.truncate(start + result.unwrap_or(0));
    result.map(drop)
}

/// Decodes `src` into `out` (at least `max_decoded_len(src.len()) + 1` bytes), returning the
/// number of bytes written.
fn decode_into(src: &[u8], out: &mut [u8]) -> Result<usize, HuffmanError> {
    let mut written = 0;
    let mut state = 0u8;
    // Flags of every transition, for EOS, and of the last one, for the final state.
    let mut seen = 0;
    let mut last = ACCEPT;
    for &byte in src {
        for nibble in [byte >> 4, byte & 0x0f] {
            // The loop's critical path is this load: no branch on the symbol, which would be
            // mispredicted about every other nibble. The index is below 4096 by its types.
            let t = DECODE[usize::from(state) << 4 | usize::from(nibble)];
            if let Some(slot) = out.get_mut(written) {
                *slot = (t >> SYM_SHIFT) as u8;
            }
            written += ((t >> FLAGS_SHIFT) & EMIT) as usize;
            state = t as u8;
            seen |= t;
            last = t >> FLAGS_SHIFT;
        }
    }
    if (seen >> FLAGS_SHIFT) & FAIL != 0 {
        return Err(HuffmanError::Eos);
    }
    // `written < out.len()` held at every store but the last could be spare; the final count
    // never exceeds `max_decoded_len` since every symbol takes at least 5 input bits.
    if last & ACCEPT == 0 || written >= out.len() {
        return Err(HuffmanError::Padding);
    }
    Ok(written)
}

/// Upper bound on the decoded length of `encoded_len` Huffman-coded bytes.
pub(crate) const fn max_decoded_len(encoded_len: usize) -> usize {
    // Cannot overflow: `encoded_len` is the length of a slice of bytes.
    encoded_len / 5 * 8 + (encoded_len % 5) * 8 / 5
}

/// A transition packs `next state | symbol << 8 | flags << 16` in a `u32`, so that the
/// table is a flat 16 KiB array indexed by `state << 4 | nibble`.
const SYM_SHIFT: u32 = 8;
const FLAGS_SHIFT: u32 = 16;
/// The transition emits its symbol.
const EMIT: u32 = 1;
/// The input may end after this transition: the bits since the last symbol are at most 7
/// ones, a valid padding (§5.2).
const ACCEPT: u32 = 2;
/// The transition completes EOS: a decoding error.
const FAIL: u32 = 4;

/// The decoding state machine: 256 states (tree nodes) by 16 nibbles.
static DECODE: [u32; 256 * 16] = build_decode_table();

/// Marks a tree child as a leaf; the low bits are the symbol (0..=256).
const LEAF: u16 = 0x8000;

/// The code tree: `tree[node][bit]` is a node id or `LEAF | symbol`. Node 0 is the root.
///
/// Evaluated at compile time: a table that is not a complete prefix code fails the build
/// (index out of bounds in const evaluation) rather than misbehaving at run time.
const fn build_tree() -> [[u16; 2]; 256] {
    let mut tree = [[0u16; 2]; 256];
    let mut nodes = 1;
    let mut sym = 0;
    while sym < CODES.len() {
        let (code, len) = CODES[sym];
        let mut node = 0;
        let mut i = len;
        while i > 1 {
            i -= 1;
            let bit = ((code >> i) & 1) as usize;
            if tree[node][bit] == 0 {
                tree[node][bit] = nodes as u16;
                nodes += 1;
            }
            node = tree[node][bit] as usize;
        }
        tree[node][(code & 1) as usize] = LEAF | sym as u16;
        sym += 1;
    }
    assert!(
        nodes == 256,
        "a complete code over 257 symbols has 256 internal nodes"
    );
    tree
}

const fn build_decode_table() -> [u32; 256 * 16] {
    let tree = build_tree();

    // Accepting states: the root, and the nodes reached from it by 1 to 7 one-bits.
    let mut accepting = [false; 256];
    let mut node = 0;
    let mut depth = 0;
    while depth <= 7 {
        accepting[node] = true;
        node = tree[node][1] as usize;
        depth += 1;
    }

    let mut table = [0u32; 256 * 16];
    let mut state = 0;
    while state < 256 {
        let mut nibble = 0;
        while nibble < 16 {
            let mut node = state;
            let mut flags = 0;
            let mut sym = 0;
            let mut bit = 4;
            while bit > 0 {
                bit -= 1;
                let child = tree[node][(nibble >> bit) & 1];
                if child & LEAF == 0 {
                    node = child as usize;
                } else if child & !LEAF == 256 {
                    flags |= FAIL;
                    break;
                } else {
                    flags |= EMIT;
                    sym = (child & !LEAF) as u32;
                    node = 0;
                }
            }
            if flags & FAIL == 0 && accepting[node] {
                flags |= ACCEPT;
            }
            table[state << 4 | nibble] = node as u32 | sym << SYM_SHIFT | flags << FLAGS_SHIFT;
            nibble += 1;
        }
        state += 1;
    }
    table
}

#[cfg(test)]
#[path = "huffman_tests.rs"]
mod tests;
