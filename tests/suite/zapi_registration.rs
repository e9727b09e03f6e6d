//! Mobile registration and account security (seed 001, rows 17–30, and the HAR variants
//! confirm-security-code / recovery-security-code) against the real binary: a number is
//! registered by code and the instance connects as it (ConnectedCallback); its PIN and
//! e-mail survive a restart and a second registration then asks for the PIN; a banned number
//! goes through unbanning, and a captcha holds the code until answered. What the sim "sends"
//! is read through `/sim/registration-code`.

use crate::common;

use common::*;
use serde_json::{json, Value};

struct Fresh {
    ce: Chatedge,
    http: Http,
    sink: Sink,
    inst: Instance,
    dir: tempfile::TempDir,
}

async fn fresh() -> Fresh {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    let sink = Sink::start().await;
    let inst = create_instance(&http, &ce, Some(&sink)).await;
    wait_known(&http, &ce, &inst).await;
    Fresh { ce, http, sink, inst, dir }
}

impl Fresh {
    async fn post(&self, route: &str, body: Value) -> Value {
        let (status, v) = self.http.post(&self.ce.instance_url(&self.inst, route), None, &body).await;
        assert_eq!(status, 200, "{route} {body}: {v}");
        v
    }

    async fn get(&self, route: &str) -> Value {
        let (status, v) = self.http.get(&self.ce.instance_url(&self.inst, route), None).await;
        assert_eq!(status, 200, "{route}: {v}");
        v
    }

    async fn sim(&self, action: &str, body: Value) -> Value {
        let url = format!("{}/sim/{action}", self.ce.dp);
        let (status, v) = self.http.post(&url, Some(&self.ce.admin_token), &body).await;
        assert_eq!(status, 200, "/sim/{action}: {v}");
        v
    }

    async fn sent(&self) -> Value {
        self.sim("registration-code", json!({"instanceId": self.inst.id})).await
    }

    async fn connected_as(&self, phone: &str) {
        wait_connected(&self.http, &self.ce, &self.inst).await;
        let device = self.get("device").await;
        assert_eq!(device["phone"], phone);
    }
}

fn number() -> Value {
    json!({"ddi": "55", "phone": "4499998877"})
}

#[tokio::test]
async fn a_number_registers_by_code_and_a_second_registration_asks_for_its_pin() {
    let mut f = fresh().await;
    let v = f.post("mobile/registration-available", number()).await;
    assert_eq!(
        v,
        json!({"available": true, "smsWaitSeconds": 0, "voiceWaitSeconds": 0, "waOldWaitSeconds": 0, "waOldEligible": true})
    );
    let mut ask = number();
    ask["method"] = json!("sms");
    let v = f.post("mobile/request-registration-code", ask.clone()).await;
    assert_eq!((v["success"].clone(), v["method"].clone()), (json!(true), json!("sms")), "{v}");
    assert!(v["retryAfter"].as_u64().is_some_and(|s| s > 0), "{v}");
    let again = f.post("mobile/request-registration-code", ask.clone()).await;
    assert_eq!(again["success"], false, "asked again too soon: {again}");

    let sent = f.sent().await;
    assert_eq!((sent["phone"].clone(), sent["method"].clone()), (json!("554499998877"), json!("sms")));
    let code = sent["code"].as_str().unwrap().to_owned();
    let wrong = f.post("mobile/confirm-registration-code", json!({"code": "x1"})).await;
    assert_eq!(wrong["success"], false, "{wrong}");
    let (_, s) = f.http.get(&f.ce.instance_url(&f.inst, "status"), None).await;
    assert_eq!(s["connected"], false, "a wrong code connects nothing");

    let v = f.post("mobile/confirm-registration-code", json!({"code": code})).await;
    assert_eq!(v, json!({"success": true}));
    f.connected_as("554499998877").await;
    let events = f
        .sink
        .wait_for(PATIENCE, "ConnectedCallback", |e| e.iter().any(|r| r.body["type"] == "ConnectedCallback"))
        .await;
    let connected = events.iter().find(|r| r.body["type"] == "ConnectedCallback").unwrap();
    assert_eq!(connected.body["phone"], "554499998877");

    // Account security on the mobile instance.
    assert_eq!(f.get("security/two-fa-code").await, json!({"success": true, "hasCode": false}));
    assert_eq!(f.post("security/two-fa-code", json!({"code": "123456"})).await, json!({"success": true}));
    let v = f.post("security/email", json!({"email": "example@email.com"})).await;
    assert_eq!(v, json!({"success": true, "message": "VERIFY_EMAIL"}));
    let email_code = f.sent().await["emailCode"].as_str().unwrap().to_owned();
    assert_eq!(f.post("security/verify-email", json!({"verificationCode": "000000x"})).await["success"], false);
    assert_eq!(
        f.post("security/verify-email", json!({"verificationCode": email_code})).await,
        json!({"success": true})
    );
    let email = json!({"success": true, "hasEmail": true, "email": "example@email.com", "verified": true});
    assert_eq!(f.get("security/email").await, email);

    f.ce.terminate();
    f.ce = Chatedge::up(f.dir.path(), FAST);
    f.connected_as("554499998877").await;
    assert_eq!(f.get("security/two-fa-code").await["hasCode"], true, "kept across a restart");
    assert_eq!(f.get("security/email").await, email);

    // Logged out, the number registers again: the PIN is asked after the code.
    f.get("disconnect").await;
    f.post("mobile/registration-available", number()).await;
    let mut voice = number();
    voice["method"] = json!("voice");
    assert_eq!(f.post("mobile/request-registration-code", voice).await["success"], true);
    let code = f.sent().await["code"].as_str().unwrap().to_owned();
    let v = f.post("mobile/confirm-registration-code", json!({"code": code})).await;
    assert_eq!(v, json!({"success": false, "confirmSecurityCode": true}));
    assert_eq!(f.post("mobile/recovery-security-code", json!({})).await, json!({"success": true}));
    assert_eq!(f.sent().await["pinRecoverySentTo"], "example@email.com");
    assert_eq!(f.post("mobile/confirm-pin-code", json!({"code": "654321"})).await["success"], false);
    assert_eq!(f.post("mobile/confirm-security-code", json!({"code": "123456"})).await, json!({"success": true}));
    f.connected_as("554499998877").await;
    assert_eq!(f.post("security/two-fa-code/remove", json!({})).await, json!({"success": true}));
    assert_eq!(f.post("security/email/remove", json!({})).await, json!({"success": true, "message": "REMOVED"}));
    assert_eq!(f.get("security/email").await["hasEmail"], false);
}

#[tokio::test]
async fn a_banned_number_is_unbanned_after_review_and_a_captcha_holds_its_code() {
    let f = fresh().await;
    let ban = f.sim("ban-number", json!({"instanceId": f.inst.id, "phone": "554499998877"})).await;
    let token = ban["appealToken"].as_str().unwrap().to_owned();
    let v = f.post("mobile/registration-available", number()).await;
    assert_eq!(v, json!({"available": false, "blocked": true, "appealToken": token}));
    let mut ask = number();
    ask["method"] = json!("wa_old");
    assert_eq!(
        f.post("mobile/request-registration-code", ask.clone()).await,
        json!({"success": false, "blocked": true})
    );

    let appeal = json!({"appealToken": token, "description": "I was chatting normally and got banned"});
    assert_eq!(
        f.post("mobile/request-unbanning", appeal.clone()).await,
        json!({"success": true, "status": "IN_REVIEW"})
    );
    f.sim("review-unbanning", json!({"instanceId": f.inst.id, "phone": "554499998877"})).await;
    assert_eq!(f.post("mobile/request-unbanning", appeal).await, json!({"success": true, "status": "UNBANNED"}));
    assert_eq!(f.post("mobile/registration-available", number()).await["available"], true);

    f.sim("require-captcha", json!({"instanceId": f.inst.id, "phone": "554499998877"})).await;
    let v = f.post("mobile/request-registration-code", ask).await;
    assert_eq!(v["success"], true);
    assert!(v["captcha"].as_str().is_some_and(|c| c.starts_with("data:image/png;base64,")), "{v}");
    let sent = f.sent().await;
    assert_eq!(sent["code"], Value::Null, "no code until the captcha is answered");
    assert_eq!(f.post("mobile/confirm-registration-code", json!({"code": "123456"})).await["success"], false);
    assert_eq!(f.post("mobile/respond-captcha", json!({"captcha": "x"})).await["success"], false);
    let answer = sent["captcha"].as_str().unwrap();
    assert_eq!(f.post("mobile/respond-captcha", json!({"captcha": answer})).await, json!({"success": true}));
    let code = f.sent().await["code"].as_str().unwrap().to_owned();
    assert_eq!(f.post("mobile/confirm-registration-code", json!({"code": code})).await, json!({"success": true}));
    f.connected_as("554499998877").await;
}

#[tokio::test]
async fn registration_refuses_bad_fields_and_security_needs_a_mobile_instance() {
    let f = fresh().await;
    let cases: &[(&str, Value, &str)] = &[
        ("mobile/registration-available", json!({"she": "55", "phone": "4499999999"}), "ddi is required"),
        (
            "mobile/request-registration-code",
            json!({"ddi": "55", "phone": "4499999999", "method": "sms | voice | wa_old"}),
            "method must be one of",
        ),
        ("mobile/respond-captcha", json!({}), "captcha is required"),
        ("mobile/confirm-registration-code", json!({"code": 123456}), "code must be a string"),
        ("mobile/request-unbanning", json!({"appealToken": "x"}), "description is required"),
        ("security/two-fa-code", json!({"code": "12"}), "code must be 6 digits"),
    ];
    for (route, body, want) in cases {
        let (status, v) = f.http.post(&f.ce.instance_url(&f.inst, route), None, body).await;
        assert_eq!(status, 400, "{route} {body}: {v}");
        assert!(v["message"].as_str().unwrap_or("").contains(want), "{route}: {v}");
    }
    let v = f.post("mobile/confirm-registration-code", json!({"code": "123456"})).await;
    assert_eq!(v["success"], false, "nothing to confirm yet: {v}");
    let (status, v) = f.http.get(&f.ce.instance_url(&f.inst, "security/email"), None).await;
    assert_eq!(status, 409, "not connected: {v}");

    let p = paired(FAST).await;
    let (status, v) = p.http.get(&p.ce.instance_url(&p.inst, "security/email"), None).await;
    assert_eq!((status, v["success"].clone()), (200, json!(false)), "a QR-paired instance is not mobile: {v}");
    let url = p.ce.instance_url(&p.inst, "mobile/registration-available");
    let (status, v) = p.http.post(&url, None, &number()).await;
    assert_eq!(status, 409, "already connected: {v}");
}
