//! First-start credentials: an admin token, an integrator token (the definitive token of the
//! default account, so load tests can create thousands of instances) and a node token (for
//! data planes). They are created once — or taken from `CHATEDGE_ADMIN_TOKEN`,
//! `CHATEDGE_INTEGRATOR_TOKEN`, `CHATEDGE_NODE_TOKEN` when set — stored only as hashes in the
//! control plane, and written in the clear to `credentials.json` (mode 0600) for the operator.
//! A token given in the environment on a later start replaces the stored one.

use std::path::Path;

use chatedge_config::{Secret, Tenant, TenantId};
use serde::{Deserialize, Serialize};

use crate::registry::{Change, IntegratorToken, TenantRecord};
use crate::{ControlPlane, CpError};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    pub admin_token: Secret,
    pub integrator_token: Secret,
    pub node_token: Secret,
    pub tenant_id: TenantId,
}

/// Tokens an operator supplied (environment).
#[derive(Debug, Default, Clone)]
pub struct Supplied {
    pub admin: Option<Secret>,
    pub integrator: Option<Secret>,
    pub node: Option<Secret>,
}

/// The outcome of bootstrapping.
pub struct Bootstrap {
    pub credentials: Credentials,
    /// True when the tokens were created (or changed) by this start and must be shown once.
    pub fresh: bool,
}

pub fn bootstrap(cp: &ControlPlane, file: &Path, supplied: Supplied) -> Result<Bootstrap, CpError> {
    let known = read(file);
    let initialised = cp.registry_read(|r| r.admin_hash.is_some());
    let supplied_any = supplied.admin.is_some() || supplied.integrator.is_some() || supplied.node.is_some();
    let fresh = !initialised || known.is_none() || supplied_any;
    let tenant_id = known
        .as_ref()
        .map(|k| k.tenant_id)
        .or_else(|| cp.registry_read(|r| r.tenants.keys().next().copied()))
        .unwrap_or_else(TenantId::generate);
    let pick = |given: Option<Secret>, kept: Option<&Secret>| {
        given.or_else(|| kept.cloned()).unwrap_or_else(|| Secret::generate(24))
    };
    let credentials = Credentials {
        admin_token: pick(supplied.admin, known.as_ref().map(|k| &k.admin_token)),
        integrator_token: pick(supplied.integrator, known.as_ref().map(|k| &k.integrator_token)),
        node_token: pick(supplied.node, known.as_ref().map(|k| &k.node_token)),
        tenant_id,
    };
    if fresh {
        store_hashes(cp, &credentials)?;
        write(file, &credentials).map_err(|e| CpError::Credentials(format!("{}: {e}", file.display())))?;
    }
    Ok(Bootstrap { credentials, fresh })
}

/// The handle of the default account's bootstrap token.
const BOOTSTRAP_TOKEN_ID: &str = "bootstrap";

fn store_hashes(cp: &ControlPlane, c: &Credentials) -> Result<(), CpError> {
    let now = cp.clock.now_ms();
    cp.mutate(|r, _| {
        let mut token = IntegratorToken::new(&c.integrator_token, true, now);
        token.id = BOOTSTRAP_TOKEN_ID.into();
        let tenant = match r.tenants.get(&c.tenant_id) {
            Some(t) => {
                let mut t = t.clone();
                match t.tokens.iter_mut().find(|k| k.id == BOOTSTRAP_TOKEN_ID) {
                    Some(k) => k.hash = token.hash,
                    None => t.tokens.insert(0, token),
                }
                t
            }
            None => TenantRecord::new(Tenant::new(c.tenant_id, "default".into()), token, now),
        };
        let change = Change {
            tenants: vec![tenant],
            admin_hash: Some(c.admin_token.hash()),
            node_hash: Some(c.node_token.hash()),
            ..Change::default()
        };
        Ok(((), change))
    })
}

fn read(file: &Path) -> Option<Credentials> {
    serde_json::from_slice(&std::fs::read(file).ok()?).ok()
}

fn write(file: &Path, c: &Credentials) -> std::io::Result<()> {
    crate::link::write_private(file, &serde_json::to_vec_pretty(c).unwrap_or_default())
}
