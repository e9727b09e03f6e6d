use super::*;
use crate::token::Secret;

fn instance(url: &str) -> InstanceConfig {
    let mut i = InstanceConfig::new_trial(TenantId::generate(), Secret::generate(16).hash(), "shop".into(), 1, 1);
    i.webhooks.delivery = Some(WebhookUrl::parse(url, UrlPolicy { allow_insecure_loopback: true }).unwrap());
    i
}

const STRICT: UrlPolicy = UrlPolicy { allow_insecure_loopback: false };
const DEV: UrlPolicy = UrlPolicy { allow_insecure_loopback: true };

#[test]
fn a_reset_replaces_and_a_delta_patches() {
    let a = instance("https://a.example/hook");
    let b = instance("https://b.example/hook");
    let full = ConfigUpdate { reset: true, version: 3, instances: vec![a.clone()], ..Default::default() };
    let s1 = Snapshot::default().apply(&full, STRICT).unwrap();
    assert_eq!(s1.version, 3);
    let delta = ConfigUpdate {
        from_version: 3,
        version: 4,
        instances: vec![b.clone()],
        removed_instances: vec![a.id],
        ..Default::default()
    };
    let s2 = s1.apply(&delta, STRICT).unwrap();
    assert_eq!(s2.version, 4);
    assert!(s2.instances.contains_key(&b.id) && !s2.instances.contains_key(&a.id));
    // The old snapshot is untouched: readers holding it keep a consistent view.
    assert!(s1.instances.contains_key(&a.id));
}

#[test]
fn a_delta_on_another_version_is_refused() {
    let s = Snapshot { version: 5, ..Default::default() };
    let delta = ConfigUpdate { from_version: 4, version: 6, ..Default::default() };
    assert_eq!(s.apply(&delta, STRICT).unwrap_err(), UpdateError::VersionGap { expected: 4, held: 5 });
}

#[test]
fn an_instance_with_an_insecure_webhook_is_quarantined_alone_and_the_rest_applies() {
    let good = instance("https://a.example/hook");
    let bad = instance("http://127.0.0.1:9/hook");
    let full =
        ConfigUpdate { reset: true, version: 1, instances: vec![good.clone(), bad.clone()], ..Default::default() };
    let s = Snapshot::default().apply(&full, STRICT).unwrap();
    assert!(s.instances.contains_key(&good.id), "the rest of the update applies");
    assert!(!s.instances.contains_key(&bad.id), "a refused instance never held is not held");
    let q = &s.quarantined[&bad.id];
    assert!(q.reason.contains("webhooks.Delivery") && q.reason.contains("https"), "{}", q.reason);
    assert_eq!(q.token_hash, bad.token_hash);
    assert_eq!(s.quarantine_report().len(), 1);
    assert!(Snapshot::default().apply(&full, DEV).unwrap().quarantined.is_empty(), "allowed by a laxer node");

    // A valid configuration later lifts it.
    let mut fixed = bad.clone();
    fixed.webhooks.delivery = Some(WebhookUrl::parse("https://b.example/hook", STRICT).unwrap());
    let delta = ConfigUpdate { from_version: 1, version: 2, instances: vec![fixed], ..Default::default() };
    let s2 = s.apply(&delta, STRICT).unwrap();
    assert!(s2.instances.contains_key(&bad.id) && s2.quarantined.is_empty());
}

#[test]
fn a_held_instance_whose_new_configuration_is_refused_keeps_its_last_good_one() {
    let good = instance("https://a.example/hook");
    let full = ConfigUpdate { reset: true, version: 1, instances: vec![good.clone()], ..Default::default() };
    let s = Snapshot::default().apply(&full, STRICT).unwrap();
    let mut worse = good.clone();
    worse.webhooks.delivery = Some(WebhookUrl::parse("http://127.0.0.1:9/hook", DEV).unwrap());
    let delta = ConfigUpdate { from_version: 1, version: 2, instances: vec![worse.clone()], ..Default::default() };
    let reset = ConfigUpdate { reset: true, version: 2, instances: vec![worse], ..Default::default() };
    for (kind, update) in [("delta", delta), ("full snapshot", reset)] {
        let s2 = s.apply(&update, STRICT).unwrap();
        assert_eq!(s2.version, 2, "{kind}");
        assert_eq!(s2.instances.get(&good.id).map(|i| &**i), Some(&good), "{kind}: nothing to tear down");
        assert!(s2.quarantined.contains_key(&good.id), "{kind}");
    }
}

#[test]
fn an_account_problem_still_refuses_the_whole_update() {
    let mut t = Tenant::new(TenantId::generate(), "shop".into());
    t.opt_out_keywords = Some(vec![" ".into()]);
    let a = instance("https://a.example/hook");
    let update = ConfigUpdate { reset: true, version: 1, tenants: vec![t], instances: vec![a], ..Default::default() };
    assert!(matches!(Snapshot::default().apply(&update, STRICT), Err(UpdateError::Invalid(_))));
}

#[test]
fn placements_name_the_others_instances_and_a_placement_elsewhere_moves_a_held_one_away() {
    use crate::ids::NodeId;
    use crate::placement::{Peer, Placement};
    let mine = instance("https://a.example/hook");
    let (theirs, other) = (InstanceId::generate(), NodeId::random());
    let peer = Peer { node: other, url: "http://127.0.0.1:1".into(), key_hash: Secret::generate(8).hash() };
    let full = ConfigUpdate {
        reset: true,
        version: 1,
        instances: vec![mine.clone()],
        placements: vec![Placement { instance: theirs, node: other }],
        peers: Some(vec![peer.clone()]),
        ..Default::default()
    };
    let s = Snapshot::default().apply(&full, STRICT).unwrap();
    assert_eq!(s.placements.get(&theirs), Some(&other));
    assert_eq!(s.peers.get(&other).map(|p| &**p), Some(&peer));

    // Theirs is deleted, mine moves to the other node: it is dropped here.
    let delta = ConfigUpdate {
        from_version: 1,
        version: 2,
        removed_instances: vec![theirs],
        placements: vec![Placement { instance: mine.id, node: other }],
        ..Default::default()
    };
    let s2 = s.apply(&delta, STRICT).unwrap();
    assert!(!s2.placements.contains_key(&theirs), "a removal is forgotten by the map");
    assert!(!s2.instances.contains_key(&mine.id) && s2.placements.get(&mine.id) == Some(&other));
    assert_eq!(s2.peers.len(), 1, "peers are kept when an update carries none");
    assert!(s2.instance_by_token("anything").is_none());
}

#[test]
fn a_snapshot_survives_its_own_serialized_form() {
    let a = instance("https://a.example/hook");
    let full = ConfigUpdate { reset: true, version: 9, instances: vec![a.clone()], ..Default::default() };
    let s = Snapshot::default().apply(&full, STRICT).unwrap();
    let json = serde_json::to_string(&s.to_update()).unwrap();
    let back: ConfigUpdate = serde_json::from_str(&json).unwrap();
    let s2 = Snapshot::default().apply(&back, STRICT).unwrap();
    assert_eq!(s2.version, 9);
    assert_eq!(*s2.instances[&a.id], a);
}

#[test]
fn an_api_key_finds_its_instance_through_every_kind_of_update() {
    let (token_a, token_b, token_c) = (Secret::generate(16), Secret::generate(16), Secret::generate(16));
    let mut a = instance("https://a.example/hook");
    a.token_hash = token_a.hash();
    let mut b = instance("https://b.example/hook");
    b.token_hash = token_b.hash();
    let full = ConfigUpdate { reset: true, version: 1, instances: vec![a.clone(), b.clone()], ..Default::default() };
    let s1 = Snapshot::default().apply(&full, STRICT).unwrap();
    let found = |s: &Snapshot, t: &Secret| s.instance_by_token(t.expose()).map(|i| i.id);
    assert_eq!((found(&s1, &token_a), found(&s1, &token_b)), (Some(a.id), Some(b.id)));
    assert_eq!(found(&s1, &token_c), None);

    // A's token is replaced, B is removed: the old keys find nothing.
    let mut a2 = a.clone();
    a2.token_hash = token_c.hash();
    let delta = ConfigUpdate {
        from_version: 1,
        version: 2,
        instances: vec![a2],
        removed_instances: vec![b.id],
        ..Default::default()
    };
    let s2 = s1.apply(&delta, STRICT).unwrap();
    assert_eq!((found(&s2, &token_a), found(&s2, &token_b), found(&s2, &token_c)), (None, None, Some(a.id)));
    assert_eq!(found(&s1, &token_b), Some(b.id), "the old snapshot keeps its own index");

    // A reset rebuilds the index from what it carries.
    let reset = ConfigUpdate { reset: true, version: 3, instances: vec![b.clone()], ..Default::default() };
    let s3 = s2.apply(&reset, STRICT).unwrap();
    assert_eq!((found(&s3, &token_c), found(&s3, &token_b)), (None, Some(b.id)));
}

#[test]
fn an_account_with_bad_opt_out_words_is_refused_naming_them() {
    let mut t = Tenant::new(TenantId::generate(), "shop".into());
    t.opt_out_keywords = Some(vec!["SAIR".into(), " ".into()]);
    let update = ConfigUpdate { reset: true, version: 1, tenants: vec![t.clone()], ..Default::default() };
    match Snapshot::default().apply(&update, STRICT) {
        Err(UpdateError::Invalid(p)) => assert!(p[0].contains("optOutKeywords[1]"), "{p:?}"),
        other => panic!("accepted: {other:?}"),
    }
    t.opt_out_keywords = Some(vec!["SAIR".into()]);
    let update = ConfigUpdate { reset: true, version: 1, tenants: vec![t.clone()], ..Default::default() };
    let s = Snapshot::default().apply(&update, STRICT).unwrap();
    assert_eq!(s.tenants[&t.id].opt_out_keywords, Some(vec!["SAIR".to_owned()]));
}

#[test]
fn an_api_key_finds_its_instance_until_it_is_revoked() {
    let key = Secret::generate(24);
    let other = Secret::generate(24);
    let mut a = instance("https://example.com/hook");
    a.api_keys = vec![ApiKey { id: "k1".into(), hash: key.hash(), created_ms: 1 }];
    let full = ConfigUpdate { reset: true, version: 1, instances: vec![a.clone()], ..Default::default() };
    let s1 = Snapshot::default().apply(&full, STRICT).unwrap();
    let found = |s: &Snapshot, k: &Secret| s.instance_by_api_key(k.expose()).map(|i| i.id);
    assert_eq!((found(&s1, &key), found(&s1, &other)), (Some(a.id), None));
    assert_eq!(s1.instance_by_api_key(a.id.to_string().as_str()), None, "an id is not a key");

    // Revoked: the instance comes back without the key, and the key finds nothing.
    let mut revoked = a.clone();
    revoked.api_keys.clear();
    let delta = ConfigUpdate { from_version: 1, version: 2, instances: vec![revoked], ..Default::default() };
    let s2 = s1.apply(&delta, STRICT).unwrap();
    assert_eq!(found(&s2, &key), None);
}

#[test]
fn instance_ids_read_in_chatedges_form_and_as_uuids() {
    let id = InstanceId::parse("0123456789ABCDEF0123456789ABCDEF").unwrap();
    let uuid = instance_uuid(&id);
    assert_eq!(uuid, "01234567-89ab-cdef-0123-456789abcdef");
    for written in [uuid.as_str(), "01234567-89AB-CDEF-0123-456789ABCDEF", "0123456789abcdef0123456789abcdef"] {
        assert_eq!(parse_instance_ref(written), Some(id), "{written}");
    }
    for bad in [
        "",
        "777",
        "0123456789-abcdef0123456789abcdef",
        "01234567-89ab-cdef-0123-456789abcdeg",
        "01234567x89ab-cdef-0123-456789abcdef",
    ] {
        assert_eq!(parse_instance_ref(bad), None, "{bad}");
    }
}

#[test]
fn an_api_key_names_its_instance_by_its_form_and_an_older_key_names_none() {
    let id = InstanceId::generate();
    let hex = id.to_string().to_ascii_lowercase();
    assert_eq!(api_key_instance(&format!("sk_{hex}_abcdef")), Some(id));
    assert_eq!(api_key_instance(&format!("sk_{}_abcdef", id)), Some(id), "either case");
    for key in ["sk_abcdef0123456789", &format!("sk_{hex}_"), &format!("sk_{hex}"), &format!("pk_{hex}_x"), "sk__x"] {
        assert_eq!(api_key_instance(key), None, "{key}");
    }
}
