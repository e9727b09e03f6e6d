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
