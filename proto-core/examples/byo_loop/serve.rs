//! The loop itself: one thread, one `mio::Poll`, any number of connections.
//! (`tests/byo_loop.rs` includes this file too, so it is exercised by a test.)

// The core never reads a clock; the loop owns it and maps `std::time::Instant`
// onto the core's `Instant` (proto-core's clippy.toml bans the former in the crate).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::collections::HashMap;
use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use proto_core::{
    Config, Connection, Event, Instant, Protocol, ReadChunk, ResponseHead, Shutdown, Side, StreamId,
};

const LISTENER: Token = Token(0);
const STOP: Token = Token(1);
const READ_CHUNK: usize = 16 * 1024;
/// Below this much room left a new read buffer is started.
const MIN_ROOM: usize = 4 * 1024;
/// Pieces of output per vectored write (the kernel takes up to 1,024).
const MAX_IOV: usize = 64;
static BIG: [u8; 1 << 20] = [b'x'; 1 << 20];
const BIG_LENGTH: &str = "1048576";
const HELLO: &[u8] = b"Hello, World!";
const HELLO_LENGTH: &str = "13";

pub(crate) struct Server {
    poll: Poll,
    listener: TcpListener,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    config: Config,
    start: std::time::Instant,
    stopping: bool,
}

/// One accepted connection: the socket, the core, and what sits between them.
struct Conn {
    sock: TcpStream,
    core: Connection,
    /// Bytes read from the socket that the core has not taken yet (backpressure).
    input: BytesMut,
    /// Zeroed room that reads go into, carved off its front per read: a
    /// buffer is zeroed once per `READ_CHUNK` bytes, not once per read. Let
    /// go on the core's idle release, so a connection idle for that long
    /// holds no buffer.
    room: BytesMut,
    /// mio is edge-triggered: after a readable event, keep reading until
    /// `WouldBlock` (or until the core stops taking input; we come back later).
    readable: bool,
    /// Whether WRITABLE interest is registered (only while output is pending).
    writing: bool,
    /// Response bodies the core has not taken yet: `write` accepts at most
    /// `write_capacity` bytes, and a `Writable` event says when to go on.
    bodies: HashMap<StreamId, Bytes>,
}

impl Server {
    /// Binds `addr`. The returned `Waker` stops the loop (gracefully) from any thread.
    pub(crate) fn bind(addr: SocketAddr, config: Config) -> io::Result<(Self, Waker)> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(addr)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let stop = Waker::new(poll.registry(), STOP)?;
        let server = Self {
            poll,
            listener,
            conns: HashMap::new(),
            next_token: 2,
            config,
            start: std::time::Instant::now(),
            stopping: false,
        };
        Ok((server, stop))
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The core's clock: nanoseconds since the loop started.
    fn now(&self) -> Instant {
        Instant::from_nanos(u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// Runs until stopped through the `Waker` and every connection has closed.
    pub(crate) fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        while !(self.stopping && self.conns.is_empty()) {
            // 4. Timer: sleep no longer than the earliest deadline. Scanning every
            // connection is O(n) per wake-up; fine here, a big server keeps a heap.
            let deadline = self
                .conns
                .values()
                .filter_map(|c| c.core.poll_timeout())
                .min();
            let timeout = deadline.map(|t| t.saturating_duration_since(self.now()));
            // mio rounds the timeout up to whole milliseconds, so this does not spin.
            match self.poll.poll(&mut events, timeout) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => result?,
            }
            let now = self.now();
            for event in &events {
                match event.token() {
                    LISTENER if !self.stopping => self.accept(now)?,
                    STOP => self.stop()?,
                    token => {
                        if let Some(conn) = self.conns.get_mut(&token) {
                            conn.readable |= event.is_readable() || event.is_read_closed();
                        }
                        self.drive(token, now);
                    }
                }
            }
            // Timers that are due (a spurious `handle_timeout` is a harmless no-op).
            let due: Vec<Token> = (self.conns.iter())
                .filter(|(_, c)| c.core.poll_timeout().is_some_and(|t| t <= now))
                .map(|(token, _)| *token)
                .collect();
            for token in due {
                self.drive(token, now);
            }
        }
        Ok(())
    }

    fn accept(&mut self, now: Instant) -> io::Result<()> {
        loop {
            let mut sock = match self.listener.accept() {
                Ok((sock, _peer)) => sock,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("accept: {e}"); // e.g. out of file descriptors: keep serving
                    return Ok(());
                }
            };
            let _ = sock.set_nodelay(true); // best effort: responses are small writes
            let token = Token(self.next_token);
            self.next_token += 1;
            self.poll
                .registry()
                .register(&mut sock, token, Interest::READABLE)?;
            // `Auto`: HTTP/2 prior knowledge and HTTP/1.1 on the same port.
            let core =
                Connection::with_protocol(Side::Server, Protocol::Auto, self.config.clone(), now);
            let conn = Conn {
                sock,
                core,
                input: BytesMut::new(),
                room: BytesMut::new(),
                readable: false,
                writing: false,
                bodies: HashMap::new(),
            };
            self.conns.insert(token, conn);
        }
    }

    /// Stops accepting; every connection finishes what it has in progress.
    fn stop(&mut self) -> io::Result<()> {
        self.stopping = true;
        self.poll.registry().deregister(&mut self.listener)?;
        let drain = Duration::from_secs(5); // then whatever is left is aborted
        for conn in self.conns.values_mut() {
            conn.core.shutdown(Shutdown::Graceful { drain });
        }
        let now = self.now();
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            self.drive(token, now); // idle connections close at once
        }
        Ok(())
    }

    /// Runs one connection's steps; closes it when it is done (or broken).
    fn drive(&mut self, token: Token, now: Instant) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let result = conn.drive(now);
        let pending = !conn.core.poll_transmit().is_empty();
        if result.is_err() || (conn.core.is_closed() && !pending) {
            if let Some(mut conn) = self.conns.remove(&token) {
                let _ = self.poll.registry().deregister(&mut conn.sock);
            } // dropping the socket closes it
        } else if pending != conn.writing {
            conn.writing = pending;
            let interest = if pending {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let _ = self
                .poll
                .registry()
                .reregister(&mut conn.sock, token, interest);
        }
    }
}

impl Conn {
    /// The driving loop of `proto_core::Connection`, repeated until nothing
    /// moves: writing can produce events (`Writable`), events produce output.
    fn drive(&mut self, now: Instant) -> io::Result<()> {
        // 1. Time: fires whatever timer is due (408, idle close, ...).
        self.core.handle_timeout(now);
        if self.core.take_idle_release() {
            self.room = BytesMut::new(); // the core let go of its own storage too
        }
        loop {
            let mut moved = false;
            // 1. Input: read only once the core has taken everything offered so far.
            if self.input.is_empty() && self.readable && self.core.wants_read() {
                moved |= self.fill(now)?;
            }
            if !self.input.is_empty() && self.core.wants_read() {
                let offered = self.input.len();
                self.core.recv_buf(now, &mut self.input); // takes from the front
                moved |= self.input.len() < offered;
            }
            self.handle_events(); // 2. Events
            moved |= self.flush()?; // 3. Output
            if !moved {
                return Ok(()); // 4. Timer: back to `poll`
            }
        }
    }

    /// One read from the socket into `input` (EOF goes to the core); false
    /// once the socket has nothing more for now.
    fn fill(&mut self, now: Instant) -> io::Result<bool> {
        if self.room.len() < MIN_ROOM {
            self.room = BytesMut::zeroed(READ_CHUNK);
        }
        match self.sock.read(&mut self.room) {
            Ok(0) => {
                self.readable = false;
                self.core.recv_eof(now);
                Ok(true)
            }
            Ok(n) => {
                // `input` is empty here; the core adopts these bytes as
                // they are (no copy), and slices of them become the fields.
                self.input = self.room.split_to(n);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.readable = false;
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Step 2, events: answer every request; `GET /big` gets 1 MiB from a static buffer.
    fn handle_events(&mut self) {
        while let Some(event) = self.core.poll_event() {
            match event {
                Event::Request { id, head, .. } => {
                    let (body, length) = if head.target == "/big" {
                        (&BIG[..], BIG_LENGTH)
                    } else {
                        (HELLO, HELLO_LENGTH)
                    };
                    let mut resp = ResponseHead::new(200);
                    // The request's field list holds the response's: no
                    // allocation, and once sent the core keeps it for the
                    // next request's head.
                    resp.fields = head.fields;
                    resp.fields.clear();
                    resp.fields.push_static("content-type", "text/plain");
                    resp.fields.push_static("content-length", length);
                    if self.core.send_response(id, resp, false).is_ok() {
                        self.write_body(id, Bytes::from_static(body));
                    }
                }
                Event::Writable { id } => {
                    if let Some(rest) = self.bodies.remove(&id) {
                        self.write_body(id, rest);
                    }
                }
                // We do not use request bodies: read and drop them.
                Event::Readable { id } => {
                    if let Some(mut stream) = self.core.stream(id) {
                        while let ReadChunk::Data(_) | ReadChunk::Trailers(_) = stream.read() {}
                    }
                }
                Event::Finished { id } | Event::Reset { id, .. } => {
                    self.bodies.remove(&id);
                }
                _ => {}
            }
        }
    }

    /// Hands the core as much of `body` as it takes and finishes once all is
    /// in; what it did not take waits in `bodies` for the next `Writable`
    /// (so a small body never touches the map).
    fn write_body(&mut self, id: StreamId, mut body: Bytes) {
        let Some(mut stream) = self.core.stream(id) else {
            return;
        };
        match stream.write(&mut body) {
            Ok(_) if body.is_empty() => {
                let _ = stream.finish(None);
            }
            Ok(_) => {
                self.bodies.insert(id, body);
            }
            Err(_) => {}
        }
    }

    /// Step 3, output: vectored writes until done or `WouldBlock` (then
    /// WRITABLE wakes us); true if anything was written.
    fn flush(&mut self) -> io::Result<bool> {
        let mut wrote = false;
        loop {
            let chunks = self.core.poll_transmit();
            if chunks.is_empty() {
                return Ok(wrote);
            }
            // Up to `MAX_IOV` pieces per write, gathered on the stack.
            let mut slices = [IoSlice::new(&[]); MAX_IOV];
            for (slice, chunk) in slices.iter_mut().zip(chunks) {
                *slice = IoSlice::new(chunk);
            }
            let count = chunks.len().min(MAX_IOV);
            match self
                .sock
                .write_vectored(slices.get(..count).unwrap_or_default())
            {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.core.transmit_complete(n), // short writes are normal
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(wrote),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            wrote = true;
        }
    }
}
