//! Helpers shared by the accounts, billing and account-security tests: a `chatedge up
//! --test-clock`, the admin calls that make accounts and move the clock, and the integrator
//! calls an account makes.

use serde_json::{json, Value};

use crate::common::{Chatedge, Http, Instance, FAST};

/// `FAST` plus a price of 50.00 per instance and jobs every 200 ms.
pub fn config() -> String {
    format!("{FAST}\n[billing]\nprice_per_instance_cents = 5000\ncurrency = \"BRL\"\njob_interval_ms = 200\n")
}

pub fn up(dir: &std::path::Path) -> Chatedge {
    Chatedge::up_with(dir, &config(), &["--test-clock"])
}

/// Moves the test clock; answers what the jobs did.
pub async fn set_clock(http: &Http, ce: &Chatedge, now: &str) -> Value {
    let (s, v) = http.post(&format!("{}/admin/clock", ce.cp), Some(&ce.admin_token), &json!({"now": now})).await;
    assert_eq!(s, 200, "clock to {now}: {v}");
    v
}

/// An account made by the operator: its id and first integrator token.
pub struct Account {
    pub id: String,
    pub token: String,
}

pub async fn create_account(http: &Http, ce: &Chatedge, name: &str) -> Account {
    let (s, v) = http.post(&format!("{}/admin/accounts", ce.cp), Some(&ce.admin_token), &json!({"name": name})).await;
    assert_eq!(s, 201, "create account: {v}");
    assert_eq!(v["name"], json!(name));
    Account { id: v["id"].as_str().unwrap().into(), token: v["integratorToken"].as_str().unwrap().into() }
}

/// An admin call on `/admin/{path}`.
pub async fn admin(http: &Http, ce: &Chatedge, method: hyper::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}/admin/{path}", ce.cp);
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    http.raw(method, &url, Some(&ce.admin_token), &[("content-type", "application/json")], body).await
}

/// On-demand create with an integrator token; answers the status and body.
pub async fn try_create(http: &Http, ce: &Chatedge, token: &str, name: &str) -> (u16, Value) {
    http.post(&format!("{}/instances/integrator/on-demand", ce.cp), Some(token), &json!({"name": name})).await
}

pub async fn create(http: &Http, ce: &Chatedge, token: &str, name: &str) -> Instance {
    let (s, v) = try_create(http, ce, token, name).await;
    assert_eq!(s, 200, "create {name}: {v}");
    Instance {
        id: v["id"].as_str().unwrap().into(),
        token: v["token"].as_str().unwrap().into(),
        secret: v["webhookSecret"].as_str().unwrap().into(),
    }
}

/// `subscription` or `cancel` for `inst` with integrator `token`, through the data plane as a
/// Z-API client would call it.
pub async fn lifecycle(http: &Http, ce: &Chatedge, token: &str, inst: &Instance, which: &str) -> (u16, Value) {
    let url = ce.instance_url(inst, &format!("integrator/on-demand/{which}"));
    http.post(&url, Some(token), &json!({})).await
}

/// `GET /instances` of the account owning `token`.
pub async fn list(http: &Http, ce: &Chatedge, token: &str) -> Value {
    let (s, v) = http.get(&format!("{}/instances?page=1&pageSize=100", ce.cp), Some(token)).await;
    assert_eq!(s, 201, "list (201, as the seed documents it): {v}");
    v
}

/// The ids in a listing, in order.
pub fn ids(listing: &Value) -> Vec<String> {
    listing["content"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

pub async fn invoices(http: &Http, ce: &Chatedge, token: &str) -> Vec<Value> {
    let (s, v) = http.get(&format!("{}/integrator/invoices", ce.cp), Some(token)).await;
    assert_eq!(s, 200, "invoices: {v}");
    v["content"].as_array().unwrap().clone()
}

pub async fn send_text(http: &Http, ce: &Chatedge, inst: &Instance, phone: &str) -> (u16, Value) {
    http.post(&ce.instance_url(inst, "send-text"), None, &json!({"phone": phone, "message": "hello"})).await
}
