//! Routes data planes call, authenticated with the node token: the config stream, update
//! acknowledgements, session reports, and settings changes forwarded from the instance API.

use std::sync::Arc;

use chatedge_config::settings::{SettingChange, SettingsApplied, SettingsPatch};
use chatedge_config::{InstanceId, NodeId, SessionReport, UpdateAck};
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::json;
use tokio::sync::watch;

use super::Body;
use crate::registry::Change;
use crate::{push, ControlPlane, CpError};

fn check_node(cp: &ControlPlane, headers: &hyper::HeaderMap) -> Result<(), CpError> {
    let token = chatedge_serve::bearer(headers);
    let ok = cp.registry_read(|r| match (r.node_hash, token) {
        (Some(h), Some(t)) => h.matches(t.as_bytes()),
        _ => false,
    });
    if ok {
        Ok(())
    } else {
        Err(CpError::refused(401, "Unauthorized", "invalid node token"))
    }
}

/// `GET /dataplane/v1/config/stream?node=…`: a full snapshot, then each new version.
pub fn stream(
    cp: &Arc<ControlPlane>,
    req: &Request<Incoming>,
    shutdown: watch::Receiver<bool>,
) -> Result<Response<Body>, CpError> {
    check_node(cp, req.headers())?;
    let node = chatedge_serve::query_param(req.uri().query(), "node")
        .and_then(|n| NodeId::parse(&n).ok())
        .ok_or_else(|| CpError::refused(400, "Invalid field", "node must be the data plane's node id"))?;
    Ok(push::open(cp.clone(), node, shutdown))
}

pub async fn ack(cp: &Arc<ControlPlane>, req: Request<Incoming>) -> Result<Resp, CpError> {
    check_node(cp, req.headers())?;
    let ack: UpdateAck = super::json_body(req).await?;
    push::record_ack(cp, &ack);
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true})))
}

/// `POST /dataplane/v1/report`: a data plane's connected instances (see `sessions`).
pub async fn report(cp: &Arc<ControlPlane>, req: Request<Incoming>) -> Result<Resp, CpError> {
    check_node(cp, req.headers())?;
    let report: SessionReport = super::json_body(req).await?;
    let taken = cp.sessions.record(report, chatedge_config::time::unix_ms());
    cp.metrics.session_reports.with_label_values(&[if taken { "taken" } else { "stale" }]).inc();
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true})))
}

/// Applies a settings change to an instance and answers the version that carries it.
pub async fn settings(cp: &Arc<ControlPlane>, req: Request<Incoming>, id: &str) -> Result<Resp, CpError> {
    check_node(cp, req.headers())?;
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
            let mut record = r
                .instances
                .get(&id)
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
