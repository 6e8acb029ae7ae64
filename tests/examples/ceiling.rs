//! The benchmarks' ceiling (`bench/run.sh`): no protocol implementation at
//! all, just the cheapest loop that still puts the right bytes on the wire for
//! the benchmark clients (wrk, h2load, curl). Whatever an HTTP server does on
//! this machine, it cannot beat this by much; ratios to it say how much of the
//! machine's budget goes to the protocol and the runtime.
//!
//! One thread, one `mio::Poll`, edge-triggered. Per read batch (read until
//! `WouldBlock`), one vectored write of canned answers:
//!
//! - HTTP/1.1: counts request heads (`\r\n\r\n`), skips `content-length`
//!   bodies (no chunked bodies), answers `200` `Hello, World!`, or 1 MiB for
//!   a head starting `GET /big `.
//! - HTTP/2 prior knowledge (detected from the preface): a frame scanner, no
//!   HPACK. Replies to the preface with SETTINGS (largest initial window) and a
//!   connection WINDOW_UPDATE, ACKs SETTINGS and PINGs, keeps the connection
//!   window open for uploads, and for every stream that ends (END_STREAM on
//!   HEADERS or DATA) writes HEADERS (static-table `:status 200`) + DATA.
//!   It does not track the client's flow-control windows: it assumes they are
//!   large (h2load: 2^30 - 1, replenished as it reads).
//!
//! Without HPACK it cannot read `:path`, so 1 MiB answers are chosen by port:
//! everything accepted on the second address (default: port + 1) gets 1 MiB,
//! on both protocols.
//!
//! Usage: `ceiling [ADDR] [--big-addr ADDR]` (default `127.0.0.1:8082`).

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const HELLO_H1: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\nHello, World!";
const BIG_HEAD_H1: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1048576\r\n\r\n";
const BIG_LEN: usize = 1 << 20;
static BIG: [u8; BIG_LEN] = [b'x'; BIG_LEN];
const HELLO: &[u8] = b"Hello, World!";

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// SETTINGS with INITIAL_WINDOW_SIZE = 2^31 - 1, then a connection
/// WINDOW_UPDATE raising 65,535 to 2^31 - 1.
const H2_HELLO: &[u8] = &[
    0, 0, 6, 4, 0, 0, 0, 0, 0, // SETTINGS, 6 bytes, stream 0
    0, 4, 0x7f, 0xff, 0xff, 0xff, // INITIAL_WINDOW_SIZE
    0, 0, 4, 8, 0, 0, 0, 0, 0, // WINDOW_UPDATE, stream 0
    0x7f, 0xff, 0, 0, // 2^31 - 1 - 65,535
];
const SETTINGS_ACK: &[u8] = &[0, 0, 0, 4, 1, 0, 0, 0, 0];
/// DATA frames of the 1 MiB answer: the default SETTINGS_MAX_FRAME_SIZE.
const H2_CHUNK: usize = 16 * 1024;
/// Connection window given back once this much DATA has arrived.
const H2_WINDOW_REFILL: u32 = 1 << 30;

const T_DATA: u8 = 0;
const T_HEADERS: u8 = 1;
const T_SETTINGS: u8 = 4;
const T_PING: u8 = 6;
const T_GOAWAY: u8 = 7;
const END_STREAM: u8 = 1;
const ACK: u8 = 1;
const END_HEADERS: u8 = 4;

/// Stop reading while this much output is queued (the peer is not reading).
const OUT_HIGH: usize = 4 << 20;
const LISTEN: Token = Token(0);
const LISTEN_BIG: Token = Token(1);
const FIRST_CONN: usize = 2;

/// Queued output: canned static slices and small owned pieces, written with
/// one `writev` per batch.
enum Seg {
    Static(&'static [u8]),
    Owned(Vec<u8>),
}

impl Seg {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Static(s) => s,
            Self::Owned(v) => v,
        }
    }
}

#[derive(PartialEq)]
enum Proto {
    Unknown,
    H1,
    H2,
}

struct Conn {
    sock: TcpStream,
    big: bool,
    proto: Proto,
    /// Unparsed tail of the input (a partial head or frame).
    carry: Vec<u8>,
    /// HTTP/1 body bytes still to skip; HTTP/2 payload bytes of the current
    /// DATA frame still to skip.
    skip: usize,
    /// HTTP/2: DATA received since the last connection WINDOW_UPDATE.
    h2_unacked: u32,
    out: VecDeque<Seg>,
    /// Bytes of `out`'s front already written.
    out_pos: usize,
    out_len: usize,
}

impl Conn {
    fn new(sock: TcpStream, big: bool) -> Self {
        Self {
            sock,
            big,
            proto: Proto::Unknown,
            carry: Vec::new(),
            skip: 0,
            h2_unacked: 0,
            out: VecDeque::new(),
            out_pos: 0,
            out_len: 0,
        }
    }

    fn push_static(&mut self, s: &'static [u8]) {
        self.out_len += s.len();
        self.out.push_back(Seg::Static(s));
    }

    /// Small owned bytes, appended to the last owned piece when there is one.
    fn push_owned(&mut self, b: &[u8]) {
        self.out_len += b.len();
        if let Some(Seg::Owned(v)) = self.out.back_mut() {
            v.extend_from_slice(b);
        } else {
            self.out.push_back(Seg::Owned(b.to_vec()));
        }
    }

    /// Consumes what it can of `input`; returns how many bytes it took
    /// (the rest is an incomplete head or frame), or `None` to close.
    fn process(&mut self, input: &[u8]) -> Option<usize> {
        let mut at = 0;
        if self.proto == Proto::Unknown {
            let n = input.len().min(PREFACE.len());
            if input[..n] != PREFACE[..n] {
                self.proto = Proto::H1;
            } else if n == PREFACE.len() {
                self.proto = Proto::H2;
                self.push_static(H2_HELLO);
                at = n;
            } else {
                return Some(0);
            }
        }
        match self.proto {
            Proto::H1 => Some(at + self.process_h1(input.get(at..)?)),
            Proto::H2 => self.process_h2(input.get(at..)?).map(|n| n + at),
            Proto::Unknown => Some(at),
        }
    }

    fn process_h1(&mut self, input: &[u8]) -> usize {
        let mut at = 0;
        loop {
            if self.skip > 0 {
                let n = self.skip.min(input.len() - at);
                self.skip -= n;
                at += n;
                if self.skip > 0 {
                    return at;
                }
            }
            let rest = &input[at..];
            let Some(end) = find_head_end(rest) else {
                return at;
            };
            let head = &rest[..end];
            if self.big || head.starts_with(b"GET /big ") {
                self.push_static(BIG_HEAD_H1);
                self.push_static(&BIG);
            } else {
                self.push_static(HELLO_H1);
            }
            self.skip = content_length(head);
            at += end;
        }
    }

    fn process_h2(&mut self, input: &[u8]) -> Option<usize> {
        let mut at = 0;
        loop {
            if self.skip > 0 {
                let n = self.skip.min(input.len() - at);
                self.skip -= n;
                at += n;
                if self.skip > 0 {
                    return Some(at);
                }
            }
            let Some(h) = input.get(at..at + 9) else {
                return Some(at);
            };
            let len = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
            let (kind, flags) = (h[3], h[4]);
            let stream = [h[5] & 0x7f, h[6], h[7], h[8]];
            if kind == T_DATA {
                // Skipped as it arrives: DATA payloads may be large.
                at += 9;
                self.skip = len;
                self.h2_unacked = self.h2_unacked.saturating_add(len as u32);
                if self.h2_unacked >= H2_WINDOW_REFILL {
                    let n = self.h2_unacked.to_be_bytes();
                    self.push_owned(&[0, 0, 4, 8, 0, 0, 0, 0, 0, n[0], n[1], n[2], n[3]]);
                    self.h2_unacked = 0;
                }
                if flags & END_STREAM != 0 {
                    self.respond_h2(stream);
                }
                continue;
            }
            // Every other frame is handled whole (they are small: SETTINGS,
            // WINDOW_UPDATE, HEADERS, which are not HPACK-decoded, ...): an
            // incomplete one waits in `carry` so that nothing answers twice.
            let Some(payload) = input.get(at + 9..at + 9 + len) else {
                return Some(at);
            };
            match kind {
                T_HEADERS if flags & END_STREAM != 0 => self.respond_h2(stream),
                T_SETTINGS if flags & ACK == 0 => self.push_static(SETTINGS_ACK),
                T_PING if flags & ACK == 0 => {
                    self.push_owned(&[0, 0, 8, T_PING, ACK, 0, 0, 0, 0]);
                    self.push_owned(payload);
                }
                T_GOAWAY => return None,
                _ => {}
            }
            at += 9 + len;
        }
    }

    fn respond_h2(&mut self, stream: [u8; 4]) {
        let s = stream;
        // HEADERS: `:status 200` (static table index 8), END_HEADERS.
        self.push_owned(&[
            0,
            0,
            1,
            T_HEADERS,
            END_HEADERS,
            s[0],
            s[1],
            s[2],
            s[3],
            0x88,
        ]);
        if !self.big {
            let n = HELLO.len() as u8;
            self.push_owned(&[0, 0, n, T_DATA, END_STREAM, s[0], s[1], s[2], s[3]]);
            self.push_static(HELLO);
            return;
        }
        for (i, chunk) in BIG.chunks(H2_CHUNK).enumerate() {
            let last = (i + 1) * H2_CHUNK >= BIG_LEN;
            let n = (chunk.len() as u32).to_be_bytes();
            let flags = if last { END_STREAM } else { 0 };
            self.push_owned(&[n[1], n[2], n[3], T_DATA, flags, s[0], s[1], s[2], s[3]]);
            self.push_static(chunk);
        }
    }

    /// Writes queued output until done or `WouldBlock`; `Ok(true)` when
    /// everything is written.
    fn flush(&mut self) -> io::Result<bool> {
        while self.out_len > 0 {
            let mut slices = [IoSlice::new(&[]); 256];
            let mut n = 0;
            for (i, seg) in self.out.iter().take(slices.len()).enumerate() {
                let b = seg.bytes();
                slices[i] = IoSlice::new(if i == 0 { &b[self.out_pos..] } else { b });
                n = i + 1;
            }
            let mut written = match self.sock.write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(w) => w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.out_len -= written;
            while written > 0 {
                let Some(front) = self.out.front() else { break };
                let left = front.bytes().len() - self.out_pos;
                if written < left {
                    self.out_pos += written;
                    break;
                }
                written -= left;
                self.out_pos = 0;
                self.out.pop_front();
            }
        }
        Ok(true)
    }

    /// Reads until `WouldBlock` (or too much output queued), answers, writes.
    /// `Ok(false)`: close the connection.
    fn drive(&mut self, rbuf: &mut [u8]) -> io::Result<bool> {
        loop {
            let mut eof = false;
            let mut blocked = false;
            while self.out_len < OUT_HIGH {
                match self.sock.read(rbuf) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        if !self.take(&rbuf[..n]) {
                            return Ok(false);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        blocked = true;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            let all_written = self.flush()?;
            if eof {
                return Ok(false);
            }
            if blocked || !all_written {
                // Next readable or writable event brings us back.
                return Ok(true);
            }
        }
    }

    /// Feeds newly read bytes through `carry`; `false` to close.
    fn take(&mut self, data: &[u8]) -> bool {
        if self.carry.is_empty() {
            let Some(used) = self.process(data) else {
                return false;
            };
            self.carry.extend_from_slice(&data[used..]);
        } else {
            let mut carry = std::mem::take(&mut self.carry);
            carry.extend_from_slice(data);
            let Some(used) = self.process(&carry) else {
                return false;
            };
            carry.drain(..used);
            self.carry = carry;
        }
        // A peer that sends a head without end is not a benchmark client.
        self.carry.len() < 1 << 20
    }
}

/// Length of the request head including its `\r\n\r\n`.
fn find_head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The head's `content-length` value (0 when absent or unreadable).
fn content_length(head: &[u8]) -> usize {
    const NAME: &[u8] = b"\ncontent-length:";
    let Some(i) = head
        .windows(NAME.len())
        .position(|w| w.eq_ignore_ascii_case(NAME))
    else {
        return 0;
    };
    head[i + NAME.len()..]
        .iter()
        .skip_while(|c| **c == b' ')
        .take_while(|c| c.is_ascii_digit())
        .fold(0usize, |n, c| {
            n.saturating_mul(10).saturating_add(usize::from(c - b'0'))
        })
}

fn accept(
    listener: &TcpListener,
    poll: &Poll,
    conns: &mut Vec<Option<Conn>>,
    free: &mut Vec<usize>,
    big: bool,
) {
    loop {
        let (mut sock, _) = match listener.accept() {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                // EMFILE and friends: try again on the next event.
                eprintln!("accept: {e}");
                return;
            }
        };
        let _ = sock.set_nodelay(true);
        let slot = free.pop().unwrap_or_else(|| {
            conns.push(None);
            conns.len() - 1
        });
        let interest = Interest::READABLE | Interest::WRITABLE;
        if poll
            .registry()
            .register(&mut sock, Token(slot + FIRST_CONN), interest)
            .is_err()
        {
            free.push(slot);
            continue;
        }
        conns[slot] = Some(Conn::new(sock, big));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr: SocketAddr = "127.0.0.1:8082".parse()?;
    let mut big_addr = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--big-addr" => big_addr = Some(args.next().ok_or("--big-addr needs ADDR")?.parse()?),
            "-h" | "--help" => {
                eprintln!("usage: ceiling [ADDR] [--big-addr ADDR]");
                return Ok(());
            }
            other => addr = other.parse()?,
        }
    }
    let big_addr = big_addr.unwrap_or_else(|| {
        let mut a = addr;
        a.set_port(addr.port().wrapping_add(1));
        a
    });

    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(addr)?;
    let mut listener_big = TcpListener::bind(big_addr)?;
    poll.registry()
        .register(&mut listener, LISTEN, Interest::READABLE)?;
    poll.registry()
        .register(&mut listener_big, LISTEN_BIG, Interest::READABLE)?;
    println!(
        "listening on http://{} (1 MiB answers on http://{})",
        listener.local_addr()?,
        listener_big.local_addr()?
    );

    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free = Vec::new();
    let mut rbuf = vec![0u8; 256 * 1024];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e.into());
        }
        for event in &events {
            match event.token() {
                LISTEN => accept(&listener, &poll, &mut conns, &mut free, false),
                LISTEN_BIG => accept(&listener_big, &poll, &mut conns, &mut free, true),
                Token(t) => {
                    let slot = t - FIRST_CONN;
                    let Some(Some(conn)) = conns.get_mut(slot) else {
                        continue;
                    };
                    if !matches!(conn.drive(&mut rbuf), Ok(true)) {
                        if let Some(mut c) = conns[slot].take() {
                            let _ = poll.registry().deregister(&mut c.sock);
                        }
                        free.push(slot);
                    }
                }
            }
        }
    }
}
