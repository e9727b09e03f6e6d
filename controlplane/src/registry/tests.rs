use super::*;

fn instance(tenant: TenantId, created_ms: u64) -> InstanceRecord {
    let token = Secret::generate(16);
    InstanceRecord {
        config: InstanceConfig::new_trial(tenant, token.hash(), "i".into(), created_ms, 1),
        token: None,
        sealed_token: None,
        owner: None,
        version: 0,
    }
}

#[test]
fn a_delta_holds_exactly_what_changed_after_its_base_version() {
    let t = TenantId::generate();
    let mut r = Registry::default();
    let a = instance(t, 1);
    let b = instance(t, 2);
    for (version, i) in [(1, &a), (2, &b)] {
        let mut change = Change { instances: vec![i.clone()], ..Default::default() };
        let _ = Registry::writes(&mut change, version);
        r.apply(change, version);
    }
    let d = r.delta(1);
    assert_eq!((d.from_version, d.version, d.reset), (1, 2, false));
    assert_eq!(d.instances.iter().map(|i| i.id).collect::<Vec<_>>(), vec![b.config.id]);
    assert_eq!(r.full().instances.len(), 2);
    assert!(r.delta(2).instances.is_empty());
}

#[test]
fn instances_are_listed_per_tenant_oldest_first() {
    let (t1, t2) = (TenantId::generate(), TenantId::generate());
    let mut r = Registry::default();
    let (late, early, other) = (instance(t1, 20), instance(t1, 10), instance(t2, 5));
    let mut change = Change { instances: vec![late.clone(), early.clone(), other], ..Default::default() };
    let _ = Registry::writes(&mut change, 1);
    r.apply(change, 1);
    let ids: Vec<_> = r.instances_of(&t1).iter().map(|i| i.config.id).collect();
    assert_eq!(ids, vec![early.config.id, late.config.id]);
}

#[test]
fn a_full_update_holds_every_record_whatever_its_stamp() {
    let mut r = Registry::default();
    r.instances.insert(InstanceId::generate(), instance(TenantId::generate(), 1)); // stamped 0, as if loaded
    r.version = 7;
    let full = r.full();
    assert!(full.reset);
    assert_eq!((full.version, full.instances.len()), (7, 1));
}

#[test]
fn a_removed_instance_is_named_by_later_deltas_and_absent_from_full_updates() {
    let t = TenantId::generate();
    let mut r = Registry::default();
    let (a, b) = (instance(t, 1), instance(t, 2));
    let mut change = Change { instances: vec![a.clone(), b.clone()], ..Default::default() };
    let _ = Registry::writes(&mut change, 1);
    r.apply(change, 1);
    let mut change = Change { removed_instances: vec![a.config.id], ..Default::default() };
    let _ = Registry::writes(&mut change, 2);
    r.apply(change, 2);

    let d = r.delta(1);
    assert!(!d.reset);
    assert_eq!(d.removed_instances, vec![a.config.id]);
    assert!(r.delta(2).removed_instances.is_empty());
    let full = r.full();
    assert_eq!(full.instances.iter().map(|i| i.id).collect::<Vec<_>>(), vec![b.config.id]);
}

#[test]
fn a_delta_from_before_the_remembered_removals_is_a_full_update() {
    let t = TenantId::generate();
    let mut r = Registry { version: 5, tombstones_since: 5, ..Registry::default() }; // as loaded at v5
    let a = instance(t, 1);
    let mut change = Change { instances: vec![a.clone()], ..Default::default() };
    let _ = Registry::writes(&mut change, 6);
    r.apply(change, 6);
    let d = r.delta(4);
    assert!(d.reset, "removals before this process started are unknown: send everything");
    assert!(!r.delta(5).reset);
}
