//! How the configuration lies in the `config` column family, and the batches that move it from
//! one snapshot to the next without ever leaving a mix of two snapshots on disk.
//!
//! Layout: `v` → version, `a` → admin token hash, `n` → the peers (every node's address and key
//! hash; at most a few hundred), `q` → the instances held in quarantine and why, `s` → the live slot (absent: slot 0), and the records of the
//! live slot — slot 0 keys tenants `t‖id`, instances `i‖id` (the original layout) and the
//! owners of instances other nodes hold `o‖id`; slot 1 keys them `T‖id`, `I‖id` and `O‖id`.
//! Placements and peers are kept so that a node restarted while the control plane is down still
//! forwards requests for other nodes' instances to their owners. `x‖instance` marks an instance removed from the
//! configuration whose data the owning shard has not deleted yet (see `shard::teardown`).
//!
//! A change of at most [`MAX_RECORDS_PER_BATCH`] records is written in place, version included,
//! in one batch. A larger one (a full resynchronisation after a NACK or a reconnect) is staged:
//! the whole next snapshot is written into the other slot in batches of at most that many
//! records, each durable before the next is submitted, so sends waiting on the committer never
//! sit behind one enormous write; the last batch flips `s`, writes the version and drops the old
//! slot. A crash before that flip leaves the old slot and version untouched: the node reloads
//! the old snapshot whole, and the leftovers in the other slot are cleared by the next staging.
//!
//! Removal markers of a staged change are written with its chunks, before the flip; a marker for
//! an instance that the persisted snapshot still holds is therefore stale, and start-up drops it
//! instead of tearing the instance down.
//!
//! Pure functions over snapshots; the caller runs them off the event loop (`spawn_blocking`).

use std::sync::Arc;

use chatedge_config::placement::{Peer, Placement};
use chatedge_config::snapshot::Quarantine;
use chatedge_config::{ConfigUpdate, InstanceConfig, InstanceId, Snapshot, Tenant, UrlPolicy};

use crate::store::{Batch, Cf, Store, StoreError};

/// Most records (tenants, instances, removals) written in one batch.
pub const MAX_RECORDS_PER_BATCH: usize = 1000;

const VERSION_KEY: &[u8] = b"v";
const ADMIN_KEY: &[u8] = b"a";
const SLOT_KEY: &[u8] = b"s";
const PEERS_KEY: &[u8] = b"n";
const QUARANTINE_KEY: &[u8] = b"q";
const TEARDOWN_PREFIX: u8 = b'x';

/// One of the two places a snapshot's records can live (slot 0 on a new node).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slot(u8);

impl Slot {
    fn tenant_prefix(self) -> u8 {
        if self.0 == 0 {
            b't'
        } else {
            b'T'
        }
    }

    fn instance_prefix(self) -> u8 {
        if self.0 == 0 {
            b'i'
        } else {
            b'I'
        }
    }

    fn placement_prefix(self) -> u8 {
        if self.0 == 0 {
            b'o'
        } else {
            b'O'
        }
    }

    fn other(self) -> Slot {
        Slot(1 - self.0)
    }

    /// Deletes every record of this slot.
    fn clear(self, b: &mut Batch) {
        for p in [self.tenant_prefix(), self.instance_prefix(), self.placement_prefix()] {
            b.delete_range(Cf::Config, vec![p], vec![p + 1]);
        }
    }
}

fn key(prefix: u8, id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(prefix);
    k.extend_from_slice(id);
    k
}

/// The marker saying `instance` was removed and its data must go.
pub fn teardown_marker(instance: &InstanceId) -> Vec<u8> {
    key(TEARDOWN_PREFIX, instance.as_bytes())
}

/// Instances with a removal marker, whether or not it is stale (the caller checks the config).
pub fn pending_teardowns(store: &Store) -> Result<Vec<InstanceId>, StoreError> {
    let mut out = Vec::new();
    for item in store.db().prefix_iterator_cf(store.cf(Cf::Config), [TEARDOWN_PREFIX]) {
        let (k, _) = item?;
        if k.first() != Some(&TEARDOWN_PREFIX) {
            break;
        }
        if let Some(id) = InstanceId::from_slice(&k[1..]) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The batches that make `next` the persisted snapshot, in the order they must become durable.
pub struct Plan {
    pub batches: Vec<Batch>,
    /// Whether the change is staged (more than one batch, old slot dropped at the end).
    pub staged: bool,
    /// The live slot once every batch is durable.
    pub slot: Slot,
    /// Instances `next` no longer holds.
    pub removed: Vec<InstanceId>,
}

/// What differs between two snapshots.
struct Diff {
    tenants: Vec<Arc<Tenant>>,
    removed_tenants: Vec<chatedge_config::TenantId>,
    instances: Vec<Arc<InstanceConfig>>,
    removed: Vec<InstanceId>,
    placements: Vec<Placement>,
    removed_placements: Vec<InstanceId>,
}

impl Diff {
    fn between(held: &Snapshot, next: &Snapshot) -> Diff {
        let changed = |a: Option<&Arc<InstanceConfig>>, b: &Arc<InstanceConfig>| a.is_none_or(|a| a != b);
        Diff {
            tenants: next.tenants.values().filter(|t| held.tenants.get(&t.id) != Some(*t)).cloned().collect(),
            removed_tenants: held.tenants.keys().filter(|id| !next.tenants.contains_key(*id)).copied().collect(),
            instances: next.instances.values().filter(|i| changed(held.instances.get(&i.id), i)).cloned().collect(),
            removed: held.instances.keys().filter(|id| !next.instances.contains_key(*id)).copied().collect(),
            placements: next
                .placements
                .iter()
                .filter(|(id, node)| held.placements.get(*id) != Some(*node))
                .map(|(id, node)| Placement { instance: *id, node: *node })
                .collect(),
            removed_placements: held
                .placements
                .keys()
                .filter(|id| !next.placements.contains_key(*id))
                .copied()
                .collect(),
        }
    }

    fn records(&self) -> usize {
        self.tenants.len()
            + self.removed_tenants.len()
            + self.instances.len()
            + self.removed.len()
            + self.placements.len()
            + self.removed_placements.len()
    }
}

/// Plans the writes from `held` (persisted in `live`) to `next`.
pub fn plan(held: &Snapshot, next: &Snapshot, live: Slot) -> Plan {
    let diff = Diff::between(held, next);
    if diff.records() <= MAX_RECORDS_PER_BATCH {
        let mut b = Batch::new();
        for t in &diff.tenants {
            b.put(Cf::Config, key(live.tenant_prefix(), t.id.as_bytes()), encode(&**t));
        }
        for id in &diff.removed_tenants {
            b.delete(Cf::Config, key(live.tenant_prefix(), id.as_bytes()));
        }
        for i in &diff.instances {
            b.put(Cf::Config, key(live.instance_prefix(), i.id.as_bytes()), encode(&**i));
        }
        for id in &diff.removed {
            b.delete(Cf::Config, key(live.instance_prefix(), id.as_bytes()));
            b.put(Cf::Config, teardown_marker(id), Vec::new());
        }
        for p in &diff.placements {
            b.put(Cf::Config, key(live.placement_prefix(), p.instance.as_bytes()), encode(p));
        }
        for id in &diff.removed_placements {
            b.delete(Cf::Config, key(live.placement_prefix(), id.as_bytes()));
        }
        head(&mut b, next);
        return Plan { batches: vec![b], staged: false, slot: live, removed: diff.removed };
    }
    let target = live.other();
    let mut batches = Vec::new();
    let mut b = Batch::new();
    target.clear(&mut b); // what a crashed staging may have left
    let mut in_batch = 0;
    let mut add = |b: &mut Batch, k: Vec<u8>, v: Vec<u8>| {
        if in_batch == MAX_RECORDS_PER_BATCH {
            batches.push(std::mem::take(b));
            in_batch = 0;
        }
        b.put(Cf::Config, k, v);
        in_batch += 1;
    };
    for t in next.tenants.values() {
        add(&mut b, key(target.tenant_prefix(), t.id.as_bytes()), encode(&**t));
    }
    for i in next.instances.values() {
        add(&mut b, key(target.instance_prefix(), i.id.as_bytes()), encode(&**i));
    }
    for (id, node) in &next.placements {
        add(&mut b, key(target.placement_prefix(), id.as_bytes()), encode(&Placement { instance: *id, node: *node }));
    }
    for id in &diff.removed {
        add(&mut b, teardown_marker(id), Vec::new());
    }
    batches.push(b);
    let mut flip = Batch::new();
    flip.put(Cf::Config, SLOT_KEY.to_vec(), vec![target.0]);
    head(&mut flip, next);
    live.clear(&mut flip);
    batches.push(flip);
    Plan { batches, staged: true, slot: target, removed: diff.removed }
}

/// The version, admin hash and peers, written with the change's last batch.
fn head(b: &mut Batch, next: &Snapshot) {
    b.put(Cf::Config, VERSION_KEY.to_vec(), next.version.to_be_bytes().to_vec());
    let mut peers: Vec<&Peer> = next.peers.values().map(|p| &**p).collect();
    peers.sort_by_key(|p| p.node);
    b.put(Cf::Config, PEERS_KEY.to_vec(), encode(&peers));
    // Held out of service stays held across a restart with the control plane down.
    let mut held: Vec<(&InstanceId, &Quarantine)> = next.quarantined.iter().collect();
    held.sort_by_key(|(id, _)| **id);
    b.put(Cf::Config, QUARANTINE_KEY.to_vec(), encode(&held));
    match &next.admin_token_hash {
        Some(h) => b.put(Cf::Config, ADMIN_KEY.to_vec(), encode(h)),
        None => b.delete(Cf::Config, ADMIN_KEY.to_vec()),
    }
}

fn encode(v: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default() // plain data: cannot fail
}

/// The persisted snapshot and the slot it lives in (an empty snapshot on a new node).
pub fn read(store: &Store) -> Result<(Snapshot, Slot), StoreError> {
    let db = store.db();
    let cf = store.cf(Cf::Config);
    let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("persisted {what}: {e}"));
    let slot = match db.get_cf(cf, SLOT_KEY)?.as_deref() {
        None | Some([0]) => Slot(0),
        Some([1]) => Slot(1),
        Some(other) => return Err(StoreError::Corrupt(format!("persisted config slot {other:?}"))),
    };
    let mut update = ConfigUpdate { reset: true, ..Default::default() };
    if let Some(v) = db.get_cf(cf, VERSION_KEY)? {
        update.version = u64::from_be_bytes(v.as_slice().try_into().unwrap_or_default());
    }
    if let Some(a) = db.get_cf(cf, ADMIN_KEY)? {
        update.admin_token_hash = Some(serde_json::from_slice(&a).map_err(|e| corrupt("admin token hash", e))?);
    }
    for v in records(store, slot.tenant_prefix()) {
        let v = v?;
        update.tenants.push(serde_json::from_slice::<Tenant>(&v).map_err(|e| corrupt("tenant", e))?);
    }
    for v in records(store, slot.instance_prefix()) {
        let v = v?;
        update.instances.push(serde_json::from_slice::<InstanceConfig>(&v).map_err(|e| corrupt("instance", e))?);
    }
    for v in records(store, slot.placement_prefix()) {
        let v = v?;
        update.placements.push(serde_json::from_slice::<Placement>(&v).map_err(|e| corrupt("placement", e))?);
    }
    if let Some(p) = db.get_cf(cf, PEERS_KEY)? {
        update.peers = Some(serde_json::from_slice::<Vec<Peer>>(&p).map_err(|e| corrupt("peers", e))?);
    }
    // What was persisted passed validation when it arrived; load it as is.
    let mut snapshot = Snapshot::default()
        .apply(&update, UrlPolicy { allow_insecure_loopback: true })
        .map_err(|e| StoreError::Corrupt(format!("persisted config: {e}")))?;
    if let Some(q) = db.get_cf(cf, QUARANTINE_KEY)? {
        let held: Vec<(InstanceId, Quarantine)> = serde_json::from_slice(&q).map_err(|e| corrupt("quarantine", e))?;
        snapshot.quarantined = held.into_iter().collect();
    }
    Ok((snapshot, slot))
}

/// The values under one key prefix.
fn records(store: &Store, prefix: u8) -> impl Iterator<Item = Result<Box<[u8]>, StoreError>> + '_ {
    store
        .db()
        .prefix_iterator_cf(store.cf(Cf::Config), [prefix])
        .take_while(move |item| item.as_ref().map_or(true, |(k, _)| k.first() == Some(&prefix)))
        .map(|item| item.map(|(_, v)| v).map_err(StoreError::from))
}
