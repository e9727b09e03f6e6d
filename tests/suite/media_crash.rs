//! Media files and the messages that need them, across `kill -9` and the sweep: queued media
//! messages survive a kill and arrive intact after the restart; a file a queued message needs
//! survives every sweep; and no file outlives its last message — once every message needing it
//! has left (sent, or the queue cleared), the sweep deletes it.

use crate::common;

use std::time::Duration;

use common::faults::restart;
use common::files::{
    self, assert_media, stored_files, temporary_files, upload, wait_arrived, Blob, FileServer, RawPost,
};
use common::*;
use serde_json::json;

/// FAST, fetching from the loopback file server, sweeping every 100 ms files unreferenced for
/// a second, and reconnecting quickly. The grace must outlast an upload's last write to its
/// message's commit (fsyncs of several MB in between), or a loaded machine could see a new
/// file swept before its message refers to it: 200 ms is too close for that.
/// FAST, plus quick reconnects and a sweep that runs ten times a second.
fn config() -> String {
    format!(
        "{FAST}[session]\nreconnect_initial_ms = 100\nreconnect_max_ms = 500\n\
         [media]\nfetch_allow_private = true\norphan_grace_ms = 1000\nsweep_interval_ms = 100\n"
    )
}

const SWEEP_INTERVAL: Duration = Duration::from_millis(100);
const ORPHAN_GRACE: Duration = Duration::from_millis(1000);

fn phone(n: u64) -> String {
    format!("55119{:08}", 40_001 + n)
}

/// Cuts the instance off the network for a day: what is sent now waits in the queue (a
/// restart ends the cut, which lives in the sim's memory only).
async fn cut_off(http: &Http, ce: &Chatedge, inst: &Instance) {
    let body = json!({"instanceId": inst.id, "ms": 86_400_000});
    let (s, v) = http.post(&format!("{}/sim/drop", ce.dp), Some(&ce.admin_token), &body).await;
    assert_eq!(s, 200, "sim/drop: {v}");
    eventually(PATIENCE, || async {
        let (_, v) = http.get(&ce.instance_url(inst, "status"), None).await;
        (v["connected"] == json!(false)).then_some(())
    })
    .await
    .expect("the instance is disconnected");
}

async fn queue_count(http: &Http, ce: &Chatedge, inst: &Instance) -> u64 {
    let (_, v) = http.get(&ce.instance_url(inst, "queue/count"), None).await;
    v["count"].as_u64().unwrap()
}

/// Waits until the media store holds no file at all.
async fn wait_store_empty(dir: &std::path::Path, what: &str) {
    let left = eventually(PATIENCE, || async { stored_files(dir).is_empty().then_some(()) }).await;
    assert!(left.is_some(), "{what}: files outlived their last message: {:?}", stored_files(dir));
}

/// The media a test sends: (route, field, mime, blob, by URL?).
fn media() -> Vec<(&'static str, &'static str, &'static str, Blob, bool)> {
    vec![
        ("send-image", "image", "image/png", Blob::png(400, 300, 21), false),
        ("send-image", "image", "image/png", Blob::png(400, 300, 22), false),
        ("send-audio", "audio", "audio/ogg; codecs=opus", Blob::ogg(2 * 1024 * 1024, 23), false),
        ("send-video", "video", "video/mp4", Blob::mp4(8 * 1024 * 1024, 24), false),
        ("send-document/pdf", "document", "application/pdf", Blob::pdf(4 * 1024 * 1024, 25), false),
        ("send-video", "video", "video/mp4", Blob::mp4(3 * 1024 * 1024, 26), true),
        ("send-document/pdf", "document", "application/pdf", Blob::pdf(1024 * 1024, 27), true),
    ]
}

/// Sends every item of [`media`] to phone `first + i` (base64, or by URL from `server`).
async fn send_all(http: &Http, ce: &Chatedge, inst: &Instance, server: &FileServer, first: u64) {
    for (i, (route, field, mime, blob, by_url)) in media().iter().enumerate() {
        let url = ce.instance_url(inst, route);
        let to = phone(first + i as u64);
        let (status, body) = if *by_url {
            let src = server.serve(&format!("/{i}"), blob);
            http.post(&url, None, &json!({"phone": to, *field: src})).await
        } else {
            let a = files::send_base64(&url, field, mime, &to, blob).await;
            (a.status, a.body)
        };
        assert_eq!(status, 200, "{route} {i}: {body}");
    }
}

/// Waits until every item of [`media`] arrived at phone `first + i`, byte for byte.
async fn check_all_arrived(http: &Http, ce: &Chatedge, inst: &Instance, first: u64) {
    for (i, (route, _, mime, blob, _)) in media().iter().enumerate() {
        let m = wait_arrived(http, ce, inst, &phone(first + i as u64), 1).await;
        assert_eq!(m.len(), 1, "{route} {i} arrives once");
        assert_media(&m[0], blob, mime, &format!("{route} {i}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_nine_with_media_queued_loses_none_and_no_file_outlives_its_message() {
    let Paired { dir, ce, http, sink, inst } = paired(&config()).await;
    let server = FileServer::start().await;
    cut_off(&http, &ce, &inst).await;
    send_all(&http, &ce, &inst, &server, 0).await;
    assert_eq!(queue_count(&http, &ce, &inst).await, media().len() as u64);
    let stored = media().iter().filter(|m| !m.4).count();
    assert_eq!(stored_files(dir.path()).len(), stored, "one file per base64 upload");

    ce.kill_9();
    let ce = restart(dir.path(), &config()).await;
    wait_connected(&http, &ce, &inst).await;
    check_all_arrived(&http, &ce, &inst, 0).await;
    let n = media().len();
    let events = sink
        .wait_for(PATIENCE, "a DeliveryCallback for every media message", |e| {
            e.iter().filter(|r| r.body["type"] == "DeliveryCallback").count() >= n
        })
        .await;
    for d in events.iter().filter(|r| r.body["type"] == "DeliveryCallback") {
        assert!(d.body.get("error").is_none(), "no delivery failed: {}", d.body);
    }
    eventually(PATIENCE, || async { (queue_count(&http, &ce, &inst).await == 0).then_some(()) })
        .await
        .expect("the queue empties");
    wait_store_empty(dir.path(), "after every media message was sent").await;
    drop(ce);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_the_queue_frees_the_media_files_of_its_messages() {
    let p = paired(&config()).await;
    let server = FileServer::start().await;
    cut_off(&p.http, &p.ce, &p.inst).await;
    send_all(&p.http, &p.ce, &p.inst, &server, 100).await;
    assert!(!stored_files(p.dir.path()).is_empty());
    let (s, v) = p.http.delete(&p.ce.instance_url(&p.inst, "queue")).await;
    assert_eq!(s, 200, "DELETE queue: {v}");
    assert_eq!(queue_count(&p.http, &p.ce, &p.inst).await, 0);
    wait_store_empty(p.dir.path(), "after the queue was cleared").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_a_queued_message_needs_survives_sweeps_and_arrives_intact() {
    let Paired { dir, ce, http, sink: _sink, inst } = paired(&config()).await;
    let server = FileServer::start().await;
    cut_off(&http, &ce, &inst).await;
    send_all(&http, &ce, &inst, &server, 200).await;
    let before = stored_files(dir.path());
    // Many sweeps, the last ones long past the grace period, while the messages wait.
    tokio::time::sleep(ORPHAN_GRACE * 3 + SWEEP_INTERVAL * 10).await;
    assert_eq!(queue_count(&http, &ce, &inst).await, media().len() as u64, "the messages still wait");
    assert_eq!(stored_files(dir.path()), before, "every file a queued message needs is still there");

    // A restart ends the cut; everything arrives intact, then the files go.
    ce.terminate();
    let ce = restart(dir.path(), &config()).await;
    wait_connected(&http, &ce, &inst).await;
    check_all_arrived(&http, &ce, &inst, 200).await;
    wait_store_empty(dir.path(), "after every media message was sent").await;
    drop(ce);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_bytes_sent_again_while_their_file_is_being_swept_arrive_intact() {
    let p = paired(&config()).await;
    let image = Blob::png(200, 150, 31);
    let url = p.ce.instance_url(&p.inst, "send-image");
    // Each round sends the same bytes once the previous message left: its file is then
    // unreferenced, within its grace, being swept or gone; every send must still arrive whole.
    for round in 0..12u64 {
        let a = files::send_base64(&url, "image", "image/png", &phone(300 + round), &image).await;
        assert_eq!(a.status, 200, "round {round}: {}", a.body);
        let zaap = a.body["zaapId"].clone();
        let events = p
            .sink
            .wait_for(PATIENCE, "the delivery", |e| {
                e.iter().any(|r| r.body["type"] == "DeliveryCallback" && r.body["zaapId"] == zaap)
            })
            .await;
        let d = events.iter().find(|r| r.body["zaapId"] == zaap).unwrap();
        assert!(d.body.get("error").is_none(), "round {round}: {}", d.body);
        let m = wait_arrived(&p.http, &p.ce, &p.inst, &phone(300 + round), 1).await;
        assert_media(&m[0], &image, "image/png", &format!("round {round}"));
        // Alternate: the next send comes at once (file within its grace), or after the sweep
        // deleted it.
        if round % 2 == 1 {
            wait_store_empty(p.dir.path(), &format!("round {round}")).await;
        } else {
            tokio::time::sleep(ORPHAN_GRACE * (round as u32 % 3) / 2).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_nine_in_the_middle_of_an_upload_leaves_no_file_behind() {
    let Paired { dir, ce, http, sink: _sink, inst } = paired(&config()).await;
    let url = ce.instance_url(&inst, "send-document/pdf");
    let body = upload("document", "application/pdf", &phone(400), &Blob::pdf(60 * 1024 * 1024, 41));
    let len = body.len();
    let mut post = RawPost::start(&url, body).await;
    post.write(len).await;
    // Killed once the document is being written to the store (or, on a machine too fast to
    // see that, once the body is sent).
    let writing = eventually(Duration::from_secs(10), || async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        (!temporary_files(dir.path()).is_empty()).then_some(())
    })
    .await;
    ce.kill_9();
    drop(post);
    let caught = !temporary_files(dir.path()).is_empty();
    eprintln!("media_crash: killed while storing the upload: {} (temporary file left: {caught})", writing.is_some());
    let ce = restart(dir.path(), &config()).await;
    // Whether or not the upload was acknowledged before the kill, nothing of it stays once
    // its message (if any) has left.
    let clean = eventually(PATIENCE, || async {
        let queued = queue_count(&http, &ce, &inst).await;
        (queued == 0 && stored_files(dir.path()).is_empty() && temporary_files(dir.path()).is_empty()).then_some(())
    })
    .await;
    assert!(
        clean.is_some(),
        "left behind: {} queued, files {:?}, temporary files {:?}",
        queue_count(&http, &ce, &inst).await,
        stored_files(dir.path()),
        temporary_files(dir.path())
    );
    drop(ce);
    drop(dir);
}
