//! Every metric family the control plane exports, named once. Labels are bounded: route names
//! from the router's table, status codes, and nodes (`default` or a registered node's id: at
//! most `nodes::MAX_NODES`, registered by the operator; never a process's own id).

use chatedge_serve::metrics::register;
use prometheus::{
    exponential_buckets, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_seconds: HistogramVec,
    pub config_version: IntGauge,
    pub instances: IntGauge,
    pub tenants: IntGauge,
    pub streams_open: IntGauge,
    pub updates_pushed: IntCounterVec,
    pub node_acked_version: IntGaugeVec,
    pub node_push_lag: IntGaugeVec,
    pub node_nacks: IntCounterVec,
    /// Instances each node holds out of service (its last acknowledgement's quarantine).
    pub node_quarantined: IntGaugeVec,
    /// Instances moved off a node, by reason: revoked, silent.
    pub instances_moved: IntCounterVec,
    pub refusals: IntCounterVec,
    /// Lifecycle and billing steps applied, by kind (a fixed set, see `billing::jobs`).
    pub billing_events: IntCounterVec,
    pub accounts_restricted: IntGauge,
    /// Data planes' session reports by outcome: taken, stale.
    pub session_reports: IntCounterVec,
    /// Usage rows (instance, day, data plane) a report moved (`usage`); a repeated report
    /// moves none.
    pub usage_rows: IntCounter,
    /// Usage rows of months the stats no longer read, deleted (`usage::Usage::prune`).
    pub usage_rows_pruned: IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new();
        Metrics {
            http_requests: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_cp_http_requests_total", "HTTP requests by route and status"),
                    &["route", "status"],
                ),
            ),
            http_seconds: register(
                &r,
                HistogramVec::new(
                    HistogramOpts::new("chatedge_cp_http_request_seconds", "HTTP request latency by route")
                        .buckets(exponential_buckets(0.000_05, 2.0, 19).unwrap_or_default()),
                    &["route"],
                ),
            ),
            config_version: register(&r, IntGauge::new("chatedge_cp_config_version", "current config version")),
            instances: register(&r, IntGauge::new("chatedge_cp_instances", "instances known")),
            tenants: register(&r, IntGauge::new("chatedge_cp_tenants", "tenants known")),
            streams_open: register(
                &r,
                IntGauge::new("chatedge_cp_config_streams_open", "data planes holding a config stream"),
            ),
            updates_pushed: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_cp_config_updates_pushed_total", "config updates sent, by kind"),
                    &["kind"],
                ),
            ),
            node_acked_version: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("chatedge_cp_node_acked_version", "last config version a data plane acknowledged"),
                    &["node"],
                ),
            ),
            node_push_lag: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("chatedge_cp_node_push_lag_versions", "versions a data plane is behind"),
                    &["node"],
                ),
            ),
            instances_moved: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "chatedge_cp_instances_moved_total",
                        "instances moved off a revoked or silent data plane",
                    ),
                    &["reason"],
                ),
            ),
            node_quarantined: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "chatedge_cp_node_quarantined_instances",
                        "instances a data plane refused to take (their configuration failed its validation)",
                    ),
                    &["node"],
                ),
            ),
            node_nacks: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_cp_node_nacks_total", "config updates a data plane refused"),
                    &["node"],
                ),
            ),
            refusals: register(
                &r,
                IntCounterVec::new(Opts::new("chatedge_cp_refusals_total", "requests refused, by reason"), &["reason"]),
            ),
            session_reports: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_cp_session_reports_total", "data planes' session reports by outcome"),
                    &["outcome"],
                ),
            ),
            usage_rows: register(
                &r,
                IntCounter::new("chatedge_cp_usage_rows_updated_total", "message-count rows a session report moved"),
            ),
            usage_rows_pruned: register(
                &r,
                IntCounter::new(
                    "chatedge_cp_usage_rows_pruned_total",
                    "message-count rows older than the previous month, deleted",
                ),
            ),
            billing_events: register(
                &r,
                IntCounterVec::new(
                    Opts::new("chatedge_cp_billing_events_total", "lifecycle and billing steps applied, by kind"),
                    &["kind"],
                ),
            ),
            accounts_restricted: register(
                &r,
                IntGauge::new("chatedge_cp_accounts_restricted", "accounts disabled or stopped for non-payment"),
            ),
            registry: r,
        }
    }

    pub fn render(&self) -> Vec<u8> {
        chatedge_serve::metrics::render(&self.registry)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
