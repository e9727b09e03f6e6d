//! Privacy routes (seed 001, rows 66–73) against the real binary: each setting changes the
//! sim network's record of the account, durably (a restart keeps it); each scope keeps its own
//! exceptions; bad fields get a 400 naming them and change nothing; a disconnected instance is
//! told so.

use crate::common;

use common::*;
use serde_json::{json, Value};

async fn disallowed(p: &Paired, scope: &str) -> Value {
    let url = p.ce.instance_url(&p.inst, &format!("privacy/disallowed-contacts?type={scope}"));
    let (status, v) = p.http.get(&url, None).await;
    assert_eq!(status, 200, "{v}");
    v["disallowedContacts"].clone()
}

#[tokio::test]
async fn privacy_exceptions_are_kept_per_scope_and_survive_a_restart() {
    let mut p = paired(FAST).await;
    let except = json!({"visualizationType": "CONTACT_BLACKLIST", "contactsBlacklist": [
        {"action": "add", "phone": "554411111111"}, {"action": "add", "phone": "554422222222"}]});
    let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, "privacy/last-seen"), None, &except).await;
    assert_eq!((status, v), (200, json!({"success": true})));
    let remove =
        json!({"type": "CONTACT_BLACKLIST", "contactsBlacklist": [{"action": "add", "phone": "554433333333"}]});
    let (status, _) = p.http.post(&p.ce.instance_url(&p.inst, "privacy/group-add"), None, &remove).await;
    assert_eq!(status, 200);
    let drop_one = json!({"visualizationType": "CONTACT_BLACKLIST", "contactsBlacklist": [{"action": "remove", "phone": "554422222222"}]});
    let (status, _) = p.http.post(&p.ce.instance_url(&p.inst, "privacy/last-seen"), None, &drop_one).await;
    assert_eq!(status, 200);

    assert_eq!(disallowed(&p, "lastSeen").await, json!(["554411111111"]));
    assert_eq!(disallowed(&p, "groupAdd").await, json!(["554433333333"]));
    assert_eq!(disallowed(&p, "photo").await, json!([]));

    p.ce.terminate();
    p.ce = Chatedge::up(p.dir.path(), FAST);
    wait_connected(&p.http, &p.ce, &p.inst).await;
    assert_eq!(disallowed(&p, "lastSeen").await, json!(["554411111111"]), "kept across a restart");
    assert_eq!(disallowed(&p, "groupAdd").await, json!(["554433333333"]));
}

#[tokio::test]
async fn bad_privacy_requests_name_the_field_and_change_nothing() {
    let p = paired(FAST).await;
    let cases: &[(&str, Value, &str)] = &[
        ("privacy/last-seen", json!({}), "visualizationType is required"),
        ("privacy/photo", json!({"visualizationType": "EVERYONE"}), "visualizationType must be one of"),
        ("privacy/group-add", json!({"type": "NONE"}), "type must be one of"),
        (
            "privacy/description",
            json!({"visualizationType": "CONTACT_BLACKLIST", "contactsBlacklist": [{"action": "add", "phone": "12ab"}]}),
            "contactsBlacklist[0].phone",
        ),
        ("privacy/online", json!({"visualizationType": "NONE"}), "visualizationType must be one of"),
        ("privacy/read-receipts?value=maybe", json!({}), "value must be one of"),
        ("privacy/messages-duration", json!({}), "value is required"),
        ("privacy/disallowed-contacts?type=status", json!(null), "type must be one of"),
    ];
    for (route, body, want) in cases {
        let url = p.ce.instance_url(&p.inst, route);
        let (status, v) = match body {
            Value::Null => p.http.get(&url, None).await,
            _ => p.http.post(&url, None, body).await,
        };
        assert_eq!(status, 400, "{route} {body}: {v}");
        assert!(v["message"].as_str().unwrap_or("").contains(want), "{route} {body}: {v}");
    }
    assert_eq!(disallowed(&p, "description").await, json!([]), "nothing was stored");
}

#[tokio::test]
async fn privacy_on_a_disconnected_instance_says_it_is_not_connected() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    let url = ce.instance_url(&inst, "privacy/online");
    let (status, v) = http.post(&url, None, &json!({"visualizationType": "ALL"})).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"], "You are not connected.");
}
