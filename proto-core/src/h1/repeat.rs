//! A response head the same as the last one sent (status, reason, fields)
//! has the same connection-management hints, and with the same framing
//! additions serializes to the same bytes: a server answering alike sends
//! them again from a copy instead of reading, validating and writing the
//! fields again.

use super::encode::Extra;
use super::hints::{Hints, Length};
use crate::head::ResponseHead;

/// Most bytes remembered (a larger head is always serialized).
const KEEP_MAX: usize = 1024;

/// The last response head that was sent whole: its serialized bytes, then
/// what it was made from (reason, then each field's name and value, with
/// their lengths). `hints` is `None` when nothing is remembered.
#[derive(Debug, Default)]
pub(crate) struct LastHead {
    /// Tests: never remember (the path every head took before).
    #[cfg(test)]
    pub(crate) off: bool,
    bytes: Vec<u8>,
    output_len: usize,
    status: u16,
    fields: usize,
    hints: Option<Hints>,
    extra: Extra,
}

fn record(bytes: &mut Vec<u8>, part: &[u8]) {
    bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
    bytes.extend_from_slice(part);
}

/// The next remembered part, if `part` is it.
fn take<'a>(input: &'a [u8], part: &[u8]) -> Option<&'a [u8]> {
    let (len, rest) = input.split_first_chunk::<8>()?;
    if u64::from_le_bytes(*len) != part.len() as u64 {
        return None;
    }
    let (p, rest) = rest.split_at_checked(part.len())?;
    (p == part).then_some(rest)
}

impl LastHead {
    /// The hints of `head` if it is the remembered head.
    pub(crate) fn hints_for(&self, head: &ResponseHead) -> Option<Hints> {
        let hints = self.hints?;
        if head.status != self.status || head.fields.len() != self.fields {
            return None;
        }
        let mut input = self.bytes.get(self.output_len..)?;
        input = take(input, &head.reason)?;
        for f in &head.fields {
            input = take(input, &f.name)?;
            input = take(input, &f.value)?;
        }
        input.is_empty().then_some(hints)
    }

    /// The remembered bytes, if they were written with `extra`.
    pub(crate) fn output_for(&self, extra: Extra) -> Option<&[u8]> {
        (self.hints.is_some() && self.extra == extra).then(|| self.bytes.get(..self.output_len))?
    }

    /// Remembers `head`, sent as `output` with `hints` and `extra` (a head
    /// whose fields the hints changed, or too large, is forgotten instead).
    pub(crate) fn remember(
        &mut self,
        head: &ResponseHead,
        hints: Hints,
        extra: Extra,
        output: &[u8],
    ) {
        self.hints = None;
        #[cfg(test)]
        if self.off {
            return;
        }
        let input = head
            .fields
            .iter()
            .map(|f| 16 + f.name.len() + f.value.len())
            .sum::<usize>();
        let invalid = hints.content_length == Length::Invalid;
        if invalid
            || hints.transfer_encoding
            || output.len() + 8 + head.reason.len() + input > KEEP_MAX
        {
            return;
        }
        let bytes = &mut self.bytes;
        bytes.clear();
        bytes.extend_from_slice(output);
        record(bytes, &head.reason);
        for f in &head.fields {
            record(bytes, &f.name);
            record(bytes, &f.value);
        }
        self.output_len = output.len();
        self.status = head.status;
        self.fields = head.fields.len();
        self.extra = extra;
        self.hints = Some(hints);
    }

    /// Bytes held (tests of the idle release).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.bytes.capacity()
    }
}

#[cfg(test)]
#[path = "repeat_tests.rs"]
mod tests;
