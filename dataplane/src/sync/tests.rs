use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use chatedge_config::{ConfigUpdate, InstanceConfig, InstanceId, Secret, Snapshot, Tenant, TenantId, UrlPolicy};

use super::persist::{self, MAX_RECORDS_PER_BATCH};
use super::ConfigState;
use crate::metrics::Metrics;
use crate::store::{Op, Store};

fn tenant() -> Tenant {
    Tenant::new(TenantId::generate(), "t".into())
}

fn instances(t: &Tenant, n: usize) -> Vec<InstanceConfig> {
    (0..n).map(|i| InstanceConfig::new_trial(t.id, Secret::generate(16).hash(), format!("i{i}"), 1, 1)).collect()
}

fn reset(version: u64, t: &Tenant, instances: &[InstanceConfig]) -> ConfigUpdate {
    ConfigUpdate {
        reset: true,
        version,
        tenants: vec![t.clone()],
        instances: instances.to_vec(),
        ..ConfigUpdate::default()
    }
}

fn open(dir: &Path) -> (Arc<Store>, ConfigState) {
    let metrics = Arc::new(Metrics::new());
    let store = Store::open(dir, 64, metrics.clone()).unwrap();
    let state = ConfigState::load(store.clone(), UrlPolicy::default(), metrics).unwrap();
    (store, state)
}

fn close(store: Arc<Store>, state: ConfigState) {
    store.close();
    drop(state);
    drop(store);
}

fn ids(s: &Snapshot) -> BTreeSet<InstanceId> {
    s.instances.keys().copied().collect()
}

fn ids_of(v: &[InstanceConfig]) -> BTreeSet<InstanceId> {
    v.iter().map(|i| i.id).collect()
}

fn records(batch: &crate::store::Batch) -> usize {
    batch.ops().iter().filter(|op| !matches!(op, Op::DeleteRange(..))).count()
}

#[tokio::test]
async fn a_large_snapshot_is_persisted_in_bounded_batches_and_reloads_whole() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let all = instances(&t, 2 * MAX_RECORDS_PER_BATCH + 500);
    let next = Snapshot::default().apply(&reset(5, &t, &all), UrlPolicy::default()).unwrap();
    let plan = persist::plan(&Snapshot::default(), &next, persist::Slot::default());
    assert!(plan.staged);
    assert!(plan.batches.len() >= 4, "{} batches", plan.batches.len());
    for b in &plan.batches {
        assert!(records(b) <= MAX_RECORDS_PER_BATCH + 2, "a batch of {} records", records(b));
    }

    let (store, state) = open(dir.path());
    let applied = state.apply(reset(5, &t, &all)).await.unwrap();
    assert_eq!(applied.version, 5);
    assert_eq!(ids(&state.shared().load()), ids_of(&all));
    close(store, state);

    let (store, state) = open(dir.path());
    assert_eq!(state.version(), 5);
    assert_eq!(ids(&state.shared().load()), ids_of(&all), "the reloaded snapshot is the one applied");
    close(store, state);
}

#[tokio::test]
async fn a_crash_in_the_middle_of_a_staged_change_reloads_the_previous_snapshot_whole() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let old = instances(&t, MAX_RECORDS_PER_BATCH + 10);
    let (store, state) = open(dir.path());
    state.apply(reset(1, &t, &old)).await.unwrap();
    // The next snapshot keeps half of the old instances and brings as many new ones.
    let mut new = old[..old.len() / 2].to_vec();
    new.extend(instances(&t, MAX_RECORDS_PER_BATCH));
    let held = state.shared().load_full();
    let next = held.apply(&reset(2, &t, &new), UrlPolicy::default()).unwrap();
    let (_, live) = persist::read(&store).unwrap();
    let plan = persist::plan(&held, &next, live);
    assert!(plan.staged && plan.batches.len() >= 3);
    let before_flip = plan.batches.len() - 1;
    for b in plan.batches.into_iter().take(before_flip) {
        store.commit(b).await.unwrap(); // ... and the process dies before the last batch
    }
    close(store, state);

    let (store, state) = open(dir.path());
    assert_eq!(state.version(), 1);
    assert_eq!(ids(&state.shared().load()), ids_of(&old), "no record of the unfinished change shows");
    // Markers written before the crash name instances the old snapshot still holds: stale.
    let marked: BTreeSet<_> = persist::pending_teardowns(&store).unwrap().into_iter().collect();
    assert!(!marked.is_empty() && marked.iter().all(|id| ids_of(&old).contains(id)));

    // The change arrives again (the control plane resends a full snapshot) and completes.
    let applied = state.apply(reset(2, &t, &new)).await.unwrap();
    let removed: BTreeSet<_> = applied.removed.into_iter().collect();
    assert_eq!(removed, ids_of(&old[old.len() / 2..]));
    close(store, state);
    let (store, state) = open(dir.path());
    assert_eq!((state.version(), ids(&state.shared().load())), (2, ids_of(&new)));
    close(store, state);
}

#[tokio::test]
async fn a_small_change_is_one_batch_in_place_and_names_what_it_removed() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let all = instances(&t, 3 * MAX_RECORDS_PER_BATCH);
    let (store, state) = open(dir.path());
    state.apply(reset(1, &t, &all)).await.unwrap();

    // The same snapshot again (a reconnect) plus one removal: only the difference is written.
    let held = state.shared().load_full();
    let next = held.apply(&reset(2, &t, &all[1..]), UrlPolicy::default()).unwrap();
    let (_, live) = persist::read(&store).unwrap();
    let plan = persist::plan(&held, &next, live);
    assert!(!plan.staged);
    assert_eq!(plan.batches.len(), 1);
    // The removal, its marker, and the head (version, admin hash, peers, quarantine).
    assert!(records(&plan.batches[0]) <= 6, "{:?}", plan.batches[0].ops().len());

    let applied = state.apply(reset(2, &t, &all[1..])).await.unwrap();
    assert_eq!(applied.removed, vec![all[0].id]);
    assert_eq!(persist::pending_teardowns(&store).unwrap(), vec![all[0].id], "a durable removal marker");
    let delta =
        ConfigUpdate { from_version: 2, version: 3, removed_instances: vec![all[1].id], ..ConfigUpdate::default() };
    assert_eq!(state.apply(delta).await.unwrap().removed, vec![all[1].id]);
    close(store, state);

    let (store, state) = open(dir.path());
    assert_eq!((state.version(), ids(&state.shared().load())), (3, ids_of(&all[2..])));
    close(store, state);
}

#[tokio::test]
async fn a_data_directory_the_store_creates_is_private_to_its_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new").join("dataplane");
    let (store, state) = open(&path);
    for p in [dir.path().join("new"), path] {
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o700, "{}", p.display());
    }
    close(store, state);
}

/// Which node owns each instance held elsewhere, as a snapshot knows it.
fn owners(s: &Snapshot) -> BTreeSet<(InstanceId, chatedge_config::NodeId)> {
    s.placements.iter().map(|(i, n)| (*i, *n)).collect()
}

#[tokio::test]
async fn other_nodes_placements_and_addresses_survive_a_restart_in_place_and_staged() {
    use chatedge_config::placement::{Peer, Placement};
    use chatedge_config::{NodeId, TokenHash};
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let own = instances(&t, 3);
    let (elsewhere, there) = (NodeId::generate(), NodeId::generate());
    let peer = |node, port: u16| Peer { node, url: format!("http://127.0.0.1:{port}"), key_hash: TokenHash::of(b"k") };
    let placed = |ids: &[InstanceConfig], node| -> Vec<Placement> {
        ids.iter().map(|i| Placement { instance: i.id, node }).collect()
    };
    let others = instances(&t, 4);
    let first = ConfigUpdate {
        placements: placed(&others, elsewhere),
        peers: Some(vec![peer(elsewhere, 1001), peer(there, 1002)]),
        ..reset(1, &t, &own)
    };
    let (store, state) = open(dir.path());
    state.apply(first).await.unwrap();
    let expected = owners(&state.shared().load());
    assert_eq!(expected.len(), 4);
    close(store, state);

    let (store, state) = open(dir.path());
    let reloaded = state.shared().load_full();
    assert_eq!(owners(&reloaded), expected, "placements reloaded");
    assert_eq!(reloaded.peers.len(), 2);
    assert_eq!(reloaded.peers[&there].url, "http://127.0.0.1:1002", "peer addresses reloaded");
    assert_eq!(ids(&reloaded), ids_of(&own), "placed instances are not taken for held ones");

    // In place: one instance moves to the other node, one is no longer placed, a peer changes.
    let moved = ConfigUpdate {
        reset: false,
        from_version: 1,
        version: 2,
        placements: placed(&others[..1], there),
        removed_instances: vec![others[1].id],
        peers: Some(vec![peer(there, 2002)]),
        ..ConfigUpdate::default()
    };
    state.apply(moved).await.unwrap();
    let expected = owners(&state.shared().load());
    assert!(expected.contains(&(others[0].id, there)) && !expected.iter().any(|(i, _)| *i == others[1].id));
    close(store, state);
    let (store, state) = open(dir.path());
    let reloaded = state.shared().load_full();
    assert_eq!((reloaded.version, owners(&reloaded)), (2, expected));
    assert_eq!(reloaded.peers.keys().copied().collect::<Vec<_>>(), vec![there]);
    assert_eq!(reloaded.peers[&there].url, "http://127.0.0.1:2002");

    // Staged (a full resynchronisation larger than one batch): placements move slots with the rest.
    let many = instances(&t, MAX_RECORDS_PER_BATCH + 10);
    let big = ConfigUpdate {
        placements: placed(&many, elsewhere),
        peers: Some(vec![peer(elsewhere, 3001)]),
        ..reset(3, &t, &own)
    };
    let applied = state.apply(big).await.unwrap();
    assert_eq!(applied.version, 3);
    let expected = owners(&state.shared().load());
    assert_eq!(expected.len(), many.len());
    close(store, state);
    let (store, state) = open(dir.path());
    let reloaded = state.shared().load_full();
    assert_eq!(owners(&reloaded), expected, "the staged change's placements, and no older ones");
    assert_eq!(reloaded.peers[&elsewhere].url, "http://127.0.0.1:3001");
    close(store, state);
}

#[tokio::test]
async fn a_quarantined_instance_stays_held_after_a_restart_with_the_control_plane_down() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let all = instances(&t, 2);
    let (store, state) = open(dir.path());
    state.apply(reset(1, &t, &all)).await.unwrap();
    // The next configuration of the first instance fails this node's checks (a name too long).
    let mut bad = all[0].clone();
    bad.name = "n".repeat(10_000);
    let update = ConfigUpdate { from_version: 1, version: 2, instances: vec![bad], ..ConfigUpdate::default() };
    state.apply(update).await.unwrap();
    let held = state.shared().load_full();
    assert!(held.quarantined.contains_key(&all[0].id));
    assert_eq!(held.instances[&all[0].id].name, all[0].name, "the last good configuration is kept");
    close(store, state);

    let (store, state) = open(dir.path());
    let reloaded = state.shared().load_full();
    assert_eq!(reloaded.quarantined, held.quarantined, "still held out of service, with its reason");
    assert!(!reloaded.quarantined.contains_key(&all[1].id));
    close(store, state);
}
