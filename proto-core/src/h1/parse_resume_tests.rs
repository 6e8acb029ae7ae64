//! The resumable head parsers: linear work when a head trickles in, and the
//! same outcome however the bytes are cut.

#![allow(clippy::unwrap_used)]

use bytes::BytesMut;

use super::*;
use crate::config::Config;
use crate::connection::Side;
use crate::event::Event;
use crate::h1::H1Conn;
use crate::time::Instant;

type Outcome = (String, usize);

/// Feeds `input` in pieces of the sizes `sizes` yields, parsing after each
/// (one `HeadScan` throughout), until the parser answers or the input runs
/// out. Returns the answer and the bytes consumed, and the scan's count of
/// bytes examined. An incomplete answer must leave the buffer untouched.
fn feed(
    input: &[u8],
    cfg: &Config,
    response: bool,
    mut sizes: impl FnMut() -> usize,
) -> (Outcome, usize) {
    let mut buf = BytesMut::new();
    let mut scan = HeadScan::default();
    let mut fed = 0;
    while fed < input.len() {
        let n = sizes().clamp(1, input.len() - fed);
        buf.extend_from_slice(&input[fed..fed + n]);
        fed += n;
        let out = if response {
            format!("{:?}", parse_response_resume(&mut buf, cfg, &mut scan))
        } else {
            format!("{:?}", parse_request_resume(&mut buf, cfg, &mut scan))
        };
        if out != "Ok(None)" {
            return ((out, fed - buf.len()), scan.examined);
        }
        assert_eq!(buf.len(), fed, "an incomplete head consumed bytes");
    }
    (("Ok(None)".into(), 0), scan.examined)
}

fn whole(input: &[u8], cfg: &Config, response: bool) -> Outcome {
    feed(input, cfg, response, || usize::MAX).0
}

fn bytewise(input: &[u8], cfg: &Config, response: bool) -> (Outcome, usize) {
    feed(input, cfg, response, || 1)
}

/// Piece sizes 1..=max from a xorshift generator (deterministic per seed).
fn random_sizes(seed: u64, max: u64) -> impl FnMut() -> usize {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        usize::try_from(x % max + 1).unwrap()
    }
}

fn small() -> Config {
    Config {
        max_head_bytes: 512,
        max_headers: 16,
        max_uri_len: 128,
        ..Config::default()
    }
}

/// A head of about `len` bytes: one long field value, or many short fields.
fn big_request(len: usize, one_line: bool) -> Vec<u8> {
    let mut h = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n".to_vec();
    if one_line {
        h.extend_from_slice(b"X-Pad: ");
        h.resize(len - 4, b'a');
        h.extend_from_slice(b"\r\n");
    } else {
        let mut i = 0;
        while h.len() + 190 < len {
            h.extend_from_slice(format!("X-{i:03}: {}\r\n", "v".repeat(170)).as_bytes());
            i += 1;
        }
    }
    h.extend_from_slice(b"\r\n");
    h
}

/// Slowloris: a 16 KiB head (the default `max_head_bytes`) sent one byte at
/// a time costs O(n) checks, not the n²/2 of rescanning the partial head on
/// every byte.
#[test]
fn head_trickled_bytewise_is_scanned_in_linear_time() {
    let cfg = Config::default();
    let n = cfg.max_head_bytes - 16;
    let long_target = [
        b"GET /".as_slice(),
        &vec![b'a'; cfg.max_uri_len - 1],
        b" HTTP/1.1\r\nHost: h\r\nX-Pad: ",
        &vec![b'b'; n - cfg.max_uri_len - 40],
        b"\r\n\r\n",
    ]
    .concat();
    let leading_crlfs = [b"\r\n".repeat(n / 4).as_slice(), &big_request(n / 2, true)].concat();
    for (what, head) in [
        ("one long field", big_request(n, true)),
        ("many fields", big_request(n, false)),
        ("long target", long_target),
        ("empty lines first", leading_crlfs),
    ] {
        let ((out, used), examined) = bytewise(&head, &cfg, false);
        assert!(out.starts_with("Ok(Some("), "{what}: {out}");
        assert_eq!(used, head.len(), "{what}");
        assert!(
            examined <= 3 * head.len(),
            "{what}: {examined} bytes examined for a {}-byte head",
            head.len()
        );
    }
    let mut response = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    response.resize(n, b'r');
    response.extend_from_slice(b"\r\n\r\n");
    let ((out, _), examined) = bytewise(&response, &cfg, true);
    assert!(out.starts_with("Ok(Some("), "{out}");
    assert!(examined <= 3 * response.len(), "response: {examined}");
}

/// The same bound holds on the way to an error decided late in the head
/// (414 at the target's limit, 431 at the head's).
#[test]
fn heads_refused_late_are_scanned_in_linear_time() {
    let cfg = Config::default();
    let mut uri = b"GET /".to_vec();
    uri.resize(cfg.max_uri_len + 100, b'u');
    let mut large = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
    large.resize(cfg.max_head_bytes + 1, b'p');
    for (head, want) in [(uri, "UriTooLong"), (large, "HeadTooLarge")] {
        let ((out, _), examined) = bytewise(&head, &cfg, false);
        assert_eq!(out, format!("Err({want})"));
        assert!(examined <= 3 * head.len(), "{want}: {examined}");
    }
}

/// The counter the bounds above rely on does see rescanning: parsing the
/// growing buffer afresh each time (as before `HeadScan`) examines ~n²/2.
#[test]
fn examined_counter_sees_rescans() {
    let cfg = Config::default();
    let head = big_request(4096, true);
    let mut total = 0;
    for k in 1..=head.len() {
        let mut scan = HeadScan::default();
        let _ = parse_request_resume(&mut BytesMut::from(&head[..k]), &cfg, &mut scan);
        total += scan.examined;
    }
    assert!(total > head.len() * head.len() / 3, "{total}");
    assert!(bytewise(&head, &cfg, false).1 <= 3 * head.len());
}

/// The connection keeps its scan across reads, and starts the next head
/// afresh after a body: two pipelined requests sent a byte at a time.
#[test]
fn connection_resumes_and_restarts_per_head() {
    let cfg = Config::default();
    let post = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
    let get = big_request(cfg.max_head_bytes - 16, true);
    let wire = [post.as_slice(), &get].concat();
    let mut conn = H1Conn::new(Side::Server, cfg.into(), Instant::ZERO);
    for b in wire.chunks(1) {
        assert_eq!(conn.recv(Instant::ZERO, b), 1);
    }
    let mut targets = Vec::new();
    while let Some(ev) = conn.poll_event() {
        if let Event::Request { head, .. } = ev {
            targets.push(head.target);
        }
    }
    assert_eq!(targets, ["/a", "/index.html"]);
    assert!(
        conn.head_scan.examined <= 3 * wire.len(),
        "{} bytes examined for {} bytes of heads",
        conn.head_scan.examined,
        wire.len()
    );
}

/// Valid and invalid heads, cut in every way, give one outcome: the cut
/// never changes the answer (nor 414 vs 400 vs 431, RFC 9112 §3 ¶4).
#[test]
fn outcome_does_not_depend_on_the_cuts() {
    let mut requests: Vec<Vec<u8>> = [
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n".as_slice(),
        b"POST /a?b=c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
        b"GET / HTTP/1.0\r\n\r\n",
        b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"\r\n\r\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"\n\nGET / HTTP/1.1\nHost: h\n\n",
        b"GET / HTTP/1.1\nHost: example.com\n\n",
        b"GET / HTTP/1.1\r\nHost : example.com\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-Folded: a\r\n b\r\n\r\n",
        b"GET / HTTP/1.1\r\n\tHost: example.com\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\r",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\0b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\x01b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: a\x7fb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: \xff\xfe\r\n\r\n",
        b"GET /\r\nHost: example.com\r\n\r\n",
        b"GET / HTTX/1.1\r\nHost: example.com\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: example.com\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"G\rET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET\n/ HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n",
        b"\r\n",
        b"\r",
        b"\rX",
        b"",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    let cfg = small();
    // Around the 414 decision byte: a target of max, max + 1, and longer;
    // ended by SP, by a line end, or by a bad byte before or after the
    // decision byte; and a long method before any SP.
    for (len, tail) in [
        (cfg.max_uri_len, " HTTP/1.1\r\nHost: h\r\n\r\n".as_bytes()),
        (cfg.max_uri_len + 1, b" HTTP/1.1\r\nHost: h\r\n\r\n"),
        (cfg.max_uri_len + 1, b"\r\n\r\n"),
        (cfg.max_uri_len - 1, b"\rx"),
        (cfg.max_uri_len + 40, b""),
        (cfg.max_uri_len - 1, b"\0 HTTP/1.1\r\n\r\n"),
    ] {
        requests.push([b"GET /".as_slice(), &vec![b'x'; len - 1], tail].concat());
    }
    requests.push([b"G\0T /".as_slice(), &[b'x'; 300]].concat());
    requests.push([b"GE\rT /".as_slice(), &[b'x'; 300]].concat());
    requests.push([b"GET /".as_slice(), &[b'x'; 60], b"\x01", &[b'x'; 200]].concat());
    requests.push([b"GET /".as_slice(), &[b'x'; 200], b"\x01"].concat());
    requests.push(vec![b'M'; 600]);
    requests.push(b"\r\n".repeat(300));
    requests.push(big_request(600, true));
    requests.push(big_request(600, false));
    requests.push(big_request(500, true));
    let responses: Vec<Vec<u8>> = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".as_slice(),
        b"HTTP/1.1 204\r\n\r\n",
        b"HTTP/1.0 404 Not Found\r\nX: \xe9t\xe9\r\n\r\nbody",
        b"HTTP/1.1 99 Low\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
        b"HTTP/1.1 200 OK\nX-A: a\n\n",
        b"HTTP/1.0 20",
    ]
    .iter()
    .map(|s| s.to_vec())
    .chain([[b"HTTP/1.0 20".as_slice(), &[b'E'; 140], b"\r\n\r\n"].concat()])
    .collect();

    let mut lenient_small = small();
    lenient_small.allow_bare_lf = true;
    let lenient = Config {
        allow_bare_lf: true,
        ..Config::default()
    };
    let mut checked = 0;
    for cfg in [Config::default(), lenient, small(), lenient_small] {
        for (response, inputs) in [(false, &requests), (true, &responses)] {
            for input in inputs {
                let want = whole(input, &cfg, response);
                let show = String::from_utf8_lossy(input);
                assert_eq!(
                    bytewise(input, &cfg, response).0,
                    want,
                    "bytewise: {show:?}"
                );
                for seed in 1..=12 {
                    let got = feed(input, &cfg, response, random_sizes(seed, 40)).0;
                    assert_eq!(got, want, "seed {seed}: {show:?}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 150);
}

/// A resumed line scan gives the whole scan's answer at every cut,
/// including a CR that ends one piece and is judged with the next.
#[test]
fn scan_lines_resumes_mid_line() {
    for s in [
        b"A: 1\r\nB: 2\r\n\r\n".as_slice(),
        b"A: 1\r\nB: 2\rX\r\n\r\n",
        b"A: 1\r\n B: 2\r\n\r\n",
        b"A: 1\nB\r\n\r\n",
        b"A: \x01\r\n\r\n",
    ] {
        for bare in [false, true] {
            let want = scan_lines(s, LineScan::at(0), bare);
            for cut in 0..=s.len() {
                let got = match scan_lines(&s[..cut], LineScan::at(0), bare) {
                    Ok(Lines::Partial(at)) => scan_lines(s, at, bare),
                    other => other,
                };
                assert_eq!(
                    got,
                    want,
                    "cut at {cut} of {:?}",
                    String::from_utf8_lossy(s)
                );
            }
        }
    }
}
