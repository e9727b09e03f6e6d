use chatedge_config::placement::{Peer, Placement};
use chatedge_config::{InstanceConfig, InstanceId, Secret, TenantId};

use super::*;
use crate::registry::{Change, InstanceRecord};

fn apply(r: &mut Registry, mut change: Change) {
    let version = r.version + 1;
    let _ = Registry::writes(&mut change, version);
    r.apply(change, version);
}

fn node(name: &str) -> (NodeRecord, Secret) {
    let token = Secret::generate(24);
    let record =
        NodeRecord { id: NodeId::random(), name: name.into(), hash: token.hash(), created_ms: 1, revoked_ms: None };
    (record, token)
}

fn owned_by(owner: NodeId) -> InstanceRecord {
    let config = InstanceConfig::new_trial(TenantId::generate(), Secret::generate(16).hash(), "i".into(), 1, 1);
    InstanceRecord { config, token: None, sealed_token: None, owner: Some(owner), version: 0 }
}

fn with_bootstrap() -> (Registry, Secret) {
    let bootstrap = Secret::generate(24);
    let mut r = Registry::default();
    apply(&mut r, Change { node_hash: Some(bootstrap.hash()), ..Change::default() });
    (r, bootstrap)
}

#[test]
fn a_node_token_names_its_node_the_bootstrap_token_the_default_node_and_a_revoked_token_nothing() {
    let (mut r, bootstrap) = with_bootstrap();
    let ((a, a_token), (b, b_token)) = (node("a"), node("b"));
    apply(&mut r, Change { nodes: vec![a.clone(), b.clone()], ..Change::default() });
    assert_eq!(r.node_by_token(bootstrap.expose()), Some(DEFAULT_NODE));
    assert_eq!(r.node_by_token(a_token.expose()), Some(a.id));
    assert_eq!(r.node_by_token(b_token.expose()), Some(b.id));
    assert_eq!(r.node_by_token("not a node token at all"), None);
    apply(&mut r, Change { nodes: vec![NodeRecord { revoked_ms: Some(5), ..a.clone() }], ..Change::default() });
    assert_eq!(r.node_by_token(a_token.expose()), None, "revoked");
    assert!(!r.node_allowed(a.id) && r.node_allowed(b.id) && r.node_allowed(DEFAULT_NODE));
    assert!(!r.node_allowed(NodeId::random()), "an id nobody registered");
}

#[test]
fn a_new_instance_goes_to_the_live_node_with_the_fewest_instances() {
    let (mut r, _) = with_bootstrap();
    let ((a, _), (b, _), (c, _)) = (node("a"), node("b"), node("c"));
    let instances = vec![owned_by(a.id), owned_by(a.id), owned_by(b.id), owned_by(c.id)];
    apply(&mut r, Change { nodes: vec![a.clone(), b.clone(), c.clone()], instances, ..Change::default() });
    assert_eq!(place(&r, &[a.id, b.id]), b.id, "b holds one, a two");
    assert_eq!(place(&r, &[a.id]), a.id, "the only live node, however full");
    let lower = b.id.min(c.id);
    assert_eq!(place(&r, &[a.id, b.id, c.id]), lower, "a tie goes to the lowest id, every time");
}

#[test]
fn with_no_live_node_or_only_revoked_ones_the_default_node_takes_the_instance() {
    let (mut r, _) = with_bootstrap();
    let (a, _) = node("a");
    apply(&mut r, Change { nodes: vec![NodeRecord { revoked_ms: Some(1), ..a.clone() }], ..Change::default() });
    assert_eq!(place(&r, &[]), DEFAULT_NODE);
    assert_eq!(place(&r, &[a.id]), DEFAULT_NODE, "a revoked node is not a candidate");
    assert_eq!(place(&r, &[NodeId::random()]), DEFAULT_NODE, "nor is an unknown one");
}

#[test]
fn each_node_is_sent_only_the_instances_it_owns_and_of_the_others_only_their_owners() {
    let (mut r, _) = with_bootstrap();
    let ((a, _), (b, _)) = (node("a"), node("b"));
    let (on_a, on_b) = (owned_by(a.id), owned_by(b.id));
    let mut legacy = owned_by(DEFAULT_NODE);
    legacy.owner = None; // made before placement existed
    let instances = vec![on_a.clone(), on_b.clone(), legacy.clone()];
    apply(&mut r, Change { nodes: vec![a.clone(), b.clone()], instances, ..Change::default() });
    let ids = |u: &chatedge_config::ConfigUpdate| u.instances.iter().map(|i| i.id).collect::<Vec<InstanceId>>();
    let full_a = r.full_for(Some(a.id));
    assert_eq!(ids(&full_a), vec![on_a.config.id]);
    assert_eq!(ids(&r.full_for(Some(b.id))), vec![on_b.config.id]);
    assert_eq!(
        ids(&r.full_for(Some(DEFAULT_NODE))),
        vec![legacy.config.id],
        "an owner-less instance is the default node's"
    );
    assert_eq!(r.full().instances.len(), 3);
    let mut placed: Vec<Placement> = full_a.placements.clone();
    placed.sort_by_key(|p| p.instance);
    let mut expected = vec![
        Placement { instance: on_b.config.id, node: b.id },
        Placement { instance: legacy.config.id, node: DEFAULT_NODE },
    ];
    expected.sort_by_key(|p| p.instance);
    assert_eq!(placed, expected, "the others' instances by id and owner only");

    let before = r.version;
    apply(&mut r, Change { removed_instances: vec![on_a.config.id], ..Change::default() });
    assert_eq!(r.delta_for(before, Some(a.id)).removed_instances, vec![on_a.config.id]);
    let to_b = r.delta_for(before, Some(b.id));
    assert_eq!(to_b.removed_instances, vec![on_a.config.id], "b forgets where it was");
    assert!(to_b.instances.is_empty() && to_b.placements.is_empty());
    assert_eq!(to_b.version, r.version, "b still moves to the new version, with nothing in it");
}

#[test]
fn every_node_is_sent_the_adverts_of_the_nodes_still_allowed() {
    let (mut r, _) = with_bootstrap();
    let ((a, _), (b, _)) = (node("a"), node("b"));
    let advert = |n: NodeId, url: &str| Peer { node: n, url: url.into(), key_hash: Secret::generate(8).hash() };
    let mut adverts = vec![advert(a.id, "http://127.0.0.1:1"), advert(b.id, "http://127.0.0.1:2")];
    adverts.sort_by_key(|p| p.node); // peers are sent in node-id order; ids are random
    apply(&mut r, Change { nodes: vec![a.clone(), b.clone()], adverts: adverts.clone(), ..Change::default() });
    let before = r.version;
    assert_eq!(r.delta_for(before, Some(a.id)).peers, Some(adverts.clone()));
    apply(&mut r, Change { nodes: vec![NodeRecord { revoked_ms: Some(5), ..b.clone() }], ..Change::default() });
    let peers = r.delta_for(before, Some(a.id)).peers.unwrap_or_default();
    let a_advert = adverts.iter().find(|p| p.node == a.id).cloned();
    assert_eq!(peers, vec![a_advert.unwrap()], "a revoked node is no one's peer from the change that revokes it");
}

#[test]
fn a_node_is_live_for_placement_within_the_window_after_its_last_call_and_not_after_it_is_forgotten() {
    let activity = Activity::default();
    let (a, b) = (NodeId::random(), NodeId::random());
    let window = LIVE_WINDOW.as_millis() as u64;
    activity.heard(a, 1_000);
    activity.heard(b, 1_000 + window);
    activity.applied(a, 7);
    activity.applied(a, 5);
    assert_eq!(activity.get(a), Contact { last_ms: 1_000, applied: 7 }, "the highest version applied stays");
    let mut live = activity.recent(1_000 + window);
    live.sort();
    let mut both = vec![a, b];
    both.sort();
    assert_eq!(live, both);
    assert_eq!(activity.recent(1_001 + window), vec![b], "a fell silent a window ago");
    activity.forget(b);
    assert!(activity.recent(1_001 + window).is_empty());
}

#[test]
fn a_lost_nodes_instances_are_spread_over_the_live_nodes_fewest_first() {
    let (mut r, _) = with_bootstrap();
    let ((a, _), (b, _), (lost, _)) = (node("a"), node("b"), node("lost"));
    let mut instances = vec![owned_by(a.id), owned_by(a.id)];
    instances.extend((0..4).map(|_| owned_by(lost.id)));
    let nodes = vec![a.clone(), b.clone(), lost.clone()];
    apply(&mut r, Change { nodes, instances, ..Change::default() });

    let moved = reassign::moves(&r, &[lost.id], &[a.id, b.id, lost.id]);
    assert_eq!(moved.len(), 4, "every instance of the lost node, and only those");
    let to = |n: NodeId| moved.iter().filter(|i| i.owner == Some(n)).count();
    assert_eq!((to(a.id), to(b.id)), (1, 3), "a held two already: three to b, one to a, three each after");
    assert!(moved.iter().all(|i| r.instances[&i.config.id].owner == Some(lost.id)));
    assert!(reassign::moves(&r, &[lost.id], &[lost.id]).is_empty(), "no live node: nothing moves");
    let revoked_b = NodeRecord { revoked_ms: Some(1), ..b.clone() };
    apply(&mut r, Change { nodes: vec![revoked_b], ..Change::default() });
    let moved = reassign::moves(&r, &[lost.id], &[a.id, b.id]);
    assert!(moved.iter().all(|i| i.owner == Some(a.id)), "a revoked node takes none");
}
