//! Tenant isolation with two accounts: no account can see, subscribe, cancel, rename, delete
//! or read the invoices of another account's instances, and a foreign id answers exactly as an
//! unknown one does — through the control plane and through the data plane.

mod accounts_support;
mod common;

use accounts_support::*;
use common::*;
use hyper::Method;
use serde_json::json;

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
    let ce = up(dir.path());
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

    // Instance routes: b's instance token never opens a's instance.
    let mixed = Instance { id: a1.id.clone(), token: b1.token.clone(), secret: String::new() };
    for route in ["status", "queue/count", "me"] {
        let foreign = http.get(&ce.instance_url(&mixed, route), None).await;
        let unknown = http.get(&ce.instance_url(&ghost(), route), None).await;
        assert_eq!(foreign.0, 401, "{route}");
        assert_eq!(foreign, unknown, "{route}");
    }
    let foreign = send_text(&http, &ce, &mixed, "5511966660001").await;
    assert_eq!(foreign, send_text(&http, &ce, &ghost(), "5511966660001").await, "send-text");

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
