//! Which HTTP version a run speaks and how: [`Protocol`] (the `--protocol` flag), the
//! [`Transport`] built from the client flags, and [`engine`], the one place that decides which
//! engine carries a request to a given URL. Nothing here opens a socket.

use std::fmt;

use hyper::Uri;

/// The HTTP version the load is sent over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// HTTP/1.1 with keep-alive, one request per connection at a time (a pool as large as
    /// the load's concurrency); over TLS on https:// URLs (no ALPN, so HTTP/1.1).
    Http1,
    /// HTTP/2: `--connections` connections, many streams on each; prior knowledge (h2c) on
    /// http:// URLs, ALPN h2 on https:// URLs.
    H2,
    /// HTTP/3 over QUIC: `--connections` QUIC connections to the https:// URL's host and port
    /// number over UDP, many streams on each. http:// URLs (the control plane) get HTTP/1.1.
    H3,
}

impl Protocol {
    /// A stable short name (`http1`, `h2`, `h3`), as on the command line and in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http1 => "http1",
            Protocol::H2 => "h2",
            Protocol::H3 => "h3",
        }
    }

    /// How the report names the transport to `data_plane`, e.g. "HTTP/2 over TLS (ALPN h2),
    /// 4 connections".
    pub fn describe(self, connections: usize, data_plane: &str) -> String {
        let tls = data_plane.starts_with("https://");
        let conns = if connections == 1 { "1 connection".to_owned() } else { format!("{connections} connections") };
        match (self, tls) {
            (Protocol::Http1, false) => "HTTP/1.1".into(),
            (Protocol::Http1, true) => "HTTP/1.1 over TLS".into(),
            (Protocol::H2, false) => format!("HTTP/2 (h2c, prior knowledge), {conns}"),
            (Protocol::H2, true) => format!("HTTP/2 over TLS (ALPN h2), {conns}"),
            (Protocol::H3, _) => format!("HTTP/3 over QUIC, {conns}"),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What carries one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// hyper-util's pooled HTTP/1.1 client (plain or TLS).
    Http1,
    /// The multiplexed HTTP/2 pool, plain (h2c) or TLS.
    H2 { tls: bool },
    /// The QUIC pool.
    H3,
}

/// The engine for a request to `uri` when the run speaks `protocol`: HTTP/3 needs TLS, so an
/// http:// URL (the control plane, which has no TLS port) falls back to HTTP/1.1.
pub fn engine(protocol: Protocol, uri: &Uri) -> Engine {
    let tls = uri.scheme_str() == Some("https");
    match protocol {
        Protocol::Http1 => Engine::Http1,
        Protocol::H2 => Engine::H2 { tls },
        Protocol::H3 if tls => Engine::H3,
        Protocol::H3 => Engine::Http1,
    }
}

/// Where a request goes: the pools keep their connections per origin.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub tls: bool,
    /// A name or an address, without IPv6 brackets (as TLS and name lookup want it).
    pub host: String,
    pub port: u16,
}

impl Origin {
    pub fn of(uri: &Uri) -> Result<Origin, String> {
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("{uri}: not an http:// or https:// URL")),
        };
        let host = uri.host().ok_or_else(|| format!("{uri}: no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Origin { tls, host, port })
    }
}

/// How the client connects: the protocol, how many connections h2 and h3 keep per host, and
/// which server certificates it trusts.
#[derive(Debug, Clone)]
pub struct Transport {
    pub protocol: Protocol,
    /// h2 and h3 only: connections kept per host, requests spread round-robin over them.
    pub connections: usize,
    /// Accept any server certificate (for chatedge's `--tls-self-signed`).
    pub insecure: bool,
    /// PEM certificates (CA or self-signed leaf) to trust besides the baseline's own.
    pub ca_pem: Option<Vec<u8>>,
}

impl Default for Transport {
    /// Today's client: HTTP/1.1, no certificates trusted.
    fn default() -> Self {
        Transport { protocol: Protocol::Http1, connections: DEFAULT_CONNECTIONS, insecure: false, ca_pem: None }
    }
}

/// `--connections` unless given: enough to use both cores' worth of connection tasks on each
/// side without turning h2/h3 back into one-request-per-connection.
pub const DEFAULT_CONNECTIONS: usize = 4;

impl Transport {
    /// Refuses a data plane URL the protocol cannot reach, before anything is provisioned.
    pub fn check(&self, data_plane: &str) -> Result<(), String> {
        let uri: Uri = data_plane.parse().map_err(|e| format!("bad --data-plane URL {data_plane}: {e}"))?;
        match (uri.scheme_str(), self.protocol) {
            (Some("https"), _) | (Some("http"), Protocol::Http1 | Protocol::H2) => Ok(()),
            (Some("http"), Protocol::H3) => Err(format!(
                "--protocol h3 needs an https:// --data-plane (HTTP/3 runs over QUIC, always with TLS), \
                 e.g. https://127.0.0.1:8443 for chatedge's --tls-listen; got {data_plane}"
            )),
            _ => Err(format!("--data-plane must be an http:// or https:// URL, got {data_plane}")),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().expect("uri")
    }

    #[test]
    fn each_protocol_picks_its_engine_and_h3_falls_back_to_http1_without_tls() {
        let (plain, tls) = (uri("http://127.0.0.1:8081/x"), uri("https://127.0.0.1:8443/x"));
        assert_eq!(engine(Protocol::Http1, &tls), Engine::Http1);
        assert_eq!(engine(Protocol::H2, &plain), Engine::H2 { tls: false });
        assert_eq!(engine(Protocol::H2, &tls), Engine::H2 { tls: true });
        assert_eq!(engine(Protocol::H3, &tls), Engine::H3);
        assert_eq!(engine(Protocol::H3, &plain), Engine::Http1, "the control plane has no TLS port");
    }

    #[test]
    fn origins_default_their_port_and_drop_ipv6_brackets() {
        let o = Origin::of(&uri("https://localhost/x")).expect("origin");
        assert_eq!(o, Origin { tls: true, host: "localhost".into(), port: 443 });
        let o = Origin::of(&uri("http://[::1]:8080/x")).expect("origin");
        assert_eq!((o.tls, o.host.as_str(), o.port), (false, "::1", 8080));
        assert!(Origin::of(&uri("/relative")).is_err());
    }

    #[test]
    fn h3_against_a_plain_data_plane_is_refused_up_front() {
        let t = |protocol| Transport { protocol, ..Transport::default() };
        assert!(t(Protocol::H3).check("https://127.0.0.1:8443").is_ok());
        let err = t(Protocol::H3).check("http://127.0.0.1:8080").expect_err("no TLS, no QUIC");
        assert!(err.contains("https://"), "{err}");
        assert!(t(Protocol::H2).check("http://127.0.0.1:8080").is_ok(), "h2c");
        assert!(t(Protocol::Http1).check("ftp://127.0.0.1").is_err());
        assert!(t(Protocol::Http1).check("not a url").is_err());
    }

    #[test]
    fn the_report_names_protocol_tls_and_connections() {
        let h2 = Protocol::H2;
        assert_eq!(h2.describe(3, "http://127.0.0.1:8080"), "HTTP/2 (h2c, prior knowledge), 3 connections");
        assert_eq!(h2.describe(3, "https://127.0.0.1:8443"), "HTTP/2 over TLS (ALPN h2), 3 connections");
        assert_eq!(Protocol::Http1.describe(3, "https://127.0.0.1:8443"), "HTTP/1.1 over TLS");
        assert_eq!(Protocol::H3.describe(1, "https://127.0.0.1:8443"), "HTTP/3 over QUIC, 1 connection");
    }
}
