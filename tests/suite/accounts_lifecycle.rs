//! Accounts and the instance lifecycle: a trial not subscribed within two days is deleted with
//! its queued messages; an account's first integrator token creates 25 instances, a definitive
//! one has no cap, a revoked one is refused at once; a disabled account's instances stop
//! sending and say why, and what they had queued waits until the account is enabled again; an
//! account's own pacing holds its messages and lifts at once; the bootstrap token is definitive.

use crate::accounts_support;
use crate::common;

use accounts_support::*;
use common::metrics::sum;
use common::*;
use hyper::Method;
use serde_json::json;

async fn queue_count(http: &Http, ce: &Chatedge, inst: &Instance) -> serde_json::Value {
    http.get(&ce.instance_url(inst, "queue/count"), None).await.1["count"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_trial_is_deleted_with_its_queued_messages() {
    let dir = temp_dir();
    let ce = up(dir.path());
    let http = Http::new();
    set_clock(&http, &ce, "2030-01-01T00:00:00Z").await;
    // The bootstrap token belongs to the default account: any account follows the same rules.
    let doomed = create(&http, &ce, &ce.integrator_token, "trial").await;
    let kept = create(&http, &ce, &ce.integrator_token, "subscribed").await;
    let (s, _) = lifecycle(&http, &ce, &ce.integrator_token, &kept, "subscription").await;
    assert_eq!(s, 201);
    // Neither is paired: their messages wait in their queues.
    for (inst, n) in [(&doomed, 5u64), (&kept, 2)] {
        for i in 0..n {
            let (s, v) = send_text(&http, &ce, inst, &format!("55119555{:05}", i + 1)).await;
            assert_eq!(s, 200, "{v}");
        }
    }
    assert_eq!(queue_count(&http, &ce, &doomed).await, json!(5));
    let depth = eventually(PATIENCE, || async {
        let d = sum(&http, &ce.dp, "chatedge_dp_queue_depth", "").await;
        (d == 7.0).then_some(d)
    })
    .await;
    assert_eq!(depth, Some(7.0), "seven messages wait");

    let jobs = set_clock(&http, &ce, "2030-01-02T23:59:59Z").await;
    assert_eq!(jobs["instancesExpired"], json!(0), "the trial lasts two full days");
    let jobs = set_clock(&http, &ce, "2030-01-03T00:00:00Z").await;
    assert_eq!(jobs["instancesExpired"], json!(1), "{jobs}");
    assert_eq!(http.get(&ce.instance_url(&doomed, "status"), None).await.0, 401, "the trial is gone");
    assert_eq!(ids(&list(&http, &ce, &ce.integrator_token).await), vec![kept.id.clone()]);
    let depth = eventually(PATIENCE, || async {
        let d = sum(&http, &ce.dp, "chatedge_dp_queue_depth", "").await;
        (d == 2.0).then_some(d)
    })
    .await;
    assert_eq!(depth, Some(2.0), "its five queued messages left the store; the subscribed one's stay");
    assert_eq!(queue_count(&http, &ce, &kept).await, json!(2));
    drop(ce);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_token_creates_25_instances_a_definitive_one_more_and_a_revoked_one_none() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config());
    let http = Http::new();
    let acme = create_account(&http, &ce, "acme").await;
    for i in 0..25 {
        create(&http, &ce, &acme.token, &format!("n{i}")).await;
    }
    let (s, v) = try_create(&http, &ce, &acme.token, "n25").await;
    assert_eq!((s, v["error"].clone()), (403, json!("Instance limit reached")), "{v}");

    let path = format!("accounts/{}/integrator-tokens", acme.id);
    let (s, v) = admin(&http, &ce, Method::POST, &path, Some(json!({"definitive": true}))).await;
    assert_eq!((s, v["definitive"].clone()), (201, json!(true)), "{v}");
    let definitive = v["token"].as_str().unwrap().to_owned();
    create(&http, &ce, &definitive, "n25").await;
    assert_eq!(list(&http, &ce, &acme.token).await["total"], json!(26), "both tokens see the account's instances");

    // Listed without the secrets; the first token is revoked and refused at once.
    let (s, tokens) = admin(&http, &ce, Method::GET, &path, None).await;
    assert_eq!(s, 200);
    assert!(!tokens.to_string().contains(&definitive) && !tokens.to_string().contains(&acme.token));
    let tokens = tokens.as_array().unwrap().clone();
    assert_eq!(tokens.len(), 2);
    assert_eq!((tokens[0]["definitive"].clone(), tokens[0]["instancesCreated"].clone()), (json!(false), json!(25)));
    let first = tokens[0]["id"].as_str().unwrap();
    let (s, _) = admin(&http, &ce, Method::DELETE, &format!("{path}/{first}"), None).await;
    assert_eq!(s, 200);
    let (s, _) = http.get(&format!("{}/instances", ce.cp), Some(&acme.token)).await;
    assert_eq!(s, 401, "a revoked token is refused");
    assert_eq!(list(&http, &ce, &definitive).await["total"], json!(26));

    // The bootstrap token of the default account is definitive.
    let (s, v) = http.get(&format!("{}/admin/accounts?page=1&pageSize=10", ce.cp), Some(&ce.admin_token)).await;
    assert_eq!((s, v["total"].clone()), (200, json!(2)));
    let default = v["content"].as_array().unwrap().iter().find(|a| a["name"] == json!("default")).unwrap().clone();
    assert_eq!(default["integratorTokens"][0]["definitive"], json!(true));
    let (s, _) = http.get(&format!("{}/admin/accounts", ce.cp), Some(&acme.token)).await;
    assert_eq!(s, 401, "the admin API wants the admin token");
    drop(ce);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_account_stops_sending_and_says_why() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config());
    let http = Http::new();
    let acme = create_account(&http, &ce, "acme").await;
    let inst = create(&http, &ce, &acme.token, "one").await;
    assert_eq!(send_text(&http, &ce, &inst, "5511944440001").await.0, 200);
    let (s, _) = admin(&http, &ce, Method::POST, &format!("accounts/{}/disable", acme.id), None).await;
    assert_eq!(s, 200);
    let (s, v) = send_text(&http, &ce, &inst, "5511944440002").await;
    assert_eq!((s, v["error"].clone()), (403, json!("Account disabled")), "{v}");
    assert_eq!(http.get(&ce.instance_url(&inst, "status"), None).await.0, 200, "reading still works");
    let (s, v) = try_create(&http, &ce, &acme.token, "two").await;
    assert_eq!((s, v["error"].clone()), (403, json!("Account disabled")));
    let (_, account) = admin(&http, &ce, Method::GET, &format!("accounts/{}", acme.id), None).await;
    assert_eq!((account["disabled"].clone(), account["instances"].clone()), (json!(true), json!(1)));
    let (s, _) = admin(&http, &ce, Method::POST, &format!("accounts/{}/enable", acme.id), None).await;
    assert_eq!(s, 200);
    assert_eq!(send_text(&http, &ce, &inst, "5511944440003").await.0, 200, "enabled again");
    drop(ce);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_accounts_queued_messages_wait_and_leave_once_it_is_enabled() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config());
    let http = Http::new();
    let acme = create_account(&http, &ce, "acme").await;
    let inst = create(&http, &ce, &acme.token, "one").await;
    pair(&http, &ce, &inst, "5511944440010").await;
    // Cut off for a few seconds: these three wait in the queue.
    let body = json!({"instanceId": inst.id, "ms": 4_000});
    let (s, v) = http.post(&format!("{}/sim/drop", ce.dp), Some(&ce.admin_token), &body).await;
    assert_eq!(s, 200, "sim/drop: {v}");
    let cut = eventually(PATIENCE, || async {
        let (_, v) = http.get(&ce.instance_url(&inst, "status"), None).await;
        (v["connected"] == json!(false)).then_some(())
    });
    assert!(cut.await.is_some(), "the instance is disconnected");
    let phones: Vec<String> = (1..=3).map(|i| format!("551194444002{i}")).collect();
    for phone in &phones {
        assert_eq!(send_text(&http, &ce, &inst, phone).await.0, 200);
    }
    let (s, _) = admin(&http, &ce, Method::POST, &format!("accounts/{}/disable", acme.id), None).await;
    assert_eq!(s, 200);
    // The connection is back, but the account is disabled: nothing leaves.
    wait_connected(&http, &ce, &inst).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    for phone in &phones {
        assert_eq!(
            sim_received(&http, &ce, &inst, phone).await.len(),
            0,
            "{phone}: held while the account is disabled"
        );
    }
    assert_eq!(queue_count(&http, &ce, &inst).await, json!(3), "the queue keeps them");

    let (s, _) = admin(&http, &ce, Method::POST, &format!("accounts/{}/enable", acme.id), None).await;
    assert_eq!(s, 200);
    let sent = eventually(PATIENCE, || async {
        let mut all = 0;
        for phone in &phones {
            all += sim_received(&http, &ce, &inst, phone).await.len();
        }
        (all == 3).then_some(())
    });
    assert!(sent.await.is_some(), "enabled again: the queue leaves");
    assert_eq!(queue_count(&http, &ce, &inst).await, json!(0));
    drop(ce);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_own_pacing_applies_to_the_message_waiting_now_and_lifts_without_a_restart() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config());
    let http = Http::new();
    let acme = create_account(&http, &ce, "acme").await;
    let inst = create(&http, &ce, &acme.token, "paced").await;
    pair(&http, &ce, &inst, "5511944440030").await;
    let pacing = format!("accounts/{}/pacing", acme.id);
    let hour = json!({"minDelayMs": 3_600_000, "maxDelayMs": 3_600_000});
    let (s, v) = admin(&http, &ce, Method::PUT, &pacing, Some(hour.clone())).await;
    assert_eq!((s, v["pacing"].clone()), (200, hour.clone()), "{v}");
    let (_, shown) = admin(&http, &ce, Method::GET, &format!("accounts/{}", acme.id), None).await;
    assert_eq!(shown["pacing"], hour, "the account shows its pacing: {shown}");

    // The first message leaves at once; the next two wait out an hour's pause.
    let phones: Vec<String> = (1..=3).map(|i| format!("551194444004{i}")).collect();
    for phone in &phones {
        assert_eq!(send_text(&http, &ce, &inst, phone).await.0, 200);
    }
    let first =
        eventually(PATIENCE, || async { (sim_received(&http, &ce, &inst, &phones[0]).await.len() == 1).then_some(()) });
    assert!(first.await.is_some(), "the first message leaves");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(queue_count(&http, &ce, &inst).await, json!(2), "the others wait out the account's pause");

    // Back to the data plane's pacing (none here): the waiting messages go now, not in an hour.
    let (s, v) = admin(&http, &ce, Method::PUT, &pacing, Some(json!({}))).await;
    assert_eq!((s, v["pacing"].clone()), (200, serde_json::Value::Null), "{v}");
    let rest = eventually(PATIENCE, || async {
        let mut all = 0;
        for phone in &phones[1..] {
            all += sim_received(&http, &ce, &inst, phone).await.len();
        }
        (all == 2).then_some(())
    });
    assert!(rest.await.is_some(), "the pause drawn under the old pacing does not hold them");

    let bad = [
        json!({"minDelayMs": 5_000, "maxDelayMs": 10}),
        json!({"minDelayMs": 1_000}),
        json!({"minDelayMs": 0, "maxDelayMs": 3_600_001}),
        json!({"minDelay": 1}),
    ];
    for body in bad {
        let (s, v) = admin(&http, &ce, Method::PUT, &pacing, Some(body.clone())).await;
        assert_eq!(s, 400, "{body}: {v}");
    }
    let (_, shown) = admin(&http, &ce, Method::GET, &format!("accounts/{}", acme.id), None).await;
    assert_eq!(shown["pacing"], serde_json::Value::Null, "a refused change changes nothing: {shown}");
    let (s, _) = admin(&http, &ce, Method::PUT, "accounts/00000000000000000000000000000000/pacing", Some(hour)).await;
    assert_eq!(s, 404);
}

/// Every byte of every file under `dir`.
fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_bytes(&path));
        } else {
            out.extend(std::fs::read(&path).unwrap_or_default());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_the_store_reveals_no_secret_and_the_key_lives_outside_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config());
    let http = Http::new();
    let acme = create_account(&http, &ce, "acme").await;
    let inst = create(&http, &ce, &acme.token, "secretive").await;
    let (_, v) = admin(&http, &ce, Method::POST, &format!("accounts/{}/security-token", acme.id), None).await;
    let client_token = v["token"].as_str().unwrap().to_owned();
    let data = dir.path().to_path_buf();
    ce.terminate();
    let store = all_bytes(&data.join("controlplane"));
    assert!(!store.is_empty());
    for (what, secret) in [("instance", &inst.token), ("integrator", &acme.token), ("client", &client_token)] {
        assert!(!contains(&store, secret), "the {what} token is not in the control plane's store");
    }
    let key = data.join("secrets.key");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    // Restarted with the key beside it, the listing shows the instance token again.
    let ce = Chatedge::up(&data, &config());
    assert_eq!(list(&http, &ce, &acme.token).await["content"][0]["token"], json!(inst.token));
    drop(ce);
    drop(dir);
}
