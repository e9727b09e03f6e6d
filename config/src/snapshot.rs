//! The control plane → data plane contract: what a data plane must know to serve instances.
//!
//! A data plane holds one [`Snapshot`] at a time. The control plane streams [`ConfigUpdate`]s:
//! the first on each connection has `reset = true` and carries everything; later ones carry only
//! the tenants and instances that changed since `from_version`. A data plane applies an update
//! atomically, or refuses it (NACK) and keeps serving its last good snapshot.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::campaigns::opt_out_keywords;
use crate::ids::{InstanceId, TenantId};
use crate::token::{Secret, TokenHash, WebhookSecret};
use crate::webhook_url::{UrlPolicy, WebhookUrl};

/// Pacing between two messages of one instance (Z-API: random 1–3 s by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pacing {
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// Overrides the data plane's `[pacing]` for this tenant's instances (load tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing: Option<Pacing>,
    /// This account's own rate limits (issue 11 §3), over the data plane's `[rate_limits]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<crate::rate_limits::TenantLimits>,
    /// Disabled by the operator (`/admin/accounts/{id}/disable`): the account's instances
    /// refuse sends, saying why; everything else keeps working.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// An invoice is unpaid past its stop date (the 10th, seed 001 line 13497): sends are
    /// refused with a payment error until it is paid; reading still works.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub payment_overdue: bool,
    /// The account's Client-Token and IP allowlist (seed 001, lines 370–490), enforced by the
    /// data plane on every instance call.
    #[serde(default, skip_serializing_if = "AccountSecurity::is_open")]
    pub security: AccountSecurity,
    /// The account's own opt-out words for campaigns (issue 14: "the account's opt-out
    /// keywords"), trimmed and upper-cased; they replace the data plane's `[campaigns]
    /// opt_out_keywords` for the account's instances. `None`: the data plane's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out_keywords: Option<Vec<String>>,
    /// SHA-256 of each of the account's live integrator tokens (never the tokens): the Zami
    /// dialect's account secret is an integrator token, checked by the data plane against
    /// these (issue 15). Revoking a token removes its hash with the next push.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrator_tokens: Vec<TokenHash>,
}

impl Tenant {
    /// An account with nothing restricted.
    pub fn new(id: TenantId, name: String) -> Tenant {
        Tenant {
            id,
            name,
            pacing: None,
            limits: None,
            disabled: false,
            payment_overdue: false,
            security: AccountSecurity::default(),
            opt_out_keywords: None,
            integrator_tokens: Vec::new(),
        }
    }
}

/// What an instance call of an account must satisfy beyond its instance id and token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSecurity {
    /// The account security token (`Client-Token` header). Only its hash is pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<ClientToken>,
    #[serde(default)]
    pub ip_allowlist: IpAllowlist,
}

impl AccountSecurity {
    /// True when neither check is configured (so the field is left out of snapshots).
    pub fn is_open(&self) -> bool {
        self.client_token.is_none() && !self.ip_allowlist.enabled && self.ip_allowlist.ips.is_empty()
    }
}

/// A generated Client-Token: created disabled (seed 001 line 452: "initially disabled to
/// prevent interruptions"), then switched on by the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientToken {
    pub hash: TokenHash,
    pub enabled: bool,
}

/// Addresses instance calls may come from, when enabled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAllowlist {
    pub enabled: bool,
    #[serde(default)]
    pub ips: Vec<std::net::IpAddr>,
}

/// Most addresses one account's allowlist may hold.
pub const MAX_ALLOWLIST_IPS: usize = 256;

/// The webhook URLs of one instance, one per Z-API event kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhooks {
    pub delivery: Option<WebhookUrl>,
    pub received: Option<WebhookUrl>,
    pub message_status: Option<WebhookUrl>,
    pub disconnected: Option<WebhookUrl>,
    pub connected: Option<WebhookUrl>,
    pub chat_presence: Option<WebhookUrl>,
    /// Whose shape the instance's webhook bodies take (issue 15): Z-API's callbacks unless a
    /// dialect's own webhook route set its own.
    #[serde(default, skip_serializing_if = "WebhookDialect::is_zapi")]
    pub dialect: WebhookDialect,
    /// Zapini's filter, secret and switch, once its webhook route set them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zapini: Option<crate::zapini_webhook::ZapiniWebhook>,
}

/// The API dialect an instance's webhook events are written in. Each renders the same core
/// facts in its own shape; a kind a dialect has no event for produces nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WebhookDialect {
    /// Z-API's callbacks (seed 001): every kind.
    #[default]
    Zapi,
    /// Zami's `message.created` (seed 000): received messages only.
    Zami,
    /// Zapini's events (seed 002), filtered and signed as `Webhooks::zapini` says.
    Zapini,
}

impl WebhookDialect {
    pub fn is_zapi(&self) -> bool {
        *self == WebhookDialect::Zapi
    }
}

/// Z-API webhook kinds, as named by the `update-webhook-*` routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WebhookKind {
    Delivery,
    Received,
    MessageStatus,
    Disconnected,
    Connected,
    ChatPresence,
}

impl WebhookKind {
    pub const ALL: [WebhookKind; 6] = [
        WebhookKind::Delivery,
        WebhookKind::Received,
        WebhookKind::MessageStatus,
        WebhookKind::Disconnected,
        WebhookKind::Connected,
        WebhookKind::ChatPresence,
    ];
}

impl WebhookKind {
    /// Stable name (used in derived event ids, so it must never change for a kind).
    pub fn name(self) -> &'static str {
        match self {
            WebhookKind::Delivery => "delivery",
            WebhookKind::Received => "received",
            WebhookKind::MessageStatus => "messageStatus",
            WebhookKind::Disconnected => "disconnected",
            WebhookKind::Connected => "connected",
            WebhookKind::ChatPresence => "chatPresence",
        }
    }
}

impl Webhooks {
    pub fn get(&self, kind: WebhookKind) -> Option<&WebhookUrl> {
        self.slot(kind).as_ref()
    }

    pub fn set(&mut self, kind: WebhookKind, url: Option<WebhookUrl>) {
        *self.slot_mut(kind) = url;
    }

    fn slot(&self, kind: WebhookKind) -> &Option<WebhookUrl> {
        match kind {
            WebhookKind::Delivery => &self.delivery,
            WebhookKind::Received => &self.received,
            WebhookKind::MessageStatus => &self.message_status,
            WebhookKind::Disconnected => &self.disconnected,
            WebhookKind::Connected => &self.connected,
            WebhookKind::ChatPresence => &self.chat_presence,
        }
    }

    fn slot_mut(&mut self, kind: WebhookKind) -> &mut Option<WebhookUrl> {
        match kind {
            WebhookKind::Delivery => &mut self.delivery,
            WebhookKind::Received => &mut self.received,
            WebhookKind::MessageStatus => &mut self.message_status,
            WebhookKind::Disconnected => &mut self.disconnected,
            WebhookKind::Connected => &mut self.connected,
            WebhookKind::ChatPresence => &mut self.chat_presence,
        }
    }
}

/// Everything a data plane knows about one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceConfig {
    pub id: InstanceId,
    pub tenant: TenantId,
    pub token_hash: TokenHash,
    pub name: String,
    #[serde(default)]
    pub session_name: Option<String>,
    #[serde(default)]
    pub webhooks: Webhooks,
    /// Also send ReceivedCallback for messages sent by the instance itself.
    #[serde(default)]
    pub notify_sent_by_me: bool,
    pub webhook_secret: WebhookSecret,
    /// The secret before the last rotation, which still signs events until `until_ms` so
    /// receivers can switch over (Standard Webhooks: several signatures, space-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_webhook_secret: Option<PreviousSecret>,
    #[serde(default)]
    pub call_reject_auto: bool,
    #[serde(default)]
    pub call_reject_message: Option<String>,
    #[serde(default)]
    pub auto_read_message: bool,
    /// Status posts received are read as they arrive (Z-API `update-auto-read-status`; seed
    /// 001 line 542: it works only with `auto_read_message` on).
    #[serde(default)]
    pub auto_read_status: bool,
    /// Sends while the session is not connected are refused (409, "You are not connected.")
    /// instead of queued until it is (Z-API's `disableEnqueueWhenDisconnected`, set when the
    /// instance is created).
    #[serde(default)]
    pub disable_enqueue_when_disconnected: bool,
    #[serde(default)]
    pub is_device: bool,
    #[serde(default)]
    pub business_device: bool,
    pub created_ms: u64,
    pub due_ms: u64,
    pub payment_status: String,
    /// False once the instance is stopped (trial expired, unpaid): requests are refused.
    pub active: bool,
    /// The chat network the instance lives on (the sim unless created otherwise).
    #[serde(default)]
    pub network: Network,

    // --- issue 10 §5: the per-instance daily limit (kept together for an easy merge) ---
    /// Messages this instance may queue per UTC day, set by the operator or the integrator
    /// (`PUT /admin/instances/{id}/daily-limit`, `PUT /integrator/instances/{id}/daily-limit`);
    /// enforced by the data plane with the account's `dailyQuota`, the lower one winning.
    /// `None`: no limit of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_limit: Option<u64>,

    // --- issue 15: the Zapini dialect's instance API keys (kept together for an easy merge) ---
    /// The instance's live `sk_…` API keys (seed 002): each one's id, creation time and
    /// SHA-256, never the key. Issued and revoked by the integrator through the control plane
    /// (`/instances/integrator/{id}/api-keys`); a revoked key leaves this list, so the next
    /// push drops it from every data plane ([`Snapshot::instance_by_api_key`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_keys: Vec<ApiKey>,
}

// --- issue 15: the Zapini dialect's instance API keys and instance UUIDs ---

/// One `sk_…` API key of an instance, as the control plane stores and pushes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// The key's public id (to list and revoke it by).
    pub id: String,
    pub hash: TokenHash,
    pub created_ms: u64,
}

/// The prefix every instance API key starts with (seed 002: `sk_xxxxxxxxxxxxxxxx`).
pub const API_KEY_PREFIX: &str = "sk_";

/// The instance an `sk_` key names by its form, `sk_<instance id, 32 hex>_<secret>`, so that
/// any data plane can send a request with it to the instance's owner (keys issued before this
/// form are `sk_<secret>` and name none). Only the owner checks the key itself.
pub fn api_key_instance(key: &str) -> Option<InstanceId> {
    let rest = key.strip_prefix(API_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.is_empty() {
        return None;
    }
    InstanceId::parse(id).ok()
}

/// An instance id in the UUID form Zapini clients use (seed 002 line 66): the id's 16 bytes as
/// `8-4-4-4-12` lower-case hex. [`parse_instance_ref`] reads it back, and chatedge's own form.
pub fn instance_uuid(id: &InstanceId) -> String {
    let hex: String = id.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// An instance id written as chatedge writes it (32 hex characters) or as a UUID (dashes at
/// the UUID's places, either case).
pub fn parse_instance_ref(s: &str) -> Option<InstanceId> {
    let b = s.as_bytes();
    let hex = match b.len() {
        32 => s.to_owned(),
        36 if [8, 13, 18, 23].iter().all(|&i| b[i] == b'-') => s.replace('-', ""),
        _ => return None,
    };
    (hex.len() == 32).then(|| InstanceId::parse(&hex).ok()).flatten()
}

/// A rotated-out webhook secret and when it stops signing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviousSecret {
    pub secret: WebhookSecret,
    /// Unix ms after which only the current secret signs.
    pub until_ms: u64,
}

impl InstanceConfig {
    /// The secrets that sign an event sent at `now_ms`: the current one first, then the
    /// previous one while its overlap lasts.
    pub fn signing_secrets(&self, now_ms: u64) -> impl Iterator<Item = &WebhookSecret> {
        let previous = self.previous_webhook_secret.as_ref().filter(|p| now_ms < p.until_ms).map(|p| &p.secret);
        std::iter::once(&self.webhook_secret).chain(previous)
    }
}

/// Which chat network an instance is connected to, with what that network needs to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Network {
    /// chatedge's own simulated network (paired by QR code on `/sim`).
    #[default]
    Sim,
    /// Meta's WhatsApp Business Platform (Cloud API), reached through the Graph API.
    CloudApi(CloudApiAccount),
    /// A linked device of the customer's phone on WhatsApp Web (multi-device), paired by QR
    /// code or phone code (issue 13); its keys live in the data plane's store.
    WhatsappWeb,
}

/// A Cloud API phone number and the credentials to act for it (issue 12). Secrets are pushed to
/// the data plane that owns the instance like its webhook secret, and never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudApiAccount {
    /// The Graph API id of the business phone number messages are sent from.
    pub phone_number_id: String,
    /// The WhatsApp Business Account (WABA) the number belongs to (templates live there).
    pub business_account_id: String,
    /// A system-user access token with `whatsapp_business_messaging` (and `_management`).
    pub access_token: Secret,
    /// The Meta app's secret: `X-Hub-Signature-256` of each notification is keyed with it.
    pub app_secret: Secret,
    /// What Meta's webhook verification handshake must present as `hub.verify_token`.
    pub verify_token: Secret,
}

/// The header a data plane adds to an integrator call it forwards to the control plane: its own
/// public base URL (`[media] public_base_url`, else `http://` + its bound address), so answers
/// that name a data plane URL (a Cloud API instance's `webhookUrl`) name the one the integrator
/// reached. Only shapes the answer to the caller's own request; nothing is stored from it.
pub const PUBLIC_BASE_HEADER: &str = "x-chatedge-public-base";

/// Where Meta must send a Cloud API instance's notifications, under a data plane's base URL.
pub fn cloud_api_webhook_url(base: &str, instance: &crate::ids::InstanceId) -> String {
    format!("{}/network/cloud-api/{instance}/webhook", base.trim_end_matches('/'))
}

/// Longest instance name accepted.
pub const MAX_NAME_LEN: usize = 200;
/// Longest call-reject message accepted.
pub const MAX_CALL_REJECT_MESSAGE_LEN: usize = 4096;

impl InstanceConfig {
    /// A new active instance on its trial (Z-API: on-demand instances start as a trial), with a
    /// fresh id and webhook secret, no webhooks and every setting at Z-API's default.
    pub fn new_trial(tenant: TenantId, token_hash: TokenHash, name: String, created_ms: u64, trial_ms: u64) -> Self {
        InstanceConfig {
            id: InstanceId::generate(),
            tenant,
            token_hash,
            name,
            session_name: None,
            webhooks: Webhooks::default(),
            notify_sent_by_me: false,
            webhook_secret: WebhookSecret::generate(),
            previous_webhook_secret: None,
            call_reject_auto: false,
            call_reject_message: None,
            auto_read_message: false,
            auto_read_status: false,
            disable_enqueue_when_disconnected: false,
            is_device: false,
            business_device: false,
            created_ms,
            due_ms: created_ms + trial_ms,
            payment_status: "TRIAL".into(),
            active: true,
            network: Network::Sim,
            daily_limit: None,
            api_keys: Vec::new(),
        }
    }

    /// Every problem with this instance under `policy`, each naming its field.
    pub fn problems(&self, policy: UrlPolicy) -> Vec<String> {
        let mut out = Vec::new();
        if self.name.chars().count() > MAX_NAME_LEN {
            out.push(format!("instance {}: name is longer than {MAX_NAME_LEN}", self.id));
        }
        if let Some(m) = &self.call_reject_message {
            if m.chars().count() > MAX_CALL_REJECT_MESSAGE_LEN {
                out.push(format!("instance {}: callRejectMessage is too long", self.id));
            }
        }
        for kind in WebhookKind::ALL {
            if let Some(Err(e)) = self.webhooks.get(kind).map(|u| u.check(policy)) {
                out.push(format!("instance {}: webhooks.{kind:?}: {e}", self.id));
            }
        }
        out
    }
}

/// One versioned step of configuration from the control plane.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigUpdate {
    /// Replace everything (first message of a stream) rather than patch.
    pub reset: bool,
    /// The version this update applies on top of (ignored when `reset`).
    pub from_version: u64,
    pub version: u64,
    #[serde(default)]
    pub admin_token_hash: Option<TokenHash>,
    #[serde(default)]
    pub tenants: Vec<Tenant>,
    #[serde(default)]
    pub instances: Vec<InstanceConfig>,
    #[serde(default)]
    pub removed_instances: Vec<InstanceId>,
    // --- Placement (issue 10 §5: any data plane serves any instance). Kept apart so it merges
    // easily with other additions to the update.
    /// Owners of instances this node does not hold, for those placed or moved since
    /// `from_version` (all of them when `reset`). An instance this node holds that appears
    /// here has moved away: the node drops it. `removed_instances` then lists every removal,
    /// not only this node's own, so the map forgets deleted instances.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placements: Vec<crate::placement::Placement>,
    /// Every node others may forward to (replaces the held list when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<crate::placement::Peer>>,
}

/// Why an update cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    #[error("update applies on version {expected} but this node holds version {held}")]
    VersionGap { expected: u64, held: u64 },
    #[error("update version {version} is not newer than {held}")]
    Stale { version: u64, held: u64 },
    #[error("update refused: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// The configuration a data plane serves from: immutable, swapped as a whole.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub version: u64,
    pub admin_token_hash: Option<TokenHash>,
    pub tenants: HashMap<TenantId, Arc<Tenant>>,
    pub instances: HashMap<InstanceId, Arc<InstanceConfig>>,
    /// Which instance holds each token (by its hash): the Chat Inc API key is a bare token
    /// that names no instance id, and finding its instance must not cost a pass over every
    /// instance. Kept by [`Snapshot::apply`] alone, so it always matches `instances` of a
    /// snapshot built by updates (code that inserts into `instances` directly, as some unit
    /// tests do, gets no index entry).
    by_token: HashMap<TokenHash, InstanceId>,
    /// Which account holds each integrator token (by its hash), kept by [`Snapshot::apply`]
    /// like `by_token`: the account secret of the Zami dialect names no instance.
    by_account_token: HashMap<TokenHash, TenantId>,
    /// Which instance holds each `sk_…` API key (issue 15, Zapini), kept with `by_token`.
    by_api_key: HashMap<TokenHash, InstanceId>,
    // --- Placement and quarantine (issue 10 §5), see [`crate::placement`].
    /// The owner of each instance another node holds.
    pub placements: HashMap<InstanceId, crate::ids::NodeId>,
    /// Where each node is reached and the hash of the key it forwards with.
    pub peers: HashMap<crate::ids::NodeId, Arc<crate::placement::Peer>>,
    /// Instances whose latest configuration this node refused: why, and the token hash of
    /// that configuration (so only a caller with the instance's token learns it). The last
    /// good configuration, if any, stays in `instances` so nothing of the instance is torn
    /// down; calls for it answer that it is quarantined.
    pub quarantined: HashMap<InstanceId, Quarantine>,
}

/// Why an instance is held out of service on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quarantine {
    pub token_hash: TokenHash,
    pub reason: String,
}

impl Snapshot {
    /// A new snapshot with `update` applied, or why it cannot be. Validation runs first, so a
    /// bad update never replaces a good snapshot.
    pub fn apply(&self, update: &ConfigUpdate, policy: UrlPolicy) -> Result<Snapshot, UpdateError> {
        if !update.reset && update.from_version != self.version {
            return Err(UpdateError::VersionGap { expected: update.from_version, held: self.version });
        }
        if !update.reset && update.version <= self.version {
            return Err(UpdateError::Stale { version: update.version, held: self.version });
        }
        // An account's problems refuse the whole update (every instance of it depends on it);
        // an instance's own problems quarantine that instance only.
        let mut problems = Vec::new();
        for t in &update.tenants {
            let limits = t.limits.map(|l| l.problems()).unwrap_or_default();
            problems.extend(limits.into_iter().map(|p| format!("tenant {}: {p}", t.id)));
            if let Some(Err(p)) = t.opt_out_keywords.as_deref().map(|w| opt_out_keywords("optOutKeywords", w)) {
                problems.extend(p.into_iter().map(|p| format!("tenant {}: {p}", t.id)));
            }
        }
        if !problems.is_empty() {
            return Err(UpdateError::Invalid(problems));
        }
        let mut next = if update.reset { Snapshot::default() } else { self.clone() };
        next.version = update.version;
        if update.admin_token_hash.is_some() {
            next.admin_token_hash = update.admin_token_hash;
        }
        for t in &update.tenants {
            if let Some(old) = next.tenants.insert(t.id, Arc::new(t.clone())) {
                for h in &old.integrator_tokens {
                    if next.by_account_token.get(h) == Some(&old.id) {
                        next.by_account_token.remove(h);
                    }
                }
            }
            next.by_account_token.extend(t.integrator_tokens.iter().map(|h| (*h, t.id)));
        }
        for i in &update.instances {
            let problems = i.problems(policy);
            if problems.is_empty() {
                next.quarantined.remove(&i.id);
                next.placements.remove(&i.id);
                next.insert_instance(Arc::new(i.clone()));
                continue;
            }
            next.quarantined.insert(i.id, Quarantine { token_hash: i.token_hash, reason: problems.join("; ") });
            // A full snapshot starts empty: keep the last good configuration held, if any.
            if let (true, Some(good)) = (update.reset, self.instances.get(&i.id)) {
                next.insert_instance(good.clone());
            }
        }
        for id in &update.removed_instances {
            if let Some(old) = next.instances.remove(id) {
                next.unindex(&old);
            }
            next.placements.remove(id);
            next.quarantined.remove(id);
        }
        for p in &update.placements {
            // Placed on another node: if held here, it moved away.
            if let Some(old) = next.instances.remove(&p.instance) {
                next.unindex(&old);
            }
            next.quarantined.remove(&p.instance);
            next.placements.insert(p.instance, p.node);
        }
        if let Some(peers) = &update.peers {
            next.peers = peers.iter().map(|p| (p.node, Arc::new(p.clone()))).collect();
        }
        Ok(next)
    }

    fn insert_instance(&mut self, i: Arc<InstanceConfig>) {
        let (id, hash) = (i.id, i.token_hash);
        let keys: Vec<TokenHash> = i.api_keys.iter().map(|k| k.hash).collect();
        if let Some(old) = self.instances.insert(id, i) {
            self.unindex(&old);
        }
        self.by_token.insert(hash, id);
        self.by_api_key.extend(keys.into_iter().map(|h| (h, id)));
    }

    /// The instances whose configuration this node refused, and why.
    pub fn quarantine_report(&self) -> Vec<crate::placement::Quarantined> {
        let mut v: Vec<_> = self
            .quarantined
            .iter()
            .map(|(id, q)| crate::placement::Quarantined { instance: *id, reason: q.reason.clone() })
            .collect();
        v.sort_by_key(|q| q.instance);
        v
    }

    /// Drops `old`'s token from the index, unless another instance holds it by now.
    fn unindex(&mut self, old: &InstanceConfig) {
        if self.by_token.get(&old.token_hash) == Some(&old.id) {
            self.by_token.remove(&old.token_hash);
        }
        for k in &old.api_keys {
            if self.by_api_key.get(&k.hash) == Some(&old.id) {
                self.by_api_key.remove(&k.hash);
            }
        }
    }

    /// The instance whose token is `token`, if any: one map lookup by the token's SHA-256,
    /// then the constant-time comparison of the instance's own hash.
    pub fn instance_by_token(&self, token: &str) -> Option<&Arc<InstanceConfig>> {
        let presented = TokenHash::of(token.as_bytes());
        let instance = self.by_token.get(&presented).and_then(|id| self.instances.get(id))?;
        (instance.token_hash == presented).then_some(instance)
    }

    /// The instance whose live `sk_…` API key is `key` (issue 15, Zapini), if any: one map
    /// lookup by the key's SHA-256, then the constant-time comparison of the instance's own.
    pub fn instance_by_api_key(&self, key: &str) -> Option<&Arc<InstanceConfig>> {
        let presented = TokenHash::of(key.as_bytes());
        let instance = self.by_api_key.get(&presented).and_then(|id| self.instances.get(id))?;
        instance.api_keys.iter().any(|k| k.hash == presented).then_some(instance)
    }

    /// The account whose integrator token is `secret`, if any: one map lookup by the secret's
    /// SHA-256, then the constant-time comparison of the account's own hash.
    pub fn account_by_secret(&self, secret: &str) -> Option<&Arc<Tenant>> {
        let presented = TokenHash::of(secret.as_bytes());
        let tenant = self.by_account_token.get(&presented).and_then(|id| self.tenants.get(id))?;
        tenant.integrator_tokens.contains(&presented).then_some(tenant)
    }

    /// This snapshot as a self-contained update (for persisting it).
    pub fn to_update(&self) -> ConfigUpdate {
        ConfigUpdate {
            reset: true,
            from_version: 0,
            version: self.version,
            admin_token_hash: self.admin_token_hash,
            tenants: self.tenants.values().map(|t| (**t).clone()).collect(),
            instances: self.instances.values().map(|i| (**i).clone()).collect(),
            removed_instances: Vec::new(),
            placements: self
                .placements
                .iter()
                .map(|(instance, node)| crate::placement::Placement { instance: *instance, node: *node })
                .collect(),
            peers: Some(self.peers.values().map(|p| (**p).clone()).collect()),
        }
    }
}

/// One line of the control plane's config stream (newline-delimited JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum StreamMessage {
    Update(ConfigUpdate),
    /// Sent when nothing changed for a while, so a silent dead connection is noticed.
    Heartbeat {
        version: u64,
    },
}

/// A data plane's answer to an update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAck {
    pub node: crate::ids::NodeId,
    pub version: u64,
    /// Set when the update was refused (NACK): the node keeps serving `version`.
    #[serde(default)]
    pub error: Option<String>,
    // --- Quarantine (issue 10 §5), kept apart for an easy merge.
    /// Every instance this node holds out of service now (whole each time, so a lost ack is
    /// repaired by the next).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantined: Vec<crate::placement::Quarantined>,
}

/// A data plane's periodic report of its sessions (`POST /dataplane/v1/report`): every
/// instance it has online, whole each time, so a lost report is repaired by the next. Reports
/// are ordered by (`boot_ms`, `seq`): a later boot of the node, or a later report of the same
/// boot, replaces what the control plane knew; an older or repeated one changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionReport {
    pub node: crate::ids::NodeId,
    /// When the data plane process started (unix ms).
    pub boot_ms: u64,
    /// Numbers the reports of one boot, from 1.
    pub seq: u64,
    /// Instances whose session is connected to the network.
    pub online: Vec<crate::ids::InstanceId>,

    // --- issue 10 §5: message counts (kept together for an easy merge) ---
    /// Per-instance message counts of the node's current and previous UTC day that changed
    /// since the last report the control plane took. Each is the day's whole count, not an
    /// increment: a repeated, reordered or retried report restates the same numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<DailyUsage>,
    /// The data plane's UTC day (on its clock): the control plane answers with what this node's
    /// accounts under a `dailyQuota` sent that day on other data planes (`ReportAnswer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub today: Option<u32>,
}

/// The control plane's answer to a [`SessionReport`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportAnswer {
    #[serde(default)]
    pub value: bool,
    /// For each account under a `dailyQuota` with an instance on the reporting node: its sends
    /// of the report's `today` that other data plane processes counted (none: not listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elsewhere: Vec<AccountSends>,
}

/// An account's sends of one UTC day on the data planes other than the one asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSends {
    pub account: crate::ids::TenantId,
    pub day: u32,
    pub sent: u64,
}

/// One instance's messages on one UTC day, as counted by the data plane that serves it: sends
/// it accepted (what a daily limit counts) and messages it received from the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyUsage {
    pub instance: crate::ids::InstanceId,
    /// Days since 1970-01-01 (UTC) on the data plane's clock.
    pub day: u32,
    pub sent: u64,
    pub received: u64,
}

#[cfg(test)]
mod tests;
