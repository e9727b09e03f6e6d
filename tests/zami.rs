//! The Zami dialect (seed 000, issue 15) under `/zami/v1/`: a text sent with the account's
//! secret (bare or as a bearer token) is queued through the same core as a Z-API send and
//! reaches the network (its DeliveryCallback carries the Zami id); an Idempotency-Key answers
//! the first answer again; every refusal has the seed's `{success, id, error}` shape naming the
//! problem; another account's connection answers exactly as an unknown one; a revoked secret
//! stops working once the change is pushed.

mod common;

use std::time::Duration;

use common::*;
use hyper::Method;
use serde_json::{json, Value};

const RECIPIENT: &str = "+55 11 98888-7777";

fn send_url(ce: &Chatedge) -> String {
    format!("{}/zami/v1/send-text", ce.dp)
}

fn text(connection: &str, body: &str) -> Value {
    json!({"connection_id": connection, "recipient": RECIPIENT, "body": body})
}

/// POSTs `body` to send-text with `Authorization: <authorization>` exactly as given.
async fn send_with(http: &Http, ce: &Chatedge, authorization: Option<&str>, body: &Value) -> (u16, Value) {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = authorization {
        headers.push(("authorization", a));
    }
    http.raw(Method::POST, &send_url(ce), None, &headers, body.to_string().into_bytes()).await
}

fn refused(v: &Value) -> &str {
    assert_eq!((&v["success"], &v["id"]), (&json!(false), &Value::Null), "the seed's shape: {v}");
    v["error"].as_str().unwrap_or_else(|| panic!("error names the problem: {v}"))
}

/// A second account with an instance of its own; (account id, secret, secret's id, instance).
async fn other_account(http: &Http, ce: &Chatedge) -> (String, String, String, Instance) {
    let (s, acc) = http.post(&format!("{}/admin/accounts", ce.cp), Some(&ce.admin_token), &json!({"name": "b"})).await;
    assert_eq!(s, 201, "{acc}");
    let secret = acc["integratorToken"].as_str().unwrap().to_owned();
    let url = format!("{}/instances/integrator/on-demand", ce.cp);
    let (s, v) = http.post(&url, Some(&secret), &json!({"name": "b's"})).await;
    assert_eq!(s, 200, "{v}");
    let inst = Instance {
        id: v["id"].as_str().unwrap().to_owned(),
        token: v["token"].as_str().unwrap().to_owned(),
        secret: String::new(),
    };
    wait_known(http, ce, &inst).await;
    let id = acc["id"].as_str().unwrap().to_owned();
    (id, secret, acc["integratorTokenId"].as_str().unwrap().to_owned(), inst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_sent_with_the_account_secret_reaches_the_network_like_a_zapi_send() {
    let p = paired(FAST).await;
    let (ce, http) = (&p.ce, &p.http);
    let secret = ce.integrator_token.clone();

    // The bare secret and the bearer form both work; each answer is the seed's.
    let (s, bare) = send_with(http, ce, Some(&secret), &text(&p.inst.id, "hello bare")).await;
    assert_eq!(s, 200, "{bare}");
    let (s, bearer) = send_with(http, ce, Some(&format!("Bearer {secret}")), &text(&p.inst.id, "hello bearer")).await;
    assert_eq!(s, 200, "{bearer}");
    for v in [&bare, &bearer] {
        assert_eq!((&v["success"], &v["error"]), (&json!(true), &Value::Null), "{v}");
        assert!(v["id"].as_str().is_some_and(|id| !id.is_empty()), "{v}");
    }

    // Both left through the core: a DeliveryCallback for each id, to the normalised number.
    let ids = [bare["id"].as_str().unwrap(), bearer["id"].as_str().unwrap()];
    let events = p
        .sink
        .wait_for(Duration::from_secs(30), "a DeliveryCallback per Zami send", |events| {
            ids.iter()
                .all(|id| events.iter().any(|e| e.body["type"] == "DeliveryCallback" && e.body["messageId"] == *id))
        })
        .await;
    for id in ids {
        let delivered = events.iter().find(|e| e.body["type"] == "DeliveryCallback" && e.body["messageId"] == id);
        assert_eq!(delivered.unwrap().body["phone"], json!("5511988887777"), "{id}");
    }
    // The sim's phone holds exactly the two texts, as a Z-API send-text would leave them.
    let texts: Vec<Value> =
        sim_received(http, ce, &p.inst, "5511988887777").await.iter().map(|m| m["text"].clone()).collect();
    assert_eq!(texts, vec![json!("hello bare"), json!("hello bearer")]);

    // The same Idempotency-Key answers the first answer and sends nothing more.
    let keyed = |body: &Value| {
        let headers =
            [("content-type", "application/json"), ("authorization", secret.as_str()), ("idempotency-key", "zami-1")];
        let body = body.to_string().into_bytes();
        async move { http.raw(Method::POST, &send_url(ce), None, &headers, body).await }
    };
    let first = keyed(&text(&p.inst.id, "once")).await;
    let again = keyed(&text(&p.inst.id, "once")).await;
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(again, first, "the first answer again");
    let (s, v) = keyed(&text(&p.inst.id, "another text")).await;
    assert_eq!(s, 422, "{v}");
    assert!(refused(&v).contains("Idempotency-Key"), "{v}");
    let accepted = metrics::sum(http, &ce.dp, "chatedge_dp_messages_total", "outcome=\"accepted\"").await;
    assert_eq!(accepted, 3.0, "two texts and one keyed text, nothing else");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_problem_and_another_accounts_connection_answers_as_an_unknown_one() {
    let p = paired(FAST).await;
    let (ce, http) = (&p.ce, &p.http);
    let secret = ce.integrator_token.as_str();
    let before = metrics::sum(http, &ce.dp, "chatedge_dp_messages_total", "outcome=\"accepted\"").await;
    let unknown = "0123456789ABCDEF0123456789ABCDEF";
    let ok = text(&p.inst.id, "hi");
    let cases: Vec<(Option<&str>, Value, u16, &str)> = vec![
        (None, ok.clone(), 401, "Authorization"),
        (Some("not-a-secret"), ok.clone(), 401, "Authorization"),
        (Some(p.inst.token.as_str()), ok.clone(), 401, "Authorization"),
        (Some(secret), text(unknown, "hi"), 404, "unknown connection_id"),
        (Some(secret), text("not an id", "hi"), 404, "unknown connection_id"),
        (Some(secret), json!({"connection_id": p.inst.id, "recipient": RECIPIENT}), 400, "body is required"),
        (Some(secret), json!({"connection_id": p.inst.id, "body": "hi"}), 400, "recipient is required"),
        (
            Some(secret),
            json!({"connection_id": p.inst.id, "recipient": "zamiapi", "body": "hi"}),
            400,
            "recipient must be",
        ),
        (
            Some(secret),
            json!({"connection_id": p.inst.id, "recipient": RECIPIENT, "body": "hi", "network": "instagram"}),
            400,
            "network instagram is not served",
        ),
        (Some(secret), json!("a string"), 400, "JSON object"),
    ];
    for (auth, body, status, says) in &cases {
        let (s, v) = send_with(http, ce, *auth, body).await;
        assert_eq!(s, *status, "{auth:?} {body}: {v}");
        assert!(refused(&v).contains(says), "{auth:?} {body}: {v}");
    }
    let (s, v) = http.get(&send_url(ce), Some(secret)).await;
    assert_eq!(s, 405, "{v}");
    let (s, v) = http.post(&format!("{}/zami/v1/send-media", ce.dp), Some(secret), &json!({})).await;
    assert_eq!(s, 404, "{v}");
    assert!(refused(&v).contains("send-text"), "says what is served: {v}");

    // Two accounts: each one's secret sees the other's connection as an unknown one.
    let (b_account, b_secret, b_token_id, b_inst) = other_account(http, ce).await;
    let (s, unknown_answer) = send_with(http, ce, Some(&b_secret), &text(unknown, "hi")).await;
    assert_eq!(s, 404);
    let foreign = eventually(Duration::from_secs(20), || async {
        let answer = send_with(http, ce, Some(&b_secret), &text(&p.inst.id, "hi")).await;
        (answer.0 != 401).then_some(answer)
    })
    .await
    .expect("b's secret reaches the data plane");
    assert_eq!(foreign, (404, unknown_answer.clone()), "a's connection through b's secret");
    assert_eq!(send_with(http, ce, Some(secret), &text(&b_inst.id, "hi")).await, (404, unknown_answer));
    let after = metrics::sum(http, &ce.dp, "chatedge_dp_messages_total", "outcome=\"accepted\"").await;
    assert_eq!(after, before, "no refused request queued anything");

    // b's own connection takes b's secret (it is not paired: the message waits in its queue) ...
    let (s, v) = send_with(http, ce, Some(&b_secret), &text(&b_inst.id, "for b")).await;
    assert_eq!(s, 200, "{v}");
    // ... until the secret is revoked: the push removes its hash, and it is refused from then on.
    let url = format!("{}/admin/accounts/{b_account}/integrator-tokens/{b_token_id}", ce.cp);
    let (s, v) = http.raw(Method::DELETE, &url, Some(&ce.admin_token), &[], Vec::new()).await;
    assert_eq!(s, 200, "{v}");
    let revoked = eventually(Duration::from_secs(20), || async {
        let (s, v) = send_with(http, ce, Some(&b_secret), &text(&b_inst.id, "after")).await;
        (s == 401).then_some(v)
    })
    .await
    .expect("a revoked secret is refused");
    assert!(refused(&revoked).contains("Authorization"), "{revoked}");

    let (s, doc) = http.get(&format!("{}/zami/v1/openapi.json", ce.dp), None).await;
    assert_eq!(s, 200);
    assert!(doc["paths"]["/send-text"]["post"].is_object(), "{doc}");
}
