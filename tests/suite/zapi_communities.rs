//! Community routes (seed 001, rows 107–114, and the HAR's update-community-photo) against the
//! real binary: a community is created with its announcement group; linking groups brings
//! their members into it (a send to the announcement group reaches them), unlinking takes
//! them out but keeps at least one group; members are managed by `communityId`; settings,
//! description and picture change; all of it survives a restart; deactivating ends the
//! community and leaves its groups, unlinked.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};

const A: &str = "554455550001";
const B: &str = "554455550002";
const C: &str = "554455550003";

async fn post(p: &Paired, route: &str, body: Value) -> Value {
    let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, &body).await;
    assert_eq!(status, 200, "{route} {body}: {v}");
    v
}

async fn get(p: &Paired, route: &str) -> (u16, Value) {
    p.http.get(&p.ce.instance_url(&p.inst, route), None).await
}

fn phones(m: &Value) -> BTreeSet<String> {
    m["participants"].as_array().unwrap().iter().map(|x| x["phone"].as_str().unwrap().to_owned()).collect()
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The phones a text sent to `group` reached, as the sim recorded it.
async fn reached(p: &Paired, group: &str, text: &str) -> BTreeSet<String> {
    let sent = post(p, "send-text", json!({"phone": group, "message": text})).await;
    let id = sent["messageId"].clone();
    let url = format!("{}/sim/received?instanceId={}&phone={group}", p.ce.dp, p.inst.id);
    let got = eventually(PATIENCE, || async {
        let (_, v) = p.http.get(&url, Some(&p.ce.admin_token)).await;
        v["messages"].as_array().unwrap().iter().find(|m| m["messageId"] == id).cloned()
    })
    .await
    .expect("the send arrives");
    got["deliveredTo"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_community_links_groups_reaches_their_members_and_survives_a_restart() {
    let mut p = paired(FAST).await;
    let created = post(&p, "communities", json!({"name": "Minha primeira Comunidade"})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.len() == 18 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    let sub = &created["subGroups"][0];
    assert_eq!(
        (sub["name"].as_str(), sub["isGroupAnnouncement"].clone()),
        (Some("Minha primeira Comunidade"), json!(true))
    );
    let announcement = sub["phone"].as_str().unwrap().to_owned();

    let g1 = post(&p, "create-group", json!({"groupName": "one", "phones": [A, B]})).await["phone"].clone();
    let g2 = post(&p, "create-group", json!({"groupName": "two", "phones": [C]})).await["phone"].clone();
    let linked = post(&p, "communities/link", json!({"communityId": id, "groupsPhones": [g1, g2, announcement]})).await;
    assert_eq!(linked["success"], true, "{linked}");
    assert_eq!(linked["unchanged"][0]["phone"], json!(announcement), "{linked}");
    let again = post(&p, "communities/link", json!({"communityId": id, "groupsPhones": [g1]})).await;
    assert_eq!(again["success"], false, "{again}");

    let (status, meta) = get(&p, &format!("communities-metadata/{id}")).await;
    assert_eq!(status, 200, "{meta}");
    let subs: Vec<(String, bool)> = meta["subGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s["isGroupAnnouncement"].as_bool().unwrap()))
        .collect();
    assert_eq!(subs, vec![("Minha primeira Comunidade".into(), true), ("one".into(), false), ("two".into(), false)]);
    let (_, m1) = get(&p, &format!("group-metadata/{}", g1.as_str().unwrap())).await;
    assert_eq!(m1["communityId"], json!(id));
    assert_eq!(reached(&p, &announcement, "to everyone").await, set(&[A, B, C]));

    let unlinked = post(&p, "communities/unlink", json!({"communityId": id, "groupsPhones": [g2]})).await;
    assert_eq!(unlinked, json!({"success": true}));
    assert_eq!(reached(&p, &announcement, "to those left").await, set(&[A, B]), "unlinking takes members out");
    let last = post(&p, "communities/unlink", json!({"communityId": id, "groupsPhones": [g1]})).await;
    assert_eq!(last["success"], false, "a community keeps one group: {last}");

    let added =
        post(&p, "add-participant", json!({"communityId": id, "phones": ["554455550009"], "autoInvite": true})).await;
    assert_eq!(added, json!({"value": true}));
    assert_eq!(post(&p, "add-admin", json!({"communityId": id, "phones": [A]})).await, json!({"value": true}));
    assert_eq!(
        post(&p, "communities/settings", json!({"communityId": id, "whoCanAddNewGroups": "all"})).await,
        json!({"success": true})
    );
    let described = post(
        &p,
        "update-community-description",
        json!({"communityId": id, "communityDescription": "descrição da comunidade"}),
    )
    .await;
    assert_eq!(described, json!({"value": true}));
    let photo = post(
        &p,
        "update-community-photo",
        json!({"communityId": id, "communityPhoto": "https://www.z-api.io/logo.svg"}),
    )
    .await;
    assert_eq!(photo, json!({"value": true}));
    let reset = post(&p, &format!("redefine-invitation-link/{id}"), json!({})).await;
    assert!(reset["invitationLink"].as_str().unwrap().starts_with("https://chat.whatsapp.com/"));

    p.ce.terminate();
    p.ce = Chatedge::up(p.dir.path(), FAST);
    wait_connected(&p.http, &p.ce, &p.inst).await;
    let (_, meta) = get(&p, &format!("communities-metadata/{id}")).await;
    assert_eq!(meta["description"], "descrição da comunidade", "kept across a restart");
    assert_eq!(meta["subGroups"].as_array().unwrap().len(), 2);
    let (_, a) = get(&p, &format!("group-metadata/{announcement}")).await;
    assert_eq!(phones(&a), set(&["5511999990001", A, B, "554455550009"]));
    assert_eq!((a["isGroupAnnouncement"].clone(), a["adminOnlyMessage"].clone()), (json!(true), json!(true)));
    let (_, list) = get(&p, "communities?page=1&pageSize=2").await;
    assert_eq!(list, json!([{"name": "Minha primeira Comunidade", "id": id}]));

    let (status, gone) = p.http.delete(&p.ce.instance_url(&p.inst, &format!("communities/{id}"))).await;
    assert_eq!((status, gone), (200, json!({"success": true})));
    let (status, _) = get(&p, &format!("communities-metadata/{id}")).await;
    assert_eq!(status, 404);
    let (_, m1) = get(&p, &format!("group-metadata/{}", g1.as_str().unwrap())).await;
    assert_eq!(
        (m1["communityId"].clone(), phones(&m1)),
        (Value::Null, set(&["5511999990001", A, B])),
        "its groups stay"
    );
    let (_, list) = get(&p, "communities").await;
    assert_eq!(list, json!([]));
    let sent = post(&p, "send-text", json!({"phone": announcement, "message": "anyone?"})).await;
    let zaap = sent["zaapId"].clone();
    let events =
        p.sink.wait_for(PATIENCE, "the DeliveryCallback", |e| e.iter().any(|r| r.body["zaapId"] == zaap)).await;
    let delivery = &events.iter().find(|r| r.body["zaapId"] == zaap).unwrap().body;
    assert!(delivery["error"].as_str().is_some_and(|e| e.contains("not a participant")), "{delivery}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_community_requests_name_the_field_and_unknown_ones_fail() {
    let p = paired(FAST).await;
    let cases: &[(&str, Value, &str)] = &[
        ("communities", json!({}), "name is required"),
        ("communities/link", json!({"groupsPhones": ["1203634230225498-group"]}), "communityId is required"),
        (
            "communities/link",
            json!({"communityId": "98372465382764532938", "groupsPhones": ["5511999999999"]}),
            "groupsPhones[0]",
        ),
        (
            "communities/settings",
            json!({"communityId": "98372465382764532938", "whoCanAddNewGroups": "some"}),
            "whoCanAddNewGroups must be one of",
        ),
        (
            "update-community-description",
            json!({"communityId": "98372465382764532938"}),
            "communityDescription is required",
        ),
        (
            "update-community-photo",
            json!({"communityId": "ID da Comunidade", "communityPhoto": "https://x.test/a.png"}),
            "communityId must be",
        ),
    ];
    for (route, body, want) in cases {
        let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, body).await;
        assert_eq!(status, 400, "{route} {body}: {v}");
        assert!(v["message"].as_str().unwrap_or("").contains(want), "{route} {body}: {v}");
    }
    let (status, _) = get(&p, "communities-metadata/98372465382764532938").await;
    assert_eq!(status, 404);
    let link = post(
        &p,
        "communities/link",
        json!({"communityId": "98372465382764532938", "groupsPhones": ["1203634230225498-group"]}),
    )
    .await;
    assert_eq!(link["success"], false, "{link}");
    let (status, v) = p.http.delete(&p.ce.instance_url(&p.inst, "communities/98372465382764532938")).await;
    assert_eq!((status, v["success"].clone()), (200, json!(false)));
}
