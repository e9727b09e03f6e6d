//! The TOML configuration file, parsed in two stages: [`RawConfig`] mirrors the file
//! (`deny_unknown_fields`, every key optional with its default in code), then
//! [`Config::try_from`] checks it and reports every problem at once, each naming its key.
//! An absent file means all defaults, which run a working single-node system.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::address_policy::AddressPolicy;
use crate::snapshot::Pacing;
use crate::webhook_url::UrlPolicy;

mod edge;
pub use edge::{LimitsConfig, MetricsConfig, RawLimits, RawMetrics, RawTls, TlsConfig, TlsSource};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Syntax { path: String, message: String },
    #[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// The file as written. Unknown keys are an error that names the key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub dataplane: RawDataplane,
    pub controlplane: RawControlplane,
    pub pacing: RawPacing,
    pub queue: RawQueue,
    pub webhooks: RawWebhooks,
    pub network: RawNetwork,
    pub store: RawStore,
    pub session: RawSession,
    pub media: RawMedia,
    pub rate_limits: crate::rate_limits::RawRateLimits,
    pub tls: RawTls,
    pub limits: RawLimits,
    pub metrics: RawMetrics,
    pub billing: RawBilling,
    pub campaigns: crate::campaigns::RawCampaigns,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDataplane {
    pub listen: String,
    pub shards: usize,
    pub max_body_bytes: usize,
    pub request_timeout_ms: u64,
    pub header_timeout_ms: u64,
    pub max_connections: usize,
    pub control_plane: String,
    pub settings_timeout_ms: u64,
    /// Proxies (addresses or CIDR networks) whose `X-Forwarded-For` names the caller for an
    /// account's IP allowlist; from anyone else the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// The control plane's certificate fingerprint (`sha256:<hex>`): with it, only a control
    /// plane presenting that very certificate is trusted (its name and issuer do not matter);
    /// without it, https:// control planes are checked against the public web PKI roots.
    pub control_plane_fingerprint: String,
    /// The base URL other data planes forward this node's instances' requests to
    /// (`http(s)://host:port`); empty: `http://` + the bound plain address, with an unspecified
    /// address (`0.0.0.0`) read as 127.0.0.1 — right when every node runs on one machine.
    pub advertise_url: String,
    /// Serve the plain, TLS and HTTP/3 connections on the shard threads (round robin; HTTP/3 an
    /// endpoint per shard) instead of on the edge runtime: a request to an instance of the same
    /// shard then never crosses threads on its way to the shard and back.
    pub connections_on_shards: bool,
    /// With `connections_on_shards`: a plain connection waits for its first request's line (a
    /// TLS one, HTTP/1.1 by ALPN, for its handshake and then that line) and, when it names a
    /// Z-API instance (`/instances/{id}/…`), runs on that instance's shard — while that shard
    /// holds at most one and a half times its share of the open connections — so a client
    /// keeping a connection per instance never crosses threads (on 2 cores, 2.5–3 µs less
    /// shard CPU per send; docs/BENCHMARKS.md, 2026-12-05). Connections naming no instance,
    /// and h2 ones (their request heads are compressed), are spread round robin.
    pub steer_connections: bool,
    /// Pin each shard thread to a core of its own (CPU affinity). With one shard per core the
    /// store's committer, RocksDB's background threads and whatever else runs on the machine
    /// share those cores, and a pinned shard cannot move to a core left idle: on a 2-core
    /// machine, unpinned shards served wrk's single-threaded client 19–34 % more sends, but
    /// the loadtest's rows 3–16 % fewer in nine pairs (docs/BENCHMARKS.md, 2026-12-05). On
    /// by default, as before; try it off on small machines shared with other busy processes.
    pub pin_shards: bool,
}

impl Default for RawDataplane {
    fn default() -> Self {
        RawDataplane {
            listen: "127.0.0.1:8080".into(),
            shards: 0,
            max_body_bytes: 1024 * 1024,
            request_timeout_ms: 30_000,
            header_timeout_ms: 10_000,
            max_connections: 16_384,
            control_plane: "http://127.0.0.1:8081".into(),
            settings_timeout_ms: 10_000,
            trusted_proxies: Vec::new(),
            control_plane_fingerprint: String::new(),
            advertise_url: String::new(),
            connections_on_shards: true,
            steer_connections: true,
            pin_shards: true,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawControlplane {
    pub listen: String,
    pub heartbeat_ms: u64,
    /// Serve TLS: unset means yes when `tls_cert` is given or `listen` is not a loopback
    /// address (the data planes' link then never crosses a network in the clear).
    pub tls: Option<bool>,
    /// PEM certificate chain (leaf first) and key; when absent and TLS is on, a certificate is
    /// generated at first start and kept next to `credentials.json`.
    pub tls_cert: String,
    pub tls_key: String,
    /// A data plane with no config stream and no call for this long loses its instances to
    /// the live ones (0: never). Moving costs the instance its queue and its paired session on
    /// the lost node, so it is off unless asked for.
    pub reassign_after_ms: u64,
}

impl Default for RawControlplane {
    fn default() -> Self {
        RawControlplane {
            listen: "127.0.0.1:8081".into(),
            heartbeat_ms: 5_000,
            tls: None,
            tls_cert: String::new(),
            tls_key: String::new(),
            reassign_after_ms: 0,
        }
    }
}

/// `[billing]`: what an integrator pays (seed 001, lines 13470–13510).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBilling {
    /// Price of one subscribed instance for one month, in cents of `currency` (no pro rata:
    /// seed 001 line 13505).
    pub price_per_instance_cents: u64,
    /// ISO 4217 code shown on invoices.
    pub currency: String,
    /// How often the lifecycle jobs (trial expiry, invoices, stops, deletions) run.
    pub job_interval_ms: u64,
}

impl Default for RawBilling {
    fn default() -> Self {
        RawBilling { price_per_instance_cents: 9_900, currency: "BRL".into(), job_interval_ms: 60_000 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPacing {
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for RawPacing {
    fn default() -> Self {
        // Z-API: "a default random range between 1~3 seconds per message" (seed 001, queue).
        RawPacing { min_delay_ms: 1_000, max_delay_ms: 3_000 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawQueue {
    pub max_waiting_disconnected: u64,
    pub max_waiting_connected: u64,
}

impl Default for RawQueue {
    fn default() -> Self {
        // Z-API: "up to 1000 messages for disconnected phones" (seed 001, queue limit).
        RawQueue { max_waiting_disconnected: 1_000, max_waiting_connected: 1_000_000 }
    }
}

/// `[webhooks]`. Durations are human strings (`"500ms"`, `"5s"`, `"5m"`, `"2h"`, `"5d"`).
/// The keys of the old exponential backoff (`max_attempts`, `initial_backoff_ms`,
/// `max_backoff_ms`) and `timeout_ms`/`concurrency` still load: they are mapped to
/// `retry_schedule`, `timeout` and `first_attempt_slots`; setting an old key together with the
/// new one it maps to is an error naming both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWebhooks {
    pub allow_insecure_loopback: bool,
    /// Networks (CIDR) webhook receivers may be in although they are not public.
    pub allow_private: Vec<String>,
    /// How long the previous secret still signs after a rotation ("24h").
    pub rotation_overlap: String,
    pub retry_schedule: Option<Vec<String>>,
    pub timeout: Option<String>,
    pub connect_timeout: String,
    pub max_in_flight_per_endpoint: usize,
    pub first_attempt_slots: Option<usize>,
    pub retry_slots: usize,
    pub breaker_window: String,
    pub breaker_failure_ratio: f64,
    pub breaker_min_attempts: u32,
    pub breaker_probe_after: String,
    pub disable_after: String,
    pub max_attempts: Option<u32>,
    pub initial_backoff_ms: Option<u64>,
    pub max_backoff_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub concurrency: Option<usize>,
    /// How long delivered events are kept for `webhook-replay` (human duration, "0" = off).
    pub delivered_retention: String,
}

/// Issue 9 §3: immediately, then these (each ±20 % jitter), about 27.5 h in all.
pub const DEFAULT_RETRY_SCHEDULE: [&str; 7] = ["5s", "5m", "30m", "2h", "5h", "10h", "10h"];

impl Default for RawWebhooks {
    fn default() -> Self {
        RawWebhooks {
            allow_insecure_loopback: false,
            allow_private: Vec::new(),
            // Standard Webhooks: rotated secrets keep signing for a while so receivers can
            // switch without dropping events; 24 h is issue 9 §5's figure.
            rotation_overlap: "24h".into(),
            retry_schedule: None,
            timeout: None,
            connect_timeout: "3s".into(),
            max_in_flight_per_endpoint: 16,
            first_attempt_slots: None,
            retry_slots: 64,
            breaker_window: "5m".into(),
            breaker_failure_ratio: 0.7,
            breaker_min_attempts: 10,
            breaker_probe_after: "30s".into(),
            disable_after: "5d".into(),
            max_attempts: None,
            initial_backoff_ms: None,
            max_backoff_ms: None,
            timeout_ms: None,
            concurrency: None,
            // A day of delivered events can be replayed (issue 9 §4).
            delivered_retention: "24h".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawNetwork {
    /// The network of an instance created without `"network"`: `sim` or `whatsapp-web`.
    pub default: String,
    pub sim: RawSim,
    pub cloud_api: RawCloudApi,
    pub whatsapp_web: RawWhatsappWeb,
}

impl Default for RawNetwork {
    fn default() -> Self {
        RawNetwork {
            default: "sim".into(),
            sim: RawSim::default(),
            cloud_api: RawCloudApi::default(),
            whatsapp_web: RawWhatsappWeb::default(),
        }
    }
}

/// `[network.whatsapp_web]`: the WhatsApp Web (multi-device) connector (issue 13).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWhatsappWeb {
    pub device_name: String,
    pub connect_timeout_ms: u64,
    pub lease_ttl_ms: u64,
    pub lock_backoff_ms: u64,
    pub temp_ban_backoff_ms: u64,
    pub inbound_commit_timeout_ms: u64,
    /// One received file's download from WhatsApp (retries included); past it the message is
    /// delivered without its file.
    pub media_download_timeout_ms: u64,
    /// The WebSocket URL to connect to; empty: WhatsApp's own (tests point it at 127.0.0.1).
    pub ws_url: String,
    /// The WhatsApp Web version to announce, e.g. "2.3000.1023456789"; empty: looked up at
    /// web.whatsapp.com once a day.
    pub version: String,
}

impl Default for RawWhatsappWeb {
    fn default() -> Self {
        RawWhatsappWeb {
            device_name: "chatedge".into(),
            connect_timeout_ms: 30_000,
            lease_ttl_ms: 30_000,
            // Reconnecting prolongs a lock: wait hours, not minutes.
            lock_backoff_ms: 12 * 3_600_000,
            temp_ban_backoff_ms: 6 * 3_600_000,
            inbound_commit_timeout_ms: 10_000,
            media_download_timeout_ms: 60_000,
            ws_url: String::new(),
            version: String::new(),
        }
    }
}

/// `[network.cloud_api]`: how the data plane reaches Meta's Graph API (issue 12).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCloudApi {
    pub graph_base_url: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub max_media_bytes: u64,
    pub media_cache_entries: usize,
    pub media_id_ttl_ms: u64,
    pub rate_limit_initial_backoff_ms: u64,
    pub rate_limit_max_backoff_ms: u64,
    pub rate_limit_give_up_ms: u64,
    pub transient_retries: u32,
    pub seen_retention_ms: u64,
    pub message_id_retention_ms: u64,
}

impl Default for RawCloudApi {
    fn default() -> Self {
        RawCloudApi {
            // Pinned: Graph API versions change request and answer shapes (Meta's changelog).
            graph_base_url: "https://graph.facebook.com/v23.0".into(),
            connect_timeout_ms: 5_000,
            request_timeout_ms: 30_000,
            // The Cloud API's largest media: documents up to 100 MB.
            max_media_bytes: 100 * 1024 * 1024,
            media_cache_entries: 10_000,
            // Meta keeps an uploaded media id for 30 days; a day less leaves a margin.
            media_id_ttl_ms: 29 * 24 * 3_600_000,
            rate_limit_initial_backoff_ms: 2_000,
            rate_limit_max_backoff_ms: 300_000,
            // Meta's throughput limits (130429) clear within seconds to minutes; a message still
            // limited after an hour of backing off is failed, saying so.
            rate_limit_give_up_ms: 3_600_000,
            transient_retries: 3,
            // Meta retries an unanswered notification for up to 7 days.
            seen_retention_ms: 7 * 24 * 3_600_000,
            // A status (a late `failed`, a `read` days later) and a reply can name a message
            // long after it was sent; a month covers them.
            message_id_retention_ms: 30 * 24 * 3_600_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSim {
    pub ack_delay_ms: u64,
    pub received_delay_ms: u64,
    pub read_delay_ms: u64,
    pub qr_rotate_ms: u64,
    pub qr_codes_per_pairing: u32,
    pub unreachable_suffix: String,
    pub incoming_redelivery_ms: u64,
}

impl Default for RawSim {
    fn default() -> Self {
        RawSim {
            ack_delay_ms: 5,
            received_delay_ms: 300,
            read_delay_ms: 1_000,
            // Z-API: "WhatsApp invalidates the QRCode every 20 seconds" (seed 001, QR code).
            qr_rotate_ms: 20_000,
            qr_codes_per_pairing: 6,
            unreachable_suffix: "0000".into(),
            incoming_redelivery_ms: 30_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    pub max_batch: usize,
    pub max_pending_bytes_per_shard: u64,
    pub max_pending_batches_per_shard: u64,
    pub block_cache_bytes: u64,
    pub dead_letter_retention_ms: u64,
    pub message_index_retention_ms: u64,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            max_batch: 512,
            // One LRU cache for every column family's data, index and filter blocks.
            block_cache_bytes: 64 * 1024 * 1024,
            // A week to look at webhook events whose retries ran out.
            dead_letter_retention_ms: 7 * 24 * 3_600_000,
            // Edits (15 minutes), deletes for everyone (about two days) and reactions name recent
            // messages; a month covers them with room, as the Cloud API's id pairs.
            message_index_retention_ms: 30 * 24 * 3_600_000,
            // About two seconds of writes at the measured ceiling (~158k durable writes/s of
            // ~400 bytes): enough to ride out a slow fsync, small enough to refuse quickly
            // when the disk stalls.
            max_pending_bytes_per_shard: 64 * 1024 * 1024,
            max_pending_batches_per_shard: 16_384,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSession {
    pub reconnect_initial_ms: u64,
    pub reconnect_max_ms: u64,
    pub connect_timeout_ms: u64,
}

impl Default for RawSession {
    fn default() -> Self {
        // WhatsApp Web clients back off from ~1 s to about a minute between attempts; going
        // faster gets numbers flagged (shared/research/whatsapp-rust.md, reconnects).
        RawSession { reconnect_initial_ms: 1_000, reconnect_max_ms: 60_000, connect_timeout_ms: 30_000 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMedia {
    pub max_image_bytes: u64,
    pub max_sticker_bytes: u64,
    pub max_audio_bytes: u64,
    pub max_video_bytes: u64,
    pub max_document_bytes: u64,
    pub fetch_timeout_ms: u64,
    pub fetch_connect_timeout_ms: u64,
    pub fetch_max_redirects: u8,
    pub fetch_allow_private: bool,
    pub public_base_url: String,
    pub received_retention_days: u64,
    pub upload_retention_ms: u64,
    pub orphan_grace_ms: u64,
    pub sweep_interval_ms: u64,
    pub max_upload_bytes_in_flight: u64,
}

const MB: u64 = 1024 * 1024;

impl Default for RawMedia {
    fn default() -> Self {
        RawMedia {
            // Seed 002's media table (WhatsApp's own limits); stickers are small images.
            max_image_bytes: 16 * MB,
            max_sticker_bytes: MB,
            max_audio_bytes: 16 * MB,
            max_video_bytes: 64 * MB,
            max_document_bytes: 100 * MB,
            fetch_timeout_ms: 120_000,
            fetch_connect_timeout_ms: 10_000,
            fetch_max_redirects: 5,
            fetch_allow_private: false,
            public_base_url: String::new(),
            // Z-API: received media files are kept for 30 days (seed 001, line 338).
            received_retention_days: 30,
            // Seed 002: uploaded media expires after 7 days.
            upload_retention_ms: 7 * 86_400_000,
            orphan_grace_ms: 600_000,
            sweep_interval_ms: 60_000,
            // 50 concurrent 16 MB base64 uploads fit; more wait for room (503 with Retry-After).
            max_upload_bytes_in_flight: 1_200 * MB,
        }
    }
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub dataplane: DataplaneConfig,
    pub controlplane: ControlplaneConfig,
    pub pacing: Pacing,
    pub queue: QueueConfig,
    pub webhooks: WebhooksConfig,
    pub sim: SimConfig,
    pub network: NetworkConfig,
    pub store: StoreConfig,
    pub session: SessionConfig,
    pub media: MediaConfig,
    /// `[rate_limits]` (issue 11 §3).
    pub rate_limits: crate::rate_limits::RateLimitsConfig,
    /// `[tls]`: `None` serves plain HTTP only.
    pub tls: Option<TlsConfig>,
    pub limits: LimitsConfig,
    pub metrics: MetricsConfig,
    pub billing: BillingConfig,
    /// `[campaigns]` (issue 14).
    pub campaigns: crate::campaigns::CampaignsConfig,
}

/// `[billing]`, validated.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    pub price_per_instance_cents: u64,
    pub currency: String,
    pub job_interval: Duration,
}

/// Media messages: size limits per kind, fetching by URL, received media.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub max_image_bytes: u64,
    pub max_sticker_bytes: u64,
    pub max_audio_bytes: u64,
    pub max_video_bytes: u64,
    pub max_document_bytes: u64,
    /// A fetch of media by URL (connect, redirects and body) must finish within this.
    pub fetch_timeout: Duration,
    pub fetch_connect_timeout: Duration,
    pub fetch_max_redirects: u8,
    /// Fetch from loopback and private addresses too (tests, private media servers).
    pub fetch_allow_private: bool,
    /// Where received media is served from, as integrators reach it (e.g.
    /// `https://media.example.com`); empty means `http://` + the data plane's listen address.
    pub public_base_url: String,
    /// Received media files are kept this long (and their URLs work this long).
    pub received_retention: Duration,
    /// Media uploaded by id (`POST /zami/v1/media`, Zapini's `media/upload`) and received
    /// media kept under an id can be sent and downloaded this long.
    pub upload_retention: Duration,
    /// A stored file no message refers to is deleted once it is at least this old (covers
    /// uploads whose message is not committed yet).
    pub orphan_grace: Duration,
    pub sweep_interval: Duration,
    /// Bytes of media request bodies held in memory at once, over all requests.
    pub max_upload_bytes_in_flight: u64,
}

impl MediaConfig {
    /// The largest media any route accepts.
    pub fn max_media_bytes(&self) -> u64 {
        [
            self.max_image_bytes,
            self.max_sticker_bytes,
            self.max_audio_bytes,
            self.max_video_bytes,
            self.max_document_bytes,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    /// The largest JSON body a media route must accept: the largest media as base64 (4/3 of
    /// it) plus room for the other fields.
    pub fn max_media_body_bytes(&self) -> u64 {
        self.max_media_bytes() / 3 * 4 + 8 + 64 * 1024
    }
}

#[derive(Debug, Clone)]
pub struct DataplaneConfig {
    pub listen: SocketAddr,
    /// Shard threads; at least 1.
    pub shards: usize,
    pub request_timeout: Duration,
    pub control_plane: String,
    /// How long a settings change waits for the control plane to publish it.
    pub settings_timeout: Duration,
    /// Whose `X-Forwarded-For` is believed (see [`RawDataplane::trusted_proxies`]).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The control plane certificate this node pins (see [`RawDataplane::control_plane_fingerprint`]).
    pub control_plane_fingerprint: Option<crate::CertFingerprint>,
    /// Where other data planes reach this one (see [`RawDataplane::advertise_url`]); `None`:
    /// derived from the bound address at start.
    pub advertise_url: Option<String>,
    /// See [`RawDataplane::connections_on_shards`].
    pub connections_on_shards: bool,
    /// See [`RawDataplane::steer_connections`].
    pub steer_connections: bool,
    /// See [`RawDataplane::pin_shards`].
    pub pin_shards: bool,
}

#[derive(Debug, Clone)]
pub struct ControlplaneConfig {
    pub listen: SocketAddr,
    pub heartbeat: Duration,
    pub tls: ControlplaneTls,
    /// See [`RawControlplane::reassign_after_ms`]; `None`: never.
    pub reassign_after: Option<Duration>,
}

/// How the control plane serves (its data-plane link and admin API share one listener).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlplaneTls {
    /// Plain HTTP: only where `listen` is loopback, unless the operator said `tls = false`.
    Off,
    /// A certificate generated at first start, kept in the data directory, pinned by data
    /// planes through its fingerprint.
    Generated,
    /// The operator's PEM files.
    Files { cert: std::path::PathBuf, key: std::path::PathBuf },
}

#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    pub max_waiting_disconnected: u64,
    pub max_waiting_connected: u64,
}

/// Webhook delivery (issue 9): the retry schedule, timeouts, capacity, the breaker, which
/// addresses receivers may be at, and secret rotation.
#[derive(Debug, Clone)]
pub struct WebhooksConfig {
    pub url_policy: UrlPolicy,
    /// Which addresses receivers may be at (issue 9 §6): public ones, plus `allow_private`,
    /// plus loopback with `allow_insecure_loopback`. Checked when a URL is set and at connect.
    pub address_policy: AddressPolicy,
    /// After a secret rotation, events are signed with the previous secret too for this long.
    pub rotation_overlap: Duration,
    /// Waits before the 2nd, 3rd, … attempt (each ±20 % jitter); after the last, dead letters.
    pub retry_schedule: Vec<Duration>,
    /// An attempt's whole exchange (connect, send, response) must end within this.
    pub timeout: Duration,
    /// Connection set-up only (DNS + TCP + TLS), so a black-holed endpoint costs seconds, not `timeout`.
    pub connect_timeout: Duration,
    /// Attempts in flight to one endpoint (URL) at most, over all instances; a hanging
    /// endpoint occupies at most this many slots.
    pub max_in_flight_per_endpoint: usize,
    /// Slots for first attempts, over all endpoints; a retry never takes one.
    pub first_attempt_slots: usize,
    /// Slots for retries, over all endpoints.
    pub retry_slots: usize,
    pub breaker_window: Duration,
    pub breaker_failure_ratio: f64,
    pub breaker_min_attempts: u32,
    pub breaker_probe_after: Duration,
    /// An endpoint of an instance failing with no success for this long is disabled.
    pub disable_after: Duration,
    /// Delivered events are kept this long for replay; zero keeps none.
    pub delivered_retention: Duration,
}

/// Parses a human duration as the config writes them: `500ms`, `5s`, `5m`, `2h`, `5d`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    Some(Duration::from_millis(n.checked_mul(ms)?))
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub ack_delay: Duration,
    pub received_delay: Duration,
    pub read_delay: Duration,
    pub qr_rotate: Duration,
    pub qr_codes_per_pairing: u32,
    pub unreachable_suffix: String,
    pub incoming_redelivery: Duration,
}

/// The real networks' settings (`[network.*]` other than the sim, which predates them).
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// The network of an instance created without `"network"`.
    pub default: DefaultNetwork,
    pub cloud_api: CloudApiConfig,
    pub whatsapp_web: WhatsappWebConfig,
}

/// `[network] default`: a network an instance can be created on without credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultNetwork {
    #[default]
    Sim,
    WhatsappWeb,
}

/// `[network.whatsapp_web]`, validated.
#[derive(Debug, Clone)]
pub struct WhatsappWebConfig {
    /// The name the phone shows for the linked device.
    pub device_name: String,
    /// A connect with neither a code nor a connection by then counts as failed.
    pub connect_timeout: Duration,
    /// The instance lease (one live client per instance); renewed every third of it.
    pub lease_ttl: Duration,
    /// No reconnect for this long after the account was locked.
    pub lock_backoff: Duration,
    /// No reconnect for at least this long after a temporary ban.
    pub temp_ban_backoff: Duration,
    /// How long a received message waits for its commit before the server is left
    /// unacknowledged (it redelivers).
    pub inbound_commit_timeout: Duration,
    /// One received file's download (see `RawWhatsappWeb::media_download_timeout_ms`).
    pub media_download_timeout: Duration,
    /// `None`: WhatsApp's own WebSocket URL.
    pub ws_url: Option<String>,
    /// `None`: the version is looked up.
    pub version: Option<(u32, u32, u32)>,
}

/// `[network.cloud_api]`, validated.
#[derive(Debug, Clone)]
pub struct CloudApiConfig {
    /// Graph API base with its version, no trailing slash (tests point it at 127.0.0.1).
    pub graph_base_url: String,
    pub connect_timeout: Duration,
    /// One Graph API request (answer included) must finish within this.
    pub request_timeout: Duration,
    /// Largest media downloaded from or uploaded to the Graph API.
    pub max_media_bytes: u64,
    /// Uploaded media ids remembered (by content hash) so a file is uploaded once.
    pub media_cache_entries: usize,
    /// How long an uploaded media id is reused.
    pub media_id_ttl: Duration,
    /// A rate-limited send waits this long first, doubling per further limit answer.
    pub rate_limit_initial_backoff: Duration,
    pub rate_limit_max_backoff: Duration,
    /// How long one message keeps being retried while the network answers "rate limited"
    /// (from its first such answer) before it fails with the network's error.
    pub rate_limit_give_up: Duration,
    /// Retries of a send after a transport failure or a 5xx before the connection counts as lost.
    pub transient_retries: u32,
    /// How long a received message's or status's "already delivered" mark is kept (Meta
    /// redelivers a notification for up to 7 days).
    pub seen_retention: Duration,
    /// How long our message id ↔ wamid pairs and zaapId rows are kept (statuses and replies
    /// that name an older message are no longer matched).
    pub message_id_retention: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct StoreConfig {
    pub max_batch: usize,
    /// Size of the block cache shared by every column family.
    pub block_cache_bytes: usize,
    /// Dead-letter webhook events older than this are deleted.
    pub dead_letter_retention: Duration,
    /// How long a message stays findable by its id alone (`message_index`).
    pub message_index_retention: Duration,
    /// Bytes a shard may have waiting for the committer; past it sends are refused with 503.
    pub max_pending_bytes_per_shard: u64,
    /// Batches a shard may have waiting for the committer; past it sends are refused with 503.
    pub max_pending_batches_per_shard: u64,
}

/// How a session whose connection was lost (not logged out) reconnects.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// The first wait after a loss; it doubles per failed attempt (with jitter) up to `reconnect_max`.
    pub reconnect_initial: Duration,
    pub reconnect_max: Duration,
    /// An attempt the network has not answered by then counts as failed.
    pub connect_timeout: Duration,
}

impl Config {
    /// Reads and validates `path`; `None` means every default.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else { return Config::try_from(RawConfig::default()) };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
        Config::parse(&text).map_err(|e| match e {
            ConfigError::Syntax { message, .. } => ConfigError::Syntax { path: shown, message },
            other => other,
        })
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::Syntax { path: "<text>".into(), message: e.to_string() })?;
        Config::try_from(raw)
    }
}

impl Default for Config {
    fn default() -> Self {
        match Config::try_from(RawConfig::default()) {
            Ok(c) => c,
            Err(e) => panic!("built-in defaults must validate: {e}"),
        }
    }
}

/// Collects problems while converting, so all of them are reported together.
struct Problems(Vec<String>);

impl Problems {
    fn addr(&mut self, key: &str, value: &str) -> SocketAddr {
        value.parse().unwrap_or_else(|_| {
            self.0.push(format!("{key}: '{value}' is not a socket address like 127.0.0.1:8080"));
            SocketAddr::from(([127, 0, 0, 1], 0))
        })
    }

    fn positive(&mut self, key: &str, value: u64) -> u64 {
        if value == 0 {
            self.0.push(format!("{key}: must be greater than 0"));
        }
        value
    }

    fn duration(&mut self, key: &str, value: &str) -> Duration {
        parse_duration(value).filter(|d| !d.is_zero()).unwrap_or_else(|| {
            self.0.push(format!(
                "{key}: '{value}' is not a positive duration like \"500ms\", \"5s\", \"5m\", \"2h\" or \"5d\""
            ));
            Duration::from_secs(1)
        })
    }

    /// CIDR networks (`10.0.0.0/8`, `fd00::/8`); a bare address is its own /32 or /128.
    fn networks(&mut self, key: &str, values: &[String]) -> Vec<ipnet::IpNet> {
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            let parsed = v.parse::<ipnet::IpNet>().or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match parsed {
                Ok(net) => out.push(net.trunc()),
                Err(_) => self.0.push(format!("{key}: '{v}' is not a network like 10.0.0.0/8 or fd00::/8")),
            }
        }
        out
    }

    /// A human duration like [`Problems::duration`], where "0" means none.
    fn duration_or_zero(&mut self, key: &str, value: &str) -> Duration {
        if value.trim() == "0" {
            return Duration::ZERO;
        }
        self.duration(key, value)
    }

    fn check(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.0.push(message());
        }
    }
}

impl TryFrom<RawConfig> for Config {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Config, ConfigError> {
        let mut p = Problems(Vec::new());
        let ms = Duration::from_millis;
        let d = &raw.dataplane;
        let dataplane = DataplaneConfig {
            listen: p.addr("dataplane.listen", &d.listen),
            shards: if d.shards == 0 { available_cores() } else { d.shards },
            request_timeout: ms(p.positive("dataplane.request_timeout_ms", d.request_timeout_ms)),
            control_plane: d.control_plane.clone(),
            settings_timeout: ms(p.positive("dataplane.settings_timeout_ms", d.settings_timeout_ms)),
            trusted_proxies: p.networks("dataplane.trusted_proxies", &d.trusted_proxies),
            control_plane_fingerprint: match d.control_plane_fingerprint.trim() {
                "" => None,
                text => crate::CertFingerprint::parse(text)
                    .map_err(|e| p.0.push(format!("dataplane.control_plane_fingerprint: {e}")))
                    .ok(),
            },
            advertise_url: match d.advertise_url.trim() {
                "" => None,
                text => crate::link::check_advertise_url(text)
                    .map_err(|e| p.0.push(format!("dataplane.advertise_url: {e}")))
                    .ok(),
            },
            connections_on_shards: d.connections_on_shards,
            steer_connections: d.steer_connections,
            pin_shards: d.pin_shards,
        };
        p.check(d.shards <= 1024, || "dataplane.shards: at most 1024".into());
        p.check(d.control_plane.starts_with("http://") || d.control_plane.starts_with("https://"), || {
            format!("dataplane.control_plane: '{}' must be an http:// or https:// URL", d.control_plane)
        });
        let c = &raw.controlplane;
        let cp_listen = p.addr("controlplane.listen", &c.listen);
        let controlplane = ControlplaneConfig {
            listen: cp_listen,
            heartbeat: ms(p.positive("controlplane.heartbeat_ms", c.heartbeat_ms)),
            tls: controlplane_tls(c, cp_listen, &mut p),
            reassign_after: (c.reassign_after_ms > 0).then(|| ms(c.reassign_after_ms)),
        };
        let pc = &raw.pacing;
        p.check(pc.min_delay_ms <= pc.max_delay_ms, || {
            format!(
                "pacing.min_delay_ms ({}) must not exceed pacing.max_delay_ms ({})",
                pc.min_delay_ms, pc.max_delay_ms
            )
        });
        let q = &raw.queue;
        let queue = QueueConfig {
            max_waiting_disconnected: p.positive("queue.max_waiting_disconnected", q.max_waiting_disconnected),
            max_waiting_connected: p.positive("queue.max_waiting_connected", q.max_waiting_connected),
        };
        let webhooks = webhooks(&raw.webhooks, &mut p);
        let s = &raw.network.sim;
        p.check(!s.unreachable_suffix.is_empty() && s.unreachable_suffix.bytes().all(|b| b.is_ascii_digit()), || {
            "network.sim.unreachable_suffix: must be one or more digits".into()
        });
        let sim = SimConfig {
            ack_delay: ms(s.ack_delay_ms),
            received_delay: ms(s.received_delay_ms),
            read_delay: ms(s.read_delay_ms),
            qr_rotate: ms(p.positive("network.sim.qr_rotate_ms", s.qr_rotate_ms)),
            qr_codes_per_pairing: p.positive("network.sim.qr_codes_per_pairing", s.qr_codes_per_pairing as u64) as u32,
            unreachable_suffix: s.unreachable_suffix.clone(),
            incoming_redelivery: ms(p.positive("network.sim.incoming_redelivery_ms", s.incoming_redelivery_ms)),
        };
        let network = NetworkConfig {
            default: default_network(&mut p, &raw.network.default),
            cloud_api: cloud_api(&mut p, &raw.network.cloud_api),
            whatsapp_web: whatsapp_web(&mut p, &raw.network.whatsapp_web),
        };
        let st = &raw.store;
        let store = StoreConfig {
            max_batch: p.positive("store.max_batch", st.max_batch as u64) as usize,
            block_cache_bytes: p.positive("store.block_cache_bytes", st.block_cache_bytes) as usize,
            dead_letter_retention: ms(p.positive("store.dead_letter_retention_ms", st.dead_letter_retention_ms)),
            message_index_retention: ms(p.positive("store.message_index_retention_ms", st.message_index_retention_ms)),
            max_pending_bytes_per_shard: p
                .positive("store.max_pending_bytes_per_shard", st.max_pending_bytes_per_shard),
            max_pending_batches_per_shard: p
                .positive("store.max_pending_batches_per_shard", st.max_pending_batches_per_shard),
        };
        let se = &raw.session;
        p.check(se.reconnect_initial_ms <= se.reconnect_max_ms, || {
            "session.reconnect_initial_ms must not exceed session.reconnect_max_ms".into()
        });
        let session = SessionConfig {
            reconnect_initial: ms(p.positive("session.reconnect_initial_ms", se.reconnect_initial_ms)),
            reconnect_max: ms(se.reconnect_max_ms),
            connect_timeout: ms(p.positive("session.connect_timeout_ms", se.connect_timeout_ms)),
        };
        let m = &raw.media;
        p.check(
            m.public_base_url.is_empty()
                || ((m.public_base_url.starts_with("http://") || m.public_base_url.starts_with("https://"))
                    && !m.public_base_url.ends_with('/')),
            || {
                format!(
                    "media.public_base_url: '{}' must be an http:// or https:// URL without a trailing /",
                    m.public_base_url
                )
            },
        );

        let media = MediaConfig {
            max_image_bytes: p.positive("media.max_image_bytes", m.max_image_bytes),
            max_sticker_bytes: p.positive("media.max_sticker_bytes", m.max_sticker_bytes),
            max_audio_bytes: p.positive("media.max_audio_bytes", m.max_audio_bytes),
            max_video_bytes: p.positive("media.max_video_bytes", m.max_video_bytes),
            max_document_bytes: p.positive("media.max_document_bytes", m.max_document_bytes),
            fetch_timeout: ms(p.positive("media.fetch_timeout_ms", m.fetch_timeout_ms)),
            fetch_connect_timeout: ms(p.positive("media.fetch_connect_timeout_ms", m.fetch_connect_timeout_ms)),
            fetch_max_redirects: m.fetch_max_redirects,
            fetch_allow_private: m.fetch_allow_private,
            public_base_url: m.public_base_url.clone(),
            received_retention: Duration::from_secs(
                p.positive("media.received_retention_days", m.received_retention_days).saturating_mul(86_400),
            ),
            upload_retention: ms(p.positive("media.upload_retention_ms", m.upload_retention_ms)),
            orphan_grace: ms(m.orphan_grace_ms),
            sweep_interval: ms(p.positive("media.sweep_interval_ms", m.sweep_interval_ms)),
            max_upload_bytes_in_flight: m.max_upload_bytes_in_flight,
        };
        p.check(media.max_upload_bytes_in_flight >= media.max_media_body_bytes(), || {
            format!(
                "media.max_upload_bytes_in_flight: must hold at least one body of the largest media ({} bytes)",
                media.max_media_body_bytes()
            )
        });
        let rate_limits = raw.rate_limits.validate().unwrap_or_else(|problems| {
            p.0.extend(problems);
            crate::rate_limits::RateLimitsConfig {
                instance: None,
                account: None,
                ip: None,
                max_tracked_addresses: 1,
                zapini: None,
            }
        });
        let tls = edge::tls(&raw.tls, &mut p);
        let limits = edge::limits(&raw.limits, &raw.dataplane, &mut p);
        let metrics = edge::metrics(&raw.metrics, &mut p);
        let b = &raw.billing;
        p.check(b.currency.len() == 3 && b.currency.bytes().all(|c| c.is_ascii_uppercase()), || {
            format!("billing.currency: '{}' must be an ISO 4217 code like BRL or USD", b.currency)
        });
        let billing = BillingConfig {
            price_per_instance_cents: b.price_per_instance_cents,
            currency: b.currency.clone(),
            job_interval: ms(p.positive("billing.job_interval_ms", b.job_interval_ms)),
        };
        let campaigns = raw.campaigns.validate().unwrap_or_else(|problems| {
            p.0.extend(problems);
            crate::campaigns::RawCampaigns::default().validate().unwrap_or_else(|_| unreachable!("defaults validate"))
        });
        if !p.0.is_empty() {
            return Err(ConfigError::Invalid(p.0));
        }
        Ok(Config {
            dataplane,
            controlplane,
            pacing: Pacing { min_delay_ms: pc.min_delay_ms, max_delay_ms: pc.max_delay_ms },
            queue,
            webhooks,
            sim,
            network,
            store,
            session,
            media,
            rate_limits,
            tls,
            limits,
            metrics,
            billing,
            campaigns,
        })
    }
}

/// `[controlplane] tls`, `tls_cert`, `tls_key` (see [`RawControlplane`]).
fn controlplane_tls(c: &RawControlplane, listen: SocketAddr, p: &mut Problems) -> ControlplaneTls {
    let (cert, key) = (c.tls_cert.trim(), c.tls_key.trim());
    p.check(cert.is_empty() == key.is_empty(), || {
        "controlplane.tls_cert and controlplane.tls_key: give both or neither".into()
    });
    p.check(c.tls != Some(false) || cert.is_empty(), || {
        "controlplane.tls = false contradicts controlplane.tls_cert: remove one".into()
    });
    match (c.tls, cert.is_empty()) {
        (Some(false), _) => ControlplaneTls::Off,
        (_, false) => ControlplaneTls::Files { cert: cert.into(), key: key.into() },
        (Some(true), true) => ControlplaneTls::Generated,
        (None, true) if listen.ip().is_loopback() => ControlplaneTls::Off,
        (None, true) => ControlplaneTls::Generated,
    }
}

/// `[webhooks]`, with the old backoff keys mapped (see [`RawWebhooks`]).
fn webhooks(w: &RawWebhooks, p: &mut Problems) -> WebhooksConfig {
    let legacy_retry = w.max_attempts.is_some() || w.initial_backoff_ms.is_some() || w.max_backoff_ms.is_some();
    p.check(!(legacy_retry && w.retry_schedule.is_some()), || {
        "webhooks.retry_schedule: cannot be combined with the old webhooks.max_attempts / initial_backoff_ms / \
         max_backoff_ms; keep only retry_schedule"
            .into()
    });
    let retry_schedule = match &w.retry_schedule {
        Some(steps) => {
            steps.iter().enumerate().map(|(i, d)| p.duration(&format!("webhooks.retry_schedule[{i}]"), d)).collect()
        }
        None if legacy_retry => legacy_schedule(w, p),
        None => DEFAULT_RETRY_SCHEDULE.iter().filter_map(|d| parse_duration(d)).collect(),
    };
    p.check(!(w.timeout.is_some() && w.timeout_ms.is_some()), || {
        "webhooks.timeout: cannot be combined with the old webhooks.timeout_ms; keep only timeout".into()
    });
    let timeout = match (&w.timeout, w.timeout_ms) {
        (Some(t), _) => p.duration("webhooks.timeout", t),
        (None, Some(ms)) => Duration::from_millis(p.positive("webhooks.timeout_ms", ms)),
        (None, None) => Duration::from_secs(10),
    };
    p.check(!(w.first_attempt_slots.is_some() && w.concurrency.is_some()), || {
        "webhooks.first_attempt_slots: cannot be combined with the old webhooks.concurrency; keep only \
         first_attempt_slots"
            .into()
    });
    let first_attempt_slots = w.first_attempt_slots.or(w.concurrency).unwrap_or(512);
    p.check((0.0..=1.0).contains(&w.breaker_failure_ratio) && w.breaker_failure_ratio > 0.0, || {
        format!("webhooks.breaker_failure_ratio: {} must be in (0, 1]", w.breaker_failure_ratio)
    });
    WebhooksConfig {
        url_policy: UrlPolicy { allow_insecure_loopback: w.allow_insecure_loopback },
        address_policy: AddressPolicy::for_webhooks(
            w.allow_insecure_loopback,
            p.networks("webhooks.allow_private", &w.allow_private),
        ),
        rotation_overlap: p.duration("webhooks.rotation_overlap", &w.rotation_overlap),
        delivered_retention: p.duration_or_zero("webhooks.delivered_retention", &w.delivered_retention),
        retry_schedule,
        timeout,
        connect_timeout: p.duration("webhooks.connect_timeout", &w.connect_timeout),
        max_in_flight_per_endpoint: p
            .positive("webhooks.max_in_flight_per_endpoint", w.max_in_flight_per_endpoint as u64)
            as usize,
        first_attempt_slots: p.positive("webhooks.first_attempt_slots", first_attempt_slots as u64) as usize,
        retry_slots: p.positive("webhooks.retry_slots", w.retry_slots as u64) as usize,
        breaker_window: p.duration("webhooks.breaker_window", &w.breaker_window),
        breaker_failure_ratio: w.breaker_failure_ratio,
        breaker_min_attempts: p.positive("webhooks.breaker_min_attempts", u64::from(w.breaker_min_attempts)) as u32,
        breaker_probe_after: p.duration("webhooks.breaker_probe_after", &w.breaker_probe_after),
        disable_after: p.duration("webhooks.disable_after", &w.disable_after),
    }
}

/// The schedule the old keys described: `max_attempts - 1` waits doubling from
/// `initial_backoff_ms` up to `max_backoff_ms` (defaults 20, 1 s, 10 min as before).
fn legacy_schedule(w: &RawWebhooks, p: &mut Problems) -> Vec<Duration> {
    let attempts = p.positive("webhooks.max_attempts", u64::from(w.max_attempts.unwrap_or(20)));
    let initial = p.positive("webhooks.initial_backoff_ms", w.initial_backoff_ms.unwrap_or(1_000));
    let max = w.max_backoff_ms.unwrap_or(600_000);
    p.check(initial <= max, || "webhooks.initial_backoff_ms must not exceed webhooks.max_backoff_ms".into());
    (1..attempts.min(64))
        .map(|i| Duration::from_millis(initial.saturating_mul(1u64 << (i - 1).min(40)).min(max.max(initial))))
        .collect()
}

/// Validates `[network.cloud_api]`.
fn cloud_api(p: &mut Problems, c: &RawCloudApi) -> CloudApiConfig {
    let ms = Duration::from_millis;
    let base = c.graph_base_url.trim_end_matches('/');
    p.check(base.starts_with("https://") || base.starts_with("http://"), || {
        format!("network.cloud_api.graph_base_url: '{}' must be an http:// or https:// URL", c.graph_base_url)
    });
    p.check(c.rate_limit_initial_backoff_ms <= c.rate_limit_max_backoff_ms, || {
        "network.cloud_api.rate_limit_initial_backoff_ms must not exceed rate_limit_max_backoff_ms".into()
    });
    CloudApiConfig {
        graph_base_url: base.to_owned(),
        connect_timeout: ms(p.positive("network.cloud_api.connect_timeout_ms", c.connect_timeout_ms)),
        request_timeout: ms(p.positive("network.cloud_api.request_timeout_ms", c.request_timeout_ms)),
        max_media_bytes: p.positive("network.cloud_api.max_media_bytes", c.max_media_bytes),
        media_cache_entries: p.positive("network.cloud_api.media_cache_entries", c.media_cache_entries as u64) as usize,
        media_id_ttl: ms(p.positive("network.cloud_api.media_id_ttl_ms", c.media_id_ttl_ms)),
        rate_limit_initial_backoff: ms(
            p.positive("network.cloud_api.rate_limit_initial_backoff_ms", c.rate_limit_initial_backoff_ms)
        ),
        rate_limit_max_backoff: ms(c.rate_limit_max_backoff_ms),
        rate_limit_give_up: ms(p.positive("network.cloud_api.rate_limit_give_up_ms", c.rate_limit_give_up_ms)),
        transient_retries: c.transient_retries,
        seen_retention: ms(p.positive("network.cloud_api.seen_retention_ms", c.seen_retention_ms)),
        message_id_retention: ms(p.positive("network.cloud_api.message_id_retention_ms", c.message_id_retention_ms)),
    }
}

fn default_network(p: &mut Problems, value: &str) -> DefaultNetwork {
    match value {
        "sim" => DefaultNetwork::Sim,
        "whatsapp-web" => DefaultNetwork::WhatsappWeb,
        other => {
            p.check(false, || {
                format!("network.default: '{other}' must be \"sim\" or \"whatsapp-web\" (a cloud-api instance needs its credentials)")
            });
            DefaultNetwork::Sim
        }
    }
}

fn whatsapp_web(p: &mut Problems, w: &RawWhatsappWeb) -> WhatsappWebConfig {
    let ms = Duration::from_millis;
    let name = w.device_name.trim();
    p.check(!name.is_empty() && name.chars().count() <= 64, || {
        "network.whatsapp_web.device_name: must be 1 to 64 characters".into()
    });
    p.check(w.temp_ban_backoff_ms >= 3_600_000 && w.lock_backoff_ms >= 3_600_000, || {
        "network.whatsapp_web.lock_backoff_ms and temp_ban_backoff_ms: must be at least an hour (reconnecting prolongs a lock)"
            .into()
    });
    let ws_url = w.ws_url.trim();
    p.check(ws_url.is_empty() || ws_url.starts_with("ws://") || ws_url.starts_with("wss://"), || {
        format!("network.whatsapp_web.ws_url: '{ws_url}' must be a ws:// or wss:// URL (or empty)")
    });
    let version = match w.version.trim() {
        "" => None,
        v => {
            let parts: Vec<Option<u32>> = v.split('.').map(|n| n.parse().ok()).collect();
            match parts.as_slice() {
                [Some(a), Some(b), Some(c)] => Some((*a, *b, *c)),
                _ => {
                    p.check(false, || format!("network.whatsapp_web.version: '{v}' must look like 2.3000.1023456789"));
                    None
                }
            }
        }
    };
    WhatsappWebConfig {
        ws_url: Some(ws_url.to_owned()).filter(|u| !u.is_empty()),
        version,
        device_name: name.to_owned(),
        connect_timeout: ms(p.positive("network.whatsapp_web.connect_timeout_ms", w.connect_timeout_ms)),
        lease_ttl: ms(p.positive("network.whatsapp_web.lease_ttl_ms", w.lease_ttl_ms)),
        lock_backoff: ms(w.lock_backoff_ms),
        temp_ban_backoff: ms(w.temp_ban_backoff_ms),
        inbound_commit_timeout: ms(
            p.positive("network.whatsapp_web.inbound_commit_timeout_ms", w.inbound_commit_timeout_ms)
        ),
        media_download_timeout: ms(
            p.positive("network.whatsapp_web.media_download_timeout_ms", w.media_download_timeout_ms)
        ),
    }
}

fn available_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_means_working_defaults() {
        let c = Config::load(None).unwrap();
        assert_eq!(c.dataplane.listen.port(), 8080);
        assert_eq!(c.controlplane.listen.port(), 8081);
        assert_eq!((c.pacing.min_delay_ms, c.pacing.max_delay_ms), (1000, 3000));
        assert_eq!(c.queue.max_waiting_disconnected, 1000);
        assert!(!c.webhooks.url_policy.allow_insecure_loopback);
        assert!(c.dataplane.shards >= 1);
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_key() {
        let err = Config::parse("[pacing]\nmin_delay_ms = 0\nmax_dealy_ms = 0\n").unwrap_err();
        assert!(err.to_string().contains("max_dealy_ms"), "{err}");
        let err = Config::parse("[pacng]\n").unwrap_err();
        assert!(err.to_string().contains("pacng"), "{err}");
    }

    #[test]
    fn every_invalid_value_is_reported_at_once_with_its_field() {
        let text = "[pacing]\nmin_delay_ms = 5000\nmax_delay_ms = 10\n[dataplane]\nlisten = \"nope\"\n";
        let err = Config::parse(text).unwrap_err().to_string();
        assert!(err.contains("pacing.min_delay_ms"), "{err}");
        assert!(err.contains("dataplane.listen"), "{err}");
    }

    #[test]
    fn the_control_plane_serves_tls_beyond_loopback_or_when_given_a_certificate() {
        let tls = |text: &str| Config::parse(text).map(|c| c.controlplane.tls);
        assert_eq!(tls("").unwrap(), ControlplaneTls::Off, "loopback by default: plain, as `chatedge up`");
        assert_eq!(tls("[controlplane]\nlisten = \"0.0.0.0:8081\"\n").unwrap(), ControlplaneTls::Generated);
        assert_eq!(tls("[controlplane]\ntls = true\n").unwrap(), ControlplaneTls::Generated);
        let files = tls("[controlplane]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n").unwrap();
        assert_eq!(files, ControlplaneTls::Files { cert: "c.pem".into(), key: "k.pem".into() });
        let off = "[controlplane]\nlisten = \"0.0.0.0:8081\"\ntls = false\n";
        assert_eq!(tls(off).unwrap(), ControlplaneTls::Off, "an operator behind a TLS proxy may say so");
        let half = tls("[controlplane]\ntls_cert = \"c.pem\"\n").unwrap_err().to_string();
        assert!(half.contains("controlplane.tls_key"), "{half}");
    }

    #[test]
    fn a_pinned_fingerprint_is_read_and_a_malformed_one_names_its_key() {
        let pin = format!("sha256:{}", "ab".repeat(32));
        let c = Config::parse(&format!("[dataplane]\ncontrol_plane_fingerprint = \"{pin}\"\n")).unwrap();
        assert_eq!(c.dataplane.control_plane_fingerprint.map(|f| f.to_string()), Some(pin));
        assert_eq!(Config::default().dataplane.control_plane_fingerprint, None);
        let err = Config::parse("[dataplane]\nadvertise_url = \"10.0.0.7:8080\"\n").unwrap_err();
        assert!(err.to_string().contains("dataplane.advertise_url"), "{err}");
        let c = Config::parse("[dataplane]\nadvertise_url = \"https://edge-1.example.com:8443/\"\n").unwrap();
        assert_eq!(c.dataplane.advertise_url.as_deref(), Some("https://edge-1.example.com:8443"));
        let err = Config::parse("[dataplane]\ncontrol_plane_fingerprint = \"sha256:00\"\n").unwrap_err();
        assert!(err.to_string().contains("dataplane.control_plane_fingerprint"), "{err}");
    }

    #[test]
    fn dead_letters_are_kept_a_week_unless_the_store_section_says_otherwise() {
        let c = Config::default();
        assert_eq!(c.store.dead_letter_retention, Duration::from_secs(7 * 24 * 3600));
        let c = Config::parse("[store]\ndead_letter_retention_ms = 60000\nblock_cache_bytes = 1048576\n").unwrap();
        assert_eq!(c.store.dead_letter_retention, Duration::from_secs(60));
        assert_eq!(c.store.block_cache_bytes, 1 << 20);
        let err = Config::parse("[store]\ndead_letter_retention_ms = 0\n").unwrap_err().to_string();
        assert!(err.contains("store.dead_letter_retention_ms"), "{err}");
    }

    #[test]
    fn durations_read_like_config() {
        let s = Duration::from_secs;
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("3s"), Some(s(3)));
        assert_eq!(parse_duration("5m"), Some(s(300)));
        assert_eq!(parse_duration("10h"), Some(s(36_000)));
        assert_eq!(parse_duration("5d"), Some(s(432_000)));
        for bad in ["", "5", "s", "5 parsecs", "-1s", "1.5s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn webhook_defaults_are_the_issue_9_policy() {
        let w = Config::default().webhooks;
        let h = |n: u64| Duration::from_secs(n * 3600);
        assert_eq!(
            w.retry_schedule,
            vec![Duration::from_secs(5), Duration::from_secs(300), Duration::from_secs(1800), h(2), h(5), h(10), h(10)]
        );
        assert_eq!((w.timeout, w.connect_timeout), (Duration::from_secs(10), Duration::from_secs(3)));
        assert_eq!((w.max_in_flight_per_endpoint, w.first_attempt_slots, w.retry_slots), (16, 512, 64));
        assert_eq!((w.breaker_min_attempts, w.breaker_probe_after), (10, Duration::from_secs(30)));
        assert_eq!(w.disable_after, Duration::from_secs(5 * 86_400));
    }

    #[test]
    fn a_webhook_schedule_is_human_durations_and_a_bad_one_is_named() {
        let c = Config::parse("[webhooks]\nretry_schedule = [\"1s\", \"500ms\", \"2m\"]\n").unwrap();
        assert_eq!(
            c.webhooks.retry_schedule,
            vec![Duration::from_secs(1), Duration::from_millis(500), Duration::from_secs(120)]
        );
        let err = Config::parse("[webhooks]\nretry_schedule = [\"1s\", \"soon\"]\nconnect_timeout = \"0s\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("webhooks.retry_schedule[1]") && err.contains("webhooks.connect_timeout"), "{err}");
    }

    #[test]
    fn the_old_backoff_keys_still_load_as_a_schedule_but_not_next_to_the_new_one() {
        let c = Config::parse("[webhooks]\nmax_attempts = 4\ninitial_backoff_ms = 50\nmax_backoff_ms = 120\n").unwrap();
        let ms = Duration::from_millis;
        assert_eq!(c.webhooks.retry_schedule, vec![ms(50), ms(100), ms(120)]);
        let err = Config::parse("[webhooks]\nmax_attempts = 4\nretry_schedule = [\"1s\"]\n").unwrap_err().to_string();
        assert!(err.contains("webhooks.retry_schedule") && err.contains("max_attempts"), "{err}");
        let err = Config::parse("[webhooks]\ntimeout_ms = 10\ntimeout = \"1s\"\n").unwrap_err().to_string();
        assert!(err.contains("webhooks.timeout"), "{err}");
    }

    #[test]
    fn webhook_private_networks_are_validated_at_load_naming_the_field() {
        let c = Config::parse("[webhooks]\nallow_private = [\"10.0.0.0/8\", \"fd00::/8\", \"192.168.1.7\"]\n").unwrap();
        let policy = &c.webhooks.address_policy;
        assert!(policy.permits("10.2.3.4".parse().unwrap()));
        assert!(policy.permits("fd00::1".parse().unwrap()));
        assert!(policy.permits("192.168.1.7".parse().unwrap()));
        assert!(!policy.permits("192.168.1.8".parse().unwrap()));
        assert!(!policy.permits("127.0.0.1".parse().unwrap()), "loopback needs allow_insecure_loopback");
        let err =
            Config::parse("[webhooks]\nallow_private = [\"10.0.0.0/33\", \"intranet\"]\n").unwrap_err().to_string();
        assert!(err.contains("webhooks.allow_private: '10.0.0.0/33'"), "{err}");
        assert!(err.contains("webhooks.allow_private: 'intranet'"), "{err}");
    }

    #[test]
    fn the_rotation_overlap_is_a_day_unless_configured() {
        assert_eq!(Config::default().webhooks.rotation_overlap, Duration::from_secs(24 * 3600));
        let c = Config::parse("[webhooks]\nrotation_overlap = \"2s\"\n").unwrap();
        assert_eq!(c.webhooks.rotation_overlap, Duration::from_secs(2));
        let err = Config::parse("[webhooks]\nrotation_overlap = \"soon\"\n").unwrap_err().to_string();
        assert!(err.contains("webhooks.rotation_overlap"), "{err}");
    }

    #[test]
    fn delivered_events_are_kept_a_day_for_replay_unless_configured_otherwise() {
        assert_eq!(Config::default().webhooks.delivered_retention, Duration::from_secs(24 * 3600));
        let c = Config::parse("[webhooks]\ndelivered_retention = \"90m\"\n").unwrap();
        assert_eq!(c.webhooks.delivered_retention, Duration::from_secs(90 * 60));
        let c = Config::parse("[webhooks]\ndelivered_retention = \"0\"\n").unwrap();
        assert_eq!(c.webhooks.delivered_retention, Duration::ZERO, "0 turns history off");
        let err = Config::parse("[webhooks]\ndelivered_retention = \"a day\"\n").unwrap_err().to_string();
        assert!(err.contains("webhooks.delivered_retention"), "{err}");
    }

    #[test]
    fn pacing_zero_is_allowed_for_load_tests() {
        let c = Config::parse("[pacing]\nmin_delay_ms = 0\nmax_delay_ms = 0\n").unwrap();
        assert_eq!(c.pacing.max_delay_ms, 0);
    }

    #[test]
    fn the_default_network_is_the_sim_unless_the_network_section_says_whatsapp_web() {
        assert_eq!(Config::default().network.default, DefaultNetwork::Sim);
        let c = Config::parse("[network]\ndefault = \"whatsapp-web\"\n").unwrap();
        assert_eq!(c.network.default, DefaultNetwork::WhatsappWeb);
        let err = Config::parse("[network]\ndefault = \"cloud-api\"\n").unwrap_err().to_string();
        assert!(err.contains("network.default"), "{err}");
    }

    #[test]
    fn whatsapp_web_settings_have_defaults_and_bad_ones_are_named() {
        let w = Config::default().network.whatsapp_web;
        assert_eq!(w.device_name, "chatedge");
        assert_eq!(w.lock_backoff, Duration::from_secs(12 * 3600));
        assert_eq!(w.temp_ban_backoff, Duration::from_secs(6 * 3600));
        let c = Config::parse("[network.whatsapp_web]\ndevice_name = \"Loja Centro\"\n").unwrap();
        assert_eq!(c.network.whatsapp_web.device_name, "Loja Centro");
        let c =
            Config::parse("[network.whatsapp_web]\nws_url = \"ws://127.0.0.1:9/ws/chat\"\nversion = \"2.3000.7\"\n")
                .unwrap();
        assert_eq!(c.network.whatsapp_web.ws_url.as_deref(), Some("ws://127.0.0.1:9/ws/chat"));
        assert_eq!(c.network.whatsapp_web.version, Some((2, 3000, 7)));
        let table = [
            ("device_name = \"\"", "network.whatsapp_web.device_name"),
            ("connect_timeout_ms = 0", "network.whatsapp_web.connect_timeout_ms"),
            ("media_download_timeout_ms = 0", "network.whatsapp_web.media_download_timeout_ms"),
            ("lock_backoff_ms = 60000", "network.whatsapp_web.lock_backoff_ms"),
            ("lease_tll_ms = 5", "lease_tll_ms"),
            ("ws_url = \"http://127.0.0.1:1\"", "network.whatsapp_web.ws_url"),
            ("version = \"2.x.1\"", "network.whatsapp_web.version"),
        ];
        for (line, named) in table {
            let err = Config::parse(&format!("[network.whatsapp_web]\n{line}\n")).unwrap_err().to_string();
            assert!(err.contains(named), "{line}: {err}");
        }
    }
}
