//! The Z-API integrator routes (seed 001, lines 13515–13800): create an instance on demand and
//! list the tenant's instances; and delete one (`DELETE /instances/{id}`, chatedge's own: in
//! Z-API an operator's job deletes expired trials and unpaid instances, seed 001 line 13482).
//! `Authorization: Bearer <integrator token>`; a tenant only ever sees its own instances.

use std::sync::Arc;

use chatedge_config::snapshot::{InstanceConfig, Network, WebhookKind, Webhooks, MAX_NAME_LEN};
use chatedge_config::{InstanceId, Secret, TenantId, WebhookUrl};
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::registry::{Change, InstanceRecord};
use crate::{ControlPlane, CpError};

/// Z-API: "When you create an instance, it defaults to a two-day trial period."
const TRIAL_MS: u64 = 2 * 24 * 60 * 60 * 1000;
const MAX_PAGE_SIZE: usize = 1000;
/// Longest wait for data planes to apply a new instance before answering anyway.
const APPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn tenant_of(cp: &ControlPlane, headers: &hyper::HeaderMap) -> Result<TenantId, CpError> {
    let token = chatedge_serve::bearer(headers)
        .ok_or_else(|| CpError::refused(401, "Unauthorized", "Authorization: Bearer <integrator token> required"))?;
    cp.registry_read(|r| r.tenant_by_integrator_token(token).map(|t| t.tenant.id))
        .ok_or_else(|| CpError::refused(401, "Unauthorized", "invalid integrator token"))
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
    #[serde(default)]
    call_reject_auto: bool,
    call_reject_message: Option<String>,
    #[serde(default)]
    auto_read_message: bool,
    #[serde(default)]
    is_device: bool,
    #[serde(default)]
    business_device: bool,
    /// `sim` (default) or `cloud-api` (issue 12).
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

/// `POST /instances/integrator/on-demand` → `{id, token, due, webhookSecret}`; a Cloud API
/// instance's answer adds `network`, `verifyToken` and `webhookUrl` (see [`super::cloud_api`]).
pub async fn create(cp: &Arc<ControlPlane>, req: Request<Incoming>) -> Result<Resp, CpError> {
    let tenant = tenant_of(cp, req.headers())?;
    let base = req
        .headers()
        .get(chatedge_config::snapshot::PUBLIC_BASE_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|b| b.starts_with("http://") || b.starts_with("https://"))
        .map(str::to_owned)
        .unwrap_or_else(|| cp.dataplane_base.clone());
    let body: CreateBody = super::json_body(req).await?;
    let network = super::cloud_api::network(body.network.as_deref(), body.cloud_api)?;
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
        chat_presence: None,
    };
    super::webhook_guard::vet_all(&cp.webhook_policy, &webhooks).await?;
    let token = Secret::generate(16);
    let now = chatedge_config::time::unix_ms();
    let mut config = InstanceConfig::new_trial(tenant, token.hash(), name, now, TRIAL_MS);
    config.session_name = body.session_name;
    config.notify_sent_by_me = received_and_delivery.is_some();
    config.webhooks = webhooks;
    config.call_reject_auto = body.call_reject_auto;
    config.call_reject_message = body.call_reject_message;
    config.auto_read_message = body.auto_read_message;
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
        answer["webhookUrl"] = json!(chatedge_config::snapshot::cloud_api_webhook_url(&base, &config.id));
    }
    let record = InstanceRecord { config, token, version: 0 };
    let version =
        cp.mutate_async(move |_, next| Ok((next, Change { instances: vec![record], ..Change::default() }))).await?;
    // Answer once the attached data planes serve the instance, so its token works right away.
    if !cp.wait_applied(version, APPLY_WAIT).await {
        tracing::warn!(version, "created an instance that not every data plane has applied yet");
    }
    Ok(chatedge_serve::json(StatusCode::OK, &answer))
}

/// `DELETE /instances/{id}` → `{"value": true}` once the data planes have torn it down: its
/// session is closed and its queue and saved session are gone (see the data plane's
/// `shard::teardown`).
pub async fn delete(cp: &Arc<ControlPlane>, req: &Request<Incoming>, id: &str) -> Result<Resp, CpError> {
    let tenant = tenant_of(cp, req.headers())?;
    let unknown = || CpError::refused(404, "Instance not found", "no instance with this id for this integrator token");
    let id = InstanceId::parse(id).map_err(|_| unknown())?;
    let owned = cp.registry_read(|r| r.instances.get(&id).is_some_and(|i| i.config.tenant == tenant));
    if !owned {
        return Err(unknown());
    }
    let version = cp
        .mutate_async(move |r, next| {
            if !r.instances.contains_key(&id) {
                return Err(CpError::refused(404, "Instance not found", "the instance was deleted meanwhile"));
            }
            Ok((next, Change { removed_instances: vec![id], ..Change::default() }))
        })
        .await?;
    if !cp.wait_applied(version, APPLY_WAIT).await {
        tracing::warn!(version, "deleted an instance that not every data plane has torn down yet");
    }
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true})))
}

fn query_number(q: Option<&str>, name: &str, default: usize, max: usize) -> Result<usize, CpError> {
    match chatedge_serve::query_param(q, name) {
        None => Ok(default),
        Some(v) => v.trim_end_matches('/').parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            CpError::refused(400, "Invalid field", format!("{name} must be a whole number from 1 to {max}"))
        }),
    }
}

/// `GET /instances?page=&pageSize=&query=&middleware=` in Z-API's page shape.
pub fn list(cp: &ControlPlane, req: &Request<Incoming>) -> Result<Resp, CpError> {
    let tenant = tenant_of(cp, req.headers())?;
    let q = req.uri().query();
    let page = query_number(q, "page", 1, usize::MAX / MAX_PAGE_SIZE)?;
    let size = query_number(q, "pageSize", 15, MAX_PAGE_SIZE)?;
    let search = chatedge_serve::query_param(q, "query").filter(|s| !s.is_empty());
    let middleware = chatedge_serve::query_param(q, "middleware").filter(|s| !s.is_empty());
    let body = cp.registry_read(|r| {
        let all: Vec<&InstanceRecord> = r
            .instances_of(&tenant)
            .into_iter()
            .filter(|i| search.as_deref().is_none_or(|s| matches_search(i, s)))
            .filter(|i| middleware.as_deref().is_none_or(|m| m == middleware_of(i)))
            .collect();
        let total = all.len();
        let content: Vec<_> = all.iter().skip((page - 1) * size).take(size).map(|i| listing(i)).collect();
        json!({
            "total": total,
            "totalPage": total.div_ceil(size),
            "pageSize": size,
            "page": page,
            "content": content,
        })
    });
    Ok(chatedge_serve::json(StatusCode::OK, &body))
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

fn listing(i: &InstanceRecord) -> serde_json::Value {
    let c = &i.config;
    let u = |k: WebhookKind| c.webhooks.get(k).map(|u| u.as_str()).unwrap_or("");
    json!({
        "token": i.token.expose(),
        "tenant": c.tenant.to_string(),
        "created": chatedge_config::time::rfc3339_ms(c.created_ms),
        "due": c.due_ms,
        "paymentStatus": c.payment_status,
        "deliveryCallbackUrl": u(WebhookKind::Delivery),
        "receivedCallbackUrl": u(WebhookKind::Received),
        "disconnectedCallbackUrl": u(WebhookKind::Disconnected),
        "messageStatusCallbackUrl": u(WebhookKind::MessageStatus),
        "receivedAndDeliveryCallbackUrl": if c.notify_sent_by_me { u(WebhookKind::Received) } else { "" },
        "presenceChatCallbackUrl": u(WebhookKind::ChatPresence),
        "connectedCallbackUrl": u(WebhookKind::Connected),
        "receivedStatusCallbackUrl": "",
        "middleware": middleware_of(i),
        "network": match c.network { Network::Sim => "sim", Network::CloudApi(_) => "cloud-api" },
        "name": c.name,
        "id": c.id.to_string(),
    })
}

/// A subscribed instance is paid for a month at a time (seed 001, line 13490: instances are
/// billed monthly); a cancelled one stays usable for 30 days (line 13680).
const MONTH_MS: u64 = 30 * 24 * 60 * 60 * 1000;

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
    let unknown = || CpError::refused(404, "Instance not found", "no instance with this id for this integrator token");
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
/// `{"value": true, "paymentStatus", "due"}`. Subscribing marks the instance paid and keeps it
/// at least a month past now; cancelling a paid instance keeps it usable for 30 days from now,
/// cancelling a trial ends it when the trial would have.
pub async fn lifecycle(
    cp: &Arc<ControlPlane>,
    req: &Request<Incoming>,
    id: &str,
    token: &str,
    which: Lifecycle,
) -> Result<Resp, CpError> {
    let tenant = tenant_of(cp, req.headers())?;
    let unknown =
        || CpError::refused(404, "Instance not found", "no instance with this id and token for this integrator");
    let id = InstanceId::parse(id).map_err(|_| unknown())?;
    let token_ok =
        cp.registry_read(|r| r.instances.get(&id).is_some_and(|i| i.config.token_hash.matches(token.as_bytes())));
    if !token_ok {
        return Err(unknown());
    }
    let now = chatedge_config::time::unix_ms();
    let config = change_owned(cp, tenant, id, move |c| match which {
        Lifecycle::Subscribe => {
            c.payment_status = "PAID".into();
            c.due_ms = c.due_ms.max(now + MONTH_MS);
            c.active = true;
        }
        Lifecycle::Cancel => {
            if c.payment_status != "TRIAL" {
                c.due_ms = c.due_ms.max(now + MONTH_MS);
            }
            c.payment_status = "CANCELED".into();
        }
    })
    .await?;
    let body = json!({"value": true, "paymentStatus": config.payment_status, "due": config.due_ms});
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
            let mut record = r.instances.get(&id).filter(|i| i.config.tenant == tenant).cloned().ok_or_else(|| {
                CpError::refused(404, "Instance not found", "no instance with this id for this integrator token")
            })?;
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
