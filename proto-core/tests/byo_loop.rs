//! Runs the `byo_loop` example's loop on a background thread and talks to it
//! over loopback: keep-alive, pipelining past the core's limit, many
//! connections at once, large bodies, HTTP/2 prior knowledge, the header-read
//! timer, and a graceful stop. Read timeouts only guard against hangs; nothing
//! sleeps to synchronize.

// Tests own threads and clocks; proto-core's clippy.toml bans them in the crate.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "../examples/byo_loop/serve.rs"]
mod serve;

use std::collections::HashMap;
use std::error::Error;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::BytesMut;
use proto_core::{
    Config, Connection, Event, Instant, Method, Protocol, ReadChunk, RequestHead, Side, StreamId,
};

type Res<T = ()> = Result<T, Box<dyn Error>>;

const GUARD: Duration = Duration::from_secs(10);
const HELLO: &[u8] = b"Hello, World!";
const BIG_LEN: usize = 1 << 20;

/// The example's server on its own thread, bound to an ephemeral port.
struct Running {
    addr: SocketAddr,
    stop: mio::Waker,
    thread: JoinHandle<io::Result<()>>,
}

fn start(config: Config) -> Res<Running> {
    let (mut server, stop) = serve::Server::bind("127.0.0.1:0".parse()?, config)?;
    let addr = server.local_addr()?;
    let thread = std::thread::spawn(move || server.run());
    Ok(Running { addr, stop, thread })
}

impl Running {
    fn connect(&self) -> Res<TcpStream> {
        let sock = TcpStream::connect(self.addr)?;
        sock.set_read_timeout(Some(GUARD))?;
        sock.set_write_timeout(Some(GUARD))?;
        Ok(sock)
    }

    /// Stops the loop gracefully and checks that it returned without error.
    fn stop(self) -> Res {
        self.stop.wake()?;
        self.thread.join().map_err(|_| "server thread panicked")??;
        Ok(())
    }
}

fn get(path: &str, close: bool) -> String {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n{connection}\r\n")
}

/// Reads one HTTP/1.1 response with a `content-length`: (status, body).
fn read_response(r: &mut impl BufRead) -> Res<(u16, Vec<u8>)> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line.split(' ').nth(1).ok_or("no status line")?.parse()?;
    let mut len = 0;
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let Some((name, value)) = line.trim_end().split_once(':') else {
            break; // the empty line ending the head (or EOF)
        };
        if name.eq_ignore_ascii_case("content-length") {
            len = value.trim().parse()?;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok((status, body))
}

#[test]
fn keep_alive_serves_requests_one_after_another() -> Res {
    let server = start(Config::default())?;
    let sock = server.connect()?;
    let mut reader = BufReader::new(&sock);
    for path in ["/", "/big", "/"] {
        (&sock).write_all(get(path, false).as_bytes())?;
        let (status, body) = read_response(&mut reader)?;
        assert_eq!(status, 200);
        assert_eq!(
            body.len(),
            if path == "/big" { BIG_LEN } else { HELLO.len() }
        );
    }
    drop(reader);
    drop(sock);
    server.stop()
}

#[test]
fn pipelined_requests_are_answered_in_order_through_backpressure() -> Res {
    let server = start(Config::default())?;
    let mut sock = server.connect()?;
    // 64 requests in one write, more than `max_pipelined` (16), and 48 MiB of
    // answers that the client reads only afterwards: more than the socket
    // buffers hold, so the server's writes block and resume on WRITABLE.
    let big = |i: usize| i % 4 != 3;
    let mut batch = String::new();
    for i in 0..64 {
        batch += &get(if big(i) { "/big" } else { "/" }, i == 63);
    }
    sock.write_all(batch.as_bytes())?;
    let mut reader = BufReader::new(&sock);
    for i in 0..64 {
        let (status, body) = read_response(&mut reader)?;
        assert_eq!(status, 200);
        assert_eq!(body.len(), if big(i) { BIG_LEN } else { HELLO.len() });
    }
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest)?; // the server closes after `Connection: close`
    assert!(rest.is_empty());
    server.stop()
}

#[test]
fn many_connections_at_once_on_one_thread() -> Res {
    let server = start(Config::default())?;
    let socks: Vec<TcpStream> = (0..20).map(|_| server.connect()).collect::<Res<_>>()?;
    // Every connection asks before any is read from; half want 1 MiB.
    for (i, mut sock) in socks.iter().enumerate() {
        sock.write_all(get(if i % 2 == 0 { "/big" } else { "/" }, false).as_bytes())?;
    }
    for (i, sock) in socks.iter().enumerate().rev() {
        let (status, body) = read_response(&mut BufReader::new(sock))?;
        assert_eq!(status, 200);
        assert_eq!(body.len(), if i % 2 == 0 { BIG_LEN } else { HELLO.len() });
    }
    drop(socks);
    server.stop()
}

#[test]
fn http2_prior_knowledge_on_the_same_port() -> Res {
    let server = start(Config::default())?;
    let mut sock = server.connect()?;
    // A proto-core client connection, driven by hand over a blocking socket.
    let mut client = Connection::with_protocol(
        Side::Client,
        Protocol::Http2,
        Config::default(),
        Instant::ZERO,
    );
    let mut answers: HashMap<StreamId, (&str, u16, usize, bool)> = HashMap::new();
    for path in ["/", "/big", "/", "/big"] {
        let head = RequestHead::new(Method::Get, format!("http://x{path}"));
        answers.insert(client.send_request(head, true)?, (path, 0, 0, false));
    }
    let mut input = BytesMut::new();
    while !answers.values().all(|a| a.3) {
        if !input.is_empty() {
            let offered = input.len();
            client.recv_buf(Instant::ZERO, &mut input);
            assert!(
                input.len() < offered,
                "the client core stopped taking input"
            );
        }
        while let Some(event) = client.poll_event() {
            match event {
                Event::Response { id, head, .. } => {
                    answers.get_mut(&id).ok_or("unknown stream")?.1 = head.status;
                }
                Event::Readable { id } => {
                    let answer = answers.get_mut(&id).ok_or("unknown stream")?;
                    let mut stream = client.stream(id).ok_or("stream gone")?;
                    loop {
                        match stream.read() {
                            ReadChunk::Data(data) => answer.2 += data.len(),
                            ReadChunk::Blocked => break,
                            ReadChunk::End => {
                                answer.3 = true;
                                break;
                            }
                            other => return Err(format!("{other:?}").into()),
                        }
                    }
                }
                Event::Closed { reason } => return Err(format!("closed: {reason:?}").into()),
                _ => {}
            }
        }
        while !client.poll_transmit().is_empty() {
            let chunk = client.poll_transmit()[0].clone();
            sock.write_all(&chunk)?;
            client.transmit_complete(chunk.len());
        }
        if input.is_empty() && !answers.values().all(|a| a.3) {
            let mut buf = [0; 16 * 1024];
            let n = sock.read(&mut buf)?;
            if n == 0 {
                return Err("server closed the connection".into());
            }
            input.extend_from_slice(&buf[..n]);
        }
    }
    for (path, status, len, _) in answers.into_values() {
        assert_eq!(status, 200);
        assert_eq!(len, if path == "/big" { BIG_LEN } else { HELLO.len() });
    }
    drop(sock);
    server.stop()
}

#[test]
fn header_read_timer_fires_408_for_silent_and_slow_clients() -> Res {
    let mut config = Config::default();
    config.header_read_timeout = Some(Duration::from_millis(200));
    let server = start(config)?;
    let started = std::time::Instant::now();
    let mut silent = server.connect()?;
    let mut slow = server.connect()?;
    slow.write_all(b"GET / HTTP/1.1\r\nHost:")?;
    for sock in [&mut silent, &mut slow] {
        let mut answer = String::new();
        sock.read_to_string(&mut answer)?; // the server closes after answering
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
    }
    assert!(started.elapsed() >= Duration::from_millis(200));
    server.stop()
}

#[test]
fn graceful_stop_closes_idle_connections() -> Res {
    let server = start(Config::default())?;
    let sock = server.connect()?;
    let mut reader = BufReader::new(&sock);
    (&sock).write_all(get("/", false).as_bytes())?;
    assert_eq!(read_response(&mut reader)?.0, 200);
    // The connection is idle (kept alive): stopping closes it at once.
    server.stop()?;
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest)?;
    assert!(rest.is_empty());
    Ok(())
}
