//! Decoded header fields, and the `cookie` crumb split/join of RFC 9113 §8.2.3.

use bytes::{Bytes, BytesMut};

use super::table::entry_size;

/// A decoded header field.
///
/// `name` and `value` share memory with the header block when the literal was not
/// Huffman-coded, and with the dynamic table when it comes from there; no copy is made.
/// Names are not validated here (lowercase, token characters): that is HTTP/2's job
/// (RFC 9113 §8.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field name.
    pub name: Bytes,
    /// The field value.
    pub value: Bytes,
    /// The peer sent the field as "never indexed" (RFC 7541 §6.2.3): an intermediary that
    /// re-encodes it must use the same representation.
    pub sensitive: bool,
}

impl Field {
    /// The field's size in a header list: name + value + 32 (RFC 7541 §4.1, used by
    /// RFC 9113 §6.5.2 for SETTINGS_MAX_HEADER_LIST_SIZE).
    pub fn size(&self) -> usize {
        entry_size(&self.name, &self.value)
    }
}

/// The crumb separator (RFC 9113 §8.2.3).
const CRUMB_SEPARATOR: &[u8] = b"; ";

/// Splits a `cookie` value into its crumbs at each `"; "` (RFC 9113 §8.2.3).
///
/// Lossless: joining the crumbs with `"; "` gives back the value, empty crumbs included.
pub(crate) fn cookie_crumbs(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(value);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.windows(2).position(|w| w == CRUMB_SEPARATOR) {
            Some(at) => {
                rest = current.get(at + 2..);
                current.get(..at)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Joins the `cookie` fields of a decoded header list into one, as RFC 9113 §8.2.3 requires
/// before handing the list to an HTTP/1-style consumer ("concatenated into a single octet
/// string using the two-octet delimiter of 0x3b, 0x20").
///
/// The joined field takes the place of the first `cookie` field and is sensitive if any crumb
/// was. With fewer than two `cookie` fields nothing changes and nothing is copied.
pub fn join_cookies(fields: &mut Vec<Field>) {
    let mut count = 0;
    let mut len = 0;
    let mut sensitive = false;
    for f in fields.iter().filter(|f| f.name == "cookie") {
        len += f.value.len();
        count += 1;
        sensitive |= f.sensitive;
    }
    if count < 2 {
        return;
    }
    let mut joined = BytesMut::with_capacity(len + CRUMB_SEPARATOR.len() * (count - 1));
    for f in fields.iter().filter(|f| f.name == "cookie") {
        joined.extend_from_slice(&f.value);
        joined.extend_from_slice(CRUMB_SEPARATOR);
    }
    // Drop the separator after the last crumb.
    joined.truncate(joined.len().saturating_sub(CRUMB_SEPARATOR.len()));
    let joined = joined.freeze();
    let mut first = true;
    fields.retain_mut(|f| {
        if f.name != "cookie" {
            return true;
        }
        if first {
            first = false;
            f.value = joined.clone();
            f.sensitive = sensitive;
            return true;
        }
        false
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &'static str, value: &'static str) -> Field {
        Field {
            name: Bytes::from_static(name.as_bytes()),
            value: Bytes::from_static(value.as_bytes()),
            sensitive: false,
        }
    }

    /// RFC 9113 §8.2.3: crumbs split at "; " and join back to the same value.
    #[test]
    fn crumbs_split_and_join_losslessly() {
        let cases: &[(&str, &[&str])] = &[
            ("a=b; c=d", &["a=b", "c=d"]),
            ("a=b", &["a=b"]),
            ("", &[""]),
            ("a=b;c=d", &["a=b;c=d"]),
            ("a=b; ; c=d; ", &["a=b", "", "c=d", ""]),
        ];
        for &(value, crumbs) in cases {
            let split: Vec<&[u8]> = cookie_crumbs(value.as_bytes()).collect();
            let expected: Vec<&[u8]> = crumbs.iter().map(|c| c.as_bytes()).collect();
            assert_eq!(split, expected, "{value:?}");
            let mut fields: Vec<Field> = crumbs.iter().map(|c| field("cookie", c)).collect();
            join_cookies(&mut fields);
            assert_eq!(fields, [field("cookie", value)], "{value:?}");
        }
    }

    /// The joined cookie takes the first cookie's place; other fields keep their order.
    #[test]
    fn join_keeps_order_and_sensitivity() {
        let mut fields = vec![
            field(":method", "GET"),
            field("cookie", "a=b"),
            field("accept", "*/*"),
            Field {
                sensitive: true,
                ..field("cookie", "c=d")
            },
        ];
        join_cookies(&mut fields);
        assert_eq!(
            fields,
            [
                field(":method", "GET"),
                Field {
                    sensitive: true,
                    ..field("cookie", "a=b; c=d")
                },
                field("accept", "*/*")
            ]
        );
        let mut one = vec![field("cookie", "a=b")];
        join_cookies(&mut one);
        assert_eq!(one, [field("cookie", "a=b")]);
    }
}
