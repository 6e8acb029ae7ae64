//! TLS with ALPN, shared by the adapters' `rustls` features.
//!
//! The protocol of a TLS connection is chosen by ALPN (RFC 7301): `h2`
//! selects HTTP/2 (RFC 9113 §3.2), `http/1.1` HTTP/1.1. A peer that sent no
//! ALPN gets what the endpoint was configured for; a server configured for
//! [`Protocol::Auto`] then still tells the two apart by the HTTP/2 preface.
//! The adapters fill in the ALPN list from the configured protocol when the
//! user's rustls config leaves it empty, so a plain `ServerConfig` or
//! `ClientConfig` does the right thing.

use std::sync::Arc;

use proto_core::Protocol;

/// ALPN identifier of HTTP/2 over TLS (RFC 9113 §3.2).
pub const ALPN_H2: &[u8] = b"h2";
/// ALPN identifier of HTTP/1.1 (RFC 7301 §6).
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The ALPN identifiers to offer (client) or accept (server) for a
/// configured protocol, most preferred first.
pub fn alpn_for(protocol: Protocol) -> Vec<Vec<u8>> {
    match protocol {
        Protocol::Http1 => vec![ALPN_HTTP11.to_vec()],
        Protocol::Http2 => vec![ALPN_H2.to_vec()],
        // `Auto`, and any protocol added later: offer both.
        _ => vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()],
    }
}

/// The protocol a server speaks after the handshake negotiated `alpn`.
/// Without ALPN the configured protocol stands (with `Auto`, the preface
/// decides).
pub fn server_protocol(alpn: Option<&[u8]>, configured: Protocol) -> Protocol {
    match alpn {
        Some(ALPN_H2) => Protocol::Http2,
        Some(ALPN_HTTP11) => Protocol::Http1,
        _ => configured,
    }
}

/// The protocol a client speaks after the handshake negotiated `alpn`.
/// Without ALPN a client speaks HTTP/2 only if configured for it (prior
/// knowledge), else HTTP/1.1.
pub fn client_protocol(alpn: Option<&[u8]>, configured: Protocol) -> Protocol {
    match alpn {
        Some(ALPN_H2) => Protocol::Http2,
        Some(ALPN_HTTP11) => Protocol::Http1,
        _ if configured == Protocol::Http2 => Protocol::Http2,
        _ => Protocol::Http1,
    }
}

/// `config` with its ALPN list filled in from `protocol` if it was empty.
pub fn server_config(
    mut config: rustls::ServerConfig,
    protocol: Protocol,
) -> Arc<rustls::ServerConfig> {
    if config.alpn_protocols.is_empty() {
        config.alpn_protocols = alpn_for(protocol);
    }
    Arc::new(config)
}

/// `config` with its ALPN list filled in from `protocol` if it was empty.
/// A client configured for `Auto` offers both `h2` and `http/1.1`.
pub fn client_config(
    mut config: rustls::ClientConfig,
    protocol: Protocol,
) -> Arc<rustls::ClientConfig> {
    if config.alpn_protocols.is_empty() {
        config.alpn_protocols = alpn_for(protocol);
    }
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7301_alpn_selects_the_protocol() {
        assert_eq!(
            server_protocol(Some(b"h2"), Protocol::Auto),
            Protocol::Http2
        );
        assert_eq!(
            server_protocol(Some(b"http/1.1"), Protocol::Auto),
            Protocol::Http1
        );
        assert_eq!(server_protocol(None, Protocol::Auto), Protocol::Auto);
        assert_eq!(server_protocol(None, Protocol::Http1), Protocol::Http1);
        assert_eq!(
            client_protocol(Some(b"h2"), Protocol::Auto),
            Protocol::Http2
        );
        assert_eq!(
            client_protocol(Some(b"http/1.1"), Protocol::Http2),
            Protocol::Http1
        );
        assert_eq!(client_protocol(None, Protocol::Auto), Protocol::Http1);
        assert_eq!(client_protocol(None, Protocol::Http2), Protocol::Http2);
    }

    #[test]
    fn rfc9113_3_2_h2_is_preferred_when_both_are_offered() {
        assert_eq!(
            alpn_for(Protocol::Auto),
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert_eq!(alpn_for(Protocol::Http1), vec![b"http/1.1".to_vec()]);
    }
}
