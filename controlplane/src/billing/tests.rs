use chatedge_config::{InstanceConfig, Secret, Tenant};

use super::*;
use crate::clock::parse_rfc3339;
use crate::registry::IntegratorToken;

fn at(s: &str) -> u64 {
    parse_rfc3339(s).unwrap()
}

fn prices() -> Prices {
    Prices { per_instance_cents: 5_000, currency: "BRL".into() }
}

/// Applies `change` as the control plane would (durability aside).
fn apply(r: &mut Registry, mut change: Change) {
    let next = r.version + 1;
    let _ = Registry::writes(&mut change, next);
    r.apply(change, next);
}

fn run(r: &mut Registry, now: &str) -> Summary {
    let (change, summary) = plan(r, at(now), &prices());
    apply(r, change);
    summary
}

/// An account with one subscribed instance (subscribed at `when`) and one trial.
fn account_with_instances(r: &mut Registry, when: &str) -> (TenantId, InstanceId, InstanceId) {
    let t = TenantId::generate();
    let secret = Secret::generate(16);
    let tenant = TenantRecord::new(Tenant::new(t, "acme".into()), IntegratorToken::new(&secret, true, 0), 0);
    let now = at(when);
    let mut paid = InstanceConfig::new_trial(t, secret.hash(), "paid".into(), now, 2 * clock::DAY_MS);
    paid.payment_status = PAID.into();
    let trial = InstanceConfig::new_trial(t, secret.hash(), "trial".into(), now, 2 * clock::DAY_MS);
    let mut sub = Subscription::new(paid.id, t, "paid".into());
    sub.subscribe(now);
    let (pid, tid) = (paid.id, trial.id);
    let rec = |config| InstanceRecord { config, token: None, sealed_token: None, owner: None, version: 0 };
    apply(
        r,
        Change {
            tenants: vec![tenant],
            instances: vec![rec(paid), rec(trial)],
            subscriptions: vec![sub],
            ..Change::default()
        },
    );
    (t, pid, tid)
}

#[test]
fn running_the_jobs_twice_at_the_same_instant_changes_nothing_the_second_time() {
    let mut r = Registry::default();
    run(&mut r, "2030-04-20T00:00:00Z");
    let (t, paid, trial) = account_with_instances(&mut r, "2030-05-03T00:00:00Z");
    let first = run(&mut r, "2030-06-01T00:00:00Z");
    let want = Summary { invoices_issued: 1, instances_expired: 1, dues_renewed: 1, ..Summary::default() };
    assert_eq!(first, want);
    assert!(!r.instances.contains_key(&trial) && r.instances.contains_key(&paid));
    assert!(run(&mut r, "2030-06-01T00:00:00Z").is_empty());
    let invoices = r.invoices_of(&t);
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0].lines.iter().map(|l| l.instance_id).collect::<Vec<_>>(), vec![paid]);
    assert_eq!(invoices[0].amount_cents(), 5_000);
}

#[test]
fn an_unpaid_invoice_stops_the_account_on_the_10th_and_deletes_on_the_15th() {
    let mut r = Registry::default();
    run(&mut r, "2030-04-20T00:00:00Z");
    let (t, paid, _) = account_with_instances(&mut r, "2030-05-03T00:00:00Z");
    run(&mut r, "2030-06-09T23:59:59Z");
    assert!(!r.tenants[&t].tenant.payment_overdue);
    let s = run(&mut r, "2030-06-10T00:00:00Z");
    assert_eq!(s.accounts_stopped, 1);
    assert!(r.tenants[&t].tenant.payment_overdue);
    assert!(r.instances.contains_key(&paid));
    let s = run(&mut r, "2030-06-15T00:00:00Z");
    assert_eq!(s.instances_deleted_unpaid, 1);
    assert!(!r.instances.contains_key(&paid));
    assert!(run(&mut r, "2030-06-16T00:00:00Z").is_empty());
    // June: used until the 15th, so charged once more on the July invoice; then forgotten.
    run(&mut r, "2030-07-01T00:00:00Z");
    assert_eq!(r.invoices_of(&t).len(), 2);
    assert!(r.subscriptions.is_empty());
}

#[test]
fn paying_lifts_the_stop() {
    let mut r = Registry::default();
    run(&mut r, "2030-04-20T00:00:00Z");
    let (t, _, _) = account_with_instances(&mut r, "2030-05-03T00:00:00Z");
    run(&mut r, "2030-06-11T00:00:00Z");
    assert!(r.tenants[&t].tenant.payment_overdue);
    let id = r.invoices_of(&t)[0].id.clone();
    let change = pay(&r, &id, at("2030-06-12T00:00:00Z")).unwrap();
    apply(&mut r, change);
    assert!(!r.tenants[&t].tenant.payment_overdue);
    assert_eq!(r.invoices[&id].status(at("2030-06-12T00:00:00Z")), "PAID");
    assert_eq!(run(&mut r, "2030-06-20T00:00:00Z").instances_deleted_unpaid, 0);
}
