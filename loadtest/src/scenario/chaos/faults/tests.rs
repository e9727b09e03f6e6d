use std::sync::Mutex;

use hyper::StatusCode;
use rand::SeedableRng;
use serde_json::Value;
use tokio::net::TcpListener;

use super::super::book::ChaosBook;
use super::super::state::Fleet;
use super::*;
use crate::client::Http;
use crate::credentials::Tokens;
use crate::provision::{Instance, Provisioner};
use crate::server;
use crate::sink::Sink;

#[test]
fn random_waits_stay_within_their_bounds() {
    let mut rng = StdRng::seed_from_u64(7);
    let (min, max) = (Duration::from_secs(5), Duration::from_secs(30));
    for _ in 0..1000 {
        let d = between(&mut rng, min, max);
        assert!(d >= min && d <= max, "{d:?}");
    }
    assert_eq!(between(&mut rng, max, min), max, "an inverted range collapses to its minimum");
}

type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// Instances in the fake fleet.
const MEMBERS: u32 = 8;

/// A stand-in data plane on loopback answering the sim fault routes with `status` and `body`,
/// recording each request's path and JSON body.
async fn fake_sim(status: StatusCode, body: &'static str) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let handler: server::Handler = Arc::new(move |parts, bytes| {
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        log.lock().expect("log").push((parts.uri.path().to_owned(), v));
        server::json(status, body)
    });
    tokio::spawn(server::serve(listener, handler)); // ends with the test's runtime
    (base, seen)
}

async fn shared(base: &str) -> Arc<Shared> {
    let http = Http::new(4, Duration::from_secs(5)).expect("client");
    let tokens = Tokens { admin: "admin".into(), integrator: "integrator".into() };
    let provisioner = Provisioner::new(http.clone(), base, base, tokens, Duration::from_secs(1));
    let book = Arc::new(ChaosBook::default());
    let sink = Arc::new(Sink::start("127.0.0.1:0".parse().expect("addr"), book.clone()).await.expect("sink"));
    let fleet = Fleet::default();
    for index in 0..MEMBERS {
        let (id, token, phone) = (format!("I{index}"), format!("T{index}"), format!("{index}"));
        fleet.add(base, Instance { index, id, token, webhook_secret: None, phone }).expect("member");
    }
    let shared = Shared::new(http, provisioner, sink, book, fleet);
    shared.server.came_up();
    Arc::new(shared)
}

/// Runs the fault loop until `seen` holds requests to every route of `routes` (at most 5 s),
/// then stops it.
async fn inject_until(shared: &Arc<Shared>, seen: &Seen, routes: &[&str]) -> NetworkFaults {
    let range = (Duration::from_millis(1), Duration::from_millis(2));
    let task = tokio::spawn(network_faults(shared.clone(), range, StdRng::seed_from_u64(3)));
    for _ in 0..500 {
        if routes.iter().all(|r| seen.lock().expect("log").iter().any(|(path, _)| path == r)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shared.stop.stop();
    task.await.expect("fault loop")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_and_logouts_follow_the_sim_contract_and_logouts_ask_for_a_new_pairing() {
    let (base, seen) = fake_sim(StatusCode::OK, r#"{"value":true}"#).await;
    let shared = shared(&base).await;
    let faults = inject_until(&shared, &seen, &["/sim/drop", "/sim/logout"]).await;
    let requests = seen.lock().expect("log").clone();
    assert!(faults.drops.injected > 0 && faults.logouts.injected > 0, "{requests:?}");
    for (path, body) in &requests {
        assert!(body["instanceId"].as_str().is_some_and(|id| id.starts_with('I')), "{path}: {body}");
        match path.as_str() {
            "/sim/drop" => assert!(body["ms"].as_u64().is_some_and(|ms| DROP_MS.contains(&ms)), "{body}"),
            "/sim/logout" => assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}"),
            other => panic!("unexpected route {other}"),
        }
    }
    assert_eq!(faults.drops.injected + faults.logouts.injected, requests.len() as u64);
    let logged_out = shared.fleet.logged_out().len() as u64;
    assert_eq!(logged_out, faults.logouts.injected, "each removed device waits for a new pairing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_plane_without_the_routes_is_reported_not_retried() {
    let body = r#"{"error":"route_not_found","message":"sim routes: scan, inbound, presence"}"#;
    let (base, seen) = fake_sim(StatusCode::NOT_FOUND, body).await;
    let shared = shared(&base).await;
    let faults = inject_until(&shared, &seen, &["/sim/drop", "/sim/logout"]).await;
    let requests = seen.lock().expect("log").clone();
    assert_eq!(requests.len(), 2, "each route tried once: {requests:?}");
    assert!(faults.drops.unsupported.as_deref().is_some_and(|u| u.contains("route_not_found")));
    assert!(faults.logouts.unsupported.is_some());
    assert_eq!(faults.drops.injected + faults.logouts.injected, 0);
    assert!(shared.fleet.logged_out().is_empty(), "nothing was logged out");
}
