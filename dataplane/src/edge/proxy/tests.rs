use chatedge_config::placement::Placement;
use chatedge_config::{ConfigUpdate, InstanceConfig, InstanceId, NodeId, Secret, Tenant, TenantId, UrlPolicy};

use super::*;

fn instance(t: TenantId, token: &Secret) -> InstanceConfig {
    InstanceConfig::new_trial(t, token.hash(), "i".into(), 1, 1)
}

/// A snapshot holding `here`, with `there` placed on `owner` and `refused` quarantined.
fn snapshot(here: &InstanceConfig, there: InstanceId, owner: NodeId, refused: &InstanceConfig) -> Snapshot {
    let tenant = Tenant::new(here.tenant, "t".into());
    let update = ConfigUpdate {
        reset: true,
        version: 1,
        tenants: vec![tenant],
        instances: vec![here.clone(), refused.clone()],
        placements: vec![Placement { instance: there, node: owner }],
        ..ConfigUpdate::default()
    };
    Snapshot::default().apply(&update, UrlPolicy::default()).unwrap()
}

#[test]
fn a_request_is_served_where_its_instance_lives_and_an_unknown_one_is_routed_as_before() {
    let t = TenantId::generate();
    let token = Secret::generate(16);
    let here = instance(t, &token);
    let mut refused = instance(t, &token);
    refused.name = "n".repeat(chatedge_config::snapshot::MAX_NAME_LEN + 1);
    let (there, owner) = (InstanceId::generate(), NodeId::random());
    let s = snapshot(&here, there, owner, &refused);
    let path = |id: InstanceId, token: &str| format!("/instances/{id}/token/{token}/send-text");

    assert_eq!(locate(&s, &path(here.id, token.expose()), false), Where::Here);
    assert_eq!(locate(&s, &path(there, "ANY"), false), Where::Elsewhere(owner), "the owner checks the token");
    assert_eq!(locate(&s, &format!("/network/cloud-api/{there}/webhook"), false), Where::Elsewhere(owner));
    assert_eq!(locate(&s, &path(there, "ANY"), true), Where::Here, "a forwarded request is never forwarded again");
    assert_eq!(locate(&s, &path(InstanceId::generate(), "ANY"), false), Where::Here, "unknown: as before");
    assert_eq!(locate(&s, "/instances/not-an-id/token/x/status", false), Where::Here);
    assert_eq!(locate(&s, "/healthz", false), Where::Here);

    let Where::Quarantined(reason) = locate(&s, &path(refused.id, token.expose()), false) else {
        panic!("a quarantined instance answers so, to its token's holder");
    };
    assert!(reason.contains("name"), "{reason}");
    assert_eq!(locate(&s, &path(refused.id, "WRONG"), false), Where::Here, "a wrong token learns nothing");
}

#[test]
fn hop_by_hop_headers_are_not_forwarded() {
    let mut h = HeaderMap::new();
    h.insert("connection", HeaderValue::from_static("keep-alive, x-private"));
    h.insert("x-private", HeaderValue::from_static("1"));
    h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
    h.insert("client-token", HeaderValue::from_static("abc"));
    strip_hop_by_hop(&mut h);
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h.get("client-token").unwrap(), "abc", "end-to-end headers stay");
}

#[test]
fn a_dialect_request_is_located_by_its_path_key_or_query_before_its_body() {
    let t = TenantId::generate();
    let token = Secret::generate(16);
    let here = instance(t, &token);
    let refused = instance(t, &token);
    let (there, owner) = (InstanceId::generate(), NodeId::random());
    let s = snapshot(&here, there, owner, &refused);
    let hex = there.to_string().to_ascii_lowercase();
    let uuid = chatedge_config::snapshot::instance_uuid(&there);
    let at = |path: &str, bearer: Option<&str>, hop: bool| {
        let mut req = Request::builder().uri(path);
        if let Some(b) = bearer {
            req = req.header("authorization", format!("Bearer {b}"));
        }
        locate_request(&s, &req.body(()).unwrap(), hop)
    };
    let elsewhere = Where::Elsewhere(owner);
    assert_eq!(at(&format!("/zapini/instances/{uuid}/status"), None, false), elsewhere);
    assert_eq!(at(&format!("/zapini/api/v1/instances/{hex}/groups"), None, false), elsewhere);
    assert_eq!(at("/zapini/send-message", Some(&format!("sk_{hex}_secret")), false), elsewhere);
    assert_eq!(at(&format!("/zapini/status?instance_id={uuid}"), Some("account-token"), false), elsewhere);
    assert_eq!(at(&format!("/zami/v1/connections/{hex}/webhook"), None, false), elsewhere);
    assert_eq!(at(&format!("/zapini/instances/{uuid}/status"), None, true), Where::Here, "never twice");
    let mine = chatedge_config::snapshot::instance_uuid(&here.id);
    assert_eq!(at(&format!("/zapini/instances/{mine}/status"), None, false), Where::Here);
    assert_eq!(at("/zapini/send-message", Some("sk_olderkeywithoutitsinstance"), false), Where::Here);
    assert_eq!(at("/zami/v1/send-text", Some("account-token"), false), Where::Here, "the body names it");
    assert_eq!(at("/zapini/health", None, false), Where::Here);
}
