//! chatedge-controlplane: accounts (tenants) and their tokens, the admin and integrator APIs,
//! instance lifecycle and billing (run on an injectable [`clock`]), and the versioned
//! configuration it pushes to data planes. It owns every instance setting: data planes
//! forward changes here and serve whatever version they last received. Each data plane has its
//! own credential ([`nodes`]) and receives every account but only the instances it owns; the
//! link is TLS whenever it leaves the machine ([`link`]).
//!
//! It never depends on the data plane's code; they talk over HTTP only.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod api;
pub mod billing;
pub mod clock;
pub mod credentials;
pub mod link;
pub mod metrics;
pub mod nodes;
pub mod push;
pub mod registry;
pub mod sealing;
pub mod sessions;
pub mod store;
pub mod usage;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chatedge_config::{AddressPolicy, CertFingerprint, Config, NodeId, UrlPolicy};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use crate::clock::Clock;
use crate::credentials::{Bootstrap, Supplied};
use crate::metrics::Metrics;
use crate::registry::{Change, Registry};
use crate::sealing::{SealError, Sealer};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CpError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("cannot write credentials: {0}")]
    Credentials(String),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Link(#[from] link::LinkError),
    /// A request that cannot be served as sent: HTTP 4xx with this error and message.
    #[error("{message}")]
    Refused { status: u16, error: &'static str, message: String },
}

impl CpError {
    pub fn refused(status: u16, error: &'static str, message: impl Into<String>) -> Self {
        CpError::Refused { status, error, message: message.into() }
    }
}

/// The control plane's state, shared by its request handlers.
pub struct ControlPlane {
    store: Store,
    /// Guards the model; held only for in-memory reads and for applying a durable change,
    /// never across I/O or `.await`.
    registry: Mutex<Registry>,
    /// Serializes changes (compute → fsync → apply) so versions follow one another; held
    /// across the synced write, on a blocking thread, never by a reader.
    writer: Mutex<()>,
    version: watch::Sender<u64>,
    pub url_policy: UrlPolicy,
    /// Which addresses a webhook URL's host may be at (checked when one is set).
    pub webhook_policy: AddressPolicy,
    pub metrics: Arc<Metrics>,
    pub heartbeat: Duration,
    /// The data planes' public base URL when a call names none (it came straight here, not
    /// forwarded by a data plane): `[media] public_base_url`, else `http://` + `[dataplane]
    /// listen` — right for the single-node default. Used in Cloud API `webhookUrl` answers.
    pub dataplane_base: String,
    /// The network of an instance created without `"network"` (`[network] default`).
    pub default_network: chatedge_config::file::DefaultNetwork,
    /// Attached data-plane processes, by (credential's node, the process's own id): open
    /// streams and the last version each acknowledged.
    attached: watch::Sender<HashMap<(NodeId, NodeId), Attached>>,
    /// Each node's last contact and applied version (memory only).
    pub activity: nodes::Activity,
    /// The instances each node holds out of service (memory only).
    pub quarantines: nodes::Quarantines,
    /// When this process opened its store (unix ms): silence is counted from here at most.
    pub started_ms: u64,
    /// How recently a node without a stream must have called to count as live: the shorter
    /// of [`nodes::LIVE_WINDOW`] and `[controlplane] reassign_after_ms`, so a node whose
    /// instances are being moved away is never given new ones.
    live_window: Duration,
    /// The fingerprint of the certificate this control plane serves, when it serves TLS.
    pub link_fingerprint: Option<CertFingerprint>,
    /// "Now" for every lifecycle and billing rule.
    pub clock: Clock,
    /// Seals the instance tokens the listing must show again.
    pub sealer: Sealer,
    pub billing: chatedge_config::file::BillingConfig,
    /// Held by each billing run (`billing::jobs`): a test-clock move and the run it asks for
    /// are one step, which the timer's runs cannot get between.
    pub billing_runs: tokio::sync::Mutex<()>,
    /// Which instances the data planes last reported connected.
    pub sessions: sessions::Sessions,
    /// Message counts the data planes reported (issue 10 §5), in the store's `usage` family.
    pub usage: usage::Usage,
}

/// A data plane holding at least one config stream.
#[derive(Debug, Clone, Copy, Default)]
struct Attached {
    streams: usize,
    acked: u64,
}

impl ControlPlane {
    /// Opens the store under `data_dir` with the sealing key at `key_file` (created at first
    /// start) and, when `test_clock`, a settable clock resuming where it was last set.
    pub fn open(
        config: &Config,
        data_dir: &std::path::Path,
        key_file: &std::path::Path,
        test_clock: bool,
    ) -> Result<ControlPlane, CpError> {
        let store = Store::open(data_dir)?;
        let mut registry = Registry::load(&store)?;
        let sealer = Sealer::open_or_create(key_file)?;
        seal_legacy_tokens(&store, &mut registry, &sealer)?;
        let clock = if test_clock { Clock::test(registry.test_clock_ms) } else { Clock::system() };
        let metrics = Arc::new(Metrics::new());
        metrics.config_version.set(registry.version as i64);
        metrics.instances.set(registry.instances.len() as i64);
        metrics.tenants.set(registry.tenants.len() as i64);
        let (version, _) = watch::channel(registry.version);
        Ok(ControlPlane {
            store,
            registry: Mutex::new(registry),
            writer: Mutex::new(()),
            version,
            url_policy: config.webhooks.url_policy,
            webhook_policy: config.webhooks.address_policy.clone(),
            metrics,
            heartbeat: config.controlplane.heartbeat,
            default_network: config.network.default,
            dataplane_base: match config.media.public_base_url.as_str() {
                "" => format!("http://{}", config.dataplane.listen),
                base => base.to_owned(),
            },
            attached: watch::channel(HashMap::new()).0,
            activity: nodes::Activity::default(),
            quarantines: nodes::Quarantines::default(),
            started_ms: chatedge_config::time::unix_ms(),
            live_window: config.controlplane.reassign_after.map_or(nodes::LIVE_WINDOW, |a| a.min(nodes::LIVE_WINDOW)),
            link_fingerprint: None,
            clock,
            sealer,
            billing: config.billing.clone(),
            billing_runs: tokio::sync::Mutex::new(()),
            sessions: sessions::Sessions::default(),
            usage: usage::Usage::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the model.
    pub fn registry_read<T>(&self, f: impl FnOnce(&Registry) -> T) -> T {
        f(&self.lock())
    }

    /// Computes a change with `f` (given the model and the version it will carry), makes it
    /// durable, applies it and announces the new version. Blocking: run off the event loop.
    pub fn mutate<T>(&self, f: impl FnOnce(&Registry, u64) -> Result<(T, Change), CpError>) -> Result<T, CpError> {
        let _one_change_at_a_time = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let (next, out, mut change) = {
            let r = self.lock();
            let next = r.version + 1;
            let (out, change) = f(&r, next)?;
            (next, out, change)
        };
        self.store.write(Registry::writes(&mut change, next))?;
        let mut r = self.lock();
        r.apply(change, next);
        self.metrics.config_version.set(next as i64);
        self.metrics.instances.set(r.instances.len() as i64);
        self.metrics.tenants.set(r.tenants.len() as i64);
        let restricted = r.tenants.values().filter(|t| t.tenant.disabled || t.tenant.payment_overdue).count();
        self.metrics.accounts_restricted.set(restricted as i64);
        drop(r);
        self.version.send_replace(next);
        Ok(out)
    }

    /// [`mutate`](Self::mutate) from async code.
    pub async fn mutate_async<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Registry, u64) -> Result<(T, Change), CpError> + Send + 'static,
    ) -> Result<T, CpError> {
        let cp = self.clone();
        tokio::task::spawn_blocking(move || cp.mutate(f))
            .await
            .unwrap_or_else(|e| Err(CpError::refused(500, "Internal error", format!("mutation task failed: {e}"))))
    }

    /// Takes the message counts of a data plane process's report (see [`usage`]); answers
    /// how many rows moved.
    pub async fn record_usage(
        self: &Arc<Self>,
        process: NodeId,
        counts: Vec<chatedge_config::DailyUsage>,
    ) -> Result<usize, CpError> {
        let cp = self.clone();
        tokio::task::spawn_blocking(move || cp.usage.record(&cp.store, process, &counts).map_err(CpError::from))
            .await
            .unwrap_or_else(|e| Err(CpError::refused(500, "Internal error", format!("usage task failed: {e}"))))
    }

    /// `instance`'s message figures at the control plane's now.
    pub async fn usage_figures(
        self: &Arc<Self>,
        instance: chatedge_config::InstanceId,
    ) -> Result<usage::Figures, CpError> {
        let (cp, now) = (self.clone(), self.clock.now_ms());
        tokio::task::spawn_blocking(move || cp.usage.figures(&cp.store, &instance, now).map_err(CpError::from))
            .await
            .unwrap_or_else(|e| Err(CpError::refused(500, "Internal error", format!("usage task failed: {e}"))))
    }

    /// The sends of today of all `instances` together (an account's, for its `dailyQuota`).
    pub async fn sent_today(self: &Arc<Self>, instances: Vec<chatedge_config::InstanceId>) -> Result<u64, CpError> {
        let (cp, now) = (self.clone(), self.clock.now_ms());
        tokio::task::spawn_blocking(move || {
            instances.iter().try_fold(0u64, |sum, id| {
                Ok(sum.saturating_add(cp.usage.figures(&cp.store, id, now).map_err(CpError::from)?.sent_today))
            })
        })
        .await
        .unwrap_or_else(|e| Err(CpError::refused(500, "Internal error", format!("usage task failed: {e}"))))
    }

    /// For each account under a `dailyQuota` with an instance on data plane `node`: its sends
    /// of `day` that data plane processes other than `process` counted (the answer to that
    /// process's report; accounts with none there are left out).
    pub async fn sends_elsewhere(
        self: &Arc<Self>,
        node: NodeId,
        process: NodeId,
        day: u32,
    ) -> Result<Vec<chatedge_config::snapshot::AccountSends>, CpError> {
        let accounts: Vec<(chatedge_config::TenantId, Vec<chatedge_config::InstanceId>)> = self.registry_read(|r| {
            let quota = |t: &chatedge_config::TenantId| {
                r.tenants.get(t).and_then(|t| t.tenant.limits).and_then(|l| l.daily_quota).is_some()
            };
            let mut by: HashMap<chatedge_config::TenantId, Vec<chatedge_config::InstanceId>> = r
                .instances
                .values()
                .filter(|i| i.owner() == node && quota(&i.config.tenant))
                .map(|i| (i.config.tenant, Vec::new()))
                .collect();
            for i in r.instances.values() {
                if let Some(list) = by.get_mut(&i.config.tenant) {
                    list.push(i.config.id);
                }
            }
            by.into_iter().collect()
        });
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let cp = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for (account, instances) in accounts {
                let sent = cp.usage.sent_elsewhere(&cp.store, &instances, day, &process).map_err(CpError::from)?;
                if sent > 0 {
                    out.push(chatedge_config::snapshot::AccountSends { account, day, sent });
                }
            }
            Ok(out)
        })
        .await
        .unwrap_or_else(|e| Err(CpError::refused(500, "Internal error", format!("usage task failed: {e}"))))
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Process `process` of node `node` opened a config stream.
    pub fn attach(&self, node: NodeId, process: NodeId) {
        self.attached.send_modify(|n| n.entry((node, process)).or_default().streams += 1);
    }

    /// A stream of process `process` of node `node` ended.
    pub fn detach(&self, node: NodeId, process: NodeId) {
        self.attached.send_modify(|n| {
            if let Some(a) = n.get_mut(&(node, process)) {
                a.streams -= 1;
                if a.streams == 0 {
                    n.remove(&(node, process));
                }
            }
        });
    }

    /// Process `process` of node `node` applied `version`.
    pub fn acknowledged(&self, node: NodeId, process: NodeId, version: u64) {
        self.activity.applied(node, version);
        self.attached.send_modify(|n| {
            if let Some(a) = n.get_mut(&(node, process)) {
                a.acked = a.acked.max(version);
            }
        });
    }

    /// Config streams node `node` holds open now.
    pub fn streams_of(&self, node: NodeId) -> usize {
        self.attached.borrow().iter().filter(|((n, _), _)| *n == node).map(|(_, a)| a.streams).sum()
    }

    /// Nodes that can take a new instance now: holding a config stream, or heard from within
    /// [`nodes::LIVE_WINDOW`] (a stream being re-opened; shorter with `reassign_after_ms`).
    pub fn live_nodes(&self, now_ms: u64) -> Vec<NodeId> {
        let mut live: Vec<NodeId> = self.attached.borrow().keys().map(|(n, _)| *n).collect();
        live.extend(self.activity.recent_within(now_ms, self.live_window));
        live.sort_unstable();
        live.dedup();
        live
    }

    /// Waits until every attached data plane has applied `version` (read-your-writes for the
    /// integrator: a created instance answers on the data planes once this returns true).
    pub async fn wait_applied(&self, version: u64, timeout: Duration) -> bool {
        self.wait_applied_by(version, None, timeout).await
    }

    /// Like [`wait_applied`](Self::wait_applied), and also until `owner` — the node an instance
    /// was just placed on — has applied `version`, even when it holds no config stream at this
    /// moment (it restarted and is re-opening one): until then that node does not know the
    /// instance and would answer its token with 401.
    pub async fn wait_applied_by(&self, version: u64, owner: Option<NodeId>, timeout: Duration) -> bool {
        let mut rx = self.attached.subscribe();
        let applied = rx.wait_for(|n| {
            let owner_applied = |o: NodeId| n.iter().any(|((node, _), a)| *node == o && a.acked >= version);
            n.values().all(|a| a.acked >= version) && owner.is_none_or(owner_applied)
        });
        tokio::time::timeout(timeout, async { applied.await.is_ok() }).await.unwrap_or(false)
    }
}

#[cfg(test)]
mod applied_tests;

/// Instance tokens stored in the clear by an older version are sealed at start, in place
/// (same version: nothing a data plane sees changes).
fn seal_legacy_tokens(store: &Store, registry: &mut Registry, sealer: &Sealer) -> Result<(), CpError> {
    let mut w = store::Writes::default();
    let mut any = false;
    for record in registry.instances.values_mut() {
        if let Some(token) = record.token.take() {
            record.sealed_token = Some(sealer.seal(&record.config.id, &token)?);
            w.put(store::Cf::Instances, record.config.id.as_bytes().to_vec(), &*record);
            any = true;
        }
    }
    if any {
        store.write(w)?;
    }
    Ok(())
}

/// How this control plane is wired.
pub struct Options {
    pub data_dir: PathBuf,
    pub credentials_file: PathBuf,
    pub supplied: Supplied,
    /// Enables `POST /admin/clock` (tests and demos of billing over months).
    pub test_clock: bool,
}

/// The sealing key lives next to the credentials file, outside the store.
pub fn key_file(credentials_file: &std::path::Path) -> PathBuf {
    credentials_file.with_file_name("secrets.key")
}

/// A started control plane: its bound address, its (possibly fresh) credentials and, when it
/// serves TLS, its certificate.
pub struct Started {
    pub addr: SocketAddr,
    pub bootstrap: Bootstrap,
    pub tls: Option<StartedTls>,
}

/// The certificate a TLS control plane serves: data planes pin its fingerprint.
pub struct StartedTls {
    pub fingerprint: CertFingerprint,
    pub cert_file: PathBuf,
}

/// Runs the control plane until `shutdown` turns true. `ready` receives the bound address and
/// the credentials once requests are accepted.
pub async fn run(
    config: Config,
    opts: Options,
    shutdown: watch::Receiver<bool>,
    ready: oneshot::Sender<Started>,
) -> Result<(), CpError> {
    let key = key_file(&opts.credentials_file);
    let (mode, listen) = (config.controlplane.tls.clone(), config.controlplane.listen);
    let dir = opts.credentials_file.parent().map(PathBuf::from).unwrap_or_default();
    let tls = tokio::task::spawn_blocking(move || link::prepare(&mode, &dir, listen))
        .await
        .map_err(|e| link::LinkError::Generate(e.to_string()))??;
    let mut cp = ControlPlane::open(&config, &opts.data_dir, &key, opts.test_clock)?;
    cp.link_fingerprint = tls.as_ref().map(|t| t.fingerprint);
    let cp = Arc::new(cp);
    let (cp2, file, supplied) = (cp.clone(), opts.credentials_file.clone(), opts.supplied);
    let bootstrap = tokio::task::spawn_blocking(move || credentials::bootstrap(&cp2, &file, supplied))
        .await
        .map_err(|e| CpError::Credentials(e.to_string()))??;
    let addr = config.controlplane.listen;
    let listener = TcpListener::bind(addr).await.map_err(|source| CpError::Listen { addr, source })?;
    let bound = listener.local_addr().map_err(|source| CpError::Listen { addr, source })?;
    let started_tls = tls.as_ref().map(|t| StartedTls { fingerprint: t.fingerprint, cert_file: t.cert_file.clone() });
    let _ = ready.send(Started { addr: bound, bootstrap, tls: started_tls });
    // Stopped by `shutdown`, like the server below.
    let jobs = tokio::spawn(billing::jobs::run_every(cp.clone(), shutdown.clone()));
    // Stopped by `shutdown` too; without `reassign_after_ms` instances never move for silence
    // (a revoked node's always do, once a node is live).
    let reassign = tokio::spawn(nodes::reassign::run(cp.clone(), config.controlplane.reassign_after, shutdown.clone()));
    tracing::info!(%bound, tls = tls.is_some(), "control plane accepting requests");
    let stop = shutdown.clone();
    let handler = move |req, _peer| api::handle(cp.clone(), req, stop.clone());
    let mut opts = chatedge_serve::ServeOptions::default();
    opts.limits.drain_timeout = Duration::from_secs(2);
    match tls {
        Some(t) => chatedge_serve::serve_tls(listener, t.tls, handler, shutdown, opts).await,
        None => chatedge_serve::serve(listener, handler, shutdown, opts).await,
    }
    let _ = jobs.await;
    let _ = reassign.await;
    tracing::info!("control plane stopped");
    Ok(())
}
