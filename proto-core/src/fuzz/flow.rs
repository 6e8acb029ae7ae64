//! HTTP/2 flow-control accounting from the wire (RFC 9113 §5.2, §6.9).
//!
//! Every frame a core writes is decoded when it is queued; DATA must fit the
//! windows the peer granted as far as the writer can know them, i.e. from the
//! peer's frames the writer has taken in (`recv`) so far. Frames must decode
//! and respect the peer's SETTINGS_MAX_FRAME_SIZE.

use std::collections::BTreeMap;

use bytes::BytesMut;

use crate::h2::frame::{self, Frame, MAX_MAX_FRAME_SIZE};

pub(super) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DEFAULT_WINDOW: i64 = 65_535;

/// What one side may send, as far as it knows.
#[derive(Debug)]
struct Windows {
    conn: i64,
    initial: i64,
    /// Per stream: WINDOW_UPDATE increments minus DATA sent.
    streams: BTreeMap<u32, i64>,
    max_frame: u32,
}

impl Default for Windows {
    fn default() -> Self {
        Self {
            conn: DEFAULT_WINDOW,
            initial: DEFAULT_WINDOW,
            streams: BTreeMap::new(),
            max_frame: frame::DEFAULT_MAX_FRAME_SIZE,
        }
    }
}

/// A byte stream decoded into frames as it grows.
#[derive(Debug)]
struct Frames {
    buf: BytesMut,
    /// Preface bytes still expected at the front.
    preface: usize,
}

impl Frames {
    fn new(client: bool) -> Self {
        Self {
            buf: BytesMut::new(),
            preface: if client { PREFACE.len() } else { 0 },
        }
    }

    /// Appends bytes; returns the complete frames with their payload lengths.
    fn push(&mut self, mut data: &[u8]) -> Vec<(u32, Frame)> {
        if self.preface > 0 {
            let n = self.preface.min(data.len());
            let at = PREFACE.len() - self.preface;
            assert!(data[..n] == PREFACE[at..at + n], "bad connection preface");
            self.preface -= n;
            data = &data[n..];
        }
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        while let Some(l) = self.buf.get(..3) {
            let len = u32::from_be_bytes([0, l[0], l[1], l[2]]);
            match frame::decode(&mut self.buf, MAX_MAX_FRAME_SIZE) {
                Ok(Some(f)) => out.push((len, f)),
                Ok(None) => break,
                Err(e) => panic!("a core wrote a frame that does not decode: {e:?}"),
            }
        }
        out
    }
}

/// Both directions of one HTTP/2 connection pair. Index 0: the client.
#[derive(Debug)]
pub(crate) struct Flow {
    /// Frames each side wrote, as queued.
    produced: [Frames; 2],
    /// Frames each side wrote, as the other side took them in.
    consumed: [Frames; 2],
    /// Each side's sending windows.
    win: [Windows; 2],
}

impl Flow {
    pub(crate) fn new() -> Self {
        Self {
            produced: [Frames::new(true), Frames::new(false)],
            consumed: [Frames::new(true), Frames::new(false)],
            win: [Windows::default(), Windows::default()],
        }
    }

    /// Side `w` queued `data` for sending.
    pub(crate) fn produced(&mut self, w: usize, data: &[u8]) {
        for (len, f) in self.produced[w].push(data) {
            let win = &mut self.win[w];
            assert!(
                len <= win.max_frame,
                "side {w} sent a {len}-byte frame, peer's maximum {}",
                win.max_frame
            );
            if let Frame::Data(d) = f {
                let n = i64::from(d.flow_controlled_len());
                let id = d.stream_id.get();
                win.conn -= n;
                let s = win.streams.entry(id).or_default();
                *s -= n;
                let stream = win.initial + *s;
                assert!(
                    win.conn >= 0 && stream >= 0,
                    "side {w} sent {n} DATA bytes on stream {id} beyond the peer's window \
                     (connection window now {}, stream window now {stream})",
                    win.conn
                );
            }
        }
    }

    /// The other side took in `data` written by side `w`.
    pub(crate) fn consumed(&mut self, w: usize, data: &[u8]) {
        let r = 1 - w;
        for (_, f) in self.consumed[w].push(data) {
            let win = &mut self.win[r];
            match f {
                Frame::WindowUpdate(u) if u.stream_id == frame::CONNECTION_STREAM => {
                    win.conn += i64::from(u.increment);
                }
                Frame::WindowUpdate(u) => {
                    *win.streams.entry(u.stream_id.get()).or_default() += i64::from(u.increment);
                }
                Frame::Settings(s) if !s.is_ack() => {
                    if let Some(v) = s.initial_window_size() {
                        win.initial = i64::from(v);
                    }
                    if let Some(v) = s.max_frame_size() {
                        win.max_frame = v;
                    }
                }
                _ => {}
            }
        }
    }
}
