//! The Z-API integrator routes (seed 001, lines 13515–13800): create an instance on demand,
//! list the account's instances, subscribe and cancel them; and delete one (`DELETE
//! /instances/{id}`, chatedge's own: in Z-API an operator's job deletes expired trials and
//! unpaid instances, seed 001 line 13482 — here [`crate::billing`] does). `Authorization:
//! Bearer <integrator token>`; an account only ever sees its own instances, and another
//! account's instance answers exactly as an unknown one. Times come from the control plane's
//! clock.

use std::sync::Arc;

use chatedge_config::snapshot::{InstanceConfig, Network, WebhookKind, Webhooks, MAX_NAME_LEN};
use chatedge_config::{InstanceId, Secret, TenantId, WebhookUrl};
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::billing::model::Subscription;
use crate::billing::{self, CANCELED, PAID, TRIAL};
use crate::clock::DAY_MS;
use crate::registry::{Change, InstanceRecord, FIRST_TOKEN_INSTANCES};
use crate::{ControlPlane, CpError};

/// Z-API: "When you create an instance, it defaults to a two-day trial period."
const TRIAL_MS: u64 = 2 * DAY_MS;
const MAX_PAGE_SIZE: usize = 1000;
/// Longest wait for data planes to apply a new instance before answering anyway.
const APPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Who calls: the account of the presented integrator token, and which token it is.
pub struct Caller {
    pub account: TenantId,
    pub token_id: String,
}

pub fn caller(cp: &ControlPlane, headers: &hyper::HeaderMap) -> Result<Caller, CpError> {
    let token = chatedge_serve::bearer(headers)
        .ok_or_else(|| CpError::refused(401, "Unauthorized", "Authorization: Bearer <integrator token> required"))?;
    cp.registry_read(|r| {
        r.tenant_by_integrator_token(token).map(|(t, k)| Caller { account: t.tenant.id, token_id: k.id.clone() })
    })
    .ok_or_else(|| CpError::refused(401, "Unauthorized", "invalid integrator token"))
}

fn tenant_of(cp: &ControlPlane, headers: &hyper::HeaderMap) -> Result<TenantId, CpError> {
    caller(cp, headers).map(|c| c.account)
}

/// The one answer for an instance that is unknown, belongs to another account, or whose
/// token is wrong.
fn unknown() -> CpError {
    CpError::refused(404, "Instance not found", "no instance with this id and token for this integrator")
}

/// Refuses what a disabled or stopped account may not do (create, subscribe).
fn account_may_grow(cp: &ControlPlane, account: &TenantId) -> Result<(), CpError> {
    let (disabled, overdue) = cp.registry_read(|r| {
        r.tenants.get(account).map(|t| (t.tenant.disabled, t.tenant.payment_overdue)).unwrap_or((true, false))
    });
    if disabled {
        return Err(CpError::refused(403, "Account disabled", "this account is disabled; contact the operator"));
    }
    if overdue {
        return Err(CpError::refused(
            402,
            "Payment required",
            "this account has an unpaid invoice past its stop date; pay it to create or subscribe instances",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    name: Option<String>,
    session_name: Option<String>,
    delivery_callback_url: Option<String>,
    received_callback_url: Option<String>,
    received_and_delivery_callback_url: Option<String>,
    disconnected_callback_url: Option<String>,
    connected_callback_url: Option<String>,
    message_status_callback_url: Option<String>,
    /// Z-API's documentation since 2026-03 (with `autoReadStatus` and
    /// `disableEnqueueWhenDisconnected`).
    presence_chat_callback_url: Option<String>,
    #[serde(default)]
    call_reject_auto: bool,
    call_reject_message: Option<String>,
    #[serde(default)]
    auto_read_message: bool,
    #[serde(default)]
    auto_read_status: bool,
    #[serde(default)]
    disable_enqueue_when_disconnected: bool,
    #[serde(default)]
    is_device: bool,
    #[serde(default)]
    business_device: bool,
    /// `sim`, `cloud-api` (issue 12) or `whatsapp-web` (issue 13); absent: `[network] default`.
    network: Option<String>,
    cloud_api: Option<super::cloud_api::CloudApiBody>,
}

fn url(cp: &ControlPlane, field: &str, value: &Option<String>) -> Result<Option<WebhookUrl>, CpError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => WebhookUrl::parse(v, cp.url_policy).map(Some).map_err(|e| {
            CpError::refused(400, "Invalid webhook url", format!("{field}: {}: {e}", chatedge_config::redact(v)))
        }),
    }
}

/// Who asks for a new instance, which decides what it counts against.
pub enum Creator {
    /// An integrator token: its account, and the token whose instance cap the create counts on.
    Integrator(Caller),
    /// The operator (`POST /admin/accounts/{id}/instances`): no token cap.
    Operator(TenantId),
}

impl Creator {
    fn account(&self) -> TenantId {
        match self {
            Creator::Integrator(c) => c.account,
            Creator::Operator(a) => *a,
        }
    }
}

/// The data plane's public base URL as the request names it (the data plane forwarding an
/// on-demand create sets it), else the control plane's configured one.
pub fn public_base(cp: &ControlPlane, req: &Request<Incoming>) -> String {
    req.headers()
        .get(chatedge_config::snapshot::PUBLIC_BASE_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|b| b.starts_with("http://") || b.starts_with("https://"))
        .map(str::to_owned)
        .unwrap_or_else(|| cp.dataplane_base.clone())
}

/// `POST /instances/integrator/on-demand` → `{id, token, due, webhookSecret}`; a Cloud API
/// instance's answer adds `network`, `verifyToken` and `webhookUrl` (see [`super::cloud_api`]).
pub async fn create(cp: &Arc<ControlPlane>, req: Request<Incoming>) -> Result<Resp, CpError> {
    let who = caller(cp, req.headers())?;
    let base = public_base(cp, &req);
    let answer = create_for(cp, Creator::Integrator(who), &base, req).await?;
    Ok(chatedge_serve::json(StatusCode::OK, &answer))
}

/// Creates an instance for `creator`'s account from the on-demand body of `req` (the same body
/// and answer for the integrator route and the operator's `POST /admin/accounts/{id}/instances`).
/// Returns the answer: the instance's secrets, shown this once.
pub async fn create_for(
    cp: &Arc<ControlPlane>,
    creator: Creator,
    base: &str,
    req: Request<Incoming>,
) -> Result<serde_json::Value, CpError> {
    let tenant = creator.account();
    account_may_grow(cp, &tenant)?;
    let body: CreateBody = super::json_body(req).await?;
    let network = super::networks::choose(body.network.as_deref(), body.cloud_api, cp.default_network)?;
    let name = body.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let name = name.ok_or_else(|| CpError::refused(400, "Invalid field", "name is required"))?.to_owned();
    if name.chars().count() > MAX_NAME_LEN {
        return Err(CpError::refused(400, "Invalid field", format!("name is longer than {MAX_NAME_LEN} characters")));
    }
    let received_and_delivery = url(cp, "receivedAndDeliveryCallbackUrl", &body.received_and_delivery_callback_url)?;
    let webhooks = Webhooks {
        delivery: url(cp, "deliveryCallbackUrl", &body.delivery_callback_url)?,
        received: received_and_delivery.clone().or(url(cp, "receivedCallbackUrl", &body.received_callback_url)?),
        message_status: url(cp, "messageStatusCallbackUrl", &body.message_status_callback_url)?,
        disconnected: url(cp, "disconnectedCallbackUrl", &body.disconnected_callback_url)?,
        connected: url(cp, "connectedCallbackUrl", &body.connected_callback_url)?,
        chat_presence: url(cp, "presenceChatCallbackUrl", &body.presence_chat_callback_url)?,
        ..Webhooks::default()
    };
    super::webhook_guard::vet_all(&cp.webhook_policy, &webhooks).await?;
    let token = Secret::generate(16);
    let now = cp.clock.now_ms();
    let mut config = InstanceConfig::new_trial(tenant, token.hash(), name, now, TRIAL_MS);
    config.session_name = body.session_name;
    config.notify_sent_by_me = received_and_delivery.is_some();
    config.webhooks = webhooks;
    config.call_reject_auto = body.call_reject_auto;
    config.call_reject_message = body.call_reject_message;
    config.auto_read_message = body.auto_read_message;
    config.auto_read_status = body.auto_read_status;
    config.disable_enqueue_when_disconnected = body.disable_enqueue_when_disconnected;
    config.is_device = body.is_device;
    config.business_device = body.business_device;
    config.network = network;
    if let Some(p) = config.problems(cp.url_policy).first() {
        return Err(CpError::refused(400, "Invalid field", p.clone()));
    }
    let mut answer = json!({
        "id": config.id.to_string(),
        "token": token.expose(),
        "due": config.due_ms,
        "webhookSecret": config.webhook_secret.expose(),
    });
    if let Network::CloudApi(account) = &config.network {
        answer["network"] = json!("cloud-api");
        answer["verifyToken"] = json!(account.verify_token.expose());
        answer["webhookUrl"] = json!(chatedge_config::snapshot::cloud_api_webhook_url(base, &config.id));
    }
    if config.network == Network::WhatsappWeb {
        answer["network"] = json!("whatsapp-web");
    }
    let sealed = cp.sealer.seal(&config.id, &token)?;
    let mut record = InstanceRecord { config, token: None, sealed_token: Some(sealed), owner: None, version: 0 };
    let live = cp.live_nodes(chatedge_config::time::unix_ms());
    let placed = Arc::new(std::sync::OnceLock::new());
    let owner = placed.clone();
    let version = cp
        .mutate_async(move |r, next| {
            // Placed in the same change that creates it, against the counts this change sees.
            let node = crate::nodes::place(r, &live);
            record.owner = Some(node);
            let _ = owner.set(node);
            // The cap is checked and counted in the same change, so concurrent creates cannot
            // pass it together.
            let mut account = r.tenants.get(&tenant).cloned().ok_or_else(unknown_account)?;
            let Creator::Integrator(who) = &creator else {
                // The operator creates for the account without spending a token's allowance.
                return Ok((next, Change { instances: vec![record], ..Change::default() }));
            };
            let token = account.tokens.iter_mut().find(|k| k.id == who.token_id).ok_or_else(unknown_account)?;
            if !token.definitive && token.instances_created >= FIRST_TOKEN_INSTANCES {
                return Err(CpError::refused(
                    403,
                    "Instance limit reached",
                    format!(
                        "the first integrator token may create {FIRST_TOKEN_INSTANCES} instances; \
                         ask the operator for a definitive token"
                    ),
                ));
            }
            token.instances_created += 1;
            Ok((next, Change { instances: vec![record], tenants: vec![account], ..Change::default() }))
        })
        .await?;
    // Answer once the attached data planes and the instance's own node serve the instance, so
    // its token works right away.
    if !cp.wait_applied_by(version, placed.get().copied(), APPLY_WAIT).await {
        tracing::warn!(version, "created an instance that not every data plane has applied yet");
    }
    Ok(answer)
}

fn unknown_account() -> CpError {
    CpError::refused(401, "Unauthorized", "invalid integrator token")
}

/// `DELETE /instances/{id}` → `{"value": true}` once the data planes have torn it down: its
/// session is closed and its queue and saved session are gone (see the data plane's
/// `shard::teardown`). A subscribed instance is still charged for the current month.
pub async fn delete(cp: &Arc<ControlPlane>, req: &Request<Incoming>, id: &str) -> Result<Resp, CpError> {
    let tenant = tenant_of(cp, req.headers())?;
    let id = InstanceId::parse(id).map_err(|_| unknown())?;
    let now = cp.clock.now_ms();
    let version = cp
        .mutate_async(move |r, next| {
            if r.instances.get(&id).is_none_or(|i| i.config.tenant != tenant) {
                return Err(unknown());
            }
            let mut change = Change { removed_instances: vec![id], ..Change::default() };
            if let Some(mut s) = r.subscriptions.get(&id).cloned() {
                s.ended_ms.get_or_insert(now);
                change.subscriptions.push(s);
            }
            Ok((next, change))
        })
        .await?;
    if !cp.wait_applied(version, APPLY_WAIT).await {
        tracing::warn!(version, "deleted an instance that not every data plane has torn down yet");
    }
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true})))
}

/// A listing parameter from the query string, else from the JSON body (Z-API's own example
/// sends them in the body of the GET, as strings: shared/zapi-har/list-instances.json).
fn param(q: Option<&str>, body: &serde_json::Value, name: &str) -> Option<String> {
    chatedge_serve::query_param(q, name).or_else(|| match body.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn number(v: Option<String>, name: &str, default: usize, max: usize) -> Result<usize, CpError> {
    match v {
        None => Ok(default),
        Some(v) => v.trim_end_matches('/').parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            CpError::refused(400, "Invalid field", format!("{name} must be a whole number from 1 to {max}"))
        }),
    }
}

/// `GET /instances?page=&pageSize=&query=&middleware=` (or the same in a JSON body) in Z-API's
/// page shape, answered 201 as seed 001 documents it (line 13732: "Response 201").
pub async fn list(cp: &Arc<ControlPlane>, req: Request<Incoming>) -> Result<Resp, CpError> {
    let tenant = tenant_of(cp, req.headers())?;
    let q = req.uri().query().map(str::to_owned);
    let q = q.as_deref();
    let body = super::optional_json_body(req).await?;
    let page = number(param(q, &body, "page"), "page", 1, usize::MAX / MAX_PAGE_SIZE)?;
    let size = number(param(q, &body, "pageSize"), "pageSize", 15, MAX_PAGE_SIZE)?;
    let search = param(q, &body, "query").filter(|s| !s.is_empty());
    let middleware = param(q, &body, "middleware").filter(|s| !s.is_empty());
    if middleware.as_deref().is_some_and(|m| m != "web" && m != "mobile") {
        return Err(CpError::refused(400, "Invalid field", "middleware must be web or mobile"));
    }
    let now = cp.clock.now_ms();
    let body = cp.registry_read(|r| {
        let all: Vec<&InstanceRecord> = r
            .instances_of(&tenant)
            .into_iter()
            .filter(|i| search.as_deref().is_none_or(|s| matches_search(i, s)))
            .filter(|i| middleware.as_deref().is_none_or(|m| m == middleware_of(i)))
            .collect();
        let total = all.len();
        let content: Vec<_> = all.iter().skip((page - 1) * size).take(size).map(|i| listing(cp, i, now)).collect();
        json!({
            "total": total,
            "totalPage": total.div_ceil(size),
            "pageSize": size,
            "page": page,
            "content": content,
        })
    });
    Ok(chatedge_serve::json(StatusCode::CREATED, &body))
}

fn matches_search(i: &InstanceRecord, s: &str) -> bool {
    i.config.id.to_string().contains(&s.to_uppercase()) || i.config.name.to_lowercase().contains(&s.to_lowercase())
}

fn middleware_of(i: &InstanceRecord) -> &'static str {
    if i.config.is_device {
        "mobile"
    } else {
        "web"
    }
}

fn listing(cp: &ControlPlane, i: &InstanceRecord, now: u64) -> serde_json::Value {
    let c = &i.config;
    let u = |k: WebhookKind| c.webhooks.get(k).map(|u| u.as_str()).unwrap_or("");
    let token = match (&i.sealed_token, &i.token) {
        (Some(sealed), _) => cp.sealer.open(&c.id, sealed).unwrap_or_else(|| {
            tracing::error!(instance = %c.id, "an instance token does not open with secrets.key (was the key replaced?)");
            String::new()
        }),
        (None, Some(clear)) => clear.expose().to_owned(),
        (None, None) => String::new(),
    };
    // Neither network tells a phone's own connection apart from the session's: a connected
    // session is a connected phone.
    let connected = cp.sessions.connected(&c.id);
    json!({
        "token": token,
        "tenant": c.tenant.to_string(),
        "created": chatedge_config::time::rfc3339_ms(c.created_ms),
        "due": billing::due_of(i, now),
        "paymentStatus": c.payment_status,
        "deliveryCallbackUrl": u(WebhookKind::Delivery),
        "receivedCallbackUrl": u(WebhookKind::Received),
        "disconnectedCallbackUrl": u(WebhookKind::Disconnected),
        "messageStatusCallbackUrl": u(WebhookKind::MessageStatus),
        "receivedAndDeliveryCallbackUrl": if c.notify_sent_by_me { u(WebhookKind::Received) } else { "" },
        "presenceChatCallbackUrl": u(WebhookKind::ChatPresence),
        "connectedCallbackUrl": u(WebhookKind::Connected),
        "receivedStatusCallbackUrl": "",
        "phoneConnected": connected,
        "whatsappConnected": connected,
        "middleware": middleware_of(i),
        "network": match c.network {
            Network::Sim => "sim",
            Network::CloudApi(_) => "cloud-api",
            Network::WhatsappWeb => "whatsapp-web",
        },
        "name": c.name,
        "id": c.id.to_string(),
    })
}

/// A cancelled instance stays usable for 30 days (seed 001, line 13680).
const CANCEL_GRACE_MS: u64 = 30 * DAY_MS;

#[derive(Deserialize)]
struct RenameBody {
    value: Option<String>,
    /// chatedge's own: which instance. Z-API's example (`PUT /instances {"value": "Name"}`)
    /// names none, which is unambiguous only for an integrator with one instance.
    id: Option<String>,
}

/// `PUT /instances {"value": "Name", "id"?}` → `{"value": true}`: renames one of the
/// integrator's instances, like the instance's own `update-name`.
pub async fn rename(cp: &Arc<ControlPlane>, req: Request<Incoming>) -> Result<Resp, CpError> {
    let tenant = tenant_of(cp, req.headers())?;
    let body: RenameBody = super::json_body(req).await?;
    let name = body.value.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let name =
        name.ok_or_else(|| CpError::refused(400, "Invalid field", "value (the new name) is required"))?.to_owned();
    if name.chars().count() > MAX_NAME_LEN {
        return Err(CpError::refused(400, "Invalid field", format!("value is longer than {MAX_NAME_LEN} characters")));
    }
    let id = match body.id.as_deref() {
        Some(id) => InstanceId::parse(id).map_err(|_| unknown())?,
        None => {
            let ids = cp.registry_read(|r| r.instances_of(&tenant).iter().map(|i| i.config.id).collect::<Vec<_>>());
            match ids.as_slice() {
                [one] => *one,
                _ => {
                    let message = format!("id is required: this integrator token has {} instances", ids.len());
                    return Err(CpError::refused(400, "Invalid field", message));
                }
            }
        }
    };
    change_owned(cp, tenant, id, move |c| c.name = name).await?;
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true})))
}

/// Which lifecycle route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Subscribe,
    Cancel,
}

/// `POST /instances/{id}/token/{token}/integrator/on-demand/{subscription|cancel}` → 201
/// `{"value": true, "paymentStatus", "due"}` (seed 001 lines 13607–13700 show 201 and no body).
/// Subscribing starts billing (postpaid, from this month on); cancelling a subscribed instance
/// keeps it usable for 30 days from now and charges it on the next invoice, then the jobs
/// delete it; cancelling a trial ends it when the trial would have. Repeating either is a
/// no-op. A disabled or stopped account cannot subscribe.
pub async fn lifecycle(
    cp: &Arc<ControlPlane>,
    req: &Request<Incoming>,
    id: &str,
    token: &str,
    which: Lifecycle,
) -> Result<Resp, CpError> {
    let tenant = tenant_of(cp, req.headers())?;
    let id = InstanceId::parse(id).map_err(|_| unknown())?;
    let token_ok = cp.registry_read(|r| {
        r.instances.get(&id).is_some_and(|i| i.config.tenant == tenant && i.config.token_hash.matches(token.as_bytes()))
    });
    if !token_ok {
        return Err(unknown());
    }
    if which == Lifecycle::Subscribe {
        account_may_grow(cp, &tenant)?;
    }
    let now = cp.clock.now_ms();
    let (version, record) = cp
        .mutate_async(move |r, next| {
            let mut record = r.instances.get(&id).filter(|i| i.config.tenant == tenant).cloned().ok_or_else(unknown)?;
            let c = &mut record.config;
            let mut sub =
                r.subscriptions.get(&id).cloned().unwrap_or_else(|| Subscription::new(id, tenant, c.name.clone()));
            sub.name = c.name.clone();
            let was_paid = c.payment_status == PAID || sub.is_active();
            let mut change = Change::default();
            match which {
                Lifecycle::Subscribe if c.payment_status == PAID => {}
                Lifecycle::Subscribe => {
                    c.payment_status = PAID.into();
                    c.due_ms = billing::paid_due(now);
                    c.active = true;
                    sub.subscribe(now);
                    change.subscriptions.push(sub);
                }
                Lifecycle::Cancel if c.payment_status == CANCELED || (c.payment_status == TRIAL && !was_paid) => {
                    c.payment_status = CANCELED.into();
                }
                Lifecycle::Cancel => {
                    c.payment_status = CANCELED.into();
                    c.due_ms = now + CANCEL_GRACE_MS;
                    sub.cancel(now);
                    change.subscriptions.push(sub);
                }
            }
            change.instances.push(record.clone());
            Ok(((next, record), change))
        })
        .await?;
    if !cp.wait_applied(version, APPLY_WAIT).await {
        tracing::warn!(version, "changed an instance that not every data plane has applied yet");
    }
    let body = json!({
        "value": true,
        "paymentStatus": record.config.payment_status,
        "due": billing::due_of(&record, now),
    });
    Ok(chatedge_serve::json(StatusCode::CREATED, &body))
}

/// Applies `f` to the tenant's instance `id`, durably, and answers the changed config once the
/// data planes serve it (or the wait runs out).
async fn change_owned(
    cp: &Arc<ControlPlane>,
    tenant: TenantId,
    id: InstanceId,
    f: impl FnOnce(&mut InstanceConfig) + Send + 'static,
) -> Result<InstanceConfig, CpError> {
    let policy = cp.url_policy;
    let (version, config) = cp
        .mutate_async(move |r, next| {
            let mut record = r.instances.get(&id).filter(|i| i.config.tenant == tenant).cloned().ok_or_else(unknown)?;
            f(&mut record.config);
            if let Some(p) = record.config.problems(policy).first() {
                return Err(CpError::refused(400, "Invalid field", p.clone()));
            }
            let config = record.config.clone();
            Ok(((next, config), Change { instances: vec![record], ..Change::default() }))
        })
        .await?;
    if !cp.wait_applied(version, APPLY_WAIT).await {
        tracing::warn!(version, "changed an instance that not every data plane has applied yet");
    }
    Ok(config)
}
