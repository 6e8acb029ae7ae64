//! Split independence (architecture §2: "Result is independent of how input
//! is chunked"): every scenario below gives the same per-stream events, the
//! same application observations and the same output bytes whether the input
//! is delivered in one piece, byte by byte, in fixed pieces, or in seeded
//! random pieces with random short writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use tests::*;

fn deliveries() -> Vec<Delivery> {
    let mut v = vec![
        Delivery::BYTEWISE,
        Delivery {
            recv: Split::Bytewise,
            write: Split::Whole,
        },
        Delivery {
            recv: Split::Whole,
            write: Split::Bytewise,
        },
        Delivery {
            recv: Split::Fixed(2),
            write: Split::Fixed(5),
        },
        Delivery {
            recv: Split::Fixed(7),
            write: Split::Whole,
        },
    ];
    for seed in 1..=6 {
        v.push(Delivery::random(seed));
    }
    v
}

/// A raw-server scenario: bytes in (then EOF if `eof`), echo application.
struct ByteScript {
    name: &'static str,
    cfg: fn() -> Config,
    input: Vec<u8>,
    eof: bool,
}

type Outcome = (BTreeMap<String, Vec<String>>, Vec<u8>);

fn run_bytes(s: &ByteScript, d: Delivery) -> Outcome {
    let mut raw = Raw::with(Side::Server, (s.cfg)(), d).app(echo_server());
    raw.feed(&s.input);
    if s.eof {
        raw.eof();
    }
    (raw.ep.split_log(), raw.ep.wire.clone())
}

fn big(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'0' + (i % 10) as u8).collect()
}

fn byte_scripts() -> Vec<ByteScript> {
    let h = "Host: example.com\r\n";
    let s = |name, input: String| ByteScript {
        name,
        cfg: no_timers,
        input: input.into_bytes(),
        eof: false,
    };
    let mut v = vec![
        s("pipelined GETs", format!("GET /1 HTTP/1.1\r\n{h}\r\nGET /2 HTTP/1.1\r\n{h}\r\nGET /3 HTTP/1.1\r\n{h}\r\n")),
        s("content-length body then GET", format!("POST /p HTTP/1.1\r\n{h}Content-Length: 11\r\n\r\nhello worldGET /n HTTP/1.1\r\n{h}\r\n")),
        s(
            "chunked body, extension, trailers, then GET",
            format!("POST /c HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nGET /n HTTP/1.1\r\n{h}\r\n"),
        ),
        s("http/1.0 keep-alive then close", "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\nGET /c HTTP/1.0\r\n\r\n".into()),
        s("connection close", format!("GET /a HTTP/1.1\r\n{h}Connection: close\r\n\r\nGET /b HTTP/1.1\r\n{h}\r\n")),
        s("CL+TE after a good request", format!("GET /ok HTTP/1.1\r\n{h}\r\nPOST / HTTP/1.1\r\n{h}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /s HTTP/1.1\r\n{h}\r\n")),
        s("bad chunk size", format!("POST / HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n")),
        s("obs-fold", format!("GET / HTTP/1.1\r\n{h}X: a\r\n b\r\n\r\n")),
        s("bare LF", "GET / HTTP/1.1\nHost: example.com\n\n".into()),
        s("expect 100-continue", format!("POST /e HTTP/1.1\r\n{h}Content-Length: 4\r\nExpect: 100-continue\r\n\r\nbody")),
        s("declined upgrade", format!("GET /u HTTP/1.1\r\n{h}Connection: upgrade\r\nUpgrade: x\r\n\r\nGET /n HTTP/1.1\r\n{h}\r\n")),
        s("HEAD then GET", format!("HEAD /h HTTP/1.1\r\n{h}\r\nGET /g HTTP/1.1\r\n{h}\r\n")),
        s("missing host", "GET / HTTP/1.1\r\n\r\n".into()),
        s("unknown coding", format!("POST / HTTP/1.1\r\n{h}Transfer-Encoding: x-y, chunked\r\n\r\n0\r\n\r\n")),
    ];
    v.push(ByteScript {
        name: "half-close after two requests",
        cfg: no_timers,
        input: format!(
            "GET /1 HTTP/1.1\r\n{h}\r\nPOST /2 HTTP/1.1\r\n{h}Content-Length: 2\r\n\r\nok"
        )
        .into_bytes(),
        eof: true,
    });
    v.push(ByteScript {
        name: "EOF mid body",
        cfg: no_timers,
        input: format!("POST /2 HTTP/1.1\r\n{h}Content-Length: 20\r\n\r\nshort").into_bytes(),
        eof: true,
    });
    let mut large = format!("POST /big HTTP/1.1\r\n{h}Content-Length: 20000\r\n\r\n").into_bytes();
    large.extend(big(20_000));
    large.extend_from_slice(format!("GET /after HTTP/1.1\r\n{h}\r\n").as_bytes());
    v.push(ByteScript {
        name: "large body then GET",
        cfg: || {
            let mut c = no_timers();
            c.max_recv_buffer = 4096;
            c
        },
        input: large,
        eof: false,
    });
    v.push(ByteScript {
        name: "pipelining depth 2",
        cfg: || {
            let mut c = no_timers();
            c.max_pipelined = 2;
            c
        },
        input: format!("GET /1 HTTP/1.1\r\n{h}\r\nGET /2 HTTP/1.1\r\n{h}\r\nGET /3 HTTP/1.1\r\n{h}\r\nGET /4 HTTP/1.1\r\n{h}\r\n").into_bytes(),
        eof: false,
    });
    v
}

/// A pair scenario.
struct PairScript {
    name: &'static str,
    run: fn(&mut Pair),
}

fn pair_scripts() -> Vec<PairScript> {
    vec![
        PairScript {
            name: "two exchanges with content-length bodies",
            run: |p| {
                p.server.app = Some(echo_server());
                p.client.app = Some(reader());
                p.request(
                    request(
                        Method::Post,
                        "/a",
                        &[("host", "h"), ("content-length", "5")],
                    ),
                    b"hello",
                );
                p.drive();
                p.request(get("/b"), b"");
                p.drive();
            },
        },
        PairScript {
            name: "chunked 20k request with trailers, echoed",
            run: |p| {
                p.server.app = Some(echo_server());
                p.client.app = Some(reader());
                let id = p
                    .client
                    .conn
                    .send_request(request(Method::Put, "/c", &[("host", "h")]), false)
                    .unwrap();
                p.client.track_stream(id);
                p.client
                    .send_body(id, &big(20_000), true, Some(fields(&[("x-sum", "1")])));
                p.drive();
            },
        },
        PairScript {
            name: "early hints then response",
            run: |p| {
                p.client.app = Some(reader());
                p.server.app = Some(Box::new(|cx, ev| {
                    if let Event::Request { id, .. } = ev {
                        cx.conn
                            .send_informational(*id, response(103, &[("link", "</a>")]))
                            .unwrap();
                        cx.respond_cl(*id, 200, b"ok");
                    }
                }));
                p.request(get("/"), b"");
                p.drive();
            },
        },
        PairScript {
            name: "expect 100-continue, automatic",
            run: |p| {
                p.server.app = Some(echo_server());
                p.client.app = Some(reader());
                p.request(
                    request(
                        Method::Post,
                        "/e",
                        &[
                            ("host", "h"),
                            ("expect", "100-continue"),
                            ("content-length", "4"),
                        ],
                    ),
                    b"body",
                );
                p.drive();
            },
        },
        PairScript {
            name: "server closes",
            run: |p| {
                p.client.app = Some(reader());
                p.server.app = Some(Box::new(|cx, ev| {
                    if let Event::Request { id, .. } = ev {
                        cx.respond(*id, response(200, &[("connection", "close")]), b"streamed");
                    }
                }));
                p.request(get("/"), b"");
                p.drive();
            },
        },
    ]
}

fn diff(
    failures: &mut Vec<String>,
    name: &str,
    d: Delivery,
    what: &str,
    want: &BTreeMap<String, Vec<String>>,
    got: &BTreeMap<String, Vec<String>>,
) -> bool {
    if want == got {
        return true;
    }
    let mut keys: Vec<&String> = want.keys().chain(got.keys()).collect();
    keys.dedup();
    let mut msg = format!("scenario {name:?}, {what}: events differ with {d:?}");
    for k in keys {
        if want.get(k) != got.get(k) {
            msg.push_str(&format!(
                "\n  [{k}]\n    whole: {:?}\n    split: {:?}",
                want.get(k),
                got.get(k)
            ));
        }
    }
    failures.push(msg);
    false
}

fn window(b: &[u8], at: usize) -> String {
    let lo = at.saturating_sub(80);
    let hi = (at + 80).min(b.len());
    format!("...{}... ({} bytes)", show(&b[lo..hi]), b.len())
}

fn diff_wire(
    failures: &mut Vec<String>,
    name: &str,
    d: Delivery,
    what: &str,
    want: &[u8],
    got: &[u8],
) -> bool {
    if want == got {
        return true;
    }
    let at = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    failures.push(format!(
        "scenario {name:?}: {what} output differs at byte {at} with {d:?}
    whole: {}
    split: {}",
        window(want, at),
        window(got, at)
    ));
    false
}

/// Runs every scenario (raw-server byte scripts and pair scripts) under
/// every delivery; returns one failure message per scenario that differs
/// (the first differing delivery), and how many runs were compared.
fn check(bytes: &[ByteScript], pairs: &[PairScript]) -> (Vec<String>, usize) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for s in bytes {
        let (want_log, want_wire) = run_bytes(s, Delivery::WHOLE);
        if !s.name.contains("HEAD") {
            if let Err(e) = check_nothing_after_close(&want_wire) {
                failures.push(format!("scenario {:?}, whole delivery: {e}", s.name));
            }
        }
        for d in deliveries() {
            let (log, wire) = run_bytes(s, d);
            checked += 1;
            if !(diff(&mut failures, s.name, d, "server", &want_log, &log)
                && diff_wire(&mut failures, s.name, d, "server", &want_wire, &wire))
            {
                break;
            }
        }
    }
    for s in pairs {
        let run = |d: Delivery| {
            let mut p = Pair::with(no_timers(), no_timers(), d);
            (s.run)(&mut p);
            (
                p.client.split_log(),
                p.server.split_log(),
                // Chunk boundaries follow the application's writes (which follow
                // write capacity, which follows the transport): compare what
                // the messages mean, not how the bodies were cut.
                semantic(&p.client.wire, true)
                    .join(
                        "
",
                    )
                    .into_bytes(),
                semantic(&p.server.wire, false)
                    .join(
                        "
",
                    )
                    .into_bytes(),
            )
        };
        let (wc, ws, wcw, wsw) = run(Delivery::WHOLE);
        for d in deliveries() {
            let (c, sv, cw, sw) = run(d);
            checked += 1;
            if !(diff(&mut failures, s.name, d, "client", &wc, &c)
                && diff(&mut failures, s.name, d, "server", &ws, &sv)
                && diff_wire(&mut failures, s.name, d, "client", &wcw, &cw)
                && diff_wire(&mut failures, s.name, d, "server", &wsw, &sw))
            {
                break;
            }
        }
    }
    (failures, checked)
}

/// Architecture §2 ("the same bytes fed in one call or one byte at a time
/// give the same events and output"), RFC 9112 (HTTP/1.1 framing is defined
/// on the byte stream, not on reads): every scenario, on a raw server and on
/// a pair, gives identical per-stream events, application observations and
/// output bytes (pairs: identical messages, whatever the chunk boundaries) for
/// every delivery (bytewise, fixed pieces, seeded random pieces with short
/// writes); and a server never answers after a `connection: close`.
#[test]
fn split_independence_of_events_and_output() {
    let (failures, checked) = check(&byte_scripts(), &pair_scripts());
    assert!(
        failures.is_empty(),
        "{} scenario(s) depend on the split:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 100, "only {checked} runs compared");
}
