//! Rate limits (issue 11 §3): past its burst an instance is refused with 429, `Retry-After` and
//! the IETF draft's `RateLimit-Policy` / `RateLimit` headers; callers without credentials are
//! limited by address while authenticated traffic goes on; an account limit pushed by the
//! control plane takes effect without a restart, and lifting it does too.

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

/// One request; the status, headers and JSON body.
async fn call(method: Method, url: &str, bearer: Option<&str>, body: Option<&Value>) -> (u16, HeaderMap, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = Request::builder().method(method).uri(url).header("content-type", "application/json");
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let res = client.request(req.body(Full::new(Bytes::from(body))).unwrap()).await.expect("chatedge answers");
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status.as_u16(), parts.headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// GETs `url` until the first 429 (at most `max` times): the answers before it and the 429.
async fn until_refused(url: &str, max: usize) -> (Vec<(u16, HeaderMap)>, (HeaderMap, Value)) {
    let mut before = Vec::new();
    for _ in 0..max {
        let (s, h, v) = call(Method::GET, url, None, None).await;
        if s == 429 {
            return (before, (h, v));
        }
        before.push((s, h));
    }
    panic!("no 429 in {max} requests to {url}");
}

fn config(rate_limits: &str) -> String {
    format!("{FAST}\n[rate_limits]\n{rate_limits}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_past_its_burst_gets_429_with_retry_after_and_the_ratelimit_headers() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config("instance_rps = 1\ninstance_burst = 3"));
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    let url = ce.instance_url(&inst, "status");
    let (before, (h, body)) = until_refused(&url, 1_000).await;
    assert!(before.len() >= 3, "the burst of 3 is served first: {}", before.len());
    for (s, h) in &before {
        assert_eq!(*s, 200);
        assert!(header(h, "ratelimit").starts_with("\"instance\";r="), "successful answers carry RateLimit");
    }
    assert_eq!(header(&before[0].1, "ratelimit"), "\"instance\";r=2;t=1", "two left, one second to refill");
    assert_eq!(body["error"], "Too many requests", "Z-API's error shape: {body}");
    assert!(body["message"].as_str().unwrap().contains("1 requests per second (bursts of 3)"), "{body}");
    assert_eq!(header(&h, "retry-after"), "1");
    assert_eq!(header(&h, "ratelimit-policy"), "\"instance\";q=3;w=3");
    assert_eq!(header(&h, "ratelimit"), "\"instance\";r=0;t=1");
    let (_, text) = http.get(&format!("{}/metrics", ce.dp), None).await;
    let text = text.as_str().unwrap_or_default().to_owned();
    assert!(text.contains("chatedge_dp_refusals_total{reason=\"rate_limited_instance\"}"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_without_credentials_are_limited_by_address_while_instances_are_served() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &config("ip_rps = 1\nip_burst = 2"));
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &inst).await;
    let wrong = format!("{}/instances/{}/token/not-the-token/status", ce.dp, inst.id);
    let (before, (h, _)) = until_refused(&wrong, 1_000).await;
    assert!(before.iter().all(|(s, _)| *s == 401), "wrong tokens are 401 until the address is limited");
    assert_eq!(header(&h, "ratelimit-policy"), "\"ip\";q=2;w=2");
    for _ in 0..5 {
        let (s, _) = http.get(&ce.instance_url(&inst, "status"), None).await;
        assert_eq!(s, 200, "the same address with valid credentials is served");
    }
    let (s, _) = http.get(&format!("{}/healthz", ce.dp), None).await;
    assert_eq!(s, 200, "operator routes are not limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_limit_pushed_by_the_control_plane_applies_and_lifts_without_a_restart() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    let (a, b) = (create_instance(&http, &ce, None).await, create_instance(&http, &ce, None).await);
    for inst in [&a, &b] {
        for _ in 0..20 {
            let (s, _) = http.get(&ce.instance_url(inst, "status"), None).await;
            assert_eq!(s, 200, "no account limit by default");
        }
    }
    let creds: Value = serde_json::from_slice(&std::fs::read(dir.path().join("credentials.json")).unwrap()).unwrap();
    let limits_url = format!("{}/admin/tenants/{}/limits", ce.cp, creds["tenantId"].as_str().unwrap());
    let (s, _, v) = call(Method::PUT, &limits_url, Some("wrong"), Some(&json!({"accountRps": 1}))).await;
    assert_eq!(s, 401, "only the admin may set limits: {v}");
    let pushed = json!({"accountRps": 1, "accountBurst": 2});
    let (s, _, v) = call(Method::PUT, &limits_url, Some(&ce.admin_token), Some(&pushed)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["limits"], pushed);

    let (_, (h, _)) = until_refused(&ce.instance_url(&a, "status"), 1_000).await;
    assert_eq!(header(&h, "ratelimit-policy"), "\"account\";q=2;w=2");
    let (s, h, _) = call(Method::GET, &ce.instance_url(&b, "status"), None, None).await;
    assert_eq!(s, 429, "the account's other instance shares its bucket");
    assert!(header(&h, "ratelimit").starts_with("\"account\";r=0"));

    let (s, _, v) = call(Method::PUT, &limits_url, Some(&ce.admin_token), Some(&json!({}))).await;
    assert_eq!(s, 200, "{v}");
    for _ in 0..20 {
        let (s, _) = http.get(&ce.instance_url(&b, "status"), None).await;
        assert_eq!(s, 200, "the limit is lifted with the next snapshot");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_quota_counts_all_the_accounts_instances_and_refuses_past_it_even_after_kill_minus_nine() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    let (a, b) = (create_instance(&http, &ce, None).await, create_instance(&http, &ce, None).await);
    let creds: Value = serde_json::from_slice(&std::fs::read(dir.path().join("credentials.json")).unwrap()).unwrap();
    let limits_url = format!("{}/admin/tenants/{}/limits", ce.cp, creds["tenantId"].as_str().unwrap());
    let (s, _, v) = call(Method::PUT, &limits_url, Some(&ce.admin_token), Some(&json!({"dailyQuota": 3}))).await;
    assert_eq!(s, 200, "{v}");
    let send = |n: u32| json!({"phone": "5511977770001", "message": format!("quota {n}")});
    // Two sends from one instance and one from the other use the account's three.
    for (inst, n) in [(&a, 0), (&a, 1), (&b, 2)] {
        let (s, v) = http.post(&ce.instance_url(inst, "send-text"), None, &send(n)).await;
        assert_eq!(s, 200, "within the quota: {v}");
    }
    for inst in [&b, &a] {
        let (s, h, v) = call(Method::POST, &ce.instance_url(inst, "send-text"), None, Some(&send(3))).await;
        assert_eq!(s, 429, "{v}");
        assert_eq!(v["error"], "Daily quota reached");
        assert!(v["message"].as_str().unwrap().contains("daily quota of 3 messages"), "{v}");
        let retry: u64 = header(&h, "retry-after").parse().expect("Retry-After until midnight UTC");
        assert!((1..=86_400).contains(&retry), "{retry}");
    }
    let (s, _) = http.get(&ce.instance_url(&a, "status"), None).await;
    assert_eq!(s, 200, "the quota counts messages, not requests");
    // What is left is the account's: nothing, for the instance that sent one of the three too.
    let want = json!({"messages_sent_today": 1, "daily_limit": 3, "remaining_quota": 0});
    let shown = eventually(Duration::from_secs(30), || async {
        let (s, v) = http.get(&ce.instance_url(&b, "stats"), None).await;
        let seen = json!({"messages_sent_today": v["messages_sent_today"], "daily_limit": v["daily_limit"],
                          "remaining_quota": v["remaining_quota"]});
        (s == 200 && seen == want).then_some(())
    })
    .await;
    assert!(shown.is_some(), "stats show the account's remaining quota");

    ce.kill_9();
    let ce = Chatedge::up(dir.path(), FAST);
    for inst in [&b, &a] {
        wait_known(&http, &ce, inst).await;
        let (s, v) = http.post(&ce.instance_url(inst, "send-text"), None, &send(4)).await;
        assert_eq!((s, v["error"].as_str()), (429, Some("Daily quota reached")), "the counts are on disk: {v}");
    }
    for (inst, queued) in [(&a, 2), (&b, 1)] {
        let (_, count) = http.get(&ce.instance_url(inst, "queue/count"), None).await;
        assert_eq!(count, json!({"count": queued}), "refused sends left nothing");
    }
}
