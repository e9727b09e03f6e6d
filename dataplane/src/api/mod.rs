//! api: the dialect adapters. Each maps HTTP to core commands and core results to HTTP in its
//! own shape, and owns its error shape; none holds state. `zapi` is the primary public contract
//! (seed 001); `zami` (seed 000) and `zapini` (seed 002) are further dialects on the same core;
//! `sim` is the admin surface of the simulated network.

pub mod chatinc;
pub mod media;
pub mod network;
pub mod openapi;
pub mod settings;
pub mod sim;
pub mod zami;
pub mod zapi;
pub mod zapini;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use chatedge_config::{Snapshot, UrlPolicy};

use crate::metrics::Metrics;
use crate::network::sim::SimNetwork;
use crate::shard::Shards;
use crate::sync::control::ControlClient;
use crate::sync::ConfigState;

/// Everything a request handler may use; shared read-only by all requests.
pub struct App {
    pub config: Arc<ArcSwap<Snapshot>>,
    pub sync: Arc<ConfigState>,
    pub shards: Shards,
    pub sim: Option<Arc<SimNetwork>>,
    pub control: Arc<ControlClient>,
    /// `Bearer <node token>`, for the control-plane reads this node makes on an instance's
    /// behalf (`…/stats`; issue 10 §5).
    pub node_authorization: hyper::header::HeaderValue,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    pub url_policy: UrlPolicy,
    /// Which addresses a webhook URL's host may resolve to (checked when one is set).
    pub webhook_policy: chatedge_config::AddressPolicy,
    /// How long a rotated-out webhook secret keeps signing.
    pub rotation_overlap: Duration,
    /// For `/healthz`: whether the store accepts writes.
    pub store: Arc<crate::store::Store>,
    pub media: Arc<crate::media::Media>,
    /// Asks the webhook dispatcher about endpoints (issue 9's webhook-endpoints routes).
    pub webhooks: crate::outbox::Notifier,
    /// The Cloud API webhook's engine (`None` where the Cloud API is not set up, e.g. tests
    /// of other rooms).
    pub cloud: Option<Arc<crate::network::cloud_api::inbound::Inbound>>,
    /// The WhatsApp Web connector's line reports for `status` (`None` without the feature).
    pub whatsapp_web: Option<crate::network::whatsapp_web::Reports>,
    /// This data plane's public base URL (`[media] public_base_url`, else `http://` + the
    /// bound address): told to the control plane on forwarded integrator calls.
    pub public_base: String,
    /// Keyed rate limits in front of the router (issue 11 §3).
    pub rate_limits: crate::edge::rate_limit::RateLimits,
    /// Whether `/metrics` is served on the public port (no `[metrics] listen` of its own).
    pub metrics_public: bool,
    /// Proxies whose `X-Forwarded-For` names the caller (account IP allowlists).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    /// Bulk campaigns (issue 14): the `/v1/…` routes and the data plane's test clock.
    pub campaigns: Arc<crate::campaigns::Campaigns>,
    /// The link to the other data planes, for requests their instances' clients send here.
    pub peers: crate::edge::proxy::PeerLink,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// How long a settings change waits for the control plane to publish it.
    pub settings_timeout: Duration,
}

/// A body that could not be read, in words (every dialect's refusal says it the same way).
pub fn body_problem(e: &chatedge_serve::BodyError) -> String {
    match e {
        chatedge_serve::BodyError::TooLarge { limit } => format!("the body is larger than {limit} bytes"),
        chatedge_serve::BodyError::Broken(m) => format!("the body could not be read: {m}"),
    }
}
