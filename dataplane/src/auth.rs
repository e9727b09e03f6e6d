//! auth: who may call. An instance route needs an instance id and its token (checked against
//! the SHA-256 hash in the current snapshot, in constant time); admin routes need the admin
//! token. An unknown instance and a wrong token are indistinguishable — same answer, same work —
//! so no caller learns whether another tenant's instance exists.

use std::sync::Arc;

use chatedge_config::{InstanceConfig, InstanceId, Snapshot, TokenHash};
use hyper::HeaderMap;

/// Checks `token` for instance `id`; `None` when either is wrong.
pub fn instance(snapshot: &Snapshot, id: &str, token: &str) -> Option<Arc<InstanceConfig>> {
    let presented = TokenHash::of(token.as_bytes());
    let found = InstanceId::parse(id).ok().and_then(|id| snapshot.instances.get(&id));
    // Compare against something even when the id is unknown, so timing tells nothing.
    let expected = found.map(|i| i.token_hash).unwrap_or(TokenHash::of(b"\0no instance\0"));
    match found {
        Some(i) if expected == presented => Some(i.clone()),
        _ => None,
    }
}

/// Whether the request carries the admin token (`Authorization: Bearer …`).
pub fn admin(snapshot: &Snapshot, headers: &HeaderMap) -> bool {
    match (snapshot.admin_token_hash, chatedge_serve::bearer(headers)) {
        (Some(hash), Some(token)) => hash.matches(token.as_bytes()),
        _ => false,
    }
}
