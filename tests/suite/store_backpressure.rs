//! Bounded work for the disk (issue 8 §2): past `[store] max_pending_batches_per_shard`, sends
//! are refused at once with 503 "Storage busy" instead of piling up in memory, and a refused send
//! leaves no trace — everything answered 200 is queued, nothing refused is.

use crate::common;

use std::collections::HashSet;

use common::faults::queue_listing;
use common::{create_instance, temp_dir, wait_known, Chatedge, Http, FAST};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_commit_budget_sends_are_refused_at_once_and_leave_no_trace() {
    let dir = temp_dir();
    // One shard with room for a single waiting batch, so concurrent senders overrun it.
    let config = format!(
        "{FAST}\n[dataplane]\nshards = 1\n[store]\nmax_pending_batches_per_shard = 1\n\
         [queue]\nmax_waiting_disconnected = 100000\n"
    );
    let ce = Chatedge::up(dir.path(), &config);
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &inst).await;

    let url = ce.instance_url(&inst, "send-text");
    let mut tasks = Vec::new();
    for t in 0..48u64 {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..40u64 {
                let text = format!("task {t} message {i}");
                let (status, v) = http.post(&url, None, &json!({"phone": "5511988887777", "message": text})).await;
                outcomes.push((text, status, v));
            }
            outcomes
        }));
    }
    let mut accepted = HashSet::new();
    let mut refused = HashSet::new();
    for t in tasks {
        for (text, status, v) in t.await.unwrap() {
            match status {
                200 => drop(accepted.insert(text)),
                503 => {
                    assert_eq!(v["error"], json!("Storage busy"), "{v}");
                    refused.insert(text);
                }
                other => panic!("unexpected {other}: {v}"),
            }
        }
    }
    assert!(!refused.is_empty(), "48 concurrent senders overrun a budget of one batch");
    assert!(!accepted.is_empty());
    let queued: HashSet<String> = queue_listing(&http, &ce, &inst).await.into_iter().map(|l| l.text).collect();
    assert_eq!(queued, accepted, "exactly the acknowledged sends are queued, none of the refused");
    let (_, metrics) = http.get(&format!("{}/metrics", ce.dp), None).await;
    let line = format!("chatedge_dp_refusals_total{{reason=\"store_busy\"}} {}", refused.len());
    assert!(metrics.as_str().unwrap_or_default().contains(&line), "every refusal is counted: {line}");
}
