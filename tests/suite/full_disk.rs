//! A disk that fills during a burst (issue 8 §2, §4): a real size-limited filesystem (tmpfs,
//! mounted by the test when it runs as root; skipped with a note otherwise) under the data
//! directory, filled to the last byte while senders keep sending. Nothing acknowledged is
//! lost, nothing refused is sent later, `/healthz` says what is wrong while the disk is full,
//! and service resumes by itself once space returns.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{create_instance, eventually, pair, Chatedge, Http, Sink, FAST};
use serde_json::json;

/// A tmpfs mounted for the test's life.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size_mb: u32) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m,mode=0700"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the filesystem has no byte left.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0xA5u8; 1 << 20];
    while f.write_all(&chunk).is_ok() {}
    let small = vec![0x5Au8; 4096];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
}

async fn healthz(http: &Http, ce: &Chatedge) -> (u16, serde_json::Value) {
    http.get(&format!("{}/healthz", ce.dp), None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_fills_mid_burst_loses_nothing_acknowledged_sends_nothing_refused_and_recovers() {
    let root = common::temp_dir();
    // RocksDB preallocates its WAL files (on tmpfs that space is taken at once) and resumes
    // after a full disk only once a memtable's worth (64 MiB) is free again: 448 MiB leaves
    // room for both planes' databases and that margin.
    let Some(fs) = Tmpfs::mount(&root.path().join("disk"), 448) else {
        eprintln!("SKIPPED: mounting a tmpfs needs root (the test mounts a size-limited filesystem)");
        return;
    };
    // The burst is far above the default per-instance rate limit: the disk is what must refuse.
    let config = format!("{FAST}\n[dataplane]\nrequest_timeout_ms = 3000\n[rate_limits]\ninstance_rps = 0\n");
    let ce = Chatedge::up(&fs.0.join("data"), &config);
    let http = Http::new();
    let sink = Sink::start().await;
    let inst = create_instance(&http, &ce, Some(&sink)).await;
    pair(&http, &ce, &inst, "5511999990001").await;

    // Senders: each request goes to its own phone number, so a DeliveryCallback tells which
    // request it belongs to. Large texts fill the disk (and RocksDB's preallocated WAL) in a
    // few thousand messages.
    let stop = Arc::new(AtomicBool::new(false));
    let next_phone = Arc::new(AtomicU64::new(30_000_001));
    let url = ce.instance_url(&inst, "send-text");
    let mut senders = Vec::new();
    for _ in 0..8 {
        let (http, url, stop, next_phone) = (http.clone(), url.clone(), stop.clone(), next_phone.clone());
        senders.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let phone = format!("55119{:08}", next_phone.fetch_add(1, Ordering::Relaxed));
                let body = json!({"phone": phone, "message": "x".repeat(30_000)});
                let (status, _) = http.post(&url, None, &body).await;
                outcomes.push((phone, status));
            }
            outcomes
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let filler = fs.0.join("filler");
    fill(&filler);

    let mut unhealthy = None;
    let deadline = Instant::now() + Duration::from_secs(90);
    while unhealthy.is_none() && Instant::now() < deadline {
        let (s, v) = healthz(&http, &ce).await;
        if s == 503 {
            unhealthy = Some(v);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let unhealthy = unhealthy.expect("/healthz turns unhealthy while the disk is full");
    assert_eq!(unhealthy["status"], json!("unhealthy"), "{unhealthy}");
    assert!(unhealthy["store"].as_str().is_some_and(|r| !r.is_empty()), "the reason is given: {unhealthy}");
    // Refusals while full are immediate and say why.
    let (s, v) = http.post(&url, None, &json!({"phone": "5511977777777", "message": "while full"})).await;
    assert_eq!(s, 503, "{v}");
    tokio::time::sleep(Duration::from_secs(1)).await;

    std::fs::remove_file(&filler).unwrap();
    let recovered =
        eventually(Duration::from_secs(90), || async { (healthz(&http, &ce).await.0 == 200).then_some(()) });
    assert!(recovered.await.is_some(), "the data plane recovers once space returns");
    stop.store(true, Ordering::Relaxed);
    let mut outcome: HashMap<String, u16> = HashMap::new();
    for s in senders {
        outcome.extend(s.await.unwrap());
    }
    let after = common::send_texts(&http, &ce, &inst, 20, 39_000_001, "after").await;
    assert_eq!(after.len(), 20, "sends are accepted again");
    // What was acknowledged across the episode survives a crash, and no batch that failed and
    // was given up comes back from the WAL.
    ce.kill_9();
    let ce = common::faults::restart(&fs.0.join("data"), &config).await;

    let acknowledged: HashSet<&str> = outcome.iter().filter(|(_, s)| **s == 200).map(|(p, _)| p.as_str()).collect();
    let refused: HashSet<&str> =
        outcome.iter().filter(|(_, s)| (400..600).contains(*s)).map(|(p, _)| p.as_str()).collect();
    assert!(
        !acknowledged.is_empty() && !refused.is_empty(),
        "the burst saw both: {} / {}",
        acknowledged.len(),
        refused.len()
    );
    let delivered_phones = |events: &[common::sink::Received]| -> HashSet<String> {
        events
            .iter()
            .filter(|e| e.body["type"] == "DeliveryCallback")
            .filter_map(|e| e.body["phone"].as_str().map(str::to_owned))
            .collect()
    };
    let all_there = eventually(Duration::from_secs(90), || async {
        let got = delivered_phones(&sink.events());
        acknowledged.iter().all(|p| got.contains(*p)).then_some(())
    });
    if all_there.await.is_none() {
        let got = delivered_phones(&sink.events());
        let missing: Vec<_> = acknowledged.iter().filter(|p| !got.contains(**p)).take(5).collect();
        let (_, count) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
        panic!(
            "{} of {} acknowledged messages never delivered (e.g. {missing:?}); queue/count {count}",
            acknowledged.iter().filter(|p| !got.contains(**p)).count(),
            acknowledged.len()
        );
    }
    let delivered = sink
        .wait_for(Duration::from_secs(5), "every acknowledged message delivered", |events| {
            let got: HashSet<&str> = events
                .iter()
                .filter(|e| e.body["type"] == "DeliveryCallback")
                .filter_map(|e| e.body["phone"].as_str())
                .collect();
            acknowledged.iter().all(|p| got.contains(p))
        })
        .await;
    // Let anything that was wrongly kept leave before looking for it.
    let drained = eventually(Duration::from_secs(30), || async {
        let (_, c) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
        (c["count"] == json!(0)).then_some(())
    });
    assert!(drained.await.is_some(), "the queue drains");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent_refused: Vec<&str> = sink
        .of_type("DeliveryCallback")
        .iter()
        .filter_map(|e| e.body["phone"].as_str())
        .filter(|p| refused.contains(p))
        .map(|p| *refused.get(p).unwrap())
        .collect();
    assert!(sent_refused.is_empty(), "refused requests were sent anyway: {sent_refused:?}");
    assert!(delivered.iter().all(|e| e.signed_by(&inst.secret)));
    sink.wait_for_zaaps(&common::zaap_ids(&after), "the sends after recovery, delivered after the crash too").await;
    drop(ce);
}
