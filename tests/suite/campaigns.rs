//! Bulk campaigns (issue 14) on the real binary, over Chat Inc's API (seed 003, `/v1/…`), on
//! the sim network with pacing 0: an audience and variables from one CSV upload, a campaign
//! with variables and buttons, each recipient's own text, opt-outs, numbers not on the
//! network, results that match the statuses the sim produced, the CSV export, a scheduled run
//! on the test clock across a restart, `kill -9` in the middle of a run, an interactive send
//! that overtakes a running campaign, a run held by its account's daily quota, and deleting
//! audiences, groups and campaigns.

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use common::*;
use hyper::Method;
use serde_json::{json, Value};

/// Calls a `/v1/…` route with the instance token as the API key.
async fn api(http: &Http, ce: &Chatedge, inst: &Instance, path: &str, body: &Value) -> (u16, Value) {
    let url = format!("{}/v1/{path}", ce.dp);
    let headers = [("content-type", "application/json"), ("authorization", inst.token.as_str())];
    http.raw(Method::POST, &url, None, &headers, body.to_string().into_bytes()).await
}

/// Uploads `csv` as the `file` part of a multipart form with `fields`.
async fn upload(
    http: &Http,
    ce: &Chatedge,
    inst: &Instance,
    path: &str,
    fields: &[(&str, &str)],
    csv: &str,
) -> (u16, Value) {
    let boundary = "chatedge-test-boundary-7d1f";
    let mut body = String::new();
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n"
    ));
    for (k, v) in fields {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let bearer = format!("Bearer {}", inst.token);
    let headers = [("content-type", content_type.as_str()), ("authorization", bearer.as_str())];
    http.raw(Method::POST, &format!("{}/v1/{path}", ce.dp), None, &headers, body.into_bytes()).await
}

/// The campaign as `retrieve/campaigns` lists it.
async fn campaign(http: &Http, ce: &Chatedge, inst: &Instance, id: &str) -> Value {
    let (status, list) = api(http, ce, inst, "retrieve/campaigns", &json!({})).await;
    assert_eq!(status, 200, "retrieve/campaigns: {list}");
    let found =
        list.as_array().unwrap().iter().map(|e| &e["campaigns"]).find(|c| c["campaignId"] == json!(id)).cloned();
    found.unwrap_or_else(|| panic!("campaign {id} not listed: {list}"))
}

/// Waits until the campaign satisfies `done` and answers it.
async fn wait_campaign(
    http: &Http,
    ce: &Chatedge,
    inst: &Instance,
    id: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let got = eventually(Duration::from_secs(60), || async {
        let c = campaign(http, ce, inst, id).await;
        done(&c).then_some(c)
    })
    .await;
    match got {
        Some(c) => c,
        None => panic!("campaign {id}: {what}; last seen: {}", campaign(http, ce, inst, id).await),
    }
}

/// Every row of a run's export (JSON pages of `page` rows).
async fn all_rows(http: &Http, ce: &Chatedge, inst: &Instance, id: &str, page: usize) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut body = json!({"campaignId": id, "format": "json", "limit": page});
        if let Some(a) = &after {
            body["after"] = json!(a);
        }
        let (status, v) = api(http, ce, inst, "retrieve/campaign", &body).await;
        assert_eq!(status, 200, "retrieve/campaign: {v}");
        let list = v.as_array().unwrap().clone();
        let n = list.len();
        after = list.last().map(|r| r["number"].as_str().unwrap().to_owned());
        rows.extend(list);
        if n < page {
            return rows;
        }
    }
}

async fn inbound(http: &Http, ce: &Chatedge, body: Value) {
    let (status, v) = http.post(&format!("{}/sim/inbound", ce.dp), Some(&ce.admin_token), &body).await;
    assert_eq!(status, 200, "sim/inbound: {v}");
}

const LIST: &str = "number,first_name,city
5511970000001,Ana,Rio
5511970000002,Bruno,Sao Paulo
5511970000003,,Recife
5511970010000,Dora,Belo Horizonte
5511970000005,Eva,Porto Alegre
not-a-number,Xavier,Nowhere
+55 (11) 97000-0006,Fabio,Natal
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_to_a_csv_audience_sends_each_recipient_its_own_text_and_counts_what_the_sim_did() {
    let p = paired(FAST).await;
    let (http, ce, inst) = (&p.http, &p.ce, &p.inst);

    // One upload: the variable group `vip` and the audience `shoppers` (seed 003's audienceId).
    let (status, report) = upload(
        http,
        ce,
        inst,
        "create/variable/group/from/file",
        &[("id", "vip"), ("name", "VIP customers"), ("audienceId", "shoppers")],
        LIST,
    )
    .await;
    assert_eq!(status, 200, "upload: {report}");
    assert_eq!(
        (report["rows"].clone(), report["stored"].clone(), report["badRows"].clone()),
        (json!(7), json!(6), json!(1))
    );
    assert_eq!(report["errors"][0]["line"], json!(7), "the bad row is named by its line: {report}");
    assert_eq!(report["audience"]["contacts"], json!(6));
    assert_eq!(report["variableGroup"]["fields"], json!(["first_name", "city"]));

    // Eva opts out (the seed's "press 2 to stop": any configured word, any case).
    inbound(http, ce, json!({"instanceId": inst.id, "phone": "5511970000005", "message": " stop "})).await;
    eventually(PATIENCE, || async {
        (metrics::sum(http, &ce.dp, "chatedge_dp_campaign_opt_outs_total", "").await >= 1.0).then_some(())
    })
    .await
    .expect("the opt-out is recorded");

    let body = json!({
        "title": "Spring offers",
        "message": "Hi {vip.first_name} from {vip.city}! Reply STOP to opt out.",
        "buttons": [
            {"text": "I want it", "type": "input", "input": "YES"},
            {"text": "Tell me more", "type": "journey", "journeyId": "offers"}
        ],
        "options": {"runImmediately": true, "audiences": ["shoppers"]}
    });
    let (status, created) = api(http, ce, inst, "create/campaign", &body).await;
    assert_eq!(status, 200, "create/campaign: {created}");
    let id = created["campaignId"].as_str().unwrap().to_owned();

    let done = wait_campaign(http, ce, inst, &id, "done with every status in", |c| {
        c["state"] == json!("done")
            && c["results"]["Read"] == json!(3)
            && c["results"]["NumbersNotOnWhatsApp"] == json!(1)
    })
    .await;
    let r = &done["results"];
    assert_eq!(r["Sent"], json!(3), "{done}");
    assert_eq!(r["Delivered"], json!(3));
    assert_eq!(r["SendErrors"], json!(1), "5511970000003 has no first_name: counted, not sent with a hole");
    assert_eq!(r["OptedOut"], json!(1), "Eva is suppressed: skipped and counted");
    assert_eq!(r["deliveryRate"], json!(100.0));
    assert_eq!(done["totalSent"], json!(3));

    // Each recipient got its own text, with buttons named after the campaign.
    for (phone, text) in [
        ("5511970000001", "Hi Ana from Rio!"),
        ("5511970000002", "Hi Bruno from Sao Paulo!"),
        ("5511970000006", "Hi Fabio from Natal!"),
    ] {
        let got = sim_received(http, ce, inst, phone).await;
        assert_eq!(got.len(), 1, "{phone}: {got:?}");
        assert!(got[0]["text"].as_str().unwrap().starts_with(text), "{phone}: {}", got[0]);
        assert_eq!(got[0]["content"]["buttons"][0]["id"], json!(format!("{id}#1")));
    }
    for phone in ["5511970000003", "5511970000005"] {
        assert!(sim_received(http, ce, inst, phone).await.is_empty(), "{phone} must not be sent anything");
    }

    // The results match what the sim told the webhooks.
    let rows = all_rows(http, ce, inst, &id, 100).await;
    let ids: BTreeMap<String, String> = rows
        .iter()
        .filter(|r| r["messageId"] != json!(""))
        .map(|r| (r["messageId"].as_str().unwrap().to_owned(), r["number"].as_str().unwrap().to_owned()))
        .collect();
    let events = p
        .sink
        .wait_for(PATIENCE, "READ for the 3 campaign messages", |events| {
            events
                .iter()
                .filter(|e| {
                    e.body["status"] == json!("READ") && ids.contains_key(e.body["ids"][0].as_str().unwrap_or(""))
                })
                .count()
                >= 3
        })
        .await;
    let mut by_status: HashMap<String, BTreeSet<String>> = HashMap::new();
    for e in &events {
        let about = e.body["ids"][0].as_str().or(e.body["messageId"].as_str()).unwrap_or_default();
        if ids.contains_key(about) {
            let status = match (e.body["type"].as_str(), e.body["status"].as_str(), e.body.get("error")) {
                (Some("DeliveryCallback"), _, Some(_)) => "refused".to_owned(),
                (Some("DeliveryCallback"), _, None) => "accepted".to_owned(),
                (_, Some(s), _) => s.to_owned(),
                _ => continue,
            };
            by_status.entry(status).or_default().insert(about.to_owned());
        }
    }
    assert_eq!(by_status["READ"].len() as u64, r["Read"].as_u64().unwrap());
    assert_eq!(by_status["RECEIVED"].len() as u64, r["Delivered"].as_u64().unwrap());
    assert_eq!(by_status["accepted"].len() as u64, r["Sent"].as_u64().unwrap());
    assert_eq!(by_status["refused"].len() as u64, r["NumbersNotOnWhatsApp"].as_u64().unwrap());

    // A button press comes back as a ReceivedCallback and is stored against the campaign.
    let ana = rows.iter().find(|r| r["number"] == json!("5511970000001")).unwrap();
    inbound(
        http,
        ce,
        json!({"instanceId": inst.id, "phone": "5511970000001", "type": "buttonResponse",
               "buttonId": format!("{id}#1"), "message": "I want it", "referenceMessageId": ana["messageId"]}),
    )
    .await;
    wait_campaign(http, ce, inst, &id, "the press counted", |c| c["results"]["ButtonPresses"] == json!(1)).await;
    let (_, groups) = api(http, ce, inst, "retrieve/variable/groups", &json!({})).await;
    let input = groups.as_array().unwrap().iter().find(|g| g["id"] == json!(id)).cloned();
    assert_eq!(
        input.map(|g| g["name"].clone()),
        Some(json!("Spring offers")),
        "the InputGroup is named after the campaign: {groups}"
    );

    // The CSV export: one row per recipient, with status, error and button action.
    let (status, csv) = api(http, ce, inst, "retrieve/campaign", &json!({"campaignId": id, "format": "csv"})).await;
    assert_eq!(status, 200);
    let csv = csv.as_str().unwrap().to_owned();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "number,status,error,action,messageId");
    assert_eq!(lines.len(), 1 + 6, "{csv}");
    let row = |n: &str| lines.iter().find(|l| l.starts_with(n)).copied().unwrap_or_else(|| panic!("{n} in {csv}"));
    assert!(row("5511970000001,read,,YES,").len() > 30, "{csv}");
    assert!(row("5511970000003,send_error,").contains("vip.first_name"), "{csv}");
    assert!(row("5511970000005,opted_out,").contains("suppression list"), "{csv}");
    assert!(row("5511970010000,not_on_whatsapp,").contains("not on the network"), "{csv}");

    // Metrics count outcomes with bounded labels.
    let sent = metrics::sum(http, &ce.dp, "chatedge_dp_campaign_recipients_total", "outcome=\"sent\"").await;
    assert_eq!(sent, 3.0);

    // The InputGroup counts the numbers that answered: Ana answering again is the same number,
    // Bruno is a new one. The latest press is the row's action.
    assert_eq!(input_group(http, ce, inst, &id).await["numbers"], json!(1), "Ana answered once");
    press(http, ce, inst, "5511970000001", &format!("{id}#2"), "Tell me more").await;
    wait_campaign(http, ce, inst, &id, "the second press counted", |c| c["results"]["ButtonPresses"] == json!(2)).await;
    assert_eq!(input_group(http, ce, inst, &id).await["numbers"], json!(1), "Ana is still one number");
    press(http, ce, inst, "5511970000002", &format!("{id}#1"), "I want it").await;
    wait_campaign(http, ce, inst, &id, "Bruno's press counted", |c| c["results"]["ButtonPresses"] == json!(3)).await;
    assert_eq!(input_group(http, ce, inst, &id).await["numbers"], json!(2), "Bruno is a second number");
    let rows = all_rows(http, ce, inst, &id, 100).await;
    let action = |n: &str| rows.iter().find(|r| r["number"] == json!(n)).map(|r| r["action"].clone());
    assert_eq!((action("5511970000001"), action("5511970000002")), (Some(json!("offers")), Some(json!("YES"))));
}

/// A button press from `phone` (a ReceivedCallback of type buttonResponse).
async fn press(http: &Http, ce: &Chatedge, inst: &Instance, phone: &str, button_id: &str, label: &str) {
    inbound(
        http,
        ce,
        json!({"instanceId": inst.id, "phone": phone, "type": "buttonResponse", "buttonId": button_id, "message": label}),
    )
    .await;
}

/// The campaign's InputGroup as `retrieve/variable/groups` lists it.
async fn input_group(http: &Http, ce: &Chatedge, inst: &Instance, campaign_id: &str) -> Value {
    let (status, groups) = api(http, ce, inst, "retrieve/variable/groups", &json!({})).await;
    assert_eq!(status, 200, "{groups}");
    let found = groups.as_array().unwrap().iter().find(|g| g["id"] == json!(campaign_id)).cloned();
    found.unwrap_or_else(|| panic!("no input group {campaign_id}: {groups}"))
}

/// The account the bootstrap integrator token (and so every test instance) belongs to.
fn account_of(ce: &Chatedge) -> String {
    let creds: Value = serde_json::from_slice(&std::fs::read(ce.dir.join("credentials.json")).unwrap()).unwrap();
    creds["tenantId"].as_str().unwrap().to_owned()
}

async fn set_opt_out_words(http: &Http, ce: &Chatedge, words: Value) -> (u16, Value) {
    let url = format!("{}/admin/accounts/{}/opt-out-keywords", ce.cp, account_of(ce));
    let body = json!({ "keywords": words }).to_string().into_bytes();
    http.raw(Method::PUT, &url, Some(&ce.admin_token), &[("content-type", "application/json")], body).await
}

/// Waits until the sink holds a ReceivedCallback from each of `phones` (the opt-out check runs
/// in the batch that produces it).
async fn wait_received_from(p: &Paired, phones: &[&str]) {
    p.sink
        .wait_for(PATIENCE, "the ReceivedCallbacks", |events| {
            phones.iter().all(|ph| {
                events.iter().any(|e| e.body["type"] == json!("ReceivedCallback") && e.body["phone"] == json!(ph))
            })
        })
        .await;
}

async fn opt_outs(http: &Http, ce: &Chatedge) -> f64 {
    metrics::sum(http, &ce.dp, "chatedge_dp_campaign_opt_outs_total", "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_own_opt_out_words_replace_the_nodes_and_apply_without_a_restart() {
    let p = paired(FAST).await;
    let (http, ce, inst) = (&p.http, &p.ce, &p.inst);
    let (ana, bruno, carla) = ("5511973000001", "5511973000002", "5511973000003");

    // Bad words are refused naming them; good ones are stored trimmed and upper-cased.
    let (s, v) = set_opt_out_words(http, ce, json!(["SAIR", "  "])).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["message"].as_str().unwrap_or_default().contains("keywords[1]"), "{v}");
    let (s, v) = set_opt_out_words(http, ce, json!([" sair ", "Cancelar"])).await;
    assert_eq!((s, v["optOutKeywords"].clone()), (200, json!(["SAIR", "CANCELAR"])), "{v}");
    let url = format!("{}/admin/accounts/{}", ce.cp, account_of(ce));
    let (_, account) = http.get(&url, Some(&ce.admin_token)).await;
    assert_eq!(account["optOutKeywords"], json!(["SAIR", "CANCELAR"]), "{account}");

    // The account's words replace the node's: STOP no longer opts out, "cancelar" does.
    inbound(http, ce, json!({"instanceId": inst.id, "phone": ana, "message": "STOP"})).await;
    inbound(http, ce, json!({"instanceId": inst.id, "phone": bruno, "message": " cancelar "})).await;
    wait_received_from(&p, &[ana, bruno]).await;
    assert_eq!(opt_outs(http, ce).await, 1.0, "only Bruno's word is one of the account's");

    let contacts = json!([{"number": ana}, {"number": bruno}, {"number": carla}]);
    let (s, v) = api(http, ce, inst, "create/audience", &json!({"id": "trio", "contacts": contacts})).await;
    assert_eq!(s, 200, "{v}");
    let body =
        json!({"title": "Words", "message": "Hello", "options": {"runImmediately": true, "audiences": ["trio"]}});
    let (s, created) = api(http, ce, inst, "create/campaign", &body).await;
    assert_eq!(s, 200, "{created}");
    let id = created["campaignId"].as_str().unwrap().to_owned();
    let done =
        wait_campaign(http, ce, inst, &id, "done", |c| c["state"] == json!("done") && c["results"]["Sent"] == json!(2))
            .await;
    assert_eq!(done["results"]["OptedOut"], json!(1), "{done}");
    let rows = all_rows(http, ce, inst, &id, 100).await;
    let status = |n: &str| rows.iter().find(|r| r["number"] == json!(n)).map(|r| r["status"].clone());
    assert_eq!(status(bruno), Some(json!("opted_out")));
    assert_ne!(status(ana), Some(json!("opted_out")), "STOP was not the account's word");

    // `null` returns the account to the node's words ([campaigns] default: STOP and 2).
    let (s, v) = set_opt_out_words(http, ce, Value::Null).await;
    assert_eq!((s, v["optOutKeywords"].clone()), (200, Value::Null), "{v}");
    inbound(http, ce, json!({"instanceId": inst.id, "phone": carla, "message": "stop"})).await;
    wait_received_from(&p, &[carla]).await;
    assert_eq!(opt_outs(http, ce).await, 2.0, "STOP opts out again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_keeps_to_its_own_send_rate_and_pause_and_cancel_stop_its_feed() {
    let p = paired(FAST).await;
    let (http, ce, inst) = (&p.http, &p.ce, &p.inst);
    let contacts: Vec<Value> =
        (0..80u64).map(|i| json!({"number": format!("{}", 5511974000001u64 + i * 10)})).collect();
    let (s, v) = api(http, ce, inst, "create/audience", &json!({"id": "paced", "contacts": contacts})).await;
    assert_eq!((s, v["added"].clone()), (200, json!(80)), "{v}");
    let queued = |c: &Value| c["results"]["Queued"].as_u64().unwrap_or(0);

    let began = std::time::Instant::now();
    let body = json!({"title": "Paced", "message": "Slowly", "options": {"runImmediately": true, "audiences": ["paced"], "maxPerSecond": 10}});
    let (s, created) = api(http, ce, inst, "create/campaign", &body).await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["campaign"]["maxPerSecond"], json!(10));
    let id = created["campaignId"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let c = campaign(http, ce, inst, &id).await;
    let allowed = (began.elapsed().as_secs_f64() * 10.0) as u64 + 10;
    assert!(
        queued(&c) >= 10 && queued(&c) <= allowed,
        "10 a second (a second's worth at once): {} of {allowed}: {c}",
        queued(&c)
    );

    // Paused: nothing more is queued (a feed already on its way may still land).
    let (s, v) = api(http, ce, inst, "pause/campaign", &json!({"campaignId": id})).await;
    assert_eq!((s, v["campaign"]["state"].clone()), (200, json!("paused")), "{v}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = queued(&campaign(http, ce, inst, &id).await);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(queued(&campaign(http, ce, inst, &id).await), held, "a paused run queues nothing");

    let (s, v) = api(http, ce, inst, "resume/campaign", &json!({"campaignId": id})).await;
    assert_eq!((s, v["campaign"]["state"].clone()), (200, json!("running")), "{v}");
    wait_campaign(http, ce, inst, &id, "feeding again", |c| queued(c) > held).await;

    // Cancelled: the feed stops for good; what was queued still leaves.
    let (s, v) = api(http, ce, inst, "cancel/campaign", &json!({"campaignId": id})).await;
    assert_eq!((s, v["campaign"]["state"].clone()), (200, json!("cancelled")), "{v}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = queued(&campaign(http, ce, inst, &id).await);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let c = wait_campaign(http, ce, inst, &id, "what was queued is sent", |c| {
        c["results"]["Sent"].as_u64() == Some(stopped)
    })
    .await;
    assert_eq!(queued(&c), stopped, "a cancelled run queues nothing: {c}");
    assert!(stopped < 80, "cancelled before the end: {c}");
    assert_eq!(c["runs"][0]["state"], json!("cancelled"));
    let (s, v) = api(http, ce, inst, "cancel/campaign", &json!({"campaignId": id})).await;
    assert_eq!((s, v["error"].clone()), (409, json!("Conflict")), "{v}");
    let (s, v) = api(http, ce, inst, "resume/campaign", &json!({"campaignId": id})).await;
    assert_eq!(s, 409, "a cancelled run cannot be resumed: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_campaign_requests_are_refused_naming_the_field_and_store_nothing() {
    let p = paired(FAST).await;
    let (http, ce, inst) = (&p.http, &p.ce, &p.inst);
    let (s, _) =
        api(http, ce, inst, "create/audience", &json!({"id": "a", "contacts": [{"number": "5511970000001"}]})).await;
    assert_eq!(s, 200);
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("create/campaign", json!({"title": "t", "message": "Hi {nobody.name}"}), 400, "message"),
        (
            "create/campaign",
            json!({"title": "t", "message": "m", "options": {"runImmediately": true, "audiences": ["ghost"]}}),
            400,
            "options.audiences[0]",
        ),
        (
            "create/campaign",
            json!({"title": "t", "message": "m", "buttons": [{"text": "a", "type": "url", "url": "https://x.io"}, {"text": "b", "type": "input"}]}),
            400,
            "buttons",
        ),
        ("create/audience", json!({"id": "a", "contacts": [{"number": "12"}]}), 400, "contacts[0].number"),
        ("run/campaign", json!({"campaignId": "c_missing", "audiences": ["a"]}), 404, ""),
    ];
    for (path, body, status, field) in cases {
        let (s, v) = api(http, ce, inst, path, &body).await;
        assert_eq!(s, status, "{path} {body}: {v}");
        assert_eq!(v["status"], json!("error"), "{v}");
        if !field.is_empty() {
            assert_eq!(v["field"], json!(field), "{path} {body}: {v}");
        }
    }
    let (_, list) = api(http, ce, inst, "retrieve/campaigns", &json!({})).await;
    assert_eq!(list, json!([]), "nothing stored");
    let url = format!("{}/v1/retrieve/audiences", ce.dp);
    let (s, v) = http.raw(Method::GET, &url, None, &[("authorization", "not-a-token")], Vec::new()).await;
    assert_eq!((s, v["error"].clone()), (401, json!("Unauthorized")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_campaign_runs_when_the_test_clock_reaches_its_time_even_across_a_restart() {
    let dir = temp_dir();
    let ce = Chatedge::up_with(dir.path(), FAST, &["--test-clock"]);
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    pair(&http, &ce, &inst, "5511999990001").await;
    let t0: u64 = 4_102_444_800_000; // 2100-01-01
    let (s, v) = http.post(&format!("{}/admin/clock", ce.dp), Some(&ce.admin_token), &json!({"nowMs": t0})).await;
    assert_eq!(s, 200, "{v}");
    let contacts = json!([{"number": "5511971000001"}, {"number": "5511971000002"}]);
    let (s, _) =
        api(&http, &ce, &inst, "create/audience", &json!({"id": "later", "name": "Later", "contacts": contacts})).await;
    assert_eq!(s, 200);
    let body = json!({"title": "Tomorrow", "message": "Good morning", "options": {"timeToRun": t0 / 1000 + 3600, "audiences": ["later"]}});
    let (s, created) = api(&http, &ce, &inst, "create/campaign", &body).await;
    assert_eq!(s, 200, "{created}");
    let id = created["campaignId"].as_str().unwrap().to_owned();
    assert_eq!(created["campaign"]["state"], json!("scheduled"));

    // Restart: the schedule is on disk; the clock resumes where it was set.
    ce.terminate();
    let ce = Chatedge::up_with(dir.path(), FAST, &["--test-clock"]);
    wait_connected(&http, &ce, &inst).await;
    let c = campaign(&http, &ce, &inst, &id).await;
    assert_eq!((c["state"].clone(), c["results"]["Queued"].clone()), (json!("scheduled"), json!(0)), "{c}");

    // Not yet due: a minute before.
    let (s, _) =
        http.post(&format!("{}/admin/clock", ce.dp), Some(&ce.admin_token), &json!({"nowMs": t0 + 3_540_000})).await;
    assert_eq!(s, 200);
    let c = campaign(&http, &ce, &inst, &id).await;
    assert_eq!(c["state"], json!("scheduled"), "{c}");

    let (s, _) =
        http.post(&format!("{}/admin/clock", ce.dp), Some(&ce.admin_token), &json!({"nowMs": t0 + 3_600_000})).await;
    assert_eq!(s, 200);
    let c = wait_campaign(&http, &ce, &inst, &id, "ran at its time", |c| {
        c["state"] == json!("done") && c["results"]["Sent"] == json!(2)
    })
    .await;
    assert_eq!(c["runs"][0]["startedAt"], json!(t0 + 3_600_000), "{c}");
    // Run it again: a campaign can be run more than once.
    let (s, v) = api(&http, &ce, &inst, "run/campaign", &json!({"campaignId": id, "audiences": ["later"]})).await;
    assert_eq!(s, 200, "{v}");
    wait_campaign(&http, &ce, &inst, &id, "second run done", |c| {
        c["runs"][1]["state"] == json!("done") && c["totalSent"] == json!(4)
    })
    .await;
}

/// Many recipients fed in small batches through a small window, so the run is long enough to
/// be killed in the middle.
fn slow_feed() -> String {
    format!("{FAST}[campaigns]\nqueue_window = 40\nfeed_batch = 20\n")
}

fn numbers_csv(n: u64) -> String {
    let mut csv = String::from("number\n");
    for i in 0..n {
        let phone = 5511972000000 + i * 10 + 1; // ends in 1: never in 0000
        csv.push_str(&format!("{phone}\n"));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_way_resumes_with_no_recipient_sent_twice_and_none_skipped() {
    let dir = temp_dir();
    let sink = Sink::start().await;
    let ce = Chatedge::up(dir.path(), &slow_feed());
    let http = Http::new();
    let inst = create_instance(&http, &ce, Some(&sink)).await;
    pair(&http, &ce, &inst, "5511999990001").await;
    let total = 3_000u64;
    let (s, v) = upload(
        &http,
        &ce,
        &inst,
        "create/audience/from/file",
        &[("id", "crowd"), ("name", "Crowd")],
        &numbers_csv(total),
    )
    .await;
    assert_eq!((s, v["stored"].clone()), (200, json!(total)), "{v}");
    let body =
        json!({"title": "Big", "message": "Hello crowd", "options": {"runImmediately": true, "audiences": ["crowd"]}});
    let (s, created) = api(&http, &ce, &inst, "create/campaign", &body).await;
    assert_eq!(s, 200, "{created}");
    let id = created["campaignId"].as_str().unwrap().to_owned();

    wait_campaign(&http, &ce, &inst, &id, "part-way", |c| c["results"]["Queued"].as_u64().unwrap_or(0) >= 300).await;
    ce.kill_9();
    let ce = Chatedge::up(dir.path(), &slow_feed());
    let c = wait_campaign(&http, &ce, &inst, &id, "done after the restart", |c| {
        c["state"] == json!("done") && c["results"]["Sent"].as_u64() == Some(total)
    })
    .await;
    assert_eq!(c["results"]["Queued"], json!(total), "each recipient queued exactly once: {c}");

    let rows = all_rows(&http, &ce, &inst, &id, 1_000).await;
    assert_eq!(rows.len() as u64, total);
    let message_ids: BTreeSet<&str> = rows.iter().map(|r| r["messageId"].as_str().unwrap()).collect();
    assert_eq!(message_ids.len() as u64, total, "one message per recipient");

    // The network's side: every recipient got one message (one messageId), none none.
    let events = sink
        .wait_for(PATIENCE, "a DeliveryCallback per recipient", |events| {
            let phones: BTreeSet<&str> = events
                .iter()
                .filter(|e| e.body["type"] == json!("DeliveryCallback"))
                .filter_map(|e| e.body["phone"].as_str())
                .collect();
            phones.len() as u64 >= total
        })
        .await;
    let mut per_phone: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for e in events.iter().filter(|e| e.body["type"] == json!("DeliveryCallback")) {
        per_phone.entry(e.body["phone"].as_str().unwrap()).or_default().insert(e.body["messageId"].as_str().unwrap());
    }
    assert_eq!(per_phone.len() as u64, total, "none skipped");
    let twice: Vec<_> = per_phone.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_of_a_whole_run_is_one_answer_with_every_recipient_once() {
    let p = paired(FAST).await;
    let (http, ce, inst) = (&p.http, &p.ce, &p.inst);
    // More recipients than one chunk of the streamed export (2,000), so the answer is streamed.
    let total = 4_500u64;
    let (s, v) = upload(http, ce, inst, "create/audience/from/file", &[("id", "crowd")], &numbers_csv(total)).await;
    assert_eq!((s, v["stored"].clone()), (200, json!(total)), "{v}");
    let body =
        json!({"title": "Big", "message": "Hello crowd", "options": {"runImmediately": true, "audiences": ["crowd"]}});
    let (s, created) = api(http, ce, inst, "create/campaign", &body).await;
    assert_eq!(s, 200, "{created}");
    let id = created["campaignId"].as_str().unwrap().to_owned();
    wait_campaign(http, ce, inst, &id, "every recipient sent", |c| c["results"]["Sent"].as_u64() == Some(total)).await;

    // One call, no paging: a header line and one row per recipient, in number order.
    let (s, csv) = api(http, ce, inst, "retrieve/campaign", &json!({"campaignId": id, "format": "csv"})).await;
    assert_eq!(s, 200, "retrieve/campaign csv: {csv}");
    let csv = csv.as_str().expect("CSV text").to_owned();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "number,status,error,action,messageId");
    assert_eq!(lines.len() as u64, 1 + total, "every recipient once");
    let numbers: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
    let mut sorted = numbers.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(numbers, sorted, "number order, no repeats");
    assert!(lines[1..].iter().all(|l| l.contains(",sent,") || l.contains(",delivered,") || l.contains(",read,")));

    // The same rows as the JSON pages, message ids included.
    let paged: Vec<String> = all_rows(http, ce, inst, &id, 1_000)
        .await
        .iter()
        .map(|r| format!("{},{}", r["number"].as_str().unwrap(), r["messageId"].as_str().unwrap()))
        .collect();
    let streamed: Vec<String> = lines[1..]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{}", f[0], f[4])
        })
        .collect();
    // Statuses may move between the two reads; number and message id do not.
    assert_eq!(streamed, paged);
    let complete =
        metrics::sum(http, &ce.dp, "chatedge_dp_campaign_exports_total", "outcome=\"stream_complete\"").await;
    assert_eq!(complete, 1.0, "the answer was streamed, and completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interactive_send_overtakes_a_running_campaign() {
    let p = paired(&slow_feed()).await;
    let (http, ce, inst) = (&p.http, &p.ce, &p.inst);
    let total = 2_000u64;
    let (s, v) = upload(http, ce, inst, "create/audience/from/file", &[("id", "crowd")], &numbers_csv(total)).await;
    assert_eq!(s, 200, "{v}");
    let body =
        json!({"title": "Big", "message": "Hello crowd", "options": {"runImmediately": true, "audiences": ["crowd"]}});
    let (_, created) = api(http, ce, inst, "create/campaign", &body).await;
    let id = created["campaignId"].as_str().unwrap().to_owned();
    wait_campaign(http, ce, inst, &id, "started", |c| c["results"]["Queued"].as_u64().unwrap_or(0) >= 100).await;

    let (s, sent) = http
        .post(&ce.instance_url(inst, "send-text"), None, &json!({"phone": "5511999998888", "message": "urgent"}))
        .await;
    assert_eq!(s, 200, "{sent}");
    let zaap = sent["zaapId"].as_str().unwrap().to_owned();
    p.sink
        .wait_for(PATIENCE, "the interactive message's DeliveryCallback", |events| {
            events.iter().any(|e| e.body["zaapId"] == json!(zaap))
        })
        .await;
    let c = campaign(http, ce, inst, &id).await;
    assert!(
        c["results"]["Sent"].as_u64().unwrap() < total,
        "the interactive send left while the campaign still had recipients to send: {c}"
    );
    // Pause and resume: a paused run queues nothing more; resumed, it finishes.
    let (s, v) = api(http, ce, inst, "pause/campaign", &json!({"campaignId": id})).await;
    assert_eq!((s, v["campaign"]["state"].clone()), (200, json!("paused")), "{v}");
    let (s, v) = api(http, ce, inst, "resume/campaign", &json!({"campaignId": id})).await;
    assert_eq!((s, v["campaign"]["state"].clone()), (200, json!("running")), "{v}");
    wait_campaign(http, ce, inst, &id, "done", |c| {
        c["state"] == json!("done") && c["results"]["Sent"].as_u64() == Some(total)
    })
    .await;
}

/// Sets the account's daily quota through the control plane's admin API.
async fn set_daily_quota(http: &Http, ce: &Chatedge, quota: u64) {
    let url = format!("{}/admin/accounts/{}/limits", ce.cp, account_of(ce));
    let body = json!({ "dailyQuota": quota }).to_string().into_bytes();
    let (s, v) =
        http.raw(Method::PUT, &url, Some(&ce.admin_token), &[("content-type", "application/json")], body).await;
    assert_eq!(s, 200, "limits: {v}");
}

async fn set_clock(http: &Http, ce: &Chatedge, now_ms: u64) {
    let (s, v) = http.post(&format!("{}/admin/clock", ce.dp), Some(&ce.admin_token), &json!({"nowMs": now_ms})).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_counts_against_the_accounts_daily_quota_and_is_held_until_the_next_day_even_across_a_kill_9() {
    let dir = temp_dir();
    let ce = Chatedge::up_with(dir.path(), FAST, &["--test-clock"]);
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    pair(&http, &ce, &inst, "5511999990001").await;
    let midnight: u64 = 4_102_444_800_000; // 2100-01-01T00:00Z
    set_clock(&http, &ce, midnight + 10 * 3_600_000).await;
    set_daily_quota(&http, &ce, 5).await;
    let send = json!({"phone": "5511977770001", "message": "interactive"});
    let (s, v) = http.post(&ce.instance_url(&inst, "send-text"), None, &send).await;
    assert_eq!(s, 200, "one interactive send within the quota: {v}");
    let contacts: Vec<Value> = (0..6u64).map(|i| json!({"number": format!("{}", 5511975000001u64 + i * 10)})).collect();
    let (s, v) = api(&http, &ce, &inst, "create/audience", &json!({"id": "quota", "contacts": contacts})).await;
    assert_eq!((s, v["added"].clone()), (200, json!(6)), "{v}");
    let body =
        json!({"title": "Quota", "message": "Counted", "options": {"runImmediately": true, "audiences": ["quota"]}});
    let (s, created) = api(&http, &ce, &inst, "create/campaign", &body).await;
    assert_eq!(s, 200, "{created}");
    let id = created["campaignId"].as_str().unwrap().to_owned();

    // Four of the six fit in what the interactive send left of five; the run is held, and says so.
    let next_day = midnight + 86_400_000;
    let held = json!({"by": "dailyQuota", "limit": 5, "until": next_day});
    let c = wait_campaign(&http, &ce, &inst, &id, "held by the quota after four", |c| {
        c["runs"][0]["held"] == held && c["results"]["Sent"] == json!(4)
    })
    .await;
    assert_eq!((c["state"].clone(), c["results"]["Queued"].clone()), (json!("running"), json!(4)), "{c}");
    assert_eq!(metrics::sum(&http, &ce.dp, "chatedge_dp_campaign_feeders_held", "").await, 1.0);
    let (s, v) = http.post(&ce.instance_url(&inst, "send-text"), None, &send).await;
    assert_eq!((s, v["error"].clone()), (429, json!("Daily quota reached")), "the campaign used the rest: {v}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(campaign(&http, &ce, &inst, &id).await["results"]["Queued"], json!(4), "a held run queues nothing");

    // The counts are durable with the messages: a kill -9 does not give the quota back.
    ce.kill_9();
    let ce = Chatedge::up_with(dir.path(), FAST, &["--test-clock"]);
    wait_connected(&http, &ce, &inst).await;
    wait_campaign(&http, &ce, &inst, &id, "held again after the restart", |c| c["runs"][0]["held"] == held).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(campaign(&http, &ce, &inst, &id).await["results"]["Queued"], json!(4), "still four after a restart");

    // The next UTC day the run goes on and finishes.
    set_clock(&http, &ce, next_day + 60_000).await;
    let c = wait_campaign(&http, &ce, &inst, &id, "finished the next day", |c| {
        c["state"] == json!("done") && c["results"]["Sent"] == json!(6)
    })
    .await;
    assert_eq!(c["runs"][0]["held"], Value::Null, "{c}");
    assert_eq!(metrics::sum(&http, &ce.dp, "chatedge_dp_campaign_feeders_held", "").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_refuses_what_a_campaign_still_needs_and_removes_the_rest_for_good() {
    let dir = temp_dir();
    let ce = Chatedge::up_with(dir.path(), FAST, &[]);
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    pair(&http, &ce, &inst, "5511999990001").await;
    let contacts = json!([{"number": "5511976000001"}, {"number": "5511976000011"}]);
    let (s, v) = api(&http, &ce, &inst, "create/audience", &json!({"id": "gone", "contacts": contacts})).await;
    assert_eq!(s, 200, "{v}");
    let values = json!([{"number": "5511976000001", "name": "Ana"}, {"number": "5511976000011", "name": "Bia"}]);
    let group = json!({"id": "names", "fields": ["name"], "values": values});
    let (s, v) = api(&http, &ce, &inst, "create/variable/group", &group).await;
    assert_eq!(s, 200, "{v}");
    let body = json!({"title": "Done", "message": "Hi {names.name}", "buttons": [{"text": "Yes", "type": "input", "input": "YES"}],
                      "options": {"runImmediately": true, "audiences": ["gone"]}});
    let (s, created) = api(&http, &ce, &inst, "create/campaign", &body).await;
    assert_eq!(s, 200, "{created}");
    let done = created["campaignId"].as_str().unwrap().to_owned();
    wait_campaign(&http, &ce, &inst, &done, "sent to both", |c| {
        c["state"] == json!("done") && c["results"]["Sent"] == json!(2)
    })
    .await;
    input_group(&http, &ce, &inst, &done).await;
    let body =
        json!({"title": "Later", "message": "Soon", "options": {"timeToRun": 4_102_444_800u64, "audiences": ["gone"]}});
    let (s, created) = api(&http, &ce, &inst, "create/campaign", &body).await;
    assert_eq!((s, created["campaign"]["state"].clone()), (200, json!("scheduled")), "{created}");
    let later = created["campaignId"].as_str().unwrap().to_owned();

    // Refused while something needs it, naming what does; nothing is deleted.
    let refusals = [
        ("delete/audience", json!({"id": "gone"}), &later),
        ("delete/variable/group", json!({"id": "names"}), &done),
        ("delete/variable/group", json!({"id": done}), &done),
        ("delete/campaign", json!({"campaignId": later}), &later),
    ];
    for (path, body, named) in &refusals {
        let (s, v) = api(&http, &ce, &inst, path, body).await;
        assert_eq!((s, v["error"].clone()), (409, json!("Conflict")), "{path} {body}: {v}");
        assert!(v["message"].as_str().unwrap().contains(named.as_str()), "{path} names {named}: {v}");
    }
    let bad = [
        ("delete/campaign", json!({}), 400, Some("campaignId")),
        ("delete/audience", json!({"id": "all"}), 400, Some("id")),
        ("delete/audience", json!({"id": "nope"}), 404, None),
        ("delete/variable/group", json!({"id": "nope"}), 404, None),
    ];
    for (path, body, status, field) in bad {
        let (s, v) = api(&http, &ce, &inst, path, &body).await;
        assert_eq!((s, v.get("field").and_then(Value::as_str)), (status, field), "{path} {body}: {v}");
    }
    assert_eq!(campaign(&http, &ce, &inst, &done).await["results"]["Sent"], json!(2), "the refusals changed nothing");

    // The finished campaign goes, with its rows and its input group; a later press of its
    // button stores nothing. Then the rest, each once nothing needs it.
    let (s, v) = api(&http, &ce, &inst, "delete/campaign", &json!({"campaignId": done})).await;
    assert_eq!((s, v["deleted"].clone()), (200, json!(true)), "{v}");
    press(&http, &ce, &inst, "5511976000001", &format!("{done}#1"), "Yes").await;
    let (s, v) = api(&http, &ce, &inst, "cancel/campaign", &json!({"campaignId": later})).await;
    assert_eq!(s, 200, "{v}");
    for (path, body) in [
        ("delete/campaign", json!({"campaignId": later})),
        ("delete/variable/group", json!({"id": "names"})),
        ("delete/audience", json!({"id": "gone"})),
    ] {
        let (s, v) = api(&http, &ce, &inst, path, &body).await;
        assert_eq!((s, v["deleted"].clone()), (200, json!(true)), "{path}: {v}");
    }

    // Gone for good: after a restart nothing lists them and deleting again finds nothing.
    ce.terminate();
    let ce = Chatedge::up_with(dir.path(), FAST, &[]);
    wait_connected(&http, &ce, &inst).await;
    let (s, list) = api(&http, &ce, &inst, "retrieve/campaigns", &json!({})).await;
    assert_eq!((s, list), (200, json!([])));
    let (s, groups) = api(&http, &ce, &inst, "retrieve/variable/groups", &json!({})).await;
    assert_eq!((s, groups), (200, json!([])), "the group and the campaign's input group are gone");
    let (s, v) = api(&http, &ce, &inst, "retrieve/audiences", &json!({})).await;
    assert_eq!((s, v["audiences"].clone()), (200, json!([])));
    let (s, _) = api(&http, &ce, &inst, "retrieve/campaign", &json!({"campaignId": done, "format": "json"})).await;
    assert_eq!(s, 404, "no campaign, no rows to read");
    let (s, _) = api(&http, &ce, &inst, "delete/campaign", &json!({"campaignId": done})).await;
    assert_eq!(s, 404);
}
