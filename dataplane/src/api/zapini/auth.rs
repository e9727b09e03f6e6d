//! Who a Zapini request is from, and which instance it may act on. `Authorization: Bearer
//! sk_…` (an instance API key) names one instance; any other bearer is checked as the
//! account's integrator token (the tenant-wide bearer). A missing or unknown credential is
//! 401; an instance that is unknown, malformed, another account's or not the key's own is the
//! same 404 — but an instance of another data plane named with the account's token goes to
//! that data plane ([`ZapiniError::Elsewhere`]). The account's IP allowlist applies to every
//! call, its send permission (disabled, unpaid) and the instance's own state to sends.

use std::sync::Arc;

use chatedge_config::snapshot::{parse_instance_ref, API_KEY_PREFIX};
use chatedge_config::{InstanceConfig, Snapshot, Tenant, TenantId};
use chatedge_serve::Body;
use hyper::{HeaderMap, Request};

use super::{Call, ZapiniError};
use crate::edge::proxy::Where;

/// What the request presented.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An `sk_…` key: this instance only.
    Instance(Arc<InstanceConfig>),
    /// The account's integrator token: every instance of the account.
    Account(Arc<Tenant>),
}

impl Credential {
    pub fn tenant(&self) -> TenantId {
        match self {
            Credential::Instance(i) => i.tenant,
            Credential::Account(t) => t.id,
        }
    }
}

/// The credential `headers` carry, if it is live in `snapshot`.
pub fn credential(snapshot: &Snapshot, headers: &HeaderMap) -> Option<Credential> {
    let token = crate::auth::api_key(headers)?;
    match token.starts_with(API_KEY_PREFIX) {
        true => snapshot.instance_by_api_key(token).cloned().map(Credential::Instance),
        false => snapshot.account_by_secret(token).cloned().map(Credential::Account),
    }
}

/// The account a Zapini request is counted under by the edge's rate limiter, if its
/// credential is live.
pub fn account_of(snapshot: &Snapshot, headers: &HeaderMap) -> Option<TenantId> {
    credential(snapshot, headers).map(|c| c.tenant())
}

pub(super) fn authenticate(app: &super::App, req: &Request<Body>) -> Result<Credential, ZapiniError> {
    let snapshot = app.config.load();
    let credential = credential(&snapshot, req.headers()).ok_or(ZapiniError::Unauthorized)?;
    let tenant = snapshot.tenants.get(&credential.tenant()).ok_or(ZapiniError::Unauthorized)?;
    crate::auth::allowlist(tenant, req.headers(), req.extensions().get::<crate::auth::Origin>())
        .map_err(ZapiniError::Refused)?;
    Ok(credential)
}

impl Call<'_> {
    /// The instance the request acts on: `given` (a path's `{id}`, a body's or the query's
    /// `instance_id`), which an `sk_…` key may leave out.
    pub fn instance(&self, given: Option<&str>) -> Result<Arc<InstanceConfig>, ZapiniError> {
        let snapshot = self.app.config.load();
        let id = match (given, &self.credential) {
            (Some(g), _) => parse_instance_ref(g).ok_or(ZapiniError::InstanceNotFound)?,
            (None, Credential::Instance(i)) => i.id,
            (None, Credential::Account(_)) => {
                return Err(ZapiniError::invalid(
                    "instance_id",
                    "the instance_id field is required with the account's token (an sk_ key names its instance)",
                ))
            }
        };
        let visible = match &self.credential {
            Credential::Instance(i) => i.id == id,
            Credential::Account(t) => snapshot.instances.get(&id).is_some_and(|i| i.tenant == t.id),
        };
        let hop = self.parts.extensions.get::<crate::edge::proxy::Hop>().is_some();
        match (visible, crate::edge::proxy::placed(&snapshot, &id, hop)) {
            (true, _) => snapshot.instances.get(&id).cloned().ok_or(ZapiniError::InstanceNotFound),
            // Another data plane's, named with the account's token: the owner answers.
            (false, Where::Elsewhere(node)) if matches!(self.credential, Credential::Account(_)) => {
                Err(ZapiniError::Elsewhere(node))
            }
            (false, _) => Err(ZapiniError::InstanceNotFound),
        }
    }

    /// Like [`Call::instance`], for a send: the account may send and the instance is active.
    pub fn sender(&self, given: Option<&str>) -> Result<Arc<InstanceConfig>, ZapiniError> {
        self.may_send(self.instance(given)?)
    }

    /// `instance`, if its account may send and it is active.
    pub fn may_send(&self, instance: Arc<InstanceConfig>) -> Result<Arc<InstanceConfig>, ZapiniError> {
        let snapshot = self.app.config.load();
        crate::auth::may_send(snapshot.tenants.get(&instance.tenant).map(|t| &**t)).map_err(ZapiniError::Refused)?;
        if !instance.active {
            return Err(ZapiniError::Inactive);
        }
        Ok(instance)
    }

    /// Every instance the credential reaches on this data plane, oldest first.
    pub fn instances(&self) -> Vec<Arc<InstanceConfig>> {
        let snapshot = self.app.config.load();
        let mut all: Vec<_> = match &self.credential {
            Credential::Instance(i) => snapshot.instances.get(&i.id).cloned().into_iter().collect(),
            Credential::Account(t) => snapshot.instances.values().filter(|i| i.tenant == t.id).cloned().collect(),
        };
        all.sort_by_key(|i| (i.created_ms, i.id));
        all
    }

    /// Query parameter `name`, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        chatedge_serve::query_param(self.parts.uri.query(), name)
    }
}
