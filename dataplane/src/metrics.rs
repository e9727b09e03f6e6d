//! Every metric family the data plane exports, named once. Labels are bounded: route names
//! from the router's fixed table, shard indices, fixed outcome words — never ids or phones.
//! `/metrics` renders [`Metrics::render`] in the Prometheus text format.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chatedge_serve::metrics::register;
use prometheus::{
    exponential_buckets, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry,
};

pub struct Metrics {
    registry: Registry,
    /// Tells this set of families from another one in the same process (tests run several
    /// data planes), for the per-thread series of [`Metrics::record_request`].
    id: u64,
    /// Campaigns (issue 14): recipients by outcome, opt-outs, runs by event, live feeders and
    /// those a daily limit holds until the next day, feeds the shard refused (queue full,
    /// store busy, the day's limits), CSV rows imported by result.
    pub campaign_recipients: IntCounterVec,
    pub campaign_suppressions: IntCounter,
    pub campaign_runs: IntCounterVec,
    pub campaign_feeders: IntGauge,
    pub campaign_feeders_held: IntGauge,
    pub campaign_feed_waits: IntCounter,
    pub campaign_csv_rows: IntCounterVec,
    pub campaign_exports: IntCounterVec,
    pub campaign_export_rows: IntCounter,
    pub http_requests: IntCounterVec,
    pub http_seconds: HistogramVec,
    pub send_accept_seconds: Histogram,
    pub refusals: IntCounterVec,
    pub messages: IntCounterVec,
    pub queue_depth: IntGaugeVec,
    pub queue_oldest_age_seconds: IntGaugeVec,
    pub sessions: IntGaugeVec,
    pub shard_commands_pending: IntGaugeVec,
    pub shard_loop_turns: IntCounterVec,
    /// Open HTTP connections served on each shard's thread (`[dataplane] connections_on_shards`).
    pub shard_connections: IntGaugeVec,
    /// Connections placed on a shard by their first request (`[dataplane] steer_connections`),
    /// by how: `steered` to the shard of the instance it named, `spread` round robin (it named
    /// none, it speaks h2, or that shard held too many connections already).
    pub connections_placed: IntCounterVec,
    pub network_events: IntCounterVec,
    pub session_link_events: IntCounterVec,
    pub shard_commit_pending_bytes: IntGaugeVec,
    pub webhook_attempts: IntCounterVec,
    pub webhook_delivery_seconds: Histogram,
    pub webhook_request_seconds: Histogram,
    pub outbox_tracked: IntGauge,
    pub outbox_in_flight: IntGauge,
    pub outbox_scans: IntCounter,
    pub webhook_deliveries: IntCounterVec,
    pub webhook_events_dropped: IntCounterVec,
    pub webhook_backlog_events: IntGauge,
    pub webhook_oldest_pending_seconds: IntGauge,
    pub webhook_breakers_open: IntGauge,
    pub webhook_recovery_probes: IntCounterVec,
    pub webhook_endpoints_disabled: IntGauge,
    pub webhook_lanes_active: IntGauge,
    pub webhook_slots_in_use: IntGaugeVec,
    pub store_commit_seconds: Histogram,
    pub store_batch_size: Histogram,
    pub store_commits: IntCounter,
    pub store_errors: IntCounter,
    pub store_pending: IntGauge,
    pub store_compactions: IntCounter,
    pub store_abandoned: IntCounter,
    /// Ringing calls declined by the instance's callRejectAuto.
    pub calls_declined: IntCounter,
    pub store_healthy: IntGauge,
    pub store_compactions_dropped: IntCounter,
    pub dead_letters_pruned: IntCounter,
    /// Issue 9 §4 (dead letters, history, replay).
    pub webhook_dead_letters: IntGauge,
    pub webhook_history_events: IntGauge,
    pub webhook_history_pruned: IntCounter,
    pub webhook_requeued: IntCounterVec,
    pub config_version: IntGauge,
    pub config_updates: IntCounterVec,
    /// Session reports to the control plane by outcome: sent, failed.
    pub session_reports: IntCounterVec,
    /// Today's sends of this node's accounts under a daily quota on other data planes, as the
    /// control plane last answered a report (counted against their quota here too).
    pub account_sends_elsewhere: IntGauge,
    pub control_plane_connected: IntGauge,
    /// Instances held out of service because this node refused their configuration.
    pub quarantined_instances: IntGauge,
    /// Requests for an instance another node owns, forwarded there, by outcome: answered (the
    /// owner's answer, whatever its status), unreachable, no_address (the owner advertised
    /// none), too_large (over `max_body_bytes`).
    pub proxied_requests: IntCounterVec,
    /// Requests presenting another node's peer key, by result: accepted, refused (a key no
    /// node holds: the headers are dropped and the request served as a client's).
    pub peer_requests: IntCounterVec,
    pub config_batches: IntCounterVec,
    pub instance_teardowns: IntCounterVec,
    pub media_files: IntGauge,
    pub media_bytes: IntGauge,
    pub media_deleted: IntCounter,
    pub media_holds_expired: IntCounter,
    pub media_sweeps_aborted: IntCounter,
    pub media_uploads: IntCounterVec,
    pub media_upload_bytes: IntCounter,
    /// Sticker files rewritten as WhatsApp takes them (a PNG made a 512×512 WebP, a
    /// `stickerAuthor` written in), by when (`accepted`: sent as base64; `sent`: fetched by URL)
    /// and outcome (`written`, `refused`).
    pub sticker_rewrites: IntCounterVec,
    /// Still stickers made lossy WebPs within a network's size (the Cloud API's 100 KB), by
    /// outcome (`made`, `refused`) and the quality that fitted (`90` … `30`, `none`).
    pub sticker_compressions: IntCounterVec,
    /// SVG pictures drawn as PNG (images, statuses, photos; stickers are counted as rewrites),
    /// by when (`accepted`: sent as base64 or uploaded; `sent`: fetched by URL) and outcome
    /// (`drawn`, `refused`).
    pub svg_drawings: IntCounterVec,
    /// GIF and WebP pictures made JPEG for a network that takes only JPEG and PNG (the Cloud
    /// API), by outcome (`made`, `refused`).
    pub picture_conversions: IntCounterVec,
    pub media_fetches: IntCounterVec,
    pub account_calls: IntCounterVec,
    /// Webhook URLs refused for the address their host has (issue 9 §6), by address class
    /// ("loopback", "private" … — a fixed table) and by when: `set` (a settings route) or
    /// `connect` (an attempt; the attempt fails).
    pub webhook_refused: IntCounterVec,
    pub cloud_api_notifications: IntCounterVec,
    pub cloud_api_inbound_events: IntCounterVec,
    /// Cloud API sends by outcome: accepted, rejected, connection_lost, recognised (a resend
    /// answered from the recorded wamid without a second post).
    pub cloud_api_sends: IntCounterVec,
    /// Rate-limit answers of the Graph API to sends (each slows its instance down).
    pub cloud_api_rate_limited: IntCounter,
    pub cloud_api_parked: IntGauge,
    /// Media for Cloud API sends: uploaded, cached (an earlier upload reused), failed.
    pub cloud_api_uploads: IntCounterVec,
    /// Credential checks of Cloud API numbers by outcome.
    pub cloud_api_verifications: IntCounterVec,
    /// Account calls handed to the Cloud API connector, by family (refused ones included).
    pub cloud_api_account_calls: IntCounterVec,
    /// Keys each rate limiter tracks (issue 11 §3), by scope: instance, account, ip. Refusals
    /// are counted in `refusals` (`rate_limited_*`).
    pub rate_limit_keys: IntGaugeVec,
    /// Sends with an Idempotency-Key (issue 11 §4), by what became of the key: fresh,
    /// replayed, conflict, waited (a concurrent duplicate waited for the first).
    pub idempotency_keys: IntCounterVec,
    /// "Already delivered" marks of Cloud API notifications forgotten after their retention.
    pub cloud_api_seen_marks_pruned: IntCounter,
    pub cloud_api_message_ids_pruned: IntCounter,
    /// Events of the WhatsApp Web connector handed to the shards, by kind (`NetworkEvent::kind`:
    /// pairing_code, connected, disconnected — including the at-once answers of a cooling-down
    /// line —, accepted, rejected, status, incoming, …).
    pub whatsapp_web_events: IntCounterVec,
    /// Files of the WhatsApp Web connector: sent (`read`, `unreadable`) and received
    /// (`stored`, `missing` — the engine could not download it —, `refused` by the media store).
    pub whatsapp_web_media: IntCounterVec,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Label sets a thread keeps handles for before it starts over: routes × dialects × statuses
/// is a few hundred in practice; the bound only keeps a thread's map finite whatever happens.
const MAX_REQUEST_SERIES_PER_THREAD: usize = 4096;

/// One label set of the per-request families, by where the labels are (they are the router's
/// `'static` names: equal names mostly share one address, and two copies of one name only make
/// two handles on the same series). The length counts too: one name may begin where a longer
/// one does.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct SeriesKey {
    metrics: u64,
    route: (usize, usize),
    dialect: (usize, usize),
    status: u16,
}

/// Where a `'static` label is: its address and length.
fn place(label: &'static str) -> (usize, usize) {
    (label.as_ptr() as usize, label.len())
}

thread_local! {
    static REQUEST_SERIES: RefCell<HashMap<SeriesKey, (IntCounter, Histogram)>> = RefCell::new(HashMap::new());
}

fn latency_buckets() -> Vec<f64> {
    // 50 µs … ~13 s
    exponential_buckets(0.000_05, 2.0, 19).unwrap_or_default()
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new();
        let hist = |name: &str, help: &str| HistogramOpts::new(name, help).buckets(latency_buckets());
        Metrics {
            http_requests: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_http_requests_total", "HTTP requests by route, dialect and status"),
                    &["route", "dialect", "status"],
                ),
            ),
            http_seconds: register(
                &r,
                HistogramVec::new(
                    hist("chatedge_dp_http_request_seconds", "HTTP request latency by route"),
                    &["route"],
                ),
            ),
            send_accept_seconds: register(
                &r,
                Histogram::with_opts(hist(
                    "chatedge_dp_send_accept_seconds",
                    "send request received → durably queued → answered",
                )),
            ),
            refusals: register(
                &r,
                IntCounterVec::new(Opts::new("chatedge_dp_refusals_total", "requests refused, by reason"), &["reason"]),
            ),
            messages: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_messages_total", "outbound messages by outcome"),
                    &["outcome"],
                ),
            ),
            queue_depth: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("chatedge_dp_queue_depth", "messages waiting in the durable queue, per shard"),
                    &["shard"],
                ),
            ),
            queue_oldest_age_seconds: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "chatedge_dp_queue_oldest_age_seconds",
                        "age of the oldest loaded queued message, per shard",
                    ),
                    &["shard"],
                ),
            ),
            sessions: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("chatedge_dp_sessions", "sessions by state, per shard"),
                    &["shard", "state"],
                ),
            ),
            shard_commands_pending: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("chatedge_dp_shard_commands_pending", "commands waiting for a shard"),
                    &["shard"],
                ),
            ),
            shard_loop_turns: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_shard_loop_turns_total", "shard event-loop iterations"),
                    &["shard"],
                ),
            ),
            shard_connections: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("chatedge_dp_shard_connections", "open HTTP connections (TCP and QUIC) served on each shard's thread"),
                    &["shard"],
                ),
            ),
            connections_placed: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_connections_placed_total",
                        "connections placed by their first request: steered to its instance's shard, or spread",
                    ),
                    &["how"],
                ),
            ),
            network_events: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_network_events_total", "events from the chat network, by kind"),
                    &["kind"],
                ),
            ),
            session_link_events: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_session_link_events_total",
                        "session connection changes: attempt, attempt_timed_out, connected, lost, logged_out, stale",
                    ),
                    &["event"],
                ),
            ),
            shard_commit_pending_bytes: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("chatedge_dp_shard_commit_pending_bytes", "bytes a shard has waiting for the committer"),
                    &["shard"],
                ),
            ),
            webhook_attempts: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_webhook_attempts_total", "webhook delivery attempts by outcome"),
                    &["outcome"],
                ),
            ),
            webhook_delivery_seconds: register(
                &r,
                // 1 ms … ~3 days: an event may wait out the whole 27.5 h retry schedule.
                Histogram::with_opts(
                    HistogramOpts::new(
                        "chatedge_dp_webhook_delivery_seconds",
                        "event created → delivered (2xx), including retries",
                    )
                    .buckets(exponential_buckets(0.001, 4.0, 15).unwrap_or_default()),
                ),
            ),
            webhook_request_seconds: register(
                &r,
                Histogram::with_opts(hist("chatedge_dp_webhook_request_seconds", "one webhook HTTP request")),
            ),
            outbox_tracked: register(
                &r,
                IntGauge::new(
                    "chatedge_dp_outbox_tracked",
                    "webhook events known to the dispatcher and not yet delivered",
                ),
            ),
            outbox_in_flight: register(&r, IntGauge::new("chatedge_dp_outbox_in_flight", "webhook requests under way")),
            outbox_scans: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_outbox_scans_total",
                    "prefix-skipping scans for non-empty outbox queues (start-up and overflow)",
                ),
            ),
            webhook_deliveries: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_webhook_deliveries_total",
                        "webhook events by what happened to them: delivered, failed_will_retry, dead_letter, \
                         disabled (dead-lettered because the endpoint is disabled), dropped (URL cleared)",
                    ),
                    &["outcome"],
                ),
            ),
            webhook_events_dropped: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_webhook_events_dropped_total", "pending webhook events dropped, by reason"),
                    &["reason"],
                ),
            ),
            webhook_backlog_events: register(
                &r,
                IntGauge::new("chatedge_dp_webhook_backlog_events", "webhook events pending in the outbox (estimate)"),
            ),
            webhook_oldest_pending_seconds: register(
                &r,
                IntGauge::new(
                    "chatedge_dp_webhook_oldest_pending_seconds",
                    "age of the oldest pending webhook event at a lane head",
                ),
            ),
            webhook_recovery_probes: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_webhook_recovery_probes_total",
                        "early tries of a head whose endpoint waits on a distant retry: recovered, failed",
                    ),
                    &["outcome"],
                ),
            ),
            webhook_breakers_open: register(
                &r,
                IntGauge::new(
                    "chatedge_dp_webhook_breakers_open",
                    "webhook endpoints whose breaker is open or probing",
                ),
            ),
            webhook_endpoints_disabled: register(
                &r,
                IntGauge::new(
                    "chatedge_dp_webhook_endpoints_disabled",
                    "(instance, endpoint) pairs disabled (410 Gone or failing for disable_after)",
                ),
            ),
            webhook_lanes_active: register(
                &r,
                IntGauge::new("chatedge_dp_webhook_lanes_active", "(instance, endpoint) lanes with events pending"),
            ),
            webhook_slots_in_use: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("chatedge_dp_webhook_slots_in_use", "webhook attempts in flight, by slot class"),
                    &["class"],
                ),
            ),
            store_commit_seconds: register(
                &r,
                Histogram::with_opts(hist("chatedge_dp_store_commit_seconds", "one group commit: write + fsync")),
            ),
            store_batch_size: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new("chatedge_dp_store_batch_size", "batches per group commit")
                        .buckets(exponential_buckets(1.0, 2.0, 11).unwrap_or_default()),
                ),
            ),
            store_commits: register(&r, IntCounter::new("chatedge_dp_store_commits_total", "group commits")),
            store_errors: register(&r, IntCounter::new("chatedge_dp_store_errors_total", "failed group commits")),
            store_pending: register(
                &r,
                IntGauge::new("chatedge_dp_store_pending_batches", "batches waiting for the committer"),
            ),
            store_compactions: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_store_compactions_total",
                    "manual compactions of consumed queue and outbox spans",
                ),
            ),
            store_abandoned: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_store_abandoned_total",
                    "batches not written because their requester stopped waiting first",
                ),
            ),
            calls_declined: register(
                &r,
                IntCounter::new("chatedge_dp_calls_declined_total", "ringing calls declined by callRejectAuto"),
            ),
            store_healthy: register(
                &r,
                IntGauge::new("chatedge_dp_store_healthy", "1 while the store accepts writes, 0 while they fail"),
            ),
            store_compactions_dropped: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_store_compactions_dropped_total",
                    "compaction requests dropped because the compactor's queue was full",
                ),
            ),
            dead_letters_pruned: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_dead_letters_pruned_total",
                    "dead-letter webhook events deleted after [store] dead_letter_retention_ms",
                ),
            ),
            webhook_dead_letters: register(
                &r,
                IntGauge::new(
                    "chatedge_dp_webhook_dead_letters",
                    "dead-letter webhook events kept (RocksDB's estimate, refreshed by the compactor)",
                ),
            ),
            webhook_history_events: register(
                &r,
                IntGauge::new(
                    "chatedge_dp_webhook_history_events",
                    "delivered webhook events kept for replay (RocksDB's estimate, refreshed by the compactor)",
                ),
            ),
            webhook_history_pruned: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_webhook_history_pruned_total",
                    "delivered webhook events deleted after [webhooks] delivered_retention",
                ),
            ),
            webhook_requeued: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_webhook_requeued_total",
                        "past webhook events put back in the outbox, by source: retry (one dead letter), replay",
                    ),
                    &["source"],
                ),
            ),
            config_version: register(&r, IntGauge::new("chatedge_dp_config_version", "applied config version")),
            config_updates: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_config_updates_total", "config updates by result"),
                    &["result"],
                ),
            ),
            session_reports: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_session_reports_total", "session reports to the control plane by outcome"),
                    &["outcome"],
                ),
            ),
            account_sends_elsewhere: register(
                &r,
                IntGauge::new(
                    "chatedge_dp_account_sends_elsewhere",
                    "today's sends on other data planes of this node's accounts under a dailyQuota, as the control plane last said",
                ),
            ),
            control_plane_connected: register(
                &r,
                IntGauge::new("chatedge_dp_control_plane_connected", "1 while the config stream is up"),
            ),
            quarantined_instances: register(
                &r,
                IntGauge::new(
                    "chatedge_dp_quarantined_instances",
                    "instances held out of service because this node refused their configuration",
                ),
            ),
            proxied_requests: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_proxied_requests_total", "requests forwarded to the owning data plane"),
                    &["outcome"],
                ),
            ),
            peer_requests: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_peer_requests_total", "requests that presented a peer key"),
                    &["result"],
                ),
            ),
            config_batches: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_config_batches_total",
                        "durable batches written to persist config updates: in place (small change) or staged \
                         (large change, written in bounded chunks then swapped in)",
                    ),
                    &["mode"],
                ),
            ),
            instance_teardowns: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_instance_teardowns_total",
                        "instances removed from the configuration whose session, queue and saved state were \
                         deleted, by when (on update, or finished at start-up after a crash)",
                    ),
                    &["when"],
                ),
            ),
            media_files: register(
                &r,
                IntGauge::new("chatedge_dp_media_files", "files in the media store at the last sweep"),
            ),
            media_bytes: register(
                &r,
                IntGauge::new("chatedge_dp_media_bytes", "bytes in the media store at the last sweep"),
            ),
            media_deleted: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_media_deleted_total",
                    "media files the sweep deleted because no queued message or unexpired received media needed them",
                ),
            ),
            media_holds_expired: register(
                &r,
                IntCounter::new("chatedge_dp_media_holds_expired_total", "received media whose retention ran out"),
            ),
            media_sweeps_aborted: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_media_sweeps_aborted_total",
                    "media sweeps that deleted nothing because the store could not be read whole",
                ),
            ),
            account_calls: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_account_calls_total",
                        "account calls (contacts, chats, groups, …) handed to a connector, by family",
                    ),
                    &["family"],
                ),
            ),
            cloud_api_notifications: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_cloud_api_notifications_total",
                        "Cloud API webhook requests by outcome: committed, bad_signature, unknown_instance, \
                         malformed, too_large, busy, unavailable, verified, verify_refused",
                    ),
                    &["outcome"],
                ),
            ),
            cloud_api_sends: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_cloud_api_sends_total", "Cloud API message sends by outcome"),
                    &["outcome"],
                ),
            ),
            whatsapp_web_events: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_whatsapp_web_events_total",
                        "events of the WhatsApp Web connector handed to the shards, by kind",
                    ),
                    &["kind"],
                ),
            ),
            whatsapp_web_media: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_whatsapp_web_media_total",
                        "files of the WhatsApp Web connector, by direction (sent, received) and outcome",
                    ),
                    &["direction", "outcome"],
                ),
            ),
            cloud_api_seen_marks_pruned: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_cloud_api_seen_marks_pruned_total",
                    "marks of delivered Cloud API messages and statuses deleted after [network.cloud_api] seen_retention",
                ),
            ),
            cloud_api_message_ids_pruned: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_cloud_api_message_ids_pruned_total",
                    "Cloud API message-id pairs (with their zaapId rows) deleted after [network.cloud_api] message_id_retention",
                ),
            ),
            cloud_api_rate_limited: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_cloud_api_rate_limited_total",
                    "rate-limit answers of the Graph API to sends (the instance slows down, the message waits)",
                ),
            ),
            cloud_api_parked: register(
                &r,
                IntGauge::new(
                    "chatedge_dp_cloud_api_parked_messages",
                    "Cloud API messages parked behind a pair rate limit (131056), waiting to be posted",
                ),
            ),
            cloud_api_uploads: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_cloud_api_media_total",
                        "media of Cloud API sends: uploaded, cached, failed",
                    ),
                    &["outcome"],
                ),
            ),
            cloud_api_verifications: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_cloud_api_verifications_total",
                        "credential checks of Cloud API numbers against the Graph API, by outcome",
                    ),
                    &["outcome"],
                ),
            ),
            cloud_api_inbound_events: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_cloud_api_inbound_events_total",
                        "messages and statuses read from Cloud API notifications, by outcome: handed, \
                         duplicate, unknown_message, media_failed",
                    ),
                    &["outcome"],
                ),
            ),
            cloud_api_account_calls: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_cloud_api_account_calls_total",
                        "account calls handed to the Cloud API connector, by family",
                    ),
                    &["family"],
                ),
            ),
            rate_limit_keys: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("chatedge_dp_rate_limit_keys", "keys tracked by each rate limiter at its last sweep"),
                    &["scope"],
                ),
            ),
            idempotency_keys: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_idempotency_keys_total", "sends with an Idempotency-Key, by outcome"),
                    &["outcome"],
                ),
            ),
            media_uploads: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_media_uploads_total",
                        "base64 media in requests by kind and outcome (stored, refused, busy)",
                    ),
                    &["kind", "outcome"],
                ),
            ),
            sticker_rewrites: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_sticker_rewrites_total",
                        "sticker files rewritten as WhatsApp takes them (PNG to 512x512 WebP, stickerAuthor written \
                         in), by when (accepted, sent) and outcome (written, refused)",
                    ),
                    &["when", "outcome"],
                ),
            ),
            sticker_compressions: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_sticker_compressions_total",
                        "still stickers made lossy WebP within a network's size (the Cloud API's 100 KB), by outcome \
                         (made, refused) and the quality that fitted (90 to 30, none)",
                    ),
                    &["outcome", "quality"],
                ),
            ),
            svg_drawings: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_svg_drawings_total",
                        "SVG pictures drawn as PNG before they are sent, by when (accepted, sent) and outcome \
                         (drawn, refused)",
                    ),
                    &["when", "outcome"],
                ),
            ),
            picture_conversions: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_picture_conversions_total",
                        "Pictures made JPEG for a network that takes only JPEG and PNG up to a size, by why (format: \
                         a GIF or WebP; size: over the network's size) and outcome (made, refused)",
                    ),
                    &["why", "outcome"],
                ),
            ),
            media_upload_bytes: register(
                &r,
                IntCounter::new("chatedge_dp_media_upload_bytes_total", "decoded bytes of stored base64 media"),
            ),
            media_fetches: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_media_fetches_total",
                        "media downloads by URL, by outcome: ok, refused_address, too_large, timeout, bad_status, \
                         wrong_type, error",
                    ),
                    &["outcome"],
                ),
            ),
            webhook_refused: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_webhook_refused_total",
                        "webhook URLs refused because their host is at a non-public address, by address class \
                         and when (set, connect)",
                    ),
                    &["class", "at"],
                ),
            ),
            campaign_recipients: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_campaign_recipients_total",
                        "campaign recipients by outcome (queued, sent, delivered, read, send_error, delivery_error, \
                         not_on_whatsapp, opted_out, button_press)",
                    ),
                    &["outcome"],
                ),
            ),
            campaign_suppressions: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_campaign_opt_outs_total",
                    "incoming opt-out words that put a number on an instance's suppression list",
                ),
            ),
            campaign_runs: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_campaign_runs_total",
                        "campaign lifecycle events (created, scheduled, started, paused, resumed, cancelled, finished, deleted)",
                    ),
                    &["event"],
                ),
            ),
            campaign_feeders: register(
                &r,
                IntGauge::new("chatedge_dp_campaign_feeders", "campaign runs being fed into their instance's queue"),
            ),
            campaign_feeders_held: register(
                &r,
                IntGauge::new(
                    "chatedge_dp_campaign_feeders_held",
                    "campaign runs waiting for the next UTC day: their account's dailyQuota or their instance's daily limit is used up",
                ),
            ),
            campaign_feed_waits: register(
                &r,
                IntCounter::new(
                    "chatedge_dp_campaign_feed_refusals_total",
                    "campaign feeds the shard refused for now (queue full, store busy or failing, the day's limits taken meanwhile): retried",
                ),
            ),
            campaign_csv_rows: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_dp_campaign_csv_rows_total", "CSV rows imported into campaigns, by result (stored, bad)"),
                    &["result"],
                ),
            ),
            campaign_exports: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_dp_campaign_exports_total",
                        "campaign result exports (POST /v1/retrieve/campaign) by how they were answered: page, \
                         streamed (a whole-run CSV began), then stream_complete, stream_client_left or stream_cut; \
                         busy when too many streamed at once",
                    ),
                    &["outcome"],
                ),
            ),
            campaign_export_rows: register(
                &r,
                IntCounter::new("chatedge_dp_campaign_export_rows_total", "recipient rows written by campaign exports"),
            ),
            registry: r,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Counts one answered request and its latency under `chatedge_dp_http_requests_total`
    /// and `chatedge_dp_http_request_seconds`. Resolving a labelled series
    /// (`with_label_values`) hashes the labels and takes the family's lock, which every
    /// thread serving requests would share; each thread resolves a label set once and keeps
    /// the handles (issue 11 §7: metric handles resolved once).
    pub fn record_request(&self, route: &'static str, dialect: &'static str, status: http::StatusCode, seconds: f64) {
        let key = SeriesKey { metrics: self.id, route: place(route), dialect: place(dialect), status: status.as_u16() };
        REQUEST_SERIES.with(|cell| {
            let mut series = cell.borrow_mut();
            if !series.contains_key(&key) && series.len() >= MAX_REQUEST_SERIES_PER_THREAD {
                series.clear();
            }
            let (count, latency) = series.entry(key).or_insert_with(|| {
                (
                    self.http_requests.with_label_values(&[route, dialect, status.as_str()]),
                    self.http_seconds.with_label_values(&[route]),
                )
            });
            count.inc();
            latency.observe(seconds);
        });
    }

    /// The Prometheus text exposition of every family.
    pub fn render(&self) -> Vec<u8> {
        chatedge_serve::metrics::render(&self.registry)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn rendered(m: &Metrics) -> String {
        String::from_utf8_lossy(&m.render()).into_owned()
    }

    #[test]
    fn each_set_of_families_counts_only_its_own_requests_on_a_shared_thread() {
        let (a, b) = (Metrics::new(), Metrics::new());
        for _ in 0..3 {
            a.record_request("zapi.send-text", "zapi", StatusCode::OK, 0.001);
        }
        b.record_request("zapi.send-text", "zapi", StatusCode::OK, 0.001);
        b.record_request("zapi.send-text", "zapi", StatusCode::BAD_REQUEST, 0.001);
        let line = |status: &str, n: u32| {
            format!(
                "chatedge_dp_http_requests_total{{dialect=\"zapi\",route=\"zapi.send-text\",status=\"{status}\"}} {n}"
            )
        };
        let (a, b) = (rendered(&a), rendered(&b));
        assert!(a.contains(&line("200", 3)), "{a}");
        assert!(!a.contains("status=\"400\""), "{a}");
        assert!(b.contains(&line("200", 1)) && b.contains(&line("400", 1)), "{b}");
        assert!(a.contains("chatedge_dp_http_request_seconds_count{route=\"zapi.send-text\"} 3"), "{a}");
        assert!(b.contains("chatedge_dp_http_request_seconds_count{route=\"zapi.send-text\"} 2"), "{b}");
    }

    #[test]
    fn a_route_name_that_begins_where_a_longer_one_does_is_a_series_of_its_own() {
        let m = Metrics::new();
        let long: &'static str = "zapi.send-text";
        let short: &'static str = &long[..9]; // "zapi.send", at the same address
        m.record_request(long, "zapi", StatusCode::OK, 0.0);
        m.record_request(short, "zapi", StatusCode::OK, 0.0);
        let text = rendered(&m);
        assert!(text.contains("route=\"zapi.send-text\",status=\"200\"} 1"), "{text}");
        assert!(text.contains("route=\"zapi.send\",status=\"200\"} 1"), "{text}");
    }

    #[test]
    fn a_thread_that_outgrows_its_handles_starts_over_without_losing_counts() {
        let m = Metrics::new();
        // More label sets than a thread keeps: statuses × leaked route names.
        let routes: Vec<&'static str> =
            (0..MAX_REQUEST_SERIES_PER_THREAD / 8 + 1).map(|i| &*Box::leak(format!("r{i}").into_boxed_str())).collect();
        let statuses = [200, 201, 204, 400, 401, 404, 429, 500, 503].map(|s| StatusCode::from_u16(s).unwrap());
        for route in &routes {
            for status in statuses {
                m.record_request(route, "zapi", status, 0.0);
            }
        }
        m.record_request(routes[0], "zapi", StatusCode::OK, 0.0);
        let text = rendered(&m);
        assert!(
            text.contains("chatedge_dp_http_requests_total{dialect=\"zapi\",route=\"r0\",status=\"200\"} 2"),
            "{text}"
        );
        REQUEST_SERIES.with(|s| assert!(s.borrow().len() <= MAX_REQUEST_SERIES_PER_THREAD));
    }
}
