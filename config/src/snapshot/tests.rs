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
fn an_update_with_an_insecure_webhook_is_refused_and_changes_nothing() {
    let s = Snapshot { version: 1, ..Default::default() };
    let bad = instance("http://127.0.0.1:9/hook");
    let delta = ConfigUpdate { from_version: 1, version: 2, instances: vec![bad.clone()], ..Default::default() };
    assert!(matches!(s.apply(&delta, STRICT), Err(UpdateError::Invalid(p)) if p[0].contains("https")));
    assert!(s.apply(&delta, DEV).is_ok());
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
