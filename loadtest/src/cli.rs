//! The command line: every flag of every scenario, their defaults and help text, and the
//! small parsers flags need (durations such as `10s`, the `mixed` operation weights). Nothing
//! here talks to the network; [`crate::run`] turns a parsed [`Cli`] into work.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};

use crate::client::protocol::{Protocol, Transport, DEFAULT_CONNECTIONS};

const ABOUT: &str = "Load tests for chatedge, over its public HTTP APIs only";

const LONG_ABOUT: &str = "\
Load tests for chatedge, over its public HTTP APIs only (integrator API, Z-API dialect, sim admin
routes, webhooks), with HDR histograms, coordinated-omission correction, an optional baseline
ratio against a minimal hyper endpoint, a summary table, --json and a self-contained --html report.

Server configuration the scenarios expect (a TOML file given to `chatedge up --config FILE`):

  [pacing]                      # a full-speed send test wants no pacing between messages
  min_delay_ms = 0
  max_delay_ms = 0
  [webhooks]                    # webhook scenarios (webhooks, mixed) need this: the embedded
  allow_insecure_loopback = true  # sink listens on http://127.0.0.1:PORT, which chatedge only
                                  # accepts as a webhook URL with this setting
  [network.sim]                 # short simulated-network delays
  ack_delay_ms = 1
  received_delay_ms = 5
  read_delay_ms = 10
  [queue]
  max_waiting_connected = 10000000
  [rate_limits]                 # a full-speed send from one address is far past the default
  instance_rps = 0              # per-instance limit (1,000/s): 0 turns it off

Tokens come from --admin-token / --integrator-token, or CHATEDGE_ADMIN_TOKEN /
CHATEDGE_INTEGRATOR_TOKEN, or --credentials FILE (the credentials.json that `chatedge up` writes,
by default ./chatedge-data/credentials.json, which is also tried when nothing else is given).";

const AFTER_HELP: &str = "\
Examples:
  chatedge-loadtest send --instances 4 --duration 10s --rate 2000 --compare-baseline --rounds 3
  chatedge-loadtest send --instances 4 --duration 10s --concurrency 64 --json --html report.html
  chatedge-loadtest send --data-plane https://127.0.0.1:8443 --insecure --protocol h3 --connections 4 \\
      --instances 4 --duration 10s --concurrency 64 --compare-baseline --rounds 3
  chatedge-loadtest webhooks --instances 4 --rate 1000 --duration 10s --sink 127.0.0.1:0 --drain 30s
  chatedge-loadtest webhooks --instances 50 --concurrency 64 --backlog 1000000 --drain 10m
  chatedge-loadtest pairing --instances 50 --concurrency 8
  chatedge-loadtest mixed --instances 4 --rate 500 --duration 10s --mix send=90,status=8,settings=2
  chatedge-loadtest chaos --chatedge target/release/chatedge --duration 10m --kill-min 5s --kill-max 30s
  chatedge-loadtest media --instances 4 --duration 10s --concurrency 16 --image-bytes 100KiB \\
      --server-pid \"$(pgrep -nx chatedge)\" --json --html media.html
  chatedge-loadtest media-burst --requests 50 --image-bytes 16MiB --server-pid \"$(pgrep -nx chatedge)\"

The media scenarios need `[pacing] min_delay_ms = 0, max_delay_ms = 0` like `send`; media-burst
also needs the server's queue and [media] limits to admit 50 waiting 16 MiB images.";

#[derive(Debug, Parser)]
#[command(name = "chatedge-loadtest", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Provision and pair N instances, then send texts at a constant rate (open loop) or a
    /// fixed concurrency (closed loop). A full-speed test wants `[pacing] min_delay_ms = 0,
    /// max_delay_ms = 0` on the server.
    Send(SendArgs),
    /// Like `send`, with every webhook URL pointing at an embedded sink on loopback; measures
    /// send → DeliveryCallback and send → READ and accounts for every message; exits 1 when
    /// events are missing, repeated beyond --max-duplicates, malformed or badly signed. Needs
    /// `[webhooks] allow_insecure_loopback = true` on the server.
    Webhooks(WebhooksArgs),
    /// Provision and pair K instances through the integrator API and the sim network.
    Pairing(PairingArgs),
    /// Sends plus status reads plus settings changes (webhook URLs pointing at the embedded
    /// sink; needs `[webhooks] allow_insecure_loopback = true` on the server).
    Mixed(MixedArgs),
    /// A soak: starts chatedge itself (--chatedge BINARY) on a fresh data directory, then sends,
    /// receives webhooks and pairs new instances while chatedge is killed (kill -9) and
    /// restarted at random moments (and, with --network-faults, connections dropped and
    /// devices removed on the sim network), for --duration; then drains, stops chatedge with
    /// SIGTERM and settles a ledger: acknowledged messages lost, webhook events lost,
    /// redeliveries, messages sent twice, bad signatures, kills, restarts, time to serve.
    /// Exits 1 when the ledger shows a defect.
    Chaos(ChaosArgs),
    /// Provision and pair N instances like `send`, then run two streams side by side in each
    /// round, concurrently and with the same pacing each (--rate or --concurrency applies to
    /// each stream): `POST send-text` and `POST send-image` with a base64 data URI of a
    /// --image-bytes PNG (random pixels, different bytes per request unless --repeat-image).
    /// Reports req/s, latency percentiles, accepted request-body bytes/s and non-2xx answers
    /// by status for each route, and with --server-pid the server's peak RSS.
    Media(MediaArgs),
    /// Provision instances, then fire --requests concurrent `POST send-image` at once, each with
    /// a base64 --image-bytes PNG (default 50 × 16 MiB), and report how many were accepted and
    /// the server's resident memory (--server-pid) before, at its peak during, and after.
    MediaBurst(MediaBurstArgs),
    /// The minimal endpoint used by --compare-baseline, on chatedge's own HTTP stack
    /// (chatedge-serve: HTTP/1.1 and h2c; with --tls-self-signed HTTP/1.1 and h2 over TLS and
    /// HTTP/3): parses the JSON body with serde and answers a small JSON; no auth, no storage.
    /// Prints `baseline-server listening on http://ADDR` (or https://ADDR, then its
    /// certificate in PEM).
    BaselineServer(BaselineServerArgs),
}

/// Where chatedge is and how to authenticate.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Data plane base URL (Z-API routes, sim admin routes).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub data_plane: String,
    /// Control plane base URL (integrator API).
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    pub control_plane: String,
    /// Admin token (for the sim network's /sim/scan).
    #[arg(long, env = "CHATEDGE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Integrator token (for POST /instances/integrator/on-demand).
    #[arg(long, env = "CHATEDGE_INTEGRATOR_TOKEN", hide_env_values = true)]
    pub integrator_token: Option<String>,
    /// credentials.json as written by `chatedge up` ({"adminToken", "integratorToken", ...}).
    #[arg(long)]
    pub credentials: Option<PathBuf>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Where the data plane's Prometheus metrics are (default: DATA_PLANE/metrics); give it
    /// when chatedge serves them on their own listener (`[metrics] listen`).
    #[arg(long, value_name = "URL")]
    pub metrics_url: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Which HTTP version the load speaks, over how many connections, trusting what.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// HTTP version of every request to the data plane (and to the baseline, which serves
    /// the same ones): http1; h2 (prior knowledge on http://, ALPN on https://); h3 (HTTP/3
    /// over QUIC to an https:// --data-plane's host and port number over UDP, where chatedge
    /// serves it with --tls-listen). The control plane gets h2 with h2, HTTP/1.1 with h3.
    #[arg(long, value_enum, default_value_t = Protocol::Http1)]
    pub protocol: Protocol,
    /// h2 and h3: connections kept per server, requests spread over them as concurrent
    /// streams (HTTP/1.1 opens as many connections as requests in flight).
    #[arg(long, default_value_t = DEFAULT_CONNECTIONS, value_parser = clap::value_parser!(u16).range(1..=1024).map(usize::from))]
    pub connections: usize,
    /// Accept any TLS certificate (chatedge's --tls-self-signed one, say).
    #[arg(long, conflicts_with = "ca")]
    pub insecure: bool,
    /// Trust the certificates in this PEM file (a CA, or chatedge's generated
    /// DATA_DIR/dataplane/tls-self-signed.pem).
    #[arg(long, value_name = "PEM")]
    pub ca: Option<PathBuf>,
}

impl Default for ClientArgs {
    /// HTTP/1.1, trusting no certificate: what the scenarios that start chatedge themselves use.
    fn default() -> Self {
        ClientArgs { protocol: Protocol::Http1, connections: DEFAULT_CONNECTIONS, insecure: false, ca: None }
    }
}

impl ClientArgs {
    /// The client's transport, with the --ca file read.
    pub fn transport(&self) -> anyhow::Result<Transport> {
        let ca_pem = match &self.ca {
            None => None,
            Some(path) => Some(std::fs::read(path).map_err(|e| anyhow::anyhow!("--ca {}: {e}", path.display()))?),
        };
        Ok(Transport { protocol: self.protocol, connections: self.connections, insecure: self.insecure, ca_pem })
    }
}

/// How much load, for how long, and against what.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Instances to provision and pair; requests are spread over them round-robin.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub instances: u32,
    /// Length of each measured round (e.g. 500ms, 10s, 2m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Open loop: requests per second, on a fixed schedule. Latency is measured from each
    /// request's intended send time (coordinated-omission correction).
    #[arg(long, conflicts_with = "concurrency", required_unless_present = "concurrency")]
    pub rate: Option<f64>,
    /// Closed loop: this many requests in flight, each sent when the previous one answered.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: Option<u32>,
    /// Closed loop only: the expected interval between a worker's requests; latencies longer
    /// than it are corrected with HdrHistogram's record_correct. Without it closed-loop figures
    /// are plain service times (closed loop slows down with the server, so they understate
    /// what an open-loop client would see).
    #[arg(long, value_parser = parse_duration)]
    pub co_interval: Option<Duration>,
    /// Open loop only: most requests in flight; when reached the schedule keeps running and
    /// the wait counts as latency.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: u32,
    /// Measured rounds per target. With --compare-baseline the runs alternate baseline,
    /// chatedge, baseline, chatedge, ... and the report gives the median of each.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// After each chatedge round, the next round waits until the server's queue is empty
    /// (--queue-metric reads zero), at most this long; the report shows each round's backlog
    /// and how long it took to drain. The wait lasts at least 1.1 s: the data plane publishes
    /// its queue gauge once a second.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub queue_drain_limit: Duration,
    /// The /metrics family (summed over its labels) that counts accepted messages not yet
    /// taken by the network.
    #[arg(long, default_value = "chatedge_dp_queue_depth")]
    pub queue_metric: String,
    /// Pause after every round (after the backlog drain), so the next one starts on a settled
    /// machine.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    pub pause: Duration,
    /// Also run the same load (same request bodies) against `chatedge-loadtest baseline-server`
    /// (started by this tool, as a child process on 127.0.0.1) and report ratios to it.
    #[arg(long)]
    pub compare_baseline: bool,
    /// Characters in each text message.
    #[arg(long, default_value_t = 32)]
    pub message_chars: usize,
}

/// What to print and write.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Print one JSON object as the last line of stdout (the table goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Write a self-contained HTML report (inline SVG charts, no scripts) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// When a webhook scenario fails (exit status 1).
#[derive(Debug, Clone, Args)]
pub struct VerdictArgs {
    /// Redeliveries (the same webhook-id again) tolerated before the run fails. Delivery is
    /// at-least-once, but a sink that answers 200 at once should not see any. Missing events,
    /// events recreated under a new webhook-id, bad signatures and malformed bodies always fail.
    #[arg(long, default_value_t = 0)]
    pub max_duplicates: u64,
}

/// The embedded webhook sink.
#[derive(Debug, Clone, Args)]
pub struct SinkArgs {
    /// Where the webhook sink listens (loopback; port 0 picks a free one). chatedge accepts
    /// http://127.0.0.1 webhook URLs only with `[webhooks] allow_insecure_loopback = true`.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub sink: SocketAddr,
}

#[derive(Debug, Clone, Args)]
pub struct WebhooksArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub sink: SinkArgs,
    /// After sending, how long to wait for outstanding DeliveryCallbacks and READ statuses
    /// (with --backlog: for the whole backlog to drain).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub drain: Duration,
    /// Backlog drain instead of rounds: with the sink down (answering 503), send enough texts
    /// (at --rate or --concurrency) to produce this many webhook events, wait until the
    /// server's queues are empty, bring the sink back and time the drain to zero, printing
    /// deliveries/s each second. 0 = off. Give the server short retry backoffs, or the drain
    /// waits for them.
    #[arg(long, default_value_t = 0)]
    pub backlog: u64,
    /// With --backlog: the /metrics family printed as the server's backlog in progress lines.
    #[arg(long, default_value = "chatedge_dp_outbox_tracked")]
    pub backlog_metric: String,
    #[command(flatten)]
    pub verdict: VerdictArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct PairingArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Instances to provision and pair.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub instances: u32,
    /// Instances provisioned and paired at the same time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
    /// Longest wait for one instance to report `connected: true` after its scan.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub pair_timeout: Duration,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct MixedArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub sink: SinkArgs,
    /// Operation weights: send (POST send-text), status (GET status), settings (PUT
    /// update-webhook-delivery / update-webhook-message-status / update-every-webhooks).
    #[arg(long, default_value = "send=90,status=8,settings=2", value_parser = parse_mix)]
    pub mix: Mix,
    /// After each chatedge round, how long to wait for outstanding webhooks.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub drain: Duration,
    #[command(flatten)]
    pub verdict: VerdictArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ChaosArgs {
    /// The chatedge binary to run (`chatedge up`), e.g. target/release/chatedge.
    #[arg(long, value_name = "PATH")]
    pub chatedge: PathBuf,
    /// Data directory for chatedge (created; default: a fresh directory under the system's
    /// temporary directory, removed after a clean run).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep the data directory (and chatedge.log in it) after a clean run.
    #[arg(long)]
    pub keep_data: bool,
    /// How long the chaos lasts (sends, pairings and kills); the drain comes after.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub duration: Duration,
    /// Instances provisioned and paired before the chaos starts.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub instances: u32,
    /// Most instances in all, counting those created during the run.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_instances: u32,
    /// A new instance is created and paired this often during the run.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub pair_every: Duration,
    /// send-text requests per second, over all workers.
    #[arg(long, default_value_t = 300.0)]
    pub rate: f64,
    /// send-text workers, each with at most one request in flight.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
    /// Most send-text requests in all (bounds the ledger's memory on long runs).
    #[arg(long, default_value_t = 1_000_000)]
    pub max_messages: u64,
    /// Shortest wait between two kills.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub kill_min: Duration,
    /// Longest wait between two kills.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub kill_max: Duration,
    /// Also drop connections (`POST /sim/drop`) and remove devices (`POST /sim/logout`) of
    /// random instances. A data plane without these routes answers 404: reported, not fatal.
    #[arg(long)]
    pub network_faults: bool,
    /// Shortest wait between two network faults.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub fault_min: Duration,
    /// Longest wait between two network faults.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub fault_max: Duration,
    /// After the chaos, how long to wait for outstanding DeliveryCallbacks and SENT statuses
    /// (it ends earlier once every queue is empty and no webhook came for 5 s).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub grace: Duration,
    /// Seed of the random kill and fault times (default: from the clock; printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Characters in each text message.
    #[arg(long, default_value_t = 32)]
    pub message_chars: usize,
    #[command(flatten)]
    pub sink: SinkArgs,
    /// Print the ledger as one JSON object on the last line of stdout (the text goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Also write that JSON object to FILE.
    #[arg(long, value_name = "FILE")]
    pub json_file: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Sampling the server's memory.
#[derive(Debug, Clone, Args)]
pub struct RssArgs {
    /// PID of the chatedge server (e.g. `$(pgrep -nx chatedge)`); its VmRSS and VmHWM are read
    /// from /proc/PID/status. Without it no memory figures are reported.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// How often the server's memory is sampled (VmHWM, the kernel's own high-water mark, is
    /// read too, so a peak between two samples still shows).
    #[arg(long, default_value = "20ms", value_parser = parse_duration)]
    pub rss_every: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct MediaArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Size of the PNG each send-image request uploads (e.g. 100KiB, 2MiB, 150000); the base64
    /// JSON body is about 4/3 of it.
    #[arg(long, default_value = "100KiB", value_parser = parse_size)]
    pub image_bytes: usize,
    /// Upload the same image bytes every time (the server stores identical media once, so this
    /// measures its deduplication path instead of storing each image).
    #[arg(long)]
    pub repeat_image: bool,
    #[command(flatten)]
    pub rss: RssArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct MediaBurstArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Instances to provision and pair; the uploads are spread over them round-robin.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub instances: u32,
    /// Concurrent send-image requests, all released at the same moment.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub requests: u32,
    /// Size of each uploaded PNG (e.g. 16MiB); the base64 JSON body is about 4/3 of it.
    #[arg(long, default_value = "16MiB", value_parser = parse_size)]
    pub image_bytes: usize,
    /// Upload the same image bytes in every request (stored once by the server).
    #[arg(long)]
    pub repeat_image: bool,
    /// Timeout of each upload (the provisioning calls keep --timeout).
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub upload_timeout: Duration,
    /// After the burst, how long to wait before the "after" memory reading.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub settle: Duration,
    #[command(flatten)]
    pub rss: RssArgs,
    /// Print one JSON object as the last line of stdout (the text goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BaselineServerArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Serve HTTP/1.1 and h2 over TLS (ALPN) on --listen and HTTP/3 on the same port number
    /// over UDP, with a certificate generated at start (as chatedge's --tls-self-signed),
    /// printed in PEM after the listening line. Without it: HTTP/1.1 and h2c, plain.
    #[arg(long)]
    pub tls_self_signed: bool,
}

/// Relative weights of the `mixed` scenario's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    pub send: u32,
    pub status: u32,
    pub settings: u32,
}

/// Parses `500ms`, `10s`, `1.5s`, `2m`, `1h`, `250us`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("`{s}` is not a duration (try 500ms, 10s, 2m)"))?;
    let seconds_per_unit = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" | "min" | "mins" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unknown duration unit `{other}` in `{s}` (use us, ms, s, m or h)")),
    };
    let secs = value * seconds_per_unit;
    if !(0.0..=1e9).contains(&secs) {
        return Err(format!("duration `{s}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Largest --image-bytes: far above any media limit chatedge has (documents, 100 MB).
pub const MAX_IMAGE_BYTES: usize = 1 << 30;

/// Parses a size in bytes: `102400`, `100KiB` (or `100k`), `16MiB` (or `16m`), `1GiB`, and
/// the decimal `100kB`, `16MB`; at least 1 KiB, at most [`MAX_IMAGE_BYTES`].
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("`{s}` is not a size (try 100KiB, 16MiB)"))?;
    let bytes_per_unit = match unit.trim() {
        "" | "B" | "b" => 1.0,
        "k" | "K" | "KiB" | "kiB" => 1024.0,
        "m" | "M" | "MiB" => 1024.0 * 1024.0,
        "g" | "G" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        other => return Err(format!("unknown size unit `{other}` in `{s}` (use KiB, MiB, GiB, kB, MB or GB)")),
    };
    let bytes = (value * bytes_per_unit).round();
    if !(1024.0..=MAX_IMAGE_BYTES as f64).contains(&bytes) {
        return Err(format!("size `{s}` is out of range (1 KiB to 1 GiB)"));
    }
    Ok(bytes as usize)
}

/// Parses `send=90,status=8,settings=2` (missing names weigh 0; at least one must be > 0).
pub fn parse_mix(s: &str) -> Result<Mix, String> {
    let mut mix = Mix { send: 0, status: 0, settings: 0 };
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part.split_once('=').ok_or_else(|| format!("`{part}`: expected name=weight"))?;
        let weight: u32 = weight.trim().parse().map_err(|_| format!("`{part}`: weight must be a whole number"))?;
        match name.trim() {
            "send" => mix.send = weight,
            "status" => mix.status = weight,
            "settings" => mix.settings = weight,
            other => return Err(format!("unknown operation `{other}` (send, status, settings)")),
        }
    }
    if mix.send + mix.status + mix.settings == 0 {
        return Err("at least one weight must be greater than 0".into());
    }
    Ok(mix)
}

#[cfg(test)]
mod tests;
