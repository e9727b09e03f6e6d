//! The edge's sections of the configuration file (issue 11): `[tls]` (certificate, TLS
//! listener, HTTP/3), `[limits]` (what one client may hold or send) and `[metrics]` (a
//! listener of its own). Parsed like the rest of the file: raw serde structs with defaults in
//! code, then validated into typed values, every problem named by its key. The older
//! `[dataplane] max_body_bytes`, `header_timeout_ms` and `max_connections` still load, as the
//! defaults of their `[limits]` successors.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{Problems, RawDataplane};

/// `[tls]`: off unless `cert` and `key` (or `self_signed`) are given.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTls {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Default 127.0.0.1:8443.
    pub listen: Option<String>,
    /// A generated development certificate for localhost and 127.0.0.1.
    pub self_signed: bool,
    /// HTTP/3 on the TLS port's number over UDP; on by default.
    pub http3: Option<bool>,
    /// How often the PEM files are checked for a change ("1s" by default); "0" checks never,
    /// leaving SIGHUP as the only way to reload.
    pub watch_interval: Option<String>,
}

/// `[limits]`: every key optional; durations read like "10s".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    pub max_body_bytes: Option<usize>,
    pub max_header_bytes: Option<usize>,
    pub header_read_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    pub write_timeout: Option<String>,
    pub max_connections: Option<usize>,
    pub max_connections_per_ip: Option<usize>,
    pub max_streams_per_connection: Option<u32>,
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMetrics {
    /// Serve `/metrics` on this address, and no longer on the public port.
    pub listen: Option<String>,
}

/// Where the TLS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files, reloaded when they change or on SIGHUP.
    Files { cert: PathBuf, key: PathBuf },
    /// Generated at start-up (development only).
    SelfSigned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    pub source: TlsSource,
    pub listen: SocketAddr,
    pub http3: bool,
    /// How often the files are checked for a change; `None`: only on SIGHUP.
    pub watch_interval: Option<Duration>,
}

impl TlsConfig {
    /// The default TLS listener.
    pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
    /// How often the files are checked by default.
    pub const DEFAULT_WATCH_INTERVAL: Duration = Duration::from_secs(1);

    /// A listener on `listen` with a generated development certificate.
    pub fn self_signed(listen: SocketAddr) -> TlsConfig {
        TlsConfig {
            source: TlsSource::SelfSigned,
            listen,
            http3: true,
            watch_interval: Some(TlsConfig::DEFAULT_WATCH_INTERVAL),
        }
    }
}

/// What one client may hold or send; each refusal is a clear error where HTTP allows one and
/// a `refusals_total{reason}` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    /// JSON request bodies (media routes keep their `[media]` limits).
    pub max_body_bytes: usize,
    /// Request line plus headers (h2/h3 header list size too).
    pub max_header_bytes: usize,
    /// TLS handshake, first byte and each request's headers.
    pub header_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// A client that reads nothing of an answer for this long is disconnected.
    pub write_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub max_streams_per_connection: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsConfig {
    pub listen: Option<SocketAddr>,
}

/// hyper's HTTP/1 read buffer cannot be smaller.
const MIN_HEADER_BYTES: usize = 8192;

pub(super) fn tls(raw: &RawTls, p: &mut Problems) -> Option<TlsConfig> {
    let listen = raw.listen.as_deref().unwrap_or(TlsConfig::DEFAULT_LISTEN);
    let source = match (&raw.cert, &raw.key, raw.self_signed) {
        (None, None, false) => {
            p.check(raw.listen.is_none(), || "tls.listen: needs tls.cert and tls.key (or tls.self_signed)".into());
            return None;
        }
        (Some(cert), Some(key), false) => TlsSource::Files { cert: cert.clone(), key: key.clone() },
        (None, None, true) => TlsSource::SelfSigned,
        (_, _, true) => {
            p.check(false, || "tls.self_signed: cannot be combined with tls.cert / tls.key".into());
            TlsSource::SelfSigned
        }
        _ => {
            p.check(false, || "tls.cert and tls.key: give both or neither".into());
            TlsSource::SelfSigned
        }
    };
    let watch_interval = match raw.watch_interval.as_deref() {
        None => Some(TlsConfig::DEFAULT_WATCH_INTERVAL),
        Some(d) => Some(p.duration_or_zero("tls.watch_interval", d)).filter(|d| !d.is_zero()),
    };
    Some(TlsConfig { source, listen: p.addr("tls.listen", listen), http3: raw.http3.unwrap_or(true), watch_interval })
}

pub(super) fn limits(raw: &RawLimits, legacy: &RawDataplane, p: &mut Problems) -> LimitsConfig {
    let legacy_header = format!("{}ms", legacy.header_timeout_ms);
    let header_read_timeout = match &raw.header_read_timeout {
        Some(d) => p.duration("limits.header_read_timeout", d),
        None => p.duration("dataplane.header_timeout_ms", &legacy_header),
    };
    let max_header_bytes = raw.max_header_bytes.unwrap_or(64 * 1024);
    p.check(max_header_bytes >= MIN_HEADER_BYTES, || format!("limits.max_header_bytes: at least {MIN_HEADER_BYTES}"));
    let (body_key, body) = match raw.max_body_bytes {
        Some(n) => ("limits.max_body_bytes", n),
        None => ("dataplane.max_body_bytes", legacy.max_body_bytes),
    };
    let (conn_key, conns) = match raw.max_connections {
        Some(n) => ("limits.max_connections", n),
        None => ("dataplane.max_connections", legacy.max_connections),
    };
    LimitsConfig {
        max_body_bytes: p.positive(body_key, body as u64) as usize,
        max_header_bytes,
        header_read_timeout,
        idle_timeout: p.duration("limits.idle_timeout", raw.idle_timeout.as_deref().unwrap_or("60s")),
        write_timeout: p.duration("limits.write_timeout", raw.write_timeout.as_deref().unwrap_or("30s")),
        max_connections: p.positive(conn_key, conns as u64) as usize,
        max_connections_per_ip: p
            .positive("limits.max_connections_per_ip", raw.max_connections_per_ip.unwrap_or(1024) as u64)
            as usize,
        max_streams_per_connection: p
            .positive("limits.max_streams_per_connection", raw.max_streams_per_connection.unwrap_or(256).into())
            as u32,
    }
}

pub(super) fn metrics(raw: &RawMetrics, p: &mut Problems) -> MetricsConfig {
    MetricsConfig { listen: raw.listen.as_deref().map(|l| p.addr("metrics.listen", l)) }
}

#[cfg(test)]
mod tests {
    use crate::file::{Config, RawConfig};
    use crate::ConfigError;

    fn load(toml: &str) -> Result<Config, ConfigError> {
        Config::try_from(toml::from_str::<RawConfig>(toml).unwrap())
    }

    #[test]
    fn tls_is_off_by_default_and_limits_have_their_documented_defaults() {
        let c = load("").unwrap();
        assert_eq!(c.tls, None);
        assert_eq!(c.metrics.listen, None);
        assert_eq!(c.limits.max_body_bytes, 1024 * 1024);
        assert_eq!(c.limits.header_read_timeout, std::time::Duration::from_secs(10));
        assert_eq!(c.limits.idle_timeout, std::time::Duration::from_secs(60));
        assert_eq!(c.limits.max_connections, 16_384);
    }

    #[test]
    fn the_old_dataplane_keys_are_the_defaults_of_their_limits_successors() {
        let c = load("[dataplane]\nmax_body_bytes = 2048\nheader_timeout_ms = 300\n").unwrap();
        assert_eq!(c.limits.max_body_bytes, 2048);
        assert_eq!(c.limits.header_read_timeout, std::time::Duration::from_millis(300));
        let c = load("[dataplane]\nmax_body_bytes = 2048\n[limits]\nmax_body_bytes = 4096\n").unwrap();
        assert_eq!(c.limits.max_body_bytes, 4096, "the [limits] key wins");
    }

    #[test]
    fn tls_needs_both_files_or_self_signed_and_every_bad_limit_is_named() {
        let c = load("[tls]\ncert = \"a.pem\"\nkey = \"a.key\"\n").unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(tls.listen.to_string(), "127.0.0.1:8443");
        assert!(tls.http3);
        let err = load("[tls]\ncert = \"a.pem\"\n[limits]\nidle_timeout = \"soon\"\nmax_header_bytes = 10\n")
            .unwrap_err()
            .to_string();
        for key in ["tls.cert and tls.key", "limits.idle_timeout", "limits.max_header_bytes"] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
    }
}
