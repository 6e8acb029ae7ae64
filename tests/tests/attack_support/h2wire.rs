//! A raw HTTP/2 client over a blocking `TcpStream`: hand-built bytes out,
//! decoded frames in. Used by the attackers (which send what no real client
//! would) and by the prober (which sends ordinary requests).
//!
//! A reader thread decodes everything the server sends into [`In`] items
//! (HEADERS + CONTINUATION blocks decoded by our own HPACK decoder) and, if
//! asked, acknowledges SETTINGS and answers PING, so the server never waits
//! on us for those. Reading on a separate thread matters for floods: a server
//! that answers each PING must be able to write while we keep sending.
//! Frames come from `proto_core`'s codec; frames the codec refuses to build
//! are made with [`tests::h2::raw_frame`].

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proto_core::ErrorCode;
use proto_core::h2::frame::{self, Frame, MAX_MAX_FRAME_SIZE, Settings};
use proto_core::hpack::{Decoder, Encoder};
pub use tests::h2::{PREFACE, raw_frame};

/// Frame type codes (RFC 9113 §6).
pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PING: u8 = 0x6;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flags (RFC 9113 §6).
pub mod flag {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
}

/// What the reader thread saw.
#[derive(Debug)]
pub enum In {
    /// A frame; for HEADERS that ended a block, the decoded fields.
    Frame(Frame, Option<Vec<(String, String)>>),
    /// The server closed the connection (EOF) or reset it (the error kind).
    Closed(Option<io::ErrorKind>),
}

/// One raw HTTP/2 connection.
pub struct H2Wire {
    w: Arc<Mutex<TcpStream>>,
    rx: Receiver<In>,
    closed: Arc<AtomicBool>,
    /// Our HPACK encoder (blocks we build must be sent, in order).
    pub encoder: Encoder,
    /// Everything received so far, in order.
    pub seen: Vec<In>,
    /// Bytes written so far (after the preface).
    pub sent_bytes: usize,
}

impl H2Wire {
    /// Connects, sends the preface and `settings`; with `auto` the reader
    /// acknowledges the server's SETTINGS and answers its PINGs.
    pub fn connect(addr: SocketAddr, settings: Settings, auto: bool) -> io::Result<Self> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_write_timeout(Some(Duration::from_secs(2)))?;
        let r = s.try_clone()?;
        let w = Arc::new(Mutex::new(s));
        let closed = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let (w2, closed2) = (w.clone(), closed.clone());
        thread::spawn(move || read_loop(r, &tx, &w2, &closed2, auto));
        let mut c = Self {
            w,
            rx,
            closed,
            encoder: Encoder::new(),
            seen: Vec::new(),
            sent_bytes: 0,
        };
        let mut hello = PREFACE.to_vec();
        hello.extend_from_slice(&encode(settings));
        c.send_raw(&hello)?;
        c.sent_bytes = 0;
        Ok(c)
    }

    /// Connects with empty SETTINGS and automatic ACKs.
    pub fn open(addr: SocketAddr) -> io::Result<Self> {
        Self::connect(addr, Settings::default(), true)
    }

    /// Writes `bytes` (fails once the server closed or stopped reading for
    /// the 2 s write timeout).
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut w = self.w.lock().unwrap_or_else(PoisonError::into_inner);
        w.write_all(bytes)?;
        self.sent_bytes += bytes.len();
        Ok(())
    }

    /// Writes a frame built by the codec.
    pub fn send(&mut self, f: impl Into<Frame>) -> io::Result<()> {
        self.send_raw(&encode(f))
    }

    /// Writes `count` copies of `unit` in batches until done or the server
    /// is seen to close; returns how many copies were written.
    pub fn flood(&mut self, unit: &[u8], count: usize) -> usize {
        let per = (16 * 1024 / unit.len().max(1)).max(1);
        let mut done = 0;
        while done < count && !self.is_closed() {
            self.drain_acks();
            let n = per.min(count - done);
            if self.send_raw(&unit.repeat(n)).is_err() {
                break;
            }
            done += n;
        }
        done
    }

    /// Takes what arrived so far, dropping flood answers (PING and
    /// SETTINGS ACKs, see [`worth_keeping`]).
    pub fn drain_acks(&mut self) {
        while let Ok(i) = self.rx.try_recv() {
            if worth_keeping(&i) {
                self.seen.push(i);
            }
        }
    }

    /// True once the reader saw EOF or a reset.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// HPACK-encodes `fields` (sent as given: no validation).
    pub fn block(&mut self, fields: &[(&[u8], &[u8])]) -> Bytes {
        let mut b = BytesMut::new();
        self.encoder
            .encode(fields.iter().map(|(n, v)| (*n, *v, false)), &mut b);
        b.freeze()
    }

    /// A complete request header block for `method path` plus `extra`.
    pub fn request_block(&mut self, method: &str, path: &str, extra: &[(&[u8], &[u8])]) -> Bytes {
        let mut f: Vec<(&[u8], &[u8])> = vec![
            (b":method", method.as_bytes()),
            (b":scheme", b"http"),
            (b":authority", b"localhost"),
            (b":path", path.as_bytes()),
        ];
        f.extend_from_slice(extra);
        self.block(&f)
    }

    /// The bytes of one HEADERS frame (END_HEADERS) with `block`.
    pub fn headers_frame(id: u32, block: &[u8], end_stream: bool) -> Vec<u8> {
        let flags = flag::END_HEADERS | if end_stream { flag::END_STREAM } else { 0 };
        raw_frame(kind::HEADERS, flags, id, block)
    }

    /// Sends `GET path` on stream `id` (END_STREAM).
    pub fn get(&mut self, id: u32, path: &str) -> io::Result<()> {
        let b = self.request_block("GET", path, &[]);
        self.send_raw(&Self::headers_frame(id, &b, true))
    }

    /// The next item worth keeping (see [`H2Wire::drain_acks`]), waiting
    /// at most until `deadline`.
    pub fn next_until(&mut self, deadline: Instant) -> Option<&In> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(i) if worth_keeping(&i) => {
                    self.seen.push(i);
                    return self.seen.last();
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Waits up to `timeout` for an item matching `pred`; returns its index
    /// in [`H2Wire::seen`]. Items already seen are searched first.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&In) -> bool) -> Option<usize> {
        if let Some(i) = self.seen.iter().position(&pred) {
            return Some(i);
        }
        let deadline = Instant::now() + timeout;
        while self.next_until(deadline).is_some() {
            if self.seen.last().is_some_and(&pred) {
                return Some(self.seen.len() - 1);
            }
        }
        None
    }

    /// Waits up to `timeout` for the server's SETTINGS. With `auto` the
    /// reader has acknowledged them by then, so no automatic reply can land
    /// inside a header block the caller then sends in several writes (a
    /// frame between HEADERS and its CONTINUATIONs is a PROTOCOL_ERROR,
    /// RFC 9113 §6.10).
    pub fn wait_settings(&mut self, timeout: Duration) -> bool {
        self.wait_for(
            timeout,
            |i| matches!(i, In::Frame(Frame::Settings(s), _) if !s.is_ack()),
        )
        .is_some()
    }

    /// Waits for the server's GOAWAY; returns (last stream id, code).
    pub fn goaway(&mut self, timeout: Duration) -> Option<(u32, ErrorCode)> {
        let i = self.wait_for(timeout, |i| matches!(i, In::Frame(Frame::GoAway(_), _)))?;
        match &self.seen[i] {
            In::Frame(Frame::GoAway(g), _) => Some((g.last_stream_id.get(), g.error_code)),
            _ => None,
        }
    }

    /// Waits for the connection to close (EOF or reset).
    pub fn wait_closed(&mut self, timeout: Duration) -> bool {
        self.wait_for(timeout, |i| matches!(i, In::Closed(_)))
            .is_some()
    }

    /// Waits for RST_STREAM on `id`; returns its code.
    pub fn reset_of(&mut self, id: u32, timeout: Duration) -> Option<ErrorCode> {
        let i = self.wait_for(
            timeout,
            |i| matches!(i, In::Frame(Frame::RstStream(r), _) if r.stream_id.get() == id),
        )?;
        match &self.seen[i] {
            In::Frame(Frame::RstStream(r), _) => Some(r.error_code),
            _ => None,
        }
    }

    /// Waits for the response head on `id`; returns its `:status`.
    pub fn status_of(&mut self, id: u32, timeout: Duration) -> Option<u16> {
        let i = self.wait_for(
            timeout,
            |i| matches!(i, In::Frame(Frame::Headers(h), Some(_)) if h.stream_id.get() == id),
        )?;
        match &self.seen[i] {
            In::Frame(_, Some(fields)) => fields
                .iter()
                .find(|(n, _)| n == ":status")
                .and_then(|(_, v)| v.parse().ok()),
            _ => None,
        }
    }

    /// Waits until stream `id` ended (END_STREAM on HEADERS or DATA, or
    /// RST_STREAM); returns the DATA bytes received on it.
    pub fn response_end(&mut self, id: u32, timeout: Duration) -> Option<usize> {
        let ends = |i: &In| match i {
            In::Frame(Frame::Data(d), _) => d.stream_id.get() == id && d.end_stream,
            In::Frame(Frame::Headers(h), _) => h.stream_id.get() == id && h.end_stream,
            In::Frame(Frame::RstStream(r), _) => r.stream_id.get() == id,
            _ => false,
        };
        self.wait_for(timeout, ends)?;
        Some(
            self.seen
                .iter()
                .map(|i| match i {
                    In::Frame(Frame::Data(d), _) if d.stream_id.get() == id => d.data.len(),
                    _ => 0,
                })
                .sum(),
        )
    }

    /// Sends a PING and waits for its ACK: the connection is still served.
    pub fn ping_pong(&mut self, timeout: Duration) -> bool {
        let payload = PROBE;
        if self.send(frame::Ping::new(payload)).is_err() {
            return false;
        }
        self.wait_for(
            timeout,
            |i| matches!(i, In::Frame(Frame::Ping(p), _) if p.ack && p.payload == payload),
        )
        .is_some()
    }

    /// The frames received so far, rendered one per line (for messages).
    pub fn transcript(&self) -> String {
        let mut s = String::new();
        for i in &self.seen {
            match i {
                In::Frame(f, fields) => {
                    s.push_str(&tests::h2::render(f, fields.as_ref()));
                }
                In::Closed(k) => s.push_str(&format!("closed {k:?}")),
            }
            s.push('\n');
        }
        s
    }

    /// Closes our write side.
    pub fn shutdown_write(&self) {
        let w = self.w.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = w.shutdown(Shutdown::Write);
    }
}

impl Drop for H2Wire {
    fn drop(&mut self) {
        let w = self.w.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = w.shutdown(Shutdown::Both);
    }
}

/// The payload of [`H2Wire::ping_pong`]'s PING.
const PROBE: [u8; 8] = *b"probe!!!";

/// False for PING ACKs (except [`PROBE`]'s) and SETTINGS ACKs: a flood's
/// answers would otherwise pile up in this process and count as the
/// server's memory.
fn worth_keeping(i: &In) -> bool {
    !matches!(i, In::Frame(Frame::Ping(p), _) if p.ack && p.payload != PROBE)
        && !matches!(i, In::Frame(Frame::Settings(s), _) if s.is_ack())
}

/// A frame's wire bytes.
pub fn encode(f: impl Into<Frame>) -> Vec<u8> {
    let mut b = BytesMut::new();
    f.into().encode(&mut b);
    b.to_vec()
}

fn read_loop(
    mut r: TcpStream,
    tx: &mpsc::Sender<In>,
    w: &Mutex<TcpStream>,
    closed: &AtomicBool,
    auto: bool,
) {
    let mut buf = BytesMut::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut decoder = Decoder::new(4096);
    let mut block: Option<BytesMut> = None;
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => {
                closed.store(true, Ordering::SeqCst);
                let _ = tx.send(In::Closed(None));
                return;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                closed.store(true, Ordering::SeqCst);
                let _ = tx.send(In::Closed(Some(e.kind())));
                return;
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            let f = match frame::decode(&mut buf, MAX_MAX_FRAME_SIZE) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => panic!("the server sent an undecodable frame: {e}"),
            };
            let mut fields = None;
            match &f {
                Frame::Headers(h) if h.end_headers => fields = Some(decode(&mut decoder, &h.block)),
                Frame::Headers(h) => block = Some(BytesMut::from(&h.block[..])),
                Frame::Continuation(c) => {
                    let mut b = block.take().unwrap_or_default();
                    b.extend_from_slice(&c.block);
                    if c.end_headers {
                        fields = Some(decode(&mut decoder, &b));
                    } else {
                        block = Some(b);
                    }
                }
                Frame::Settings(s) if auto && !s.is_ack() => reply(w, Settings::ack()),
                Frame::Ping(p) if auto && !p.ack => {
                    let mut ack = frame::Ping::new(p.payload);
                    ack.ack = true;
                    reply(w, ack);
                }
                _ => {}
            }
            if tx.send(In::Frame(f, fields)).is_err() {
                return;
            }
        }
    }
}

fn reply(w: &Mutex<TcpStream>, f: impl Into<Frame>) {
    let mut w = w.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = w.write_all(&encode(f));
}

fn decode(decoder: &mut Decoder, block: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    decoder
        .decode(&Bytes::copy_from_slice(block), usize::MAX, |f| {
            out.push((
                String::from_utf8_lossy(&f.name).into_owned(),
                String::from_utf8_lossy(&f.value).into_owned(),
            ));
        })
        .unwrap_or_else(|e| panic!("the server sent an undecodable header block: {e:?}"));
    out
}
