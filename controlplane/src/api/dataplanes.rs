//! The operator's routes for data planes (`/admin/dataplanes`, admin token): register a node
//! (`POST {"name"}` → `{"id", "name", "nodeToken"}`, the token shown this once and stored as a
//! hash), list every node with what it did lately, and revoke one (`POST …/{id}/revoke` or
//! `DELETE …/{id}`): from that change on its token is refused (401), its open config stream
//! ends and its instances move to live nodes (`nodes::reassign`). The default node (the first-start node token) is listed but is changed only through
//! `CHATEDGE_NODE_TOKEN`. The listing shows each node's advertised address and the instances
//! it quarantined (refused to take), as its last acknowledgement reported them.

use std::sync::Arc;

use chatedge_config::{NodeId, Secret};
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::nodes::{self, reassign, NodeRecord, DEFAULT_NODE, MAX_NAME_LEN, MAX_NODES};
use crate::registry::Change;
use crate::{ControlPlane, CpError};

#[derive(Deserialize)]
struct NameBody {
    name: Option<String>,
}

/// Serves `/admin/dataplanes…` (the admin token already checked); `None` when no route matches.
pub async fn route(cp: &Arc<ControlPlane>, req: Request<Incoming>, rest: &[&str]) -> Option<Result<Resp, CpError>> {
    let method = req.method().clone();
    Some(match (&method, rest) {
        (&Method::POST, []) => register(cp, req).await,
        (&Method::GET, []) => Ok(chatedge_serve::json(StatusCode::OK, &list(cp))),
        (&Method::POST, [id, "revoke"]) | (&Method::DELETE, [id]) => revoke(cp, id).await,
        _ => return None,
    })
}

fn not_found() -> CpError {
    CpError::refused(404, "Data plane not found", "no registered data plane has this id")
}

async fn register(cp: &Arc<ControlPlane>, req: Request<Incoming>) -> Result<Resp, CpError> {
    let body: NameBody = super::json_body(req).await?;
    let name = body.name.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(CpError::refused(400, "Invalid field", format!("name: 1 to {MAX_NAME_LEN} characters")));
    }
    let token = Secret::generate(24);
    let record = NodeRecord {
        id: NodeId::generate(),
        name,
        hash: token.hash(),
        created_ms: chatedge_config::time::unix_ms(),
        revoked_ms: None,
    };
    let answer = json!({"id": record.id.to_string(), "name": record.name, "nodeToken": token.expose()});
    cp.mutate_async(move |r, _| {
        if r.nodes.len() >= MAX_NODES {
            let why = format!("at most {MAX_NODES} data planes may be registered");
            return Err(CpError::refused(409, "Too many data planes", why));
        }
        Ok(((), Change { nodes: vec![record], ..Change::default() }))
    })
    .await?;
    Ok(chatedge_serve::json(StatusCode::CREATED, &answer))
}

async fn revoke(cp: &Arc<ControlPlane>, id: &str) -> Result<Resp, CpError> {
    let id = NodeId::parse(id).map_err(|_| not_found())?;
    if id == DEFAULT_NODE {
        let why = "the default node's token is replaced by starting the control plane with CHATEDGE_NODE_TOKEN";
        return Err(CpError::refused(400, "Invalid field", why));
    }
    let now = chatedge_config::time::unix_ms();
    let live = cp.live_nodes(now);
    // Its instances move to live nodes in the same change (none live: they stay, and
    // `reassign::run` moves them as soon as one is).
    let moved = cp
        .mutate_async(move |r, _| {
            let mut record = r.nodes.get(&id).cloned().ok_or_else(not_found)?;
            record.revoked_ms.get_or_insert(now);
            let moved = reassign::moves(r, &[id], &live);
            Ok((moved.len(), Change { nodes: vec![record], instances: moved, ..Change::default() }))
        })
        .await?;
    cp.metrics.instances_moved.with_label_values(&[reassign::Reason::Revoked.label()]).inc_by(moved as u64);
    cp.activity.forget(id);
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true})))
}

/// Every node (the default one first, then registered ones by id) and how the link is secured.
fn list(cp: &ControlPlane) -> serde_json::Value {
    let (version, counts, registered, adverts) = cp.registry_read(|r| {
        let registered: Vec<(NodeId, String, Option<u64>, u64)> =
            r.nodes.values().map(|n| (n.id, n.name.clone(), n.revoked_ms, n.created_ms)).collect();
        let adverts: std::collections::HashMap<NodeId, String> =
            r.adverts.values().map(|p| (p.node, p.url.clone())).collect();
        (r.version, r.instances_per_node(), registered, adverts)
    });
    let default = (DEFAULT_NODE, "default".to_owned(), None, 0);
    let view = |(id, name, revoked_ms, created_ms): (NodeId, String, Option<u64>, u64)| {
        let contact = cp.activity.get(id);
        let (quarantined, which) = cp.quarantines.of(id);
        json!({
            "id": id.to_string(),
            "name": name,
            "default": id == DEFAULT_NODE,
            "createdMs": created_ms,
            "revoked": revoked_ms.is_some(),
            "revokedMs": revoked_ms,
            "appliedVersion": contact.applied,
            "lastContactMs": (contact.last_ms > 0).then_some(contact.last_ms),
            "streams": cp.streams_of(id),
            "instances": counts.get(&id).copied().unwrap_or(0),
            "sessions": {"connected": cp.sessions.connected_on(id)},
            "advertisedUrl": adverts.get(&id),
            "quarantined": {"count": quarantined, "instances": which},
            "metricLabel": nodes::label(id),
        })
    };
    let dataplanes: Vec<_> = std::iter::once(default).chain(registered).map(view).collect();
    json!({
        "configVersion": version,
        "controlPlane": {
            "tls": cp.link_fingerprint.is_some(),
            "fingerprint": cp.link_fingerprint.map(|f| f.to_string()),
        },
        "dataplanes": dataplanes,
    })
}
