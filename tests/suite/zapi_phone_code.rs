//! Pairing by code instead of QR (seed 001, row 6: `phone-code/{phone}`) against the real
//! binary: the instance shows an 8-character code for one number; the owner of that number
//! types it on the sim (`/sim/pair-code`) and the instance connects (ConnectedCallback, status
//! connected); a code that rotated, or typed on another number, is refused.

use crate::common;

use common::*;
use serde_json::{json, Value};

async fn phone_code(http: &Http, ce: &Chatedge, inst: &Instance, phone: &str) -> String {
    eventually(std::time::Duration::from_secs(20), || async {
        let (s, v) = http.get(&ce.instance_url(inst, &format!("phone-code/{phone}")), None).await;
        (s == 200).then(|| v["value"].as_str().map(str::to_owned)).flatten()
    })
    .await
    .expect("a pairing code is shown")
}

async fn pair_code(ce: &Chatedge, http: &Http, inst: &Instance, code: &str, phone: &str) -> (u16, Value) {
    let body = json!({"instanceId": inst.id, "code": code, "phone": phone});
    http.post(&format!("{}/sim/pair-code", ce.dp), Some(&ce.admin_token), &body).await
}

#[tokio::test]
async fn pairing_by_code_connects_the_instance_as_that_number() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    let sink = Sink::start().await;
    let inst = create_instance(&http, &ce, Some(&sink)).await;

    let code = phone_code(&http, &ce, &inst, "5511988887777").await;
    assert_eq!(code.len(), 8, "{code}");
    assert!(code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{code}");
    assert_eq!(phone_code(&http, &ce, &inst, "5511988887777").await, code, "the same code until it rotates");

    let (status, v) = pair_code(&ce, &http, &inst, &code, "5511988886666").await;
    assert_eq!(status, 404, "a code is only good on the number it was asked for: {v}");
    let (status, v) = pair_code(&ce, &http, &inst, &code, "5511988887777").await;
    assert_eq!(status, 200, "{v}");

    let events =
        sink.wait_for(PATIENCE, "ConnectedCallback", |e| e.iter().any(|r| r.body["type"] == "ConnectedCallback")).await;
    let connected = events.iter().find(|r| r.body["type"] == "ConnectedCallback").unwrap();
    assert_eq!(connected.body["phone"], "5511988887777");
    assert_eq!(connected.body["instanceId"], inst.id.as_str());
    assert_eq!(connected.body["connected"], true);
    wait_connected(&http, &ce, &inst).await;
    let (_, me) = http.get(&ce.instance_url(&inst, "device"), None).await;
    assert_eq!(me["phone"], "5511988887777");

    let (status, v) = http.get(&ce.instance_url(&inst, "phone-code/5511988887777"), None).await;
    assert_eq!((status, v["connected"].clone()), (200, json!(true)), "no code once connected: {v}");
    let (status, _) = pair_code(&ce, &http, &inst, &code, "5511988887777").await;
    assert_eq!(status, 404, "a used code is gone");
}

#[tokio::test]
async fn a_rotated_phone_code_is_refused_and_the_current_one_pairs() {
    let dir = temp_dir();
    let config = format!("{FAST}qr_rotate_ms = 300\nqr_codes_per_pairing = 50\n");
    let ce = Chatedge::up(dir.path(), &config);
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;

    let first = phone_code(&http, &ce, &inst, "5511977776666").await;
    let current = eventually(std::time::Duration::from_secs(30), || async {
        let code = phone_code(&http, &ce, &inst, "5511977776666").await;
        (code != first).then_some(code)
    })
    .await
    .expect("the code rotates");

    let (status, v) = pair_code(&ce, &http, &inst, &first, "5511977776666").await;
    assert_eq!(status, 410, "{v}");
    assert_eq!(v["error"], "expired_qr_code");
    let (_, s) = http.get(&ce.instance_url(&inst, "status"), None).await;
    assert_eq!(s["connected"], false, "an expired code connects nothing");

    // Typed with the grouping the phone shows (`ABCD-EFGH`, lower case): still the code.
    let typed = format!("{}-{}", &current[..4], &current[4..]).to_lowercase();
    let (status, v) = pair_code(&ce, &http, &inst, &typed, "5511977776666").await;
    if status == 410 {
        // It rotated again meanwhile (a slow machine): the next one must work.
        let next = phone_code(&http, &ce, &inst, "5511977776666").await;
        let (status, v) = pair_code(&ce, &http, &inst, &next, "5511977776666").await;
        assert_eq!(status, 200, "{v}");
    } else {
        assert_eq!(status, 200, "{v}");
    }
    wait_connected(&http, &ce, &inst).await;
}

#[tokio::test]
async fn asking_for_a_qr_code_ends_pairing_by_code() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    let code = phone_code(&http, &ce, &inst, "5511966665555").await;
    let (status, v) = http.get(&ce.instance_url(&inst, "phone-code/12ab"), None).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap_or("").contains("phone"), "{v}");

    let qr = eventually(std::time::Duration::from_secs(20), || async {
        let (s, v) = http.get(&ce.instance_url(&inst, "qr-code"), None).await;
        (s == 200).then(|| v["value"].as_str().map(str::to_owned)).flatten()
    })
    .await
    .expect("a QR code");
    assert!(qr.starts_with("2@"), "a QR code, not a phone code: {qr}");
    let (status, v) = pair_code(&ce, &http, &inst, &code, "5511966665555").await;
    assert_eq!(status, 410, "the phone code's run was replaced: {v}");
    let (status, v) = http
        .post(&format!("{}/sim/scan", ce.dp), Some(&ce.admin_token), &json!({"qr": qr, "phone": "5511966665555"}))
        .await;
    assert_eq!(status, 200, "{v}");
    wait_connected(&http, &ce, &inst).await;
}
