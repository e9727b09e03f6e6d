//! Tenant isolation with two accounts: no account can see, subscribe, cancel, rename, delete,
//! limit or read the invoices of another account's instances, and a foreign id answers exactly
//! as an unknown one does — through the control plane and through the data plane. Every
//! instance route of the data plane is tried, from its own route document (`/openapi.json`,
//! which the data plane's contract test keeps equal to its router's tables), and every control
//! plane route that names an instance, from the table below.

use crate::accounts_support;
use crate::common;

use accounts_support::*;
use common::*;
use hyper::Method;
use serde_json::{json, Value};

/// The control plane's integrator routes that name an instance (its router in
/// `controlplane/src/api/mod.rs`, `invoices.rs`): (method, path with `{id}` and `{token}`).
/// `GET` and `PUT /instances` name one in their query or body and are tried by hand below.
const CONTROL_PLANE_INSTANCE_ROUTES: &[(&str, &str)] = &[
    ("POST", "/instances/{id}/token/{token}/integrator/on-demand/subscription"),
    ("POST", "/instances/{id}/token/{token}/integrator/on-demand/cancel"),
    ("DELETE", "/instances/{id}"),
    ("PUT", "/integrator/instances/{id}/daily-limit"),
];

/// The data plane's prefix of instance routes in its route document.
const PREFIX: &str = "/instances/{instanceId}/token/{instanceToken}/";

/// Every (method, path pattern) the data plane's route document lists.
async fn documented_routes(http: &Http, ce: &Chatedge) -> Vec<(Method, String)> {
    let (s, doc) = http.get(&format!("{}/openapi.json", ce.dp), None).await;
    assert_eq!(s, 200, "the route document");
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in ["get", "put", "post", "delete", "patch"] {
            if item.get(m).is_some() {
                out.push((Method::from_bytes(m.to_uppercase().as_bytes()).unwrap(), path.clone()));
            }
        }
    }
    out
}

/// A path pattern with its instance placeholders filled with `inst`, and any other parameter
/// with one fixed value (the same for every caller, so answers compare).
fn fill(pattern: &str, inst: &Instance) -> String {
    let pattern = pattern
        .replace("{instanceId}", &inst.id)
        .replace("{instanceToken}", &inst.token)
        .replace("{id}", &inst.id)
        .replace("{token}", &inst.token);
    let mut out = String::new();
    let mut rest = pattern.as_str();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push_str(if &rest[open..close] == "{extension}" { "pdf" } else { "5511966660001" });
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// One call with a JSON body `{}` where the method carries one.
async fn call(http: &Http, method: &Method, url: &str, bearer: Option<&str>) -> (u16, Value) {
    let body = match *method {
        Method::GET | Method::DELETE => Vec::new(),
        _ => b"{}".to_vec(),
    };
    http.raw(method.clone(), url, bearer, &[("content-type", "application/json")], body).await
}

/// An instance that does not exist, with a well-formed id and token.
fn ghost() -> Instance {
    Instance {
        id: "0190F00D0190F00D0190F00D0190F00D".into(),
        token: "ABCDEF0123456789ABCDEF0123456789".into(),
        secret: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_integrator_and_instance_route_keeps_accounts_apart() {
    let dir = temp_dir();
    // Hundreds of calls with foreign or unknown credentials: the per-address limit is off.
    let ce = Chatedge::up_with(dir.path(), &format!("{}\n[rate_limits]\nip_rps = 0\n", config()), &["--test-clock"]);
    let http = Http::new();
    set_clock(&http, &ce, "2030-03-01T00:00:00Z").await;
    let (a, b) = (create_account(&http, &ce, "alpha corp").await, create_account(&http, &ce, "bravo corp").await);
    let a1 = create(&http, &ce, &a.token, "a-one").await;
    let b1 = create(&http, &ce, &b.token, "b-one").await;
    for (token, inst) in [(&a.token, &a1), (&b.token, &b1)] {
        let (s, _) = lifecycle(&http, &ce, token, inst, "subscription").await;
        assert_eq!(s, 201);
    }
    set_clock(&http, &ce, "2030-04-01T00:00:00Z").await;
    let a_invoice = invoices(&http, &ce, &a.token).await[0]["id"].as_str().unwrap().to_owned();

    // Listing and search.
    assert_eq!(ids(&list(&http, &ce, &a.token).await), vec![a1.id.clone()]);
    assert_eq!(ids(&list(&http, &ce, &b.token).await), vec![b1.id.clone()]);
    let url = format!("{}/instances?query={}", ce.cp, a1.id);
    let (s, v) = http.get(&url, Some(&b.token)).await;
    assert_eq!((s, v["total"].clone()), (201, json!(0)), "b cannot find a's instance by id");
    let body = json!({"pageSize": "10", "page": "1", "query": a1.id, "middleware": "web"}).to_string().into_bytes();
    let (s, v) = http.raw(Method::GET, &format!("{}/instances", ce.cp), Some(&a.token), &[], body.clone()).await;
    assert_eq!((s, v["total"].clone()), (201, json!(1)), "parameters in the body, as Z-API's example sends them: {v}");
    let (_, v) = http.raw(Method::GET, &format!("{}/instances", ce.cp), Some(&b.token), &[], body).await;
    assert_eq!(v["total"], json!(0));

    // Subscribe and cancel, at the control plane: foreign (even with its token) == unknown.
    for which in ["subscription", "cancel"] {
        let at = |i: &Instance| format!("{}/instances/{}/token/{}/integrator/on-demand/{which}", ce.cp, i.id, i.token);
        let foreign = http.post(&at(&a1), Some(&b.token), &json!({})).await;
        let unknown = http.post(&at(&ghost()), Some(&b.token), &json!({})).await;
        assert_eq!(foreign.0, 404, "{which}: {foreign:?}");
        assert_eq!(foreign, unknown, "{which}: a foreign instance answers as an unknown one");
        // Through the data plane, with a token b holds (its own): the instance call itself fails.
        let mixed = Instance { id: a1.id.clone(), token: b1.token.clone(), secret: String::new() };
        let via_dp = lifecycle(&http, &ce, &b.token, &mixed, which).await;
        let ghost_dp = lifecycle(&http, &ce, &b.token, &ghost(), which).await;
        assert_eq!(via_dp.0, 401);
        assert_eq!(via_dp, ghost_dp, "{which} via the data plane");
    }
    // Rename and delete.
    let rename = |id: &str| json!({"value": "stolen", "id": id}).to_string().into_bytes();
    let put = |id: &str| {
        let body = rename(id);
        let http = http.clone();
        let (url, token) = (format!("{}/instances", ce.cp), b.token.clone());
        async move { http.raw(Method::PUT, &url, Some(&token), &[("content-type", "application/json")], body).await }
    };
    let (foreign, unknown) = (put(&a1.id).await, put(&ghost().id).await);
    assert_eq!(foreign.0, 404);
    assert_eq!(foreign, unknown, "rename");
    let del = |id: &str| {
        let (http, url, token) = (http.clone(), format!("{}/instances/{id}", ce.cp), b.token.clone());
        async move { http.raw(Method::DELETE, &url, Some(&token), &[], Vec::new()).await }
    };
    let (foreign, unknown) = (del(&a1.id).await, del(&ghost().id).await);
    assert_eq!(foreign.0, 404);
    assert_eq!(foreign, unknown, "delete");
    // Invoices.
    let get = |id: &str| {
        let (http, url, token) = (http.clone(), format!("{}/integrator/invoices/{id}", ce.cp), b.token.clone());
        async move { http.get(&url, Some(&token)).await }
    };
    let (foreign, unknown) = (get(&a_invoice).await, get("NO-SUCH-INVOICE").await);
    assert_eq!(foreign.0, 404);
    assert_eq!(foreign, unknown, "invoice");
    let own = invoices(&http, &ce, &b.token).await;
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["lines"].as_array().unwrap().len(), 1);
    assert_eq!(own[0]["lines"][0]["instanceId"], json!(b1.id), "b's invoice charges only b's instance");

    // Every instance route of the data plane: b's instance token never opens a's instance, and
    // the answer is the unknown instance's, byte for byte.
    let mixed = Instance { id: a1.id.clone(), token: b1.token.clone(), secret: String::new() };
    let routes = documented_routes(&http, &ce).await;
    let instance_routes: Vec<_> = routes.iter().filter(|(_, p)| p.starts_with(PREFIX)).collect();
    assert!(instance_routes.len() > 100, "the whole Z-API dialect is listed: {}", instance_routes.len());
    for (method, pattern) in &instance_routes {
        let foreign = call(&http, method, &format!("{}{}", ce.dp, fill(pattern, &mixed)), None).await;
        let unknown = call(&http, method, &format!("{}{}", ce.dp, fill(pattern, &ghost())), None).await;
        assert_eq!(foreign.0, 401, "{method} {pattern}: {foreign:?}");
        assert_eq!(foreign, unknown, "{method} {pattern}");
    }
    // The integrator routes the data plane forwards that name an instance, with b's token.
    for (method, pattern) in routes.iter().filter(|(_, p)| !p.starts_with(PREFIX) && p.contains('{')) {
        let foreign = call(&http, method, &format!("{}{}", ce.dp, fill(pattern, &a1)), Some(&b.token)).await;
        let unknown = call(&http, method, &format!("{}{}", ce.dp, fill(pattern, &ghost())), Some(&b.token)).await;
        assert_eq!(foreign.0, 404, "{method} {pattern} via the data plane: {foreign:?}");
        assert_eq!(foreign, unknown, "{method} {pattern} via the data plane");
    }
    // Every control-plane route that names an instance, with b's integrator token and a's
    // instance (its real token included where the path takes one).
    for (method, pattern) in CONTROL_PLANE_INSTANCE_ROUTES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let foreign = call(&http, &method, &format!("{}{}", ce.cp, fill(pattern, &a1)), Some(&b.token)).await;
        let unknown = call(&http, &method, &format!("{}{}", ce.cp, fill(pattern, &ghost())), Some(&b.token)).await;
        assert_eq!(foreign.0, 404, "{method} {pattern}: {foreign:?}");
        assert_eq!(foreign, unknown, "{method} {pattern}: a foreign instance answers as an unknown one");
    }

    // Nothing of a's changed.
    let v = list(&http, &ce, &a.token).await;
    assert_eq!(
        (v["content"][0]["name"].clone(), v["content"][0]["paymentStatus"].clone()),
        (json!("a-one"), json!("PAID"))
    );
    assert_eq!(v["content"][0]["token"], json!(a1.token), "the listing shows the instance token again");
    assert_eq!(http.get(&ce.instance_url(&a1, "status"), None).await.0, 200);
    drop(ce);
    drop(dir);
}
