//! The chunked transfer coding (RFC 9112 §7.1): a resumable, strict decoder
//! and the encoder's framing pieces.
//!
//! ```text
//! chunked-body   = *chunk last-chunk trailer-section CRLF
//! chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size     = 1*HEXDIG
//! last-chunk     = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-val  = token / quoted-string
//! ```

use bytes::{Buf, Bytes, BytesMut};

use crate::config::Config;
use crate::error::PeerError;
use crate::head::Fields;

use super::parse::{self, LineScan, Lines, is_tchar};

/// Most hex digits in a chunk size: 16 fill a u64. More (even leading zeros)
/// are refused, so that no reader that truncates can see a different size.
const MAX_SIZE_DIGITS: u8 = 16;

/// One step of decoding.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Chunk data, split off the input buffer (zero-copy). Never empty.
    Data(Bytes),
    /// The last chunk and the trailer section were read; the body is complete.
    /// The fields are empty when there were no trailers.
    End(Fields),
    /// All of the input was consumed (or kept) and more is needed.
    NeedMore,
}

/// A resumable chunked-body decoder: feed it the receive buffer repeatedly.
/// The result is the same however the input is split.
///
/// It holds a few words of state: chunk-size lines and extensions are
/// validated byte by byte and dropped (extensions are not kept), and chunk data
/// is handed out as slices of the input. Only the trailer section is left in
/// the input buffer until it is complete (it is returned as zero-copy fields),
/// so the caller's buffer must be able to hold `max_trailer_bytes` + 1.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    /// The size of the chunk whose size line is being read.
    size: u64,
    /// Bytes of the current chunk-size line so far (CR/LF excluded).
    line_len: usize,
}

/// Where the decoder is. The size-line states follow the grammar above; BWS
/// is only accepted around `;` and `=`, not before the line end.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// In the chunk size, after this many hex digits.
    Size { digits: u8 },
    /// Whitespace after the size: only `;` may follow.
    SizeWs,
    /// After `;`: optional BWS, then an extension name.
    ExtName { started: bool },
    /// Whitespace after an extension name: `=` or `;` must follow.
    ExtNameWs,
    /// After `=`: optional BWS, then the value.
    ExtValueStart,
    /// In a token value.
    ExtToken,
    /// In a quoted-string value.
    ExtQuoted,
    /// After a backslash in a quoted string.
    ExtQuotedPair,
    /// After the closing quote.
    ExtQuotedEnd,
    /// Whitespace after a value: `;` must follow.
    ExtValueWs,
    /// The size line's CR was seen; LF must follow.
    SizeLf,
    /// In chunk data; invariant: `remaining > 0`.
    Data { remaining: u64 },
    /// After chunk data: CR must follow.
    DataCr,
    /// After chunk data and CR: LF must follow.
    DataLf,
    /// Reading the trailer section; the checks stopped at `scanned` (mid-line
    /// if need be, so a section trickled in is not rescanned).
    Trailers { scanned: LineScan },
    /// The body is complete.
    Done,
    /// A previous call failed; the error is sticky.
    Failed(PeerError),
}

/// What one byte of a chunk-size line does.
enum Step {
    /// Go on in this state.
    To(State),
    /// The line ended (after CRLF, or bare LF when allowed).
    LineEnd,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new() -> Self {
        Self {
            state: State::Size { digits: 0 },
            size: 0,
            line_len: 0,
        }
    }

    /// Decodes from the front of `buf`, splitting off at most `max` data bytes.
    /// Consumed framing bytes are removed from `buf`.
    ///
    /// `max` should be > 0: with 0, no data can be returned, so the decoder
    /// stops at chunk data and says [`Decoded::NeedMore`]. After
    /// [`Decoded::End`], further calls return `End` with no fields and consume
    /// nothing; after an error, further calls return the same error.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        max: usize,
        cfg: &Config,
    ) -> Result<Decoded, PeerError> {
        let result = self.run(buf, max, cfg);
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    fn run(&mut self, buf: &mut BytesMut, max: usize, cfg: &Config) -> Result<Decoded, PeerError> {
        loop {
            match self.state {
                State::Data { remaining } => {
                    let take = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(max)
                        .min(buf.len());
                    if take == 0 {
                        return Ok(Decoded::NeedMore);
                    }
                    // `take` <= `remaining`, so this cannot underflow.
                    let left = remaining.saturating_sub(take as u64);
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { remaining: left }
                    };
                    return Ok(Decoded::Data(buf.split_to(take).freeze()));
                }
                State::Trailers { scanned } => return self.trailers(buf, scanned, cfg),
                State::Done => return Ok(Decoded::End(Fields::new())),
                State::Failed(ref e) => return Err(e.clone()),
                _ => {
                    if !self.framing_bytes(buf, cfg)? {
                        return Ok(Decoded::NeedMore);
                    }
                }
            }
        }
    }

    /// Consumes chunk-size-line and data-CRLF bytes until a data, trailer or
    /// done state is reached (true) or the input runs out (false).
    fn framing_bytes(&mut self, buf: &mut BytesMut, cfg: &Config) -> Result<bool, PeerError> {
        let mut used = 0;
        let mut reached = false;
        for &b in buf.iter() {
            used += 1;
            self.framing_byte(b, cfg)?;
            if matches!(self.state, State::Data { .. } | State::Trailers { .. }) {
                reached = true;
                break;
            }
        }
        buf.advance(used);
        Ok(reached)
    }

    /// One framing byte.
    fn framing_byte(&mut self, b: u8, cfg: &Config) -> Result<(), PeerError> {
        match self.state {
            State::DataCr => {
                self.state = match b {
                    b'\r' => State::DataLf,
                    b'\n' if cfg.allow_bare_lf => State::Size { digits: 0 },
                    _ => return Err(PeerError::BadChunk("missing CRLF after chunk data")),
                };
                Ok(())
            }
            State::DataLf => {
                if b != b'\n' {
                    return Err(PeerError::BadChunk("missing CRLF after chunk data"));
                }
                self.state = State::Size { digits: 0 };
                Ok(())
            }
            _ => self.size_line_byte(b, cfg),
        }
    }

    /// One byte of a chunk-size line.
    fn size_line_byte(&mut self, b: u8, cfg: &Config) -> Result<(), PeerError> {
        if !matches!(b, b'\r' | b'\n') {
            self.line_len = self.line_len.saturating_add(1);
            if self.line_len > cfg.max_chunk_line {
                return Err(PeerError::BadChunk("chunk-size line too long"));
            }
        }
        let step = match (&self.state, b) {
            (State::Size { digits }, _) if b.is_ascii_hexdigit() => {
                if *digits >= MAX_SIZE_DIGITS {
                    return Err(PeerError::BadChunk("chunk size too large"));
                }
                // 16 digits at most, so the shift never loses bits.
                self.size = (self.size << 4) | u64::from(hex_value(b));
                Step::To(State::Size { digits: digits + 1 })
            }
            (State::Size { digits: 0 }, _) => {
                return Err(PeerError::BadChunk("missing chunk size"));
            }
            (State::Size { .. }, b' ' | b'\t') => Step::To(State::SizeWs),
            (State::SizeWs, b' ' | b'\t') => Step::To(State::SizeWs),
            (State::SizeWs, _) if b != b';' => {
                return Err(PeerError::BadChunk("whitespace after chunk size"));
            }
            (State::ExtName { started: false }, b' ' | b'\t') => {
                Step::To(State::ExtName { started: false })
            }
            (State::ExtName { .. }, _) if is_tchar(b) => Step::To(State::ExtName { started: true }),
            (State::ExtName { started: true }, b' ' | b'\t') => Step::To(State::ExtNameWs),
            (State::ExtName { started: true } | State::ExtNameWs, b'=') => {
                Step::To(State::ExtValueStart)
            }
            (State::ExtNameWs, b' ' | b'\t') => Step::To(State::ExtNameWs),
            (State::ExtValueStart, b' ' | b'\t') => Step::To(State::ExtValueStart),
            (State::ExtValueStart, b'"') => Step::To(State::ExtQuoted),
            (State::ExtValueStart | State::ExtToken, _) if is_tchar(b) => Step::To(State::ExtToken),
            (State::ExtQuoted, b'"') => Step::To(State::ExtQuotedEnd),
            (State::ExtQuoted, b'\\') => Step::To(State::ExtQuotedPair),
            // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
            (State::ExtQuoted, b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff) => {
                Step::To(State::ExtQuoted)
            }
            // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
            (State::ExtQuotedPair, b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff) => {
                Step::To(State::ExtQuoted)
            }
            (State::ExtToken | State::ExtQuotedEnd | State::ExtValueWs, b' ' | b'\t') => {
                Step::To(State::ExtValueWs)
            }
            // A `;` starts the next extension wherever an extension may end
            // (or after the size).
            (
                State::Size { .. }
                | State::SizeWs
                | State::ExtName { started: true }
                | State::ExtNameWs
                | State::ExtToken
                | State::ExtQuotedEnd
                | State::ExtValueWs,
                b';',
            ) => Step::To(State::ExtName { started: false }),
            // The line may end only right after the size, a name or a value.
            (
                State::Size { .. }
                | State::ExtName { started: true }
                | State::ExtToken
                | State::ExtQuotedEnd,
                b'\r',
            ) => Step::To(State::SizeLf),
            (
                State::Size { .. }
                | State::ExtName { started: true }
                | State::ExtToken
                | State::ExtQuotedEnd,
                b'\n',
            ) => {
                if !cfg.allow_bare_lf {
                    return Err(PeerError::BadChunk("bare LF in chunk-size line"));
                }
                Step::LineEnd
            }
            (State::SizeLf, b'\n') => Step::LineEnd,
            (State::SizeLf, _) => return Err(PeerError::BadChunk("bare CR in chunk-size line")),
            (_, b'\r' | b'\n') => {
                return Err(PeerError::BadChunk(
                    "chunk-size line ends inside an extension",
                ));
            }
            (_, 0..=0x1f | 0x7f) => {
                return Err(PeerError::BadChunk("control character in chunk extension"));
            }
            _ => return Err(PeerError::BadChunk("invalid chunk-size line")),
        };
        match step {
            Step::To(next) => self.state = next,
            Step::LineEnd => {
                self.line_len = 0;
                self.state = match core::mem::take(&mut self.size) {
                    0 => State::Trailers {
                        scanned: LineScan::at(0),
                    },
                    remaining => State::Data { remaining },
                };
            }
        }
        Ok(())
    }

    /// The trailer section (RFC 9112 §7.1.2): kept in `buf` until its final
    /// empty line is in, then parsed like head fields.
    fn trailers(
        &mut self,
        buf: &mut BytesMut,
        scanned: LineScan,
        cfg: &Config,
    ) -> Result<Decoded, PeerError> {
        // A section longer than the limit is an error however it ends.
        let window = &buf[..buf.len().min(cfg.max_trailer_bytes)];
        match parse::scan_lines(window, scanned, cfg.allow_bare_lf).map_err(PeerError::BadChunk)? {
            Lines::Complete(end) => {
                let section = buf.split_to(end).freeze();
                self.state = State::Done;
                // Only the final empty line: no trailers (the common case).
                if section.len() <= 2 {
                    return Ok(Decoded::End(Fields::new()));
                }
                Ok(Decoded::End(parse::parse_trailers(&section, cfg)?))
            }
            Lines::Partial(at) => {
                if buf.len() > cfg.max_trailer_bytes {
                    return Err(PeerError::BadChunk("trailers too large"));
                }
                self.state = State::Trailers { scanned: at };
                Ok(Decoded::NeedMore)
            }
        }
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Appends a chunk-size line for `len` bytes (`len` > 0) to `dst`: lowercase
/// hex and CRLF, no extensions. Writes nothing for 0, which would be the last
/// chunk and end the body early.
pub fn encode_chunk_header(dst: &mut BytesMut, len: usize) {
    debug_assert!(len > 0, "an empty chunk would end the body");
    if len == 0 {
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // 16 hex digits hold any u64, then CRLF.
    let mut line = [0u8; 18];
    line[16] = b'\r';
    line[17] = b'\n';
    let mut start = 16;
    let mut n = len as u64;
    while n > 0 {
        start -= 1;
        line[start] = HEX[(n & 0xf) as usize];
        n >>= 4;
    }
    dst.extend_from_slice(&line[start..]);
}

/// Appends the CRLF that ends a chunk's data.
pub fn encode_chunk_end(dst: &mut BytesMut) {
    dst.extend_from_slice(b"\r\n");
}

/// Appends the last chunk, the trailer fields and the final CRLF.
///
/// Fields that cannot be sent (see [`super::encode::validate_fields`], which
/// the caller should use to report them) are skipped rather than written: a
/// CR or LF in a value would let it forge framing.
pub fn encode_last_chunk(dst: &mut BytesMut, trailers: Option<&Fields>) {
    let trailers = trailers
        .into_iter()
        .flatten()
        .filter(|f| super::encode::valid_field(f));
    let len = trailers.clone().fold(5usize, |n, f| {
        n.saturating_add(f.name.len())
            .saturating_add(f.value.len())
            .saturating_add(4)
    });
    dst.reserve(len);
    dst.extend_from_slice(b"0\r\n");
    for f in trailers {
        dst.extend_from_slice(&f.name);
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(&f.value);
        dst.extend_from_slice(b"\r\n");
    }
    dst.extend_from_slice(b"\r\n");
}

#[cfg(test)]
#[path = "chunked_tests.rs"]
mod tests;
