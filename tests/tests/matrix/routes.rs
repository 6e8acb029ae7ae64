//! The handler set every server in the matrix serves, once for the async
//! adapters (tokio and smol share `Incoming` and the service shape) and once
//! for adapter-std's blocking handlers. Same paths, same answers:
//!
//! | route | answer |
//! |---|---|
//! | `GET /hello` | `hello` |
//! | `/echo` | the request body streamed back as it arrives, trailers too; headers `x-framing` (`chunked`, `length` or `none`: how the request body was framed) and `x-expect` (the request's `expect`) |
//! | `GET /chunked?n=N` | N pattern bytes in odd-sized pieces, no length (chunked on HTTP/1.1) |
//! | `/trailers` | the request body back; header `x-got-trailer` = request trailer `x-up` (or `none`); trailer `x-down: from-server` |
//! | `GET /slow` | waits for the test's gate, then `slow done` |
//! | `GET /upgrade` | `101`, then echoes the raw stream |
//! | `CONNECT` | `200`, then echoes the tunnel |

use std::convert::Infallible;
use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};

use super::common::{Ctx, odd_chunks, pattern};

/// Response bodies of the async routes.
pub type AsyncBody = UnsyncBoxBody<Bytes, adapter_tokio::BoxError>;

/// Hands a request's upgrade to an echo task (each runtime has its own).
pub type SpawnEcho = fn(&mut Request<adapter_tokio::Incoming>);

pub const SLOW_DONE: &[u8] = b"slow done";
pub const TRAILER_DOWN: &str = "from-server";

fn full(b: impl Into<Bytes>) -> AsyncBody {
    Full::new(b.into()).map_err(|e| match e {}).boxed_unsync()
}

fn frames(frames: Vec<Frame<Bytes>>) -> AsyncBody {
    let stream = futures_lite::stream::iter(frames.into_iter().map(Ok::<_, Infallible>));
    StreamBody::new(stream)
        .map_err(|e| match e {})
        .boxed_unsync()
}

fn query_n(uri: &http::Uri) -> usize {
    uri.query()
        .and_then(|q| q.strip_prefix("n="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn status(code: StatusCode) -> Response<AsyncBody> {
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = code;
    resp
}

fn down_trailers() -> HeaderMap {
    let mut t = HeaderMap::new();
    t.insert("x-down", HeaderValue::from_static(TRAILER_DOWN));
    t
}

/// `x-framing` and `x-expect` for `/echo`: what the client really sent.
fn request_facts(req: &http::request::Parts) -> [(header::HeaderName, HeaderValue); 2] {
    let framing = if req.headers.contains_key(header::TRANSFER_ENCODING) {
        "chunked"
    } else if req.headers.contains_key(header::CONTENT_LENGTH) {
        "length"
    } else {
        "none"
    };
    let expect = req
        .headers
        .get(header::EXPECT)
        .cloned()
        .unwrap_or(HeaderValue::from_static("none"));
    [
        (
            header::HeaderName::from_static("x-framing"),
            HeaderValue::from_static(framing),
        ),
        (header::HeaderName::from_static("x-expect"), expect),
    ]
}

fn got_trailer(trailers: Option<&HeaderMap>) -> HeaderValue {
    trailers
        .and_then(|t| t.get("x-up"))
        .cloned()
        .unwrap_or(HeaderValue::from_static("none"))
}

/// The async handler set (tokio and smol).
pub async fn serve_async(
    mut req: Request<adapter_tokio::Incoming>,
    ctx: Arc<Ctx>,
    spawn_echo: SpawnEcho,
) -> Result<Response<AsyncBody>, Infallible> {
    if req.method() == Method::CONNECT {
        spawn_echo(&mut req);
        return Ok(status(StatusCode::OK));
    }
    let resp = match req.uri().path() {
        "/hello" => Response::new(full("hello")),
        "/echo" => {
            let (parts, body) = req.into_parts();
            let mut resp = Response::new(body.map_err(Into::into).boxed_unsync());
            resp.headers_mut()
                .extend(request_facts(&parts).map(|(n, v)| (Some(n), v)));
            resp
        }
        "/chunked" => {
            let data = pattern(query_n(req.uri()));
            Response::new(frames(
                odd_chunks(&data).into_iter().map(Frame::data).collect(),
            ))
        }
        "/trailers" => {
            let Ok(collected) = req.into_body().collect().await else {
                return Ok(status(StatusCode::BAD_REQUEST));
            };
            let got = got_trailer(collected.trailers());
            let body = collected.to_bytes();
            let mut resp = Response::new(frames(vec![
                Frame::data(body),
                Frame::trailers(down_trailers()),
            ]));
            resp.headers_mut().insert("x-got-trailer", got);
            resp
        }
        "/slow" => {
            ctx.entered();
            ctx.gate().await;
            Response::new(full(SLOW_DONE))
        }
        "/upgrade" => {
            spawn_echo(&mut req);
            let mut resp = status(StatusCode::SWITCHING_PROTOCOLS);
            let h = resp.headers_mut();
            h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            h.insert(header::UPGRADE, HeaderValue::from_static("echo"));
            resp
        }
        _ => status(StatusCode::NOT_FOUND),
    };
    Ok(resp)
}

/// The blocking handler set (adapter-std).
pub fn serve_std(
    mut req: Request<adapter_std::Body>,
    ctx: &Ctx,
) -> Response<adapter_std::SendBody> {
    use adapter_std::SendBody;
    let plain = |code: StatusCode| {
        let mut resp = Response::new(SendBody::empty());
        *resp.status_mut() = code;
        resp
    };
    if req.method() == Method::CONNECT {
        std_echo(&mut req);
        return plain(StatusCode::OK);
    }
    match req.uri().path() {
        "/hello" => Response::new(SendBody::from("hello")),
        "/echo" => {
            let (parts, mut body) = req.into_parts();
            let mut resp = Response::new(SendBody::writer(move |w| {
                std::io::copy(&mut body, w)?;
                if let Some(t) = body.trailers() {
                    w.set_trailers(t.clone());
                }
                Ok(())
            }));
            resp.headers_mut()
                .extend(request_facts(&parts).map(|(n, v)| (Some(n), v)));
            resp
        }
        "/chunked" => {
            let data = pattern(query_n(req.uri()));
            Response::new(SendBody::writer(move |w| {
                for piece in odd_chunks(&data) {
                    w.send(piece)?;
                }
                Ok(())
            }))
        }
        "/trailers" => {
            let mut body = req.into_body();
            let mut data = Vec::new();
            if body.read_to_end(&mut data).is_err() {
                return plain(StatusCode::BAD_REQUEST);
            }
            let got = got_trailer(body.trailers());
            let mut resp = Response::new(SendBody::from(data).with_trailers(down_trailers()));
            resp.headers_mut().insert("x-got-trailer", got);
            resp
        }
        "/slow" => {
            ctx.entered();
            ctx.gate_blocking();
            Response::new(SendBody::from(SLOW_DONE))
        }
        "/upgrade" => {
            std_echo(&mut req);
            let mut resp = plain(StatusCode::SWITCHING_PROTOCOLS);
            let h = resp.headers_mut();
            h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            h.insert(header::UPGRADE, HeaderValue::from_static("echo"));
            resp
        }
        _ => plain(StatusCode::NOT_FOUND),
    }
}

/// adapter-std: echoes an upgraded connection's bytes until EOF, on a
/// thread of its own (the handler must return for the `101` to go out).
fn std_echo(req: &mut Request<adapter_std::Body>) {
    use std::io::Write;
    let on = adapter_std::upgrade::on(req);
    std::thread::spawn(move || {
        let Ok(mut io) = on.wait_timeout(super::common::DEADLINE) else {
            return;
        };
        io.set_read_timeout(Some(super::common::DEADLINE));
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = io.read(&mut buf) {
            if n == 0 || io.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
}
