//! Conversions between the core's heads and the `http` crate's parts
//! (feature `http`, on by default).

use bytes::Bytes;

use crate::event::Version;
use crate::head::{Fields, Method, RequestHead, ResponseHead};

fn version_from_http(v: http::Version) -> Version {
    match v {
        http::Version::HTTP_10 | http::Version::HTTP_09 => Version::Http10,
        http::Version::HTTP_2 => Version::H2,
        _ => Version::Http11,
    }
}

fn version_to_http(v: Version) -> http::Version {
    match v {
        Version::Http10 => http::Version::HTTP_10,
        Version::H2 => http::Version::HTTP_2,
        Version::Http11 => http::Version::HTTP_11,
    }
}

fn fields_from_map(map: &http::HeaderMap) -> Fields {
    let mut fields = Fields::with_capacity(map.len() + 1);
    for (name, value) in map {
        fields.push(
            Bytes::copy_from_slice(name.as_str().as_bytes()),
            Bytes::copy_from_slice(value.as_bytes()),
        );
    }
    fields
}

fn fields_to_map(fields: &Fields) -> Result<http::HeaderMap, http::Error> {
    let mut map = http::HeaderMap::with_capacity(fields.len());
    for f in fields {
        let name = http::HeaderName::from_bytes(&f.name)?;
        let value = http::HeaderValue::from_maybe_shared(f.value.clone())?;
        map.append(name, value);
    }
    Ok(map)
}

impl RequestHead {
    /// Builds a head from `http` request parts.
    ///
    /// The target is the origin form (path and query) unless the method is
    /// CONNECT (authority form). A `Host` field is added from the URI's
    /// authority when the parts have none (RFC 9112 §3.2).
    pub fn from_http(parts: &http::request::Parts) -> Self {
        let method = Method::from_bytes(Bytes::copy_from_slice(parts.method.as_str().as_bytes()));
        let target = if method == Method::Connect {
            parts
                .uri
                .authority()
                .map(|a| a.as_str())
                .unwrap_or("")
                .to_owned()
        } else {
            parts
                .uri
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_owned()
        };
        let mut fields = fields_from_map(&parts.headers);
        if !parts.headers.contains_key(http::header::HOST) {
            if let Some(authority) = parts.uri.authority() {
                fields.push(
                    Bytes::from_static(b"host"),
                    Bytes::copy_from_slice(authority.as_str().as_bytes()),
                );
            }
        }
        Self {
            method,
            target: Bytes::from(target),
            version: version_from_http(parts.version),
            fields,
            protocol: None,
        }
    }

    /// Converts to `http` request parts (names are lowercased by `http`).
    pub fn to_http(&self) -> Result<http::request::Parts, http::Error> {
        let method = http::Method::from_bytes(self.method.as_bytes())?;
        let uri = http::Uri::from_maybe_shared(self.target.clone())?;
        let (mut parts, ()) = http::Request::builder()
            .method(method)
            .uri(uri)
            .version(version_to_http(self.version))
            .body(())?
            .into_parts();
        parts.headers = fields_to_map(&self.fields)?;
        Ok(parts)
    }
}

impl ResponseHead {
    /// Builds a head from `http` response parts.
    pub fn from_http(parts: &http::response::Parts) -> Self {
        Self {
            status: parts.status.as_u16(),
            reason: Bytes::new(),
            version: version_from_http(parts.version),
            fields: fields_from_map(&parts.headers),
        }
    }

    /// Converts to `http` response parts (names are lowercased by `http`).
    pub fn to_http(&self) -> Result<http::response::Parts, http::Error> {
        let (mut parts, ()) = http::Response::builder()
            .status(self.status)
            .version(version_to_http(self.version))
            .body(())?
            .into_parts();
        parts.headers = fields_to_map(&self.fields)?;
        Ok(parts)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip_adds_host_from_authority() {
        let (parts, ()) = http::Request::builder()
            .method("POST")
            .uri("http://example.com:8080/a?b=c")
            .header("x-one", "1")
            .body(())
            .unwrap()
            .into_parts();
        let head = RequestHead::from_http(&parts);
        assert_eq!(head.method, Method::Post);
        assert_eq!(&head.target[..], b"/a?b=c");
        assert_eq!(
            head.fields.get("host").map(|v| &v[..]),
            Some(&b"example.com:8080"[..])
        );
        let back = head.to_http().unwrap();
        assert_eq!(back.method, http::Method::POST);
        assert_eq!(back.headers["x-one"], "1");
    }

    #[test]
    fn response_round_trip() {
        let mut head = ResponseHead::new(404);
        head.fields.push_static("Content-Type", "text/plain");
        let parts = head.to_http().unwrap();
        assert_eq!(parts.status, 404);
        assert_eq!(parts.headers["content-type"], "text/plain");
        assert_eq!(ResponseHead::from_http(&parts).status, 404);
    }
}
