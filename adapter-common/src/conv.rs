//! Conversions between the core's heads and `http` types, written for the
//! per-request path: one buffer for all outgoing names and values (carved
//! from a per-thread arena), received heads' values shared with `http`
//! without a copy.

use std::cell::RefCell;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use proto_core::{Connection, Fields, Method, RequestHead, ResponseHead, Version};

const CONTENT_LENGTH: &str = "content-length";

/// Converts `http` fields to core fields with one allocation for all names
/// and values, leaving room for `extra` more fields.
pub fn fields(map: &HeaderMap, extra: usize) -> Fields {
    let total: usize = map.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
    fields_with(map, total, extra, None)
}

/// `fields`, plus `content-length: n` from the same buffer when `length`.
fn fields_with(map: &HeaderMap, total: usize, extra: usize, length: Option<u64>) -> Fields {
    let mut out = spare_fields(map.len() + extra);
    if map.is_empty() && length.is_none() {
        return out;
    }
    let mut values_end = 0;
    let all = arena_bytes(total + 20, |buf| {
        for (n, v) in map {
            buf.put_slice(n.as_str().as_bytes());
            buf.put_slice(v.as_bytes());
        }
        values_end = buf.len();
        if let Some(n) = length {
            put_decimal(buf, n);
        }
    });
    let mut pos = 0;
    for (n, v) in map {
        let name_end = pos + n.as_str().len();
        let value_end = name_end + v.len();
        out.push(all.slice(pos..name_end), all.slice(name_end..value_end));
        pos = value_end;
    }
    if length.is_some() {
        out.push(
            Bytes::from_static(CONTENT_LENGTH.as_bytes()),
            all.slice(values_end..),
        );
    }
    out
}

/// Outgoing heads are consumed as they are sent (encoded into the core's
/// output), so their bytes live briefly: they are carved from a per-thread
/// chunk that is reused in place once every head cut from it is gone, which
/// saves two allocations per head (the buffer and its shared header).
const ARENA_CHUNK: usize = 4096;

thread_local! {
    static ARENA: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// At most `max` bytes written by `write`, from the thread's arena (a head
/// too large for it gets its own allocation).
fn arena_bytes(max: usize, mut write: impl FnMut(&mut BytesMut)) -> Bytes {
    if max <= ARENA_CHUNK / 4 {
        let cut = ARENA.try_with(|arena| {
            let mut arena = arena.try_borrow_mut().ok()?;
            if arena.capacity() < max {
                // Reclaims the chunk in place if nothing cut from it is
                // alive, else starts a new one.
                arena.reserve(ARENA_CHUNK);
            }
            write(&mut arena);
            Some(arena.split().freeze())
        });
        if let Ok(Some(bytes)) = cut {
            return bytes;
        }
    }
    let mut buf = BytesMut::with_capacity(max);
    write(&mut buf);
    buf.freeze()
}

fn put_decimal(buf: &mut BytesMut, n: u64) {
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
    buf.put_slice(&digits[i..]);
}

/// Converts core fields (e.g. received trailers) to a `HeaderMap`, skipping
/// any that `http` rejects.
pub fn header_map(fields: &Fields) -> HeaderMap {
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

/// A received head's fields, moved into a `HeaderMap`.
fn into_header_map(fields: Fields) -> Result<HeaderMap, http::Error> {
    let mut map = HeaderMap::with_capacity(fields.len());
    for f in fields {
        let name = HeaderName::from_bytes(&f.name)?;
        map.append(name, HeaderValue::from_maybe_shared(f.value)?);
    }
    Ok(map)
}

/// A received head's fields as a `HeaderMap` sharing their values, built in
/// a recycled map when there is one.
fn shared_header_map(fields: &Fields) -> Result<HeaderMap, http::Error> {
    let mut map = SPARE_MAP
        .try_with(|spare| spare.try_borrow_mut().ok()?.take())
        .ok()
        .flatten()
        .unwrap_or_default();
    map.reserve(fields.len());
    for f in fields {
        let name = HeaderName::from_bytes(&f.name)?;
        map.append(name, HeaderValue::from_maybe_shared(f.value.clone())?);
    }
    Ok(map)
}

/// Largest map kept by [`recycle_header_map`] (entries it has room for):
/// a request with more fields allocates its own, and a huge map from one
/// odd response is not kept for the life of the thread.
const SPARE_MAP_MAX: usize = 64;

thread_local! {
    /// One emptied `HeaderMap` for the next received head to be built in.
    static SPARE_MAP: RefCell<Option<HeaderMap>> = const { RefCell::new(None) };
}

/// Gives a spent map (a response's, once its head was converted) back
/// for the next request's fields: every request then reuses its
/// response's allocations (the map's two tables), where it cost two
/// allocations and two frees. Emptied here; kept only if small.
pub fn recycle_header_map(mut map: HeaderMap) {
    if map.capacity() == 0 || map.capacity() > SPARE_MAP_MAX {
        return;
    }
    map.clear();
    let _ = SPARE_MAP.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut() {
            *spare = Some(map);
        }
    });
}

/// Largest field list kept by [`recycle_fields`] (the core keeps up to 128
/// between heads; outgoing heads are rarely that large).
const SPARE_FIELDS_MAX: usize = 64;

/// Most lists kept per thread: enough for a batch of HTTP/2 requests read
/// at once (each answered in its request's storage). At most 32 lists of 64
/// fields (128 KiB) per thread; a few KiB in practice.
const SPARE_FIELDS_KEPT: usize = 32;

thread_local! {
    /// Emptied field lists for the next outgoing heads to be built in.
    static SPARE_FIELDS: RefCell<Vec<Fields>> = const { RefCell::new(Vec::new()) };
}

/// Hands a received head's field storage back once it was converted: kept
/// (emptied) for an outgoing head built on this thread when there is room,
/// else given to the core (`Connection::recycle_fields`). The response is
/// then built in its request's storage and, once sent, becomes the core's
/// storage for a later request: the same lists go round, where each
/// response's cost an allocation and a free.
pub fn recycle_fields(conn: &mut Connection, fields: Fields) {
    if let Some(fields) = keep_on_thread(fields) {
        conn.recycle_fields(fields);
    }
}

/// Keeps `fields` for this thread's outgoing heads if there is room; else
/// gives them back.
fn keep_on_thread(mut fields: Fields) -> Option<Fields> {
    if fields.capacity() == 0 || fields.capacity() > SPARE_FIELDS_MAX {
        return Some(fields);
    }
    let kept = SPARE_FIELDS.try_with(|spare| {
        let Ok(mut spare) = spare.try_borrow_mut() else {
            return false;
        };
        if spare.len() >= SPARE_FIELDS_KEPT {
            return false;
        }
        fields.clear();
        spare.push(std::mem::take(&mut fields));
        true
    });
    match kept {
        Ok(true) => None,
        _ => Some(fields),
    }
}

/// Emptied storage for `n` fields: a kept list if there is one.
fn spare_fields(n: usize) -> Fields {
    let kept = SPARE_FIELDS
        .try_with(|spare| spare.try_borrow_mut().ok()?.pop())
        .ok()
        .flatten();
    let mut out = kept.unwrap_or_default();
    out.reserve(n);
    out
}

fn http_version(v: Version) -> http::Version {
    match v {
        Version::Http10 => http::Version::HTTP_10,
        Version::H2 => http::Version::HTTP_2,
        _ => http::Version::HTTP_11,
    }
}

/// A received request head as `http` parts (the head is consumed: its
/// target and values move into `http` without copying).
pub fn request_parts(mut head: RequestHead) -> Result<http::request::Parts, http::Error> {
    request_parts_from(&mut head)
}

/// [`request_parts`] leaving `head.fields` in place, so that their storage
/// can go back to the core (`Connection::recycle_fields`): the target moves
/// out, the values are shared (a reference count each, no copy).
pub fn request_parts_from(head: &mut RequestHead) -> Result<http::request::Parts, http::Error> {
    let (mut parts, ()) = http::Request::new(()).into_parts();
    parts.method = match &head.method {
        Method::Get => http::Method::GET,
        Method::Head => http::Method::HEAD,
        Method::Post => http::Method::POST,
        Method::Put => http::Method::PUT,
        Method::Delete => http::Method::DELETE,
        Method::Connect => http::Method::CONNECT,
        Method::Options => http::Method::OPTIONS,
        Method::Trace => http::Method::TRACE,
        Method::Patch => http::Method::PATCH,
        other => http::Method::from_bytes(other.as_bytes())?,
    };
    parts.uri = http::Uri::from_maybe_shared(std::mem::take(&mut head.target))?;
    parts.version = http_version(head.version);
    parts.headers = shared_header_map(&head.fields)?;
    Ok(parts)
}

/// A received response head as `http` parts (consumed, as above).
pub fn response_parts(head: ResponseHead) -> Result<http::response::Parts, http::Error> {
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = StatusCode::from_u16(head.status).map_err(http::Error::from)?;
    parts.version = http_version(head.version);
    parts.headers = into_header_map(head.fields)?;
    Ok(parts)
}

/// What the response head depends on in the request.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReqInfo {
    /// The request's method is `HEAD`.
    pub is_head: bool,
    /// The request's method is `CONNECT`.
    pub is_connect: bool,
}

/// The response head for `parts`, in one pass over the fields: adds `date`
/// unless given, and `content-length` from the body's exact size unless the
/// message already has framing fields or must not carry one (1xx, 204, 304,
/// 2xx to CONNECT; HEAD answered with an empty body, which says nothing about
/// the GET's length).
pub fn response_head(
    parts: &http::response::Parts,
    exact: Option<u64>,
    req: ReqInfo,
) -> ResponseHead {
    let mut total = 0;
    let mut has_date = false;
    let mut has_framing = false;
    for (n, v) in &parts.headers {
        total += n.as_str().len() + v.len();
        if n == header::DATE {
            has_date = true;
        } else if n == header::CONTENT_LENGTH || n == header::TRANSFER_ENCODING {
            has_framing = true;
        }
    }
    let status = parts.status;
    let no_body_status = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || (req.is_connect && status.is_success());
    let length = exact.filter(|&n| !(has_framing || no_body_status || (req.is_head && n == 0)));
    let mut head = ResponseHead::new(status.as_u16());
    head.fields = fields_with(&parts.headers, total, 2, length);
    if !has_date {
        head.fields
            .push(Bytes::from_static(b"date"), crate::date::now());
    }
    head
}

/// A response head with an empty body (errors the adapter answers by
/// itself): `date` and `content-length: 0`.
pub fn status_head(status: u16) -> ResponseHead {
    let mut head = ResponseHead::new(status);
    head.fields
        .push(Bytes::from_static(b"date"), crate::date::now());
    head.fields.push_static(CONTENT_LENGTH, "0");
    head
}

/// The request head for `parts`: `Host` from the URI (by the core's
/// conversion) and `content-length` from the body's exact size unless given.
pub fn request_head(parts: &http::request::Parts, exact: Option<u64>) -> RequestHead {
    let mut head = RequestHead::from_http(parts);
    head.version = Version::Http11;
    // An empty body needs no field: the core frames it (POST/PUT get
    // `content-length: 0`, GET none).
    if let Some(n) = exact.filter(|&n| n > 0) {
        if !parts.headers.contains_key(header::CONTENT_LENGTH)
            && !parts.headers.contains_key(header::TRANSFER_ENCODING)
        {
            let mut buf = BytesMut::with_capacity(20);
            put_decimal(&mut buf, n);
            head.fields
                .push(Bytes::from_static(CONTENT_LENGTH.as_bytes()), buf.freeze());
        }
    }
    head
}

/// HTTP/2 over TLS: `:scheme` is `https` (RFC 9113 §8.3.1). The core takes
/// the scheme from an absolute-form target (else `http`), so an origin-form
/// target becomes `https://<host><path>`. Clients call it for requests on
/// HTTP/2 connections over TLS.
pub fn https_target(head: &mut RequestHead) {
    if !head.target.starts_with(b"/") {
        return;
    }
    if let Some(host) = head.fields.get("host") {
        let mut target = BytesMut::with_capacity(8 + host.len() + head.target.len());
        target.extend_from_slice(b"https://");
        target.extend_from_slice(host);
        target.extend_from_slice(&head.target);
        head.target = target.freeze();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn decimal(n: u64) -> Bytes {
        let mut buf = BytesMut::new();
        put_decimal(&mut buf, n);
        buf.freeze()
    }

    /// Whether `b` lies in the 4 KiB chunk starting at `base`.
    fn in_chunk(b: &Bytes, base: usize) -> bool {
        let p = b.as_ptr() as usize;
        p >= base && p + b.len() <= base + ARENA_CHUNK
    }

    #[test]
    fn arena_chunk_is_reused_once_heads_are_gone() {
        // A fresh test thread: the first cut starts the thread's chunk.
        let first = arena_bytes(8, |b| b.put_slice(b"first"));
        let base = first.as_ptr() as usize;
        drop(first);
        for i in 0..100u8 {
            let head = arena_bytes(1000, |b| b.put_bytes(i, 1000));
            assert!(head.iter().all(|&x| x == i));
            assert!(in_chunk(&head, base), "cut {i} left the chunk");
        }
        // A head still alive keeps its bytes; the arena moves on to
        // another chunk instead of overwriting them.
        let kept = arena_bytes(1000, |b| b.put_bytes(7, 1000));
        let later: Vec<Bytes> = (0..8)
            .map(|_| arena_bytes(1000, |b| b.put_bytes(9, 1000)))
            .collect();
        assert!(kept.iter().all(|&x| x == 7));
        assert!(later.iter().any(|b| !in_chunk(b, base)));
        // Too large for the arena: an allocation of its own.
        let big = arena_bytes(ARENA_CHUNK, |b| b.put_bytes(1, 2000));
        assert_eq!(big.len(), 2000);
        assert!(!in_chunk(&big, base));
    }

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
        let get = ReqInfo::default();
        let head = ReqInfo {
            is_head: true,
            is_connect: false,
        };
        let connect = ReqInfo {
            is_head: false,
            is_connect: true,
        };
        let h = response_head(
            &parts(200, &[("content-type", "text/plain")]),
            Some(13),
            get,
        );
        assert_eq!(h.fields.get("content-type").unwrap(), "text/plain");
        assert_eq!(h.fields.get("content-length").unwrap(), "13");
        assert_eq!(h.fields.get("date").unwrap().len(), crate::date::DATE_LEN);
        let h = response_head(&parts(204, &[]), Some(0), get);
        assert!(!h.fields.contains("content-length"));
        let h = response_head(&parts(200, &[]), Some(0), head);
        assert!(
            !h.fields.contains("content-length"),
            "HEAD with an empty body"
        );
        let h = response_head(&parts(200, &[]), Some(0), connect);
        assert!(!h.fields.contains("content-length"), "2xx to CONNECT");
        let h = response_head(&parts(200, &[("content-length", "5")]), Some(13), get);
        assert_eq!(h.fields.get_all("content-length").count(), 1);
        let te = [("transfer-encoding", "chunked")];
        let h = response_head(&parts(200, &te), Some(13), get);
        assert!(!h.fields.contains("content-length"));
        let h = response_head(&parts(200, &[("date", "x")]), None, get);
        assert_eq!(h.fields.get("date").unwrap(), "x");
        assert_eq!(h.fields.len(), 1);
    }

    #[test]
    fn request_parts_move_the_head() {
        let mut head = RequestHead::new(Method::Other(Bytes::from_static(b"PURGE")), "/a?b");
        head.fields.push("Host", "example.com");
        head.fields.push("X-Two", "1");
        head.fields.push("x-two", "2");
        let parts = request_parts(head).unwrap();
        assert_eq!(parts.method.as_str(), "PURGE");
        assert_eq!(parts.uri, "/a?b");
        assert_eq!(parts.headers["host"], "example.com");
        assert_eq!(parts.headers.get_all("x-two").iter().count(), 2);
        let mut bad = RequestHead::new(Method::Get, "/");
        bad.fields.push("bad name", "v");
        assert!(request_parts(bad).is_err());
    }

    fn two_field_request() -> RequestHead {
        let mut head = RequestHead::new(Method::Get, "/");
        head.fields.push("host", "example.com");
        head.fields.push("accept", "*/*");
        head
    }

    #[test]
    fn a_recycled_map_holds_the_next_request_and_nothing_else() {
        let mut spent = HeaderMap::with_capacity(40);
        spent.insert("content-type", HeaderValue::from_static("text/plain"));
        spent.insert("x-left-over", HeaderValue::from_static("1"));
        let room = spent.capacity();
        recycle_header_map(spent);
        let parts = request_parts(two_field_request()).unwrap();
        // Built in the recycled map (a new one for two fields is smaller)...
        assert_eq!(parts.headers.capacity(), room);
        // ... and holding only the request's fields.
        assert_eq!(parts.headers.len(), 2);
        assert_eq!(parts.headers["host"], "example.com");
        assert_eq!(parts.headers["accept"], "*/*");
        assert!(!parts.headers.contains_key("x-left-over"));
        // Taken: the next request gets a map of its own.
        let next = request_parts(two_field_request()).unwrap();
        assert!(next.headers.capacity() < room);
    }

    #[test]
    fn a_large_map_is_not_kept() {
        let mut spent = HeaderMap::with_capacity(1000);
        spent.insert("x", HeaderValue::from_static("1"));
        recycle_header_map(spent);
        let parts = request_parts(two_field_request()).unwrap();
        assert!(parts.headers.capacity() <= SPARE_MAP_MAX);
    }

    #[test]
    fn a_recycled_field_list_holds_the_next_response_head() {
        let mut head = two_field_request();
        head.fields.reserve(40);
        let room = head.fields.capacity();
        let parts = request_parts_from(&mut head).unwrap();
        assert!(keep_on_thread(head.fields).is_none(), "kept");
        assert_eq!(parts.headers["host"], "example.com", "values shared");
        let resp = response_head(
            &self::parts(200, &[("content-type", "text/plain")]),
            Some(2),
            ReqInfo::default(),
        );
        // Built in the recycled list (a new one for three fields is
        // smaller)...
        assert_eq!(resp.fields.capacity(), room);
        // ... holding only the response's fields.
        let names: Vec<_> = resp.fields.iter().map(|f| f.name.clone()).collect();
        assert_eq!(names, ["content-type", "content-length", "date"]);
        // Taken: the next head gets a list of its own.
        let next = response_head(&self::parts(200, &[]), None, ReqInfo::default());
        assert!(next.fields.capacity() < room);
    }

    #[test]
    fn recycling_is_bounded() {
        let mut big = Fields::with_capacity(SPARE_FIELDS_MAX + 1);
        big.push("x", "1");
        let back = keep_on_thread(big).unwrap();
        assert_eq!(back.len(), 1, "a large list goes back untouched");
        let mut kept = 0;
        while keep_on_thread(Fields::with_capacity(4)).is_none() {
            kept += 1;
            assert!(kept <= SPARE_FIELDS_KEPT);
        }
        assert_eq!(kept, SPARE_FIELDS_KEPT);
    }

    #[test]
    fn response_parts_keep_status_and_fields() {
        let mut head = ResponseHead::new(404);
        head.fields.push("Content-Type", "text/plain");
        let parts = response_parts(head).unwrap();
        assert_eq!(parts.status, StatusCode::NOT_FOUND);
        assert_eq!(parts.headers["content-type"], "text/plain");
    }

    /// RFC 9113 §8.3.1: requests on HTTP/2 over TLS carry `:scheme: https`,
    /// which the core derives from an absolute-form target.
    #[test]
    fn rfc9113_8_3_1_https_scheme_through_absolute_target() {
        let uri = http::Uri::from_static("https://example.com:8443/a?b=c");
        let (parts, ()) = http::Request::get(uri)
            .body(())
            .unwrap_or_default()
            .into_parts();
        let mut head = RequestHead::from_http(&parts);
        assert_eq!(&head.target[..], b"/a?b=c");
        https_target(&mut head);
        assert_eq!(&head.target[..], b"https://example.com:8443/a?b=c");
        // Authority-form (CONNECT) and `*` stay as they are.
        head.target = Bytes::from_static(b"*");
        https_target(&mut head);
        assert_eq!(&head.target[..], b"*");
    }
}
