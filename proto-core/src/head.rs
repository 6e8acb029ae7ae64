//! Message heads: the start line and ordered header fields.
//!
//! Received heads are zero-copy: every name, value, method and target is a
//! [`Bytes`] slice of the receive buffer. Field names keep their original case
//! (HTTP/1); comparisons are case-insensitive.

use bytes::Bytes;

use crate::event::Version;

/// One header (or trailer) field line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderField {
    /// The name, in the case it was received or given.
    pub name: Bytes,
    /// The value, without surrounding whitespace.
    pub value: Bytes,
}

/// An ordered list of fields; duplicates are kept in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    list: Vec<HeaderField>,
}

impl Fields {
    /// An empty list.
    pub const fn new() -> Self {
        Self { list: Vec::new() }
    }

    /// An empty list with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            list: Vec::with_capacity(n),
        }
    }

    /// Removes every field, keeping the storage.
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// How many fields fit without allocating.
    pub fn capacity(&self) -> usize {
        self.list.capacity()
    }

    /// Makes room for at least `n` more fields.
    pub fn reserve(&mut self, n: usize) {
        self.list.reserve(n);
    }

    /// Appends a field.
    pub fn push(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.list.push(HeaderField {
            name: name.into(),
            value: value.into(),
        });
    }

    /// Appends a field built from static strings (no allocation).
    pub fn push_static(&mut self, name: &'static str, value: &'static str) {
        self.push(
            Bytes::from_static(name.as_bytes()),
            Bytes::from_static(value.as_bytes()),
        );
    }

    /// Builder form of [`Fields::push`].
    #[must_use]
    pub fn with(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        self.push(name, value);
        self
    }

    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.list
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| &f.value)
    }

    /// Every value of `name` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.list
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| &f.value)
    }

    /// True if `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// True if any comma-separated element of any `name` field equals `token`
    /// (case-insensitive), e.g. `has_token("connection", "close")`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|v| {
            v.split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    }

    /// Removes every field called `name`; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.list.len();
        self.list
            .retain(|f| !f.name.eq_ignore_ascii_case(name.as_bytes()));
        before - self.list.len()
    }

    /// The fields in order.
    pub fn iter(&self) -> core::slice::Iter<'_, HeaderField> {
        self.list.iter()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True if there are no fields.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = &'a HeaderField;
    type IntoIter = core::slice::Iter<'a, HeaderField>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl IntoIterator for Fields {
    type Item = HeaderField;
    type IntoIter = std::vec::IntoIter<HeaderField>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

impl FromIterator<HeaderField> for Fields {
    fn from_iter<T: IntoIterator<Item = HeaderField>>(iter: T) -> Self {
        Self {
            list: iter.into_iter().collect(),
        }
    }
}

/// A request method. The common ones are variants so that matching on them
/// costs nothing; anything else is kept as received.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// CONNECT
    Connect,
    /// OPTIONS
    Options,
    /// TRACE
    Trace,
    /// PATCH
    Patch,
    /// Any other token.
    Other(Bytes),
}

impl Method {
    /// Parses a method token. `bytes` must already be a valid token.
    pub fn from_bytes(bytes: Bytes) -> Self {
        Self::known(&bytes).unwrap_or(Self::Other(bytes))
    }

    /// The variant of a known method token; `None` for any other.
    pub(crate) fn known(token: &[u8]) -> Option<Self> {
        Some(match token {
            b"GET" => Self::Get,
            b"HEAD" => Self::Head,
            b"POST" => Self::Post,
            b"PUT" => Self::Put,
            b"DELETE" => Self::Delete,
            b"CONNECT" => Self::Connect,
            b"OPTIONS" => Self::Options,
            b"TRACE" => Self::Trace,
            b"PATCH" => Self::Patch,
            _ => return None,
        })
    }

    /// The method as sent on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Other(b) => b,
            known => known.known_bytes(),
        }
    }

    /// The method as `Bytes` without copying (static for the known ones).
    pub(crate) fn to_bytes(&self) -> Bytes {
        match self {
            Self::Other(b) => b.clone(),
            known => Bytes::from_static(known.known_bytes()),
        }
    }

    /// The token of a known method; empty for `Other`.
    fn known_bytes(&self) -> &'static [u8] {
        match self {
            Self::Get => b"GET",
            Self::Head => b"HEAD",
            Self::Post => b"POST",
            Self::Put => b"PUT",
            Self::Delete => b"DELETE",
            Self::Connect => b"CONNECT",
            Self::Options => b"OPTIONS",
            Self::Trace => b"TRACE",
            Self::Patch => b"PATCH",
            Self::Other(_) => b"",
        }
    }
}

/// A request's start line and fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request target as received (origin, absolute, authority or `*` form).
    pub target: Bytes,
    /// HTTP/1.0, HTTP/1.1 or HTTP/2.
    pub version: Version,
    /// The header fields in order.
    pub fields: Fields,
    /// HTTP/2 extended CONNECT (RFC 8441 §4): the `:protocol` pseudo-header,
    /// e.g. `websocket`. Always `None` on HTTP/1.
    pub protocol: Option<Bytes>,
}

impl RequestHead {
    /// A request head with no fields.
    pub fn new(method: Method, target: impl Into<Bytes>) -> Self {
        Self {
            method,
            target: target.into(),
            version: Version::Http11,
            fields: Fields::new(),
            protocol: None,
        }
    }
}

/// A response's status line and fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code (100..=999).
    pub status: u16,
    /// The reason phrase; empty means "use the standard one" when sending.
    pub reason: Bytes,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The header fields in order.
    pub fields: Fields,
}

impl ResponseHead {
    /// A response head with no fields and the standard reason phrase.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            reason: Bytes::new(),
            version: Version::Http11,
            fields: Fields::new(),
        }
    }
}

/// The standard reason phrase for `status`, or "" if unknown.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Most fields a connection keeps storage for between heads (64 bytes
/// each), per list it may keep: 16 lists, 128 fields.
pub(crate) const SPARE_FIELDS_PER_LIST: usize = 8;

/// The largest list kept, in fields, however many lists may be kept: a head
/// a peer makes large does not leave its storage behind.
pub(crate) const SPARE_LIST_MAX: usize = 128;

/// Most emptied field lists a connection keeps between heads by default:
/// enough for a pipelined batch of HTTP/1.1 requests or a burst of HTTP/2
/// streams to be parsed, answered and recycled without allocating.
pub(crate) const SPARE_LISTS: usize = 16;

/// Emptied field lists kept for heads yet to be received: those of heads
/// sent and of received heads handed back (`Connection::recycle_fields`).
/// At most `lists_max` lists, none over [`SPARE_LIST_MAX`] fields, with
/// room for `lists_max * SPARE_FIELDS_PER_LIST` fields in all (a batch of
/// heads a peer makes large does not leave more behind); empty after an
/// idle release.
#[derive(Debug)]
pub(crate) struct SpareFields {
    lists: Vec<Fields>,
    /// The sum of `lists`' capacities; at most `lists_max *
    /// SPARE_FIELDS_PER_LIST`.
    room: u32,
    /// At most this many lists (`u32`: packs with `room`).
    lists_max: u32,
}

impl Default for SpareFields {
    fn default() -> Self {
        Self::new()
    }
}

impl SpareFields {
    /// Room for [`SPARE_LISTS`] lists.
    pub(crate) const fn new() -> Self {
        Self::with_lists(SPARE_LISTS as u32)
    }

    /// Room for `lists_max` lists (an HTTP/2 connection: as many as streams
    /// may be in flight, each holding a head's list; the spares come from
    /// those, so they hold no more than the streams did at their peak).
    pub(crate) const fn with_lists(lists_max: u32) -> Self {
        Self {
            lists: Vec::new(),
            room: 0,
            lists_max,
        }
    }

    /// Most fields kept in all.
    fn fields_max(&self) -> usize {
        self.lists_max as usize * SPARE_FIELDS_PER_LIST
    }

    /// Emptied storage with room for `n` fields: the kept list on top (see
    /// [`SpareFields::keep`]) if there is one, else a new one.
    pub(crate) fn take(&mut self, n: usize) -> Fields {
        let mut f = self.lists.pop().unwrap_or_default();
        // Kept lists' capacities add up to `room`, which fits in a `u32`.
        self.room -= f.capacity() as u32;
        f.reserve(n);
        f
    }

    /// Keeps `fields`' storage, emptied (the `Bytes` it referred to, slices
    /// of a receive buffer, are let go now), if there is room for it: on
    /// top unless the list on top is roomier.
    #[inline]
    pub(crate) fn keep(&mut self, fields: Fields) {
        let cap = fields.capacity();
        let room = self.room as usize;
        if cap != 0
            && cap <= SPARE_LIST_MAX
            && cap <= self.fields_max() - room
            && self.lists.len() < self.lists_max as usize
        {
            self.push(fields);
        }
    }

    /// The kept half of [`SpareFields::keep`], out of line: the check is
    /// what every sent and recycled head pays.
    #[inline(never)]
    fn push(&mut self, mut fields: Fields) {
        fields.clear();
        // At most `fields_max()` in all (see `keep`): fits in a `u32`.
        self.room += fields.capacity() as u32;
        if self.lists.capacity() == 0 {
            self.lists
                .reserve_exact(SPARE_LISTS.min(self.lists_max as usize));
        }
        self.lists.push(fields);
        // The roomier of the two goes on top: a list handed back for a
        // large head is the next one used even when a small sent head is
        // kept after it, and it is not passed over to grow a small one.
        if let [.., below, top] = self.lists.as_mut_slice() {
            if top.capacity() < below.capacity() {
                core::mem::swap(below, top);
            }
        }
    }

    /// Bytes of storage kept.
    #[cfg(test)]
    pub(crate) fn kept_bytes(&self) -> usize {
        self.lists.capacity() * size_of::<Fields>()
            + self
                .lists
                .iter()
                .map(|f| f.capacity() * size_of::<HeaderField>())
                .sum::<usize>()
    }

    /// How many lists are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lists.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_case_insensitive_and_comma_split() {
        let f = Fields::new()
            .with("Connection", "keep-alive, Upgrade")
            .with("X", "y");
        assert!(f.has_token("connection", "upgrade"));
        assert!(!f.has_token("connection", "close"));
        assert_eq!(f.get("x").map(|v| &v[..]), Some(&b"y"[..]));
    }

    #[test]
    fn spare_lists_are_bounded_and_handed_out_empty() {
        let mut spare = SpareFields::new();
        assert!(spare.take(3).capacity() >= 3, "nothing kept: a new list");
        // Too large, and never allocated: not kept.
        spare.keep(Fields::with_capacity(
            SPARE_LISTS * SPARE_FIELDS_PER_LIST + 1,
        ));
        spare.keep(Fields::new());
        assert_eq!(spare.len(), 0);
        for _ in 0..SPARE_LISTS + 4 {
            spare.keep(Fields::new().with("x", "1").with("y", "2"));
        }
        assert_eq!(spare.len(), SPARE_LISTS, "at most SPARE_LISTS lists");
        let f = spare.take(1);
        assert!(f.is_empty(), "handed out emptied");
        assert!(f.capacity() >= 2, "in a kept list's storage");
        assert_eq!(spare.len(), SPARE_LISTS - 1);
        // A small list kept after a roomy one goes below it.
        let mut two = SpareFields::new();
        two.keep(Fields::with_capacity(40));
        two.keep(Fields::with_capacity(3));
        assert_eq!(two.take(1).capacity(), 40);
        assert_eq!(two.take(1).capacity(), 3);
    }

    #[test]
    fn spare_lists_scale_with_the_lists_asked_for() {
        // An HTTP/2 connection allowing 100 streams keeps a list for each.
        let mut spare = SpareFields::with_lists(100);
        for _ in 0..120 {
            spare.keep(Fields::with_capacity(SPARE_FIELDS_PER_LIST));
        }
        assert_eq!(spare.len(), 100);
        // The field bound scales too: 100 lists of 8 fill it.
        spare.take(0);
        spare.keep(Fields::with_capacity(SPARE_FIELDS_PER_LIST + 1));
        assert_eq!(spare.len(), 99, "over the field bound: not kept");
        // However many lists: none larger than SPARE_LIST_MAX.
        let mut roomy = SpareFields::with_lists(1024);
        roomy.keep(Fields::with_capacity(SPARE_LIST_MAX + 1));
        assert_eq!(roomy.len(), 0);
        roomy.keep(Fields::with_capacity(SPARE_LIST_MAX));
        assert_eq!(roomy.len(), 1);
    }

    #[test]
    fn spare_lists_hold_at_most_spare_fields_max_fields_in_all() {
        const SPARE_FIELDS_MAX: usize = SPARE_LISTS * SPARE_FIELDS_PER_LIST;
        let mut spare = SpareFields::new();
        spare.keep(Fields::with_capacity(SPARE_FIELDS_MAX - 10));
        spare.keep(Fields::with_capacity(11));
        assert_eq!(spare.len(), 1, "over the bound together: not kept");
        spare.keep(Fields::with_capacity(10));
        assert_eq!(spare.len(), 2);
        // Taking one makes room again.
        assert_eq!(spare.take(0).capacity(), SPARE_FIELDS_MAX - 10);
        spare.keep(Fields::with_capacity(11));
        assert_eq!(spare.len(), 2);
    }
}
