//! chatedge-dataplane: the hot path. It accepts API calls ([`edge`], [`api`]), authenticates
//! them against the pushed config ([`auth`], [`sync`]), persists each accepted message in a
//! durable per-instance queue ([`queue`], [`store`]), runs each instance's session pinned to a
//! core ([`shard`], [`session`]), paces messages out through a chat-network connector
//! ([`network`]) and fans events out to webhooks ([`outbox`]).
//!
//! It never depends on the control plane's code: it talks to it over HTTP, and keeps serving
//! from its last persisted config when the control plane is unreachable.

#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod campaigns;
pub mod edge;
pub mod egress;
pub mod error;
pub mod idempotency;
pub mod media;
pub mod message_index;
pub mod metrics;
pub mod network;
pub mod outbox;
pub mod queue;
pub mod session;
pub mod shard;
pub mod store;
pub mod sync;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use chatedge_config::{Config, NodeId, Secret};
use tokio::sync::{mpsc, oneshot, watch};

use crate::api::{App, Limits};
use crate::metrics::Metrics;
use crate::network::cloud_api::inbound::Inbound;
use crate::network::cloud_api::receive::MediaReceiver;
use crate::network::cloud_api::{CloudApiConnector, CloudApiDeps};
use crate::network::networks::Networks;
use crate::network::sim::SimNetwork;
use crate::network::Connector;
use crate::outbox::dispatcher::{self, Dispatcher};
use crate::shard::ShardDeps;
use crate::store::{Batch, Cf, Store, StoreError};
use crate::sync::control::ControlClient;
use crate::sync::ConfigState;

pub use error::CoreError;

#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("cannot start: {0}")]
    Start(String),
}

/// How long a node that never received a configuration waits for its first one before it
/// starts answering (with none, every instance would look unknown). A node with a persisted
/// configuration starts at once.
const FIRST_SYNC_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How this data plane is wired into its surroundings.
pub struct Options {
    /// Where its RocksDB lives.
    pub data_dir: PathBuf,
    /// The control plane's base URL.
    pub control_plane: String,
    /// This node's credential towards the control plane.
    pub node_token: Secret,
    /// The control plane certificate's fingerprint to pin (else web PKI validation on https://).
    pub control_plane_fingerprint: Option<chatedge_config::CertFingerprint>,
    /// A settable clock for campaign schedules (`POST /admin/clock`), for tests.
    pub test_clock: bool,
}

/// Runs the data plane until `shutdown` turns true: then it stops accepting, finishes
/// in-flight requests, stops the shards and the webhook dispatcher, flushes the store and
/// returns. `ready` receives the bound address once requests are accepted.
pub async fn run(
    config: Config,
    opts: Options,
    shutdown: watch::Receiver<bool>,
    ready: oneshot::Sender<edge::listeners::Bound>,
) -> Result<(), DataPlaneError> {
    // Before anything is opened: a link that would leak the node token never starts.
    chatedge_config::link::check_control_plane_url(&opts.control_plane).map_err(|e| {
        DataPlaneError::Start(format!("control plane URL (--control-plane or [dataplane] control_plane): {e}"))
    })?;
    let metrics = Arc::new(Metrics::new());
    let history = config.webhooks.delivered_retention;
    let store = Store::open_keeping_history(&opts.data_dir, &config.store, history, metrics.clone())?;
    let node = node_id(&store).await?;
    let sync = Arc::new(ConfigState::load(store.clone(), config.webhooks.url_policy, metrics.clone())?);
    let (notifier, inbox) = dispatcher::channel();

    let n = config.dataplane.shards;
    let (event_txs, event_rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::channel(shard::EVENT_CAPACITY)).unzip();
    let media = media::Media::open(&opts.data_dir.join("media"), config.media.clone(), metrics.clone())
        .map_err(|e| DataPlaneError::Start(format!("media store: {e}")))?;
    let sweeper = media::sweep::Sweeper::start(
        store.clone(),
        media.clone(),
        config.media.orphan_grace,
        config.media.sweep_interval,
        metrics.clone(),
    )
    .map_err(|e| DataPlaneError::Start(format!("media sweep: {e}")))?;
    let cloud = CloudApiDeps::new(
        sync.shared(),
        config.network.cloud_api.clone(),
        store.clone(),
        media.clone(),
        metrics.clone(),
    )
    .map_err(|e| DataPlaneError::Start(format!("Cloud API client: {e}")))?;
    let receiver = MediaReceiver::new(cloud.graph.clone(), media.clone(), config.network.cloud_api.max_media_bytes);
    let inbound = Arc::new(Inbound::new(
        cloud.acks.clone(),
        event_txs.clone(),
        store.clone(),
        metrics.clone(),
        receiver,
        cloud.state.clone(),
        // Half the request timeout: the route answers 503 itself (Meta retries) well before
        // the edge would cut the request.
        config.dataplane.request_timeout / 2,
    ));
    tokio::spawn(network::cloud_api::seen::run(
        store.clone(),
        config.network.cloud_api.clone(),
        metrics.clone(),
        shutdown.clone(),
    ));
    let sim = SimNetwork::new(config.sim.clone(), media.clone(), store.clone(), event_txs.clone());
    #[cfg(feature = "whatsapp-web")]
    let whatsapp = network::whatsapp_web::adapter::shared(
        &config.network.whatsapp_web,
        store.clone(),
        event_txs.clone(),
        metrics.clone(),
        media.clone(),
    )
    .map_err(|e| DataPlaneError::Start(format!("WhatsApp Web connector: {e}")))?;
    // Each shard's connector routes every call to the instance's network (sim, Cloud API or
    // WhatsApp Web).
    let connectors: Vec<Box<dyn Connector + Send>> = (0..n)
        .map(|i| {
            let cloud = CloudApiConnector::new(i, cloud.clone(), event_txs[i].clone());
            let networks = Networks::new(Box::new(sim.connector(i)), cloud, sync.shared());
            #[cfg(feature = "whatsapp-web")]
            let networks =
                networks.with_whatsapp_web(Box::new(network::whatsapp_web::adapter::WhatsappWebConnector::new(
                    whatsapp.clone(),
                    event_txs[i].clone(),
                    store.clone(),
                    media.clone(),
                )));
            Box::new(networks) as _
        })
        .collect();
    #[cfg(feature = "whatsapp-web")]
    let whatsapp_web = Some(network::whatsapp_web::adapter::reports(whatsapp));
    #[cfg(not(feature = "whatsapp-web"))]
    let whatsapp_web = None;
    let recovered = shard::recovery::load(&store, n)?;
    let clock = campaigns::Campaigns::open_clock(&store, opts.test_clock)?;
    let accounts: Arc<shard::account_quota::AccountCounts> = Arc::default();
    let deps = ShardDeps {
        store: store.clone(),
        config: sync.shared(),
        notifier: notifier.clone(),
        metrics: metrics.clone(),
        pacing: config.pacing,
        queue: config.queue,
        session: config.session,
        store_limits: config.store,
        media: media.clone(),
        opt_out_keywords: config.campaigns.opt_out_keywords.clone(),
        clock: clock.clone(),
        accounts: accounts.clone(),
        pin_to_cores: config.dataplane.pin_shards,
    };
    let (shards, shard_threads) =
        shard::start(deps, connectors, event_rxs, recovered).map_err(|e| DataPlaneError::Start(e.to_string()))?;

    let node_authorization = hyper::header::HeaderValue::from_str(&format!("Bearer {}", opts.node_token.expose()))
        .map(|mut v| {
            v.set_sensitive(true);
            v
        })
        .map_err(|_| DataPlaneError::Start("the node token is not a valid header value".into()))?;
    // Bound before the config stream opens: the stream advertises the address others use.
    let listeners = edge::listeners::Listeners::bind(&config, &opts.data_dir).await?;
    let bound = listeners.bound().http;
    let advertised = config.dataplane.advertise_url.clone().unwrap_or_else(|| default_advert(bound));
    let peer_key = chatedge_config::placement::PeerKey::derive(&opts.node_token);
    let control = Arc::new(
        ControlClient::new(&opts.control_plane, opts.node_token, node, opts.control_plane_fingerprint)
            .map_err(|e| DataPlaneError::Start(e.to_string()))?
            .advertising(&advertised, &peer_key),
    );
    let peers =
        edge::proxy::PeerLink::new(peer_key).map_err(|e| DataPlaneError::Start(format!("peer link TLS: {e}")))?;
    let client = outbox::client::webhook_client(&config.webhooks).map_err(|e| DataPlaneError::Start(e.to_string()))?;
    let dispatcher =
        Dispatcher::new(store.clone(), sync.shared(), config.webhooks.clone(), metrics.clone(), client, inbox);
    let dispatcher = tokio::spawn(dispatcher.run(shutdown.clone()));
    let idle = config.controlplane.heartbeat * 3;
    let follower = sync::client::Follower { state: sync.clone(), control: control.clone(), shards: shards.clone() };
    let follower = tokio::spawn(sync::client::run(follower, idle, shutdown.clone()));
    let reporter = sync::report::Reporter {
        control: control.clone(),
        shards: shards.clone(),
        node,
        metrics: metrics.clone(),
        store: store.clone(),
        clock: clock.clone(),
        accounts,
        config: sync.shared(),
    };
    let reporter = tokio::spawn(sync::report::run(reporter, shutdown.clone()));
    if sync.version() == 0 && !sync.wait_for(1, FIRST_SYNC_WAIT).await {
        tracing::warn!("no configuration from the control plane yet; serving without instances until it arrives");
    }

    let upload_dir = opts.data_dir.join("campaign-uploads");
    api::chatinc::prepare_uploads(&upload_dir)
        .map_err(|e| DataPlaneError::Start(format!("{}: {e}", upload_dir.display())))?;
    let campaigns = campaigns::Campaigns::new(
        store.clone(),
        shards.clone(),
        sync.shared(),
        config.campaigns.clone(),
        metrics.clone(),
        clock.clone(),
        upload_dir,
    )?;
    let scheduler = tokio::spawn(campaigns.clone().run_scheduler(shutdown.clone()));

    media.links.set_base(format!("http://{bound}"));
    let public_base = match config.media.public_base_url.as_str() {
        "" => format!("http://{bound}"),
        base => base.to_owned(),
    };
    let rate_limits = edge::rate_limit::RateLimits::new(config.rate_limits, &metrics);
    // Zapini's `/health` reports the seconds since the data plane started.
    api::zapini::start_clock();
    let app = Arc::new(App {
        config: sync.shared(),
        sync: sync.clone(),
        shards: shards.clone(),
        sim: Some(sim),
        control,
        node_authorization,
        metrics,
        limits: Limits {
            max_body_bytes: config.limits.max_body_bytes,
            request_timeout: config.dataplane.request_timeout,
            settings_timeout: config.dataplane.settings_timeout,
        },
        url_policy: config.webhooks.url_policy,
        webhook_policy: config.webhooks.address_policy.clone(),
        rotation_overlap: config.webhooks.rotation_overlap,
        store: store.clone(),
        media,
        webhooks: notifier,
        cloud: Some(inbound),
        whatsapp_web,
        public_base,
        rate_limits,
        metrics_public: config.metrics.listen.is_none(),
        trusted_proxies: config.dataplane.trusted_proxies.clone().into(),
        campaigns,
        peers,
    });
    let _ = ready.send(listeners.bound().clone());
    tracing::info!(%bound, shards = n, "data plane accepting requests");
    listeners.serve(app, &config.limits, &config.dataplane, shutdown).await;

    scheduler.abort();
    shards.stop().await;
    let _ = tokio::task::spawn_blocking(move || shard_threads.into_iter().for_each(|t| drop(t.join()))).await;
    let _ = dispatcher.await;
    let _ = follower.await;
    let _ = reporter.await;
    let _ = tokio::task::spawn_blocking(move || {
        drop(sweeper);
        store.close()
    })
    .await;
    tracing::info!("data plane stopped; store flushed");
    Ok(())
}

/// The address other data planes use when `[dataplane] advertise_url` is not set: the plain
/// port, with an unspecified address (`0.0.0.0`, `::`) read as loopback — right when every
/// node runs on one machine.
fn default_advert(bound: SocketAddr) -> String {
    let ip = match bound.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::IpAddr::from([127, 0, 0, 1]),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, bound.port()))
}

/// This node's id: generated once, kept in the `meta` family.
async fn node_id(store: &Store) -> Result<NodeId, StoreError> {
    const KEY: &[u8] = b"node_id";
    if let Some(id) = store.db().get_cf(store.cf(Cf::Meta), KEY)?.and_then(|v| NodeId::from_slice(&v)) {
        return Ok(id);
    }
    let id = NodeId::generate();
    let mut b = Batch::new();
    b.put(Cf::Meta, KEY.to_vec(), id.as_bytes().to_vec());
    store.commit(b).await?;
    Ok(id)
}
