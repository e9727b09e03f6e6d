//! Billing over simulated months (seed 001, lines 13470–13510), on `--test-clock`: invoices
//! group the instances subscribed during a month, due on the 5th of the next; a cancelled
//! instance is still charged on the next invoice and deleted after its 30 days; an unpaid
//! invoice stops the account's sends on the 10th and deletes its instances on the 15th; a
//! restart never issues an invoice twice; paying lifts the stop.

use crate::accounts_support;
use crate::common;

use accounts_support::*;
use common::*;
use hyper::Method;
use serde_json::{json, Value};

/// Midnight UTC of a few dates, in Unix ms (Z-API's `due` is a millisecond timestamp).
const MAY_3: u64 = 1_903_996_800_000;
const JULY_10: u64 = 1_909_872_000_000;
const SEPT_10: u64 = 1_915_228_800_000;

fn line(inst: &Instance, name: &str, period: &str) -> Value {
    json!({"instanceId": inst.id, "name": name, "period": period, "amount": "50.00", "amountCents": 5000})
}

/// Expected lines, in the order invoices list them (by instance id).
fn lines(mut v: Vec<(&Instance, &str)>, period: &str) -> Value {
    v.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    Value::Array(v.into_iter().map(|(i, n)| line(i, n, period)).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_months_of_invoices_with_a_cancellation_a_stop_and_a_deletion() {
    let dir = temp_dir();
    let ce = up(dir.path());
    let http = Http::new();
    set_clock(&http, &ce, "2030-05-01T00:00:00Z").await;
    let acme = create_account(&http, &ce, "acme").await;

    // May: three trials; alpha is subscribed at once, bravo the next day, charlie never.
    let alpha = create(&http, &ce, &acme.token, "alpha").await;
    let bravo = create(&http, &ce, &acme.token, "bravo").await;
    let charlie = create(&http, &ce, &acme.token, "charlie").await;
    let listing = list(&http, &ce, &acme.token).await;
    let c = listing["content"].as_array().unwrap().iter().find(|i| i["id"] == json!(charlie.id)).unwrap().clone();
    assert_eq!((c["due"].clone(), c["paymentStatus"].clone()), (json!(MAY_3), json!("TRIAL")), "a 2-day trial");
    let (s, v) = lifecycle(&http, &ce, &acme.token, &alpha, "subscription").await;
    assert_eq!((s, v["paymentStatus"].clone()), (201, json!("PAID")), "{v}");
    set_clock(&http, &ce, "2030-05-02T09:00:00Z").await;
    let (s, _) = lifecycle(&http, &ce, &acme.token, &bravo, "subscription").await;
    assert_eq!(s, 201);
    let jobs = set_clock(&http, &ce, "2030-05-03T00:00:00Z").await;
    assert_eq!(jobs["instancesExpired"], json!(1), "charlie's trial ended: {jobs}");
    let mut kept = ids(&list(&http, &ce, &acme.token).await);
    kept.sort();
    let mut want = vec![alpha.id.clone(), bravo.id.clone()];
    want.sort();
    assert_eq!(kept, want);
    assert_eq!(http.get(&ce.instance_url(&charlie, "status"), None).await.0, 401, "charlie is gone");

    // June 1: May's invoice, due on the 5th; paid on the 4th.
    let jobs = set_clock(&http, &ce, "2030-06-01T00:00:00Z").await;
    assert_eq!(jobs["invoicesIssued"], json!(1));
    let may = invoices(&http, &ce, &acme.token).await;
    assert_eq!(may.len(), 1);
    let may_id = may[0]["id"].as_str().unwrap().to_owned();
    let expected = json!({
        "id": may_id,
        "accountId": acme.id,
        "period": {"month": "2030-05", "from": "2030-05-01", "to": "2030-05-31"},
        "issued": "2030-06-01",
        "due": "2030-06-05",
        "stopsOn": "2030-06-10",
        "deletesOn": "2030-06-15",
        "status": "OPEN",
        "currency": "BRL",
        "amount": "100.00",
        "amountCents": 10000,
        "instances": 2,
        "lines": lines(vec![(&alpha, "alpha"), (&bravo, "bravo")], "2030-05"),
        "paidAt": null,
        "stoppedAt": null,
        "instancesDeletedAt": null,
    });
    assert_eq!(may[0], expected);
    set_clock(&http, &ce, "2030-06-04T00:00:00Z").await;
    let (s, v) = admin(&http, &ce, Method::POST, &format!("invoices/{may_id}/pay"), None).await;
    assert_eq!((s, v["status"].clone(), v["paidAt"].clone()), (200, json!("PAID"), json!("2030-06-04T00:00:00.000Z")));

    // June 10: bravo is cancelled; it stays usable for 30 days.
    set_clock(&http, &ce, "2030-06-10T00:00:00Z").await;
    let (s, v) = lifecycle(&http, &ce, &acme.token, &bravo, "cancel").await;
    assert_eq!((s, v["paymentStatus"].clone(), v["due"].clone()), (201, json!("CANCELED"), json!(JULY_10)), "{v}");
    assert_eq!(send_text(&http, &ce, &bravo, "5511988880001").await.0, 200, "a cancelled instance still sends");

    // July 1: June's invoice still charges bravo. It goes unpaid.
    set_clock(&http, &ce, "2030-07-01T00:00:00Z").await;
    let all = invoices(&http, &ce, &acme.token).await;
    assert_eq!(all.len(), 2);
    let june = all[1].clone();
    let june_id = june["id"].as_str().unwrap().to_owned();
    assert_eq!(june["lines"], lines(vec![(&alpha, "alpha"), (&bravo, "bravo")], "2030-06"));
    assert_eq!((june["amount"].clone(), june["due"].clone()), (json!("100.00"), json!("2030-07-05")));
    set_clock(&http, &ce, "2030-07-06T00:00:00Z").await;
    assert_eq!(invoices(&http, &ce, &acme.token).await[1]["status"], json!("OVERDUE"));
    assert_eq!(send_text(&http, &ce, &alpha, "5511988880002").await.0, 200, "sends work until the 10th");

    // July 10: the account stops; bravo's 30 days are over.
    let jobs = set_clock(&http, &ce, "2030-07-10T00:00:00Z").await;
    assert_eq!((jobs["accountsStopped"].clone(), jobs["instancesExpired"].clone()), (json!(1), json!(1)), "{jobs}");
    let (s, v) = send_text(&http, &ce, &alpha, "5511988880003").await;
    assert_eq!((s, v["error"].clone()), (402, json!("Payment required")), "{v}");
    let (s, v) = http.get(&ce.instance_url(&alpha, "status"), None).await;
    assert_eq!(s, 200, "reading still works while stopped: {v}");
    assert_eq!(http.get(&ce.instance_url(&bravo, "status"), None).await.0, 401, "bravo was deleted");
    assert_eq!(ids(&list(&http, &ce, &acme.token).await), vec![alpha.id.clone()]);
    let (s, v) = try_create(&http, &ce, &acme.token, "delta").await;
    assert_eq!((s, v["error"].clone()), (402, json!("Payment required")), "no new instances while stopped");
    let (_, account) = admin(&http, &ce, Method::GET, &format!("accounts/{}", acme.id), None).await;
    assert_eq!(account["paymentOverdue"], json!(true));

    // July 15: still unpaid, the account's instances are deleted.
    let jobs = set_clock(&http, &ce, "2030-07-15T00:00:00Z").await;
    assert_eq!(jobs["instancesDeletedUnpaid"], json!(1), "{jobs}");
    assert!(ids(&list(&http, &ce, &acme.token).await).is_empty());
    assert_eq!(http.get(&ce.instance_url(&alpha, "status"), None).await.0, 401, "alpha was deleted");
    let june = invoices(&http, &ce, &acme.token).await[1].clone();
    assert_eq!(
        (june["stoppedAt"].clone(), june["instancesDeletedAt"].clone(), june["status"].clone()),
        (json!("2030-07-10T00:00:00.000Z"), json!("2030-07-15T00:00:00.000Z"), json!("OVERDUE"))
    );

    // August 1: July charges alpha (used until the 15th), not bravo (cancelled in June).
    set_clock(&http, &ce, "2030-08-01T00:00:00Z").await;
    let all = invoices(&http, &ce, &acme.token).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2]["lines"], lines(vec![(&alpha, "alpha")], "2030-07"));
    assert_eq!(all[2]["amount"], json!("50.00"));

    // The same invoice as CSV, byte for byte.
    let url = format!("{}/integrator/invoices/{june_id}?format=csv", ce.cp);
    let (s, csv) = http.get(&url, Some(&acme.token)).await;
    assert_eq!(s, 200);
    let mut rows = vec![(alpha.id.clone(), "alpha"), (bravo.id.clone(), "bravo")];
    rows.sort();
    let mut want = String::from("invoice,period,due,status,instance_id,instance_name,amount,currency\r\n");
    for (id, name) in rows {
        want.push_str(&format!("{june_id},2030-06,2030-07-05,OVERDUE,{id},{name},50.00,BRL\r\n"));
    }
    want.push_str(&format!("{june_id},2030-06,2030-07-05,OVERDUE,TOTAL,,100.00,BRL\r\n"));
    assert_eq!(csv, json!(want));

    // A restart resumes the clock where it was and issues nothing twice.
    let data = dir.path().to_path_buf();
    ce.terminate();
    let ce = up(&data);
    let jobs = set_clock(&http, &ce, "2030-08-01T00:00:00Z").await;
    assert_eq!(jobs["invoicesIssued"], json!(0), "{jobs}");
    assert_eq!(invoices(&http, &ce, &acme.token).await.len(), 3);

    // Paying June (July is not yet past its stop date) lifts the stop.
    let (s, _) = admin(&http, &ce, Method::POST, &format!("invoices/{june_id}/pay"), None).await;
    assert_eq!(s, 200);
    let echo = create(&http, &ce, &acme.token, "echo").await;
    // Just restarted, the data plane may not have re-attached to the control plane's stream
    // when `create` answers (it waits only for attached ones): the instance is known there
    // once its config arrives.
    wait_known(&http, &ce, &echo).await;
    let (s, v) = lifecycle(&http, &ce, &acme.token, &echo, "subscription").await;
    assert_eq!((s, v["due"].clone()), (201, json!(SEPT_10)), "subscribed: runs at most until next month's 10th");
    assert_eq!(send_text(&http, &ce, &echo, "5511988880004").await.0, 200, "sends again once paid");
    drop(ce);
    drop(dir);
}

/// A clock move answers every job the move made due, however often the timer runs beside it
/// (here every millisecond): the move and its run are one step the timer cannot get between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_move_reports_the_invoice_it_made_due_while_the_timer_runs_constantly() {
    let dir = temp_dir();
    let config = config().replace("job_interval_ms = 200", "job_interval_ms = 1");
    let ce = Chatedge::up_with(dir.path(), &config, &["--test-clock"]);
    let http = Http::new();
    set_clock(&http, &ce, "2030-01-01T00:00:00Z").await;
    let acme = create_account(&http, &ce, "acme").await;
    let alpha = create(&http, &ce, &acme.token, "alpha").await;
    assert_eq!(lifecycle(&http, &ce, &acme.token, &alpha, "subscription").await.0, 201);
    for month in 2..=7 {
        let jobs = set_clock(&http, &ce, &format!("2030-{month:02}-01T00:00:00Z")).await;
        assert_eq!(jobs["invoicesIssued"], json!(1), "month {month}: {jobs}");
        let open = invoices(&http, &ce, &acme.token).await;
        let open = open.iter().find(|i| i["status"] == json!("OPEN")).expect("the new invoice is open");
        let id = open["id"].as_str().unwrap();
        let (s, v) = admin(&http, &ce, Method::POST, &format!("invoices/{id}/pay"), None).await;
        assert_eq!(s, 200, "{v}");
    }
    drop(ce);
    drop(dir);
}
