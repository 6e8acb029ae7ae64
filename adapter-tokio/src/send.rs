//! Sending bodies: head conversion, the fast path for bodies that are ready
//! at once, and the pump that feeds streaming bodies to the connection task
//! within a bounded window.
//!
//! Window: a pump may have at most [`SEND_WINDOW`] bytes handed to the
//! connection task and not yet taken by the core (`write` within its
//! `write_capacity`). The pump adds to `inflight` before sending a chunk;
//! the connection task subtracts what the core took and, when that crosses
//! back under the window, wakes the pump through a `Notify` (which keeps a
//! permit, so a wake between the pump's check and its wait is not lost).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use http_body::Body;
use proto_core::{Fields, RequestHead, ResponseHead, Version};
use tokio::sync::Notify;

use crate::cmd::{Cmd, CmdTx, Reply};
use crate::error::{BoxError, Error};

/// Most body bytes a pump may have queued in the connection task.
pub(crate) const SEND_WINDOW: usize = 64 * 1024;

/// Flow control between a body pump and the connection task.
#[derive(Debug)]
pub(crate) struct SendCredit {
    inflight: AtomicUsize,
    closed: AtomicBool,
    notify: Notify,
}

impl SendCredit {
    pub(crate) fn new(initial: usize) -> Arc<Self> {
        Arc::new(Self {
            inflight: AtomicUsize::new(initial),
            closed: AtomicBool::new(false),
            notify: Notify::new(),
        })
    }

    fn add(&self, n: usize) {
        self.inflight.fetch_add(n, Ordering::AcqRel);
    }

    /// The core took `n` counted bytes.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let prev = self.inflight.fetch_sub(n, Ordering::AcqRel);
        if prev >= SEND_WINDOW && prev.saturating_sub(n) < SEND_WINDOW {
            self.notify.notify_one();
        }
    }

    /// The stream is gone: the pump should stop.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// Waits for room; false once the stream is gone.
    async fn wait_room(&self) -> bool {
        loop {
            if self.closed.load(Ordering::Acquire) {
                return false;
            }
            if self.inflight.load(Ordering::Acquire) < SEND_WINDOW {
                return true;
            }
            self.notify.notified().await;
        }
    }
}

/// What a body yielded on its first poll.
pub(crate) struct First {
    pub(crate) data: Bytes,
    /// The body ended (after `data` and `trailers`).
    pub(crate) end: bool,
    pub(crate) trailers: Option<Fields>,
    pub(crate) error: Option<BoxError>,
}

impl First {
    fn end() -> Self {
        Self {
            data: Bytes::new(),
            end: true,
            trailers: None,
            error: None,
        }
    }
}

fn into_bytes<D: Buf>(mut d: D) -> Bytes {
    let n = d.remaining();
    d.copy_to_bytes(n)
}

/// Polls `body` once (without waiting): a body that is ready at once (a
/// `Full`, a `String`, an empty body) is complete after this, and can go
/// out with its head as one command.
pub(crate) async fn first_part<B>(mut body: Pin<&mut B>) -> First
where
    B: Body,
    B::Error: Into<BoxError>,
{
    if body.is_end_stream() {
        return First::end();
    }
    let polled = poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await;
    match polled {
        Poll::Pending => First {
            data: Bytes::new(),
            end: false,
            trailers: None,
            error: None,
        },
        Poll::Ready(None) => First::end(),
        Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
            Ok(d) => {
                let data = into_bytes(d);
                First {
                    data,
                    end: body.is_end_stream(),
                    trailers: None,
                    error: None,
                }
            }
            Err(frame) => match frame.into_trailers() {
                Ok(t) => First {
                    data: Bytes::new(),
                    end: true,
                    trailers: Some(fields(&t, 0)),
                    error: None,
                },
                Err(_) => First {
                    data: Bytes::new(),
                    end: false,
                    trailers: None,
                    error: None,
                },
            },
        },
        Poll::Ready(Some(Err(e))) => First {
            data: Bytes::new(),
            end: true,
            trailers: None,
            error: Some(e.into()),
        },
    }
}

/// Feeds the rest of `body` to the connection task, waiting for room in the
/// window before polling for more.
pub(crate) async fn pump<B>(mut body: Pin<&mut B>, key: u64, tx: &CmdTx, credit: &SendCredit)
where
    B: Body,
    B::Error: Into<BoxError>,
{
    loop {
        if !credit.wait_room().await {
            return;
        }
        match poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            None => {
                let _ = tx.send(Cmd::Finish {
                    key,
                    trailers: None,
                });
                return;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(d) => {
                    let data = into_bytes(d);
                    if !data.is_empty() {
                        credit.add(data.len());
                        if tx.send(Cmd::Data { key, data }).is_err() {
                            return;
                        }
                    }
                    if body.is_end_stream() {
                        let _ = tx.send(Cmd::Finish {
                            key,
                            trailers: None,
                        });
                        return;
                    }
                }
                Err(frame) => {
                    if let Ok(t) = frame.into_trailers() {
                        let _ = tx.send(Cmd::Finish {
                            key,
                            trailers: Some(fields(&t, 0)),
                        });
                        return;
                    }
                }
            },
            Some(Err(e)) => {
                let e: BoxError = e.into();
                tracing::debug!(error = %e, "body failed");
                let _ = tx.send(Cmd::Abort {
                    key,
                    error: Some(Error::Body(e)),
                });
                return;
            }
        }
    }
}

/// Converts `http` fields to core fields with one allocation for all names
/// and values, leaving room for `extra` more fields.
pub(crate) fn fields(map: &HeaderMap, extra: usize) -> Fields {
    let mut out = Fields::with_capacity(map.len() + extra);
    if map.is_empty() {
        return out;
    }
    let total: usize = map.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
    let mut buf = BytesMut::with_capacity(total);
    for (n, v) in map {
        buf.extend_from_slice(n.as_str().as_bytes());
        buf.extend_from_slice(v.as_bytes());
    }
    let all = buf.freeze();
    let mut pos = 0;
    for (n, v) in map {
        let name_end = pos + n.as_str().len();
        let value_end = name_end + v.len();
        out.push(all.slice(pos..name_end), all.slice(name_end..value_end));
        pos = value_end;
    }
    out
}

/// Converts core fields (e.g. received trailers) to a `HeaderMap`, skipping
/// any that `http` rejects.
pub(crate) fn header_map(fields: &Fields) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(fields.len());
    for f in fields {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&f.name),
            HeaderValue::from_maybe_shared(f.value.clone()),
        ) {
            map.append(name, value);
        }
    }
    map
}

fn decimal(n: u64) -> Bytes {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        // `v % 10 < 10`: the narrowing is exact.
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    Bytes::copy_from_slice(&digits[i..])
}

const CONTENT_LENGTH: &str = "content-length";

/// The response head for `parts`: adds `date` unless given, and
/// `content-length` from the body's exact size unless the message already
/// has framing fields or must not carry one (1xx, 204, 304; HEAD answered
/// with an empty body, which says nothing about the GET's length).
pub(crate) fn response_head(
    parts: &http::response::Parts,
    exact: Option<u64>,
    is_head: bool,
) -> ResponseHead {
    let mut head = ResponseHead::new(parts.status.as_u16());
    head.fields = fields(&parts.headers, 2);
    if !parts.headers.contains_key(header::DATE) {
        head.fields
            .push(Bytes::from_static(b"date"), crate::date::now());
    }
    let status = parts.status;
    let no_body_status = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    if let Some(n) = exact {
        let skip = no_body_status
            || (is_head && n == 0)
            || parts.headers.contains_key(header::CONTENT_LENGTH)
            || parts.headers.contains_key(header::TRANSFER_ENCODING);
        if !skip {
            head.fields
                .push(Bytes::from_static(CONTENT_LENGTH.as_bytes()), decimal(n));
        }
    }
    head
}

/// A response with no body (errors the adapter answers by itself).
pub(crate) fn status_reply(status: u16) -> Reply {
    let mut head = ResponseHead::new(status);
    head.fields
        .push(Bytes::from_static(b"date"), crate::date::now());
    head.fields.push_static(CONTENT_LENGTH, "0");
    Reply {
        head,
        data: Bytes::new(),
        end: true,
        trailers: None,
    }
}

/// The request head for `parts`: `Host` from the URI (by the core's
/// conversion) and `content-length` from the body's exact size unless given.
pub(crate) fn request_head(parts: &http::request::Parts, exact: Option<u64>) -> RequestHead {
    let mut head = RequestHead::from_http(parts);
    head.version = Version::Http11;
    // An empty body needs no field: the core frames it (POST/PUT get
    // `content-length: 0`, GET none).
    if let Some(n) = exact.filter(|&n| n > 0) {
        if !parts.headers.contains_key(header::CONTENT_LENGTH)
            && !parts.headers.contains_key(header::TRANSFER_ENCODING)
        {
            head.fields
                .push(Bytes::from_static(CONTENT_LENGTH.as_bytes()), decimal(n));
        }
    }
    head
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http_body_util::{Empty, Full};

    #[test]
    fn decimal_digits() {
        assert_eq!(decimal(0), "0");
        assert_eq!(decimal(13), "13");
        assert_eq!(decimal(u64::MAX), "18446744073709551615");
    }

    #[test]
    fn fields_share_one_buffer_and_keep_order() {
        let mut map = HeaderMap::new();
        map.insert("content-type", HeaderValue::from_static("text/plain"));
        map.append("x-a", HeaderValue::from_static("1"));
        map.append("x-a", HeaderValue::from_static("2"));
        let f = fields(&map, 0);
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.name.clone(), f.value.clone()))
            .collect();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0],
            (Bytes::from("content-type"), Bytes::from("text/plain"))
        );
        assert_eq!(got[2], (Bytes::from("x-a"), Bytes::from("2")));
        assert_eq!(header_map(&f), map);
    }

    fn parts(status: u16, headers: &[(&'static str, &'static str)]) -> http::response::Parts {
        let mut b = http::Response::builder().status(status);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn response_head_adds_date_and_length() {
        let h = response_head(
            &parts(200, &[("content-type", "text/plain")]),
            Some(13),
            false,
        );
        assert_eq!(h.fields.get("content-length").unwrap(), "13");
        assert_eq!(h.fields.get("date").unwrap().len(), crate::date::DATE_LEN);
        let h = response_head(&parts(204, &[]), Some(0), false);
        assert!(!h.fields.contains("content-length"));
        let h = response_head(&parts(200, &[]), Some(0), true);
        assert!(
            !h.fields.contains("content-length"),
            "HEAD with an empty body"
        );
        let h = response_head(&parts(200, &[("content-length", "5")]), Some(13), false);
        assert_eq!(h.fields.get_all("content-length").count(), 1);
        let h = response_head(&parts(200, &[("date", "x")]), None, false);
        assert_eq!(h.fields.get("date").unwrap(), "x");
    }

    #[tokio::test]
    async fn first_part_of_ready_and_streaming_bodies() {
        let mut full = Full::new(Bytes::from_static(b"Hello"));
        let f = first_part(Pin::new(&mut full)).await;
        assert!(f.end);
        assert_eq!(f.data, "Hello");
        let mut empty = Empty::<Bytes>::new();
        assert!(first_part(Pin::new(&mut empty)).await.end);
        let mut pending = NeverReady;
        let f = first_part(Pin::new(&mut pending)).await;
        assert!(!f.end && f.data.is_empty());
    }

    /// A body that is never ready.
    struct NeverReady;

    impl Body for NeverReady {
        type Data = Bytes;
        type Error = Error;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Error>>> {
            Poll::Pending
        }
    }
}
