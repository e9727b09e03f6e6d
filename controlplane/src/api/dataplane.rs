//! Routes data planes call, authenticated with a node token — the default node's or a
//! registered node's that is not revoked (`nodes`): the config stream, update
//! acknowledgements, session reports (with their message counts), settings changes forwarded
//! from the instance API, and the instance `stats` a node answers for (for instances the node
//! owns only). Every authenticated call counts as the node's last contact.

use std::sync::Arc;

use chatedge_config::placement::{Peer, ADVERTISE_KEY_HASH_HEADER, ADVERTISE_URL_HEADER};
use chatedge_config::settings::{SettingChange, SettingsApplied, SettingsPatch};
use chatedge_config::snapshot::ReportAnswer;
use chatedge_config::{InstanceId, NodeId, SessionReport, UpdateAck};
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::json;
use tokio::sync::watch;

use crate::registry::Change;
use crate::{push, ControlPlane, CpError};

/// The node the request's token belongs to; a missing, unknown or revoked token is 401.
fn check_node(cp: &ControlPlane, headers: &hyper::HeaderMap) -> Result<NodeId, CpError> {
    let token = chatedge_serve::bearer(headers);
    let node = token.and_then(|t| cp.registry_read(|r| r.node_by_token(t)));
    let node = node.ok_or_else(|| CpError::refused(401, "Unauthorized", "invalid or revoked node token"))?;
    cp.activity.heard(node, chatedge_config::time::unix_ms());
    Ok(node)
}

/// `GET /dataplane/v1/config/stream?node=…`: a full snapshot, then each new version. The
/// request may carry the node's advert (its address for other nodes and its peer key's hash,
/// `chatedge_config::placement`); a new or changed one is recorded first, as a change every
/// node receives.
pub async fn stream(
    cp: &Arc<ControlPlane>,
    req: &Request<Incoming>,
    shutdown: watch::Receiver<bool>,
) -> Result<Resp, CpError> {
    let node = check_node(cp, req.headers())?;
    let process = chatedge_serve::query_param(req.uri().query(), "node")
        .and_then(|n| NodeId::parse(&n).ok())
        .ok_or_else(|| CpError::refused(400, "Invalid field", "node must be the data plane's node id"))?;
    if let Some(advert) = advert(node, req.headers())? {
        let known = cp.registry_read(|r| r.adverts.get(&node) == Some(&advert));
        if !known {
            tracing::info!(node = %crate::nodes::label(node), url = %advert.url, "data plane advertised its address");
            cp.mutate_async(move |_, _| Ok(((), Change { adverts: vec![advert], ..Change::default() }))).await?;
        }
    }
    Ok(push::open(cp.clone(), push::Holder { node, process }, shutdown))
}

/// The advert a stream request carries, if any; a malformed one is refused (400).
fn advert(node: NodeId, headers: &hyper::HeaderMap) -> Result<Option<Peer>, CpError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (Some(url), Some(hash)) = (text(ADVERTISE_URL_HEADER), text(ADVERTISE_KEY_HASH_HEADER)) else {
        return Ok(None);
    };
    let bad = |what: String| CpError::refused(400, "Invalid field", what);
    let url = chatedge_config::link::check_advertise_url(&url).map_err(|e| bad(format!("advertised URL: {e}")))?;
    let key_hash = serde_json::from_value(serde_json::Value::String(hash))
        .map_err(|e| bad(format!("advertised peer key hash: {e}")))?;
    Ok(Some(Peer { node, url, key_hash }))
}

pub async fn ack(cp: &Arc<ControlPlane>, req: Request<Incoming>) -> Result<Resp, CpError> {
    let node = check_node(cp, req.headers())?;
    let ack: UpdateAck = super::json_body(req).await?;
    push::record_ack(cp, node, &ack);
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true})))
}

/// `POST /dataplane/v1/report`: a data plane's connected instances (see `sessions`) and day
/// counts (see `usage`); answered with what the node's accounts under a daily quota sent that
/// day on the other data planes (`ReportAnswer`).
pub async fn report(cp: &Arc<ControlPlane>, req: Request<Incoming>) -> Result<Resp, CpError> {
    let node = check_node(cp, req.headers())?;
    let mut report: SessionReport = super::json_body(req).await?;
    // Only days near the control plane's own today: a node with a skewed (or test) clock
    // must not write rows that pruning, which keeps recent months, would never reach.
    let today = (cp.clock.now_ms() / crate::clock::DAY_MS) as u32;
    let near = |day: u32| day.saturating_add(2) >= today && day <= today.saturating_add(1);
    let counts: Vec<_> = std::mem::take(&mut report.usage).into_iter().filter(|u| near(u.day)).collect();
    let (process, their_today) = (report.node, report.today.filter(|d| near(*d)));
    if !counts.is_empty() {
        // Whole-day counts: taking them again changes nothing, whatever the report's order.
        let moved = cp.record_usage(report.node, counts).await?;
        cp.metrics.usage_rows.inc_by(moved as u64);
    }
    let taken = cp.sessions.record(report, node, chatedge_config::time::unix_ms());
    cp.metrics.session_reports.with_label_values(&[if taken { "taken" } else { "stale" }]).inc();
    // What the node's accounts under a quota sent elsewhere that day: the node holds them to
    // their quota over every data plane with it.
    let elsewhere = match their_today {
        Some(day) => cp.sends_elsewhere(node, process, day).await?,
        None => Vec::new(),
    };
    Ok(chatedge_serve::json(StatusCode::OK, &ReportAnswer { value: true, elsewhere }))
}

/// Applies a settings change to an instance and answers the version that carries it.
pub async fn settings(cp: &Arc<ControlPlane>, req: Request<Incoming>, id: &str) -> Result<Resp, CpError> {
    let node = check_node(cp, req.headers())?;
    let id = InstanceId::parse(id).map_err(|e| CpError::refused(400, "Invalid field", format!("instance id: {e}")))?;
    let patch: SettingsPatch = super::json_body(req).await?;
    for change in &patch.changes {
        if let SettingChange::Webhook { url: Some(url), .. } | SettingChange::EveryWebhook(Some(url)) = change {
            super::webhook_guard::vet(&cp.webhook_policy, url).await?;
        }
    }
    let policy = cp.url_policy;
    let version = cp
        .mutate_async(move |r, next| {
            // Another node's instance answers as an unknown one: a node changes its own only.
            let mut record = r
                .instances
                .get(&id)
                .filter(|i| i.owner() == node)
                .cloned()
                .ok_or_else(|| CpError::refused(404, "Instance not found", "no such instance"))?;
            patch.apply(&mut record.config);
            if let Some(p) = record.config.problems(policy).first() {
                return Err(CpError::refused(400, "Invalid field", p.clone()));
            }
            Ok((next, Change { instances: vec![record], ..Change::default() }))
        })
        .await?;
    Ok(chatedge_serve::json(StatusCode::OK, &SettingsApplied { version }))
}

/// The lower of two optional limits; `None` when neither is set.
fn lower(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `GET /dataplane/v1/instances/{id}/stats`: the figures of `…/stats` (issue 10 §5) for an
/// instance the asking node owns — it has checked the instance's token and account security
/// — with Zapini's field names (seed 002). `daily_limit` is the one that binds (the lower of
/// the instance's own and its account's `dailyQuota`), `null` when neither is set;
/// `remaining_quota` is what is left of the instance's own limit and of the account's quota,
/// which all its instances share, whichever is less (`null` when neither is set).
pub async fn stats(cp: &Arc<ControlPlane>, req: &Request<Incoming>, id: &str) -> Result<Resp, CpError> {
    let node = check_node(cp, req.headers())?;
    let not_found = || CpError::refused(404, "Instance not found", "no such instance");
    let id = InstanceId::parse(id).map_err(|_| not_found())?;
    let (own, quota, siblings) = cp
        .registry_read(|r| {
            let i = r.instances.get(&id).filter(|i| i.owner() == node)?;
            let tenant = i.config.tenant;
            let quota = r.tenants.get(&tenant).and_then(|t| t.tenant.limits).and_then(|l| l.daily_quota);
            let siblings: Vec<InstanceId> =
                r.instances.values().filter(|s| s.config.tenant == tenant).map(|s| s.config.id).collect();
            Some((i.config.daily_limit, quota, siblings))
        })
        .ok_or_else(not_found)?;
    let f = cp.usage_figures(id).await?;
    let account_left = match quota {
        Some(q) => Some(q.saturating_sub(cp.sent_today(siblings).await?)),
        None => None,
    };
    let own_left = own.map(|l| l.saturating_sub(f.sent_today));
    let (limit, remaining) = (lower(own, quota), lower(own_left, account_left));
    let body = json!({
        "messages_sent_today": f.sent_today,
        "messages_received_today": f.received_today,
        "daily_limit": limit,
        "remaining_quota": remaining,
        "messages_this_month": f.sent_this_month,
    });
    Ok(chatedge_serve::json(StatusCode::OK, &body))
}
