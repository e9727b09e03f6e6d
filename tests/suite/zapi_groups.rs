//! Group routes (seed 001, rows 88–106) against the real binary: a group from creation to
//! leaving — its members receive what is sent to it (the sim's record), participants, admins,
//! settings, description and invitation links change what group-metadata shows, a reset link
//! stops working, leaving makes sends fail with a DeliveryCallback error and the invitation
//! brings the account back — all kept across a restart; what other people do to a group on the
//! network reaches the integrator as seed 001's notification webhooks, field by field.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};

const A: &str = "554411110001";
const B: &str = "554411110002";
const C: &str = "554411110003";
const D: &str = "554411110004";

async fn post(p: &Paired, route: &str, body: Value) -> Value {
    let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, &body).await;
    assert_eq!(status, 200, "{route} {body}: {v}");
    v
}

async fn get(p: &Paired, route: &str) -> (u16, Value) {
    p.http.get(&p.ce.instance_url(&p.inst, route), None).await
}

async fn sim(p: &Paired, action: &str, mut body: Value) -> Value {
    body["instanceId"] = json!(p.inst.id);
    let (status, v) = p.http.post(&format!("{}/sim/{action}", p.ce.dp), Some(&p.ce.admin_token), &body).await;
    assert_eq!(status, 200, "sim/{action} {body}: {v}");
    v
}

async fn metadata(p: &Paired, group: &str) -> Value {
    let (status, v) = get(p, &format!("group-metadata/{group}")).await;
    assert_eq!(status, 200, "{v}");
    v
}

fn participants(m: &Value) -> BTreeSet<String> {
    m["participants"].as_array().unwrap().iter().map(|x| x["phone"].as_str().unwrap().to_owned()).collect()
}

fn set(phones: &[&str]) -> BTreeSet<String> {
    phones.iter().map(|s| s.to_string()).collect()
}

async fn create(p: &Paired, name: &str, phones: &[&str]) -> (String, String) {
    let v = post(p, "create-group", json!({"autoInvite": true, "groupName": name, "phones": phones})).await;
    (v["phone"].as_str().unwrap().to_owned(), v["invitationLink"].as_str().unwrap().to_owned())
}

/// Sends a text to `group` and answers what the sim's record shows of it: the phones it
/// reached, or the DeliveryCallback error.
async fn send_to(p: &Paired, group: &str, text: &str) -> Result<BTreeSet<String>, String> {
    let sent = post(p, "send-text", json!({"phone": group, "message": text})).await;
    let zaap = sent["zaapId"].as_str().unwrap().to_owned();
    let id = sent["messageId"].as_str().unwrap().to_owned();
    let events = p
        .sink
        .wait_for(PATIENCE, "the send's DeliveryCallback", |e| e.iter().any(|r| r.body["zaapId"] == json!(zaap)))
        .await;
    let delivery = events.iter().find(|r| r.body["zaapId"] == json!(zaap)).unwrap().body.clone();
    if let Some(e) = delivery["error"].as_str() {
        return Err(e.to_owned());
    }
    let url = format!("{}/sim/received?instanceId={}&phone={group}", p.ce.dp, p.inst.id);
    let (_, v) = p.http.get(&url, Some(&p.ce.admin_token)).await;
    let m = v["messages"].as_array().unwrap().iter().find(|m| m["messageId"] == json!(id)).cloned().unwrap();
    Ok(m["deliveredTo"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect())
}

/// What the number's phone got in its chat with the instance (`/sim/received`).
async fn received_by(p: &Paired, phone: &str) -> Vec<Value> {
    let url = format!("{}/sim/received?instanceId={}&phone={phone}", p.ce.dp, p.inst.id);
    let (_, v) = p.http.get(&url, Some(&p.ce.admin_token)).await;
    v["messages"].as_array().cloned().unwrap_or_default()
}

/// Z-API's `autoInvite` (seed 001 lines 6861, 7095 and 8837): a number whose privacy lets only
/// its chosen people add it to groups (`/sim/contact-profile`'s `groupAdd`) is not added by
/// create-group or add-participant; with `autoInvite` it gets the group's invitation link in a
/// private message (durable and reported like any send), without it nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_whose_privacy_refuses_the_account_get_the_link_privately_with_auto_invite() {
    let p = paired(FAST).await;
    for private in [C, D] {
        sim(&p, "contact-profile", json!({"phone": private, "groupAdd": "contacts"})).await;
    }
    let made = post(&p, "create-group", json!({"autoInvite": true, "groupName": "Clientes", "phones": [A, C]})).await;
    let (group, link) =
        (made["phone"].as_str().unwrap().to_owned(), made["invitationLink"].as_str().unwrap().to_owned());
    const ME: &str = "5511999990001";
    assert_eq!(participants(&metadata(&p, &group).await), set(&[ME, A]), "C's privacy keeps it out");
    let invited = |list: &[Value]| list.iter().any(|m| m["text"].as_str().is_some_and(|t| t.ends_with(&link)));
    let c_got = eventually(PATIENCE, || async { Some(received_by(&p, C).await).filter(|l| invited(l)) }).await;
    assert!(c_got.is_some(), "C was sent the link: {:?}", received_by(&p, C).await);

    let g = json!(group);
    let without = post(&p, "add-participant", json!({"groupId": g, "phones": [D, B]})).await;
    assert_eq!(without, json!({"value": true}), "B was added");
    let with = post(&p, "add-participant", json!({"autoInvite": true, "groupId": g, "phones": [D]})).await;
    assert_eq!(with, json!({"value": true}), "nobody added, D invited");
    let d_got = eventually(PATIENCE, || async { Some(received_by(&p, D).await).filter(|l| invited(l)) }).await;
    let d_got = match d_got {
        Some(list) => list,
        None => panic!("D was sent the link: {:?}", received_by(&p, D).await),
    };
    assert_eq!(d_got.len(), 1, "only with autoInvite: {d_got:?}");
    assert_eq!(participants(&metadata(&p, &group).await), set(&[ME, A, B]));
    let (status, v) = p
        .http
        .post(
            &format!("{}/sim/contact-profile", p.ce.dp),
            Some(&p.ce.admin_token),
            &json!({"instanceId": p.inst.id, "phone": D, "groupAdd": "friends"}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_from_creation_to_leaving_and_back_survives_a_restart() {
    let mut p = paired(FAST).await;
    let (group, first_link) = create(&p, "Grupo Z-API", &[A, B, C, "554411110000"]).await;
    assert!(group.starts_with("120363") && group.ends_with("-group"), "{group}");
    assert!(first_link.starts_with("https://chat.whatsapp.com/"), "{first_link}");
    assert_eq!(send_to(&p, &group, "hello all").await, Ok(set(&[A, B, C])), "numbers ending 0000 are not on WhatsApp");

    let g = json!(group);
    assert_eq!(
        post(&p, "add-participant", json!({"autoInvite": true, "groupId": g, "phones": [D]})).await,
        json!({"value": true})
    );
    let refused = post(&p, "add-participant", json!({"groupId": g, "phones": ["554422220000"]})).await;
    assert_eq!(refused["value"], false, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("none of phones"), "{refused}");
    assert_eq!(post(&p, "remove-participant", json!({"groupId": g, "phones": [B]})).await, json!({"value": true}));
    assert_eq!(post(&p, "add-admin", json!({"groupId": g, "phones": [A, C]})).await, json!({"value": true}));
    assert_eq!(post(&p, "remove-admin", json!({"groupId": g, "phones": [C]})).await, json!({"value": true}));
    assert_eq!(
        post(&p, "update-group-name", json!({"groupId": g, "groupName": "Renamed"})).await,
        json!({"value": true})
    );
    assert_eq!(
        post(&p, "update-group-description", json!({"groupId": g, "groupDescription": "about"})).await,
        json!({"value": true})
    );
    let settings = json!({"phone": g, "adminOnlyMessage": true, "adminOnlySettings": true, "requireAdminApproval": false, "adminOnlyAddMember": true});
    assert_eq!(post(&p, "update-group-settings", settings).await, json!({"value": true}));
    let photo = json!({"groupID": g, "groupPhoto": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="});
    assert_eq!(post(&p, "update-group-photo", photo).await, json!({"value": true}));

    let m = metadata(&p, &group).await;
    assert_eq!(participants(&m), set(&["5511999990001", A, C, D]));
    let role =
        |phone: &str| m["participants"].as_array().unwrap().iter().find(|x| x["phone"] == phone).cloned().unwrap();
    assert_eq!((role(A)["isAdmin"].clone(), role(C)["isAdmin"].clone()), (json!(true), json!(false)));
    assert_eq!(role("5511999990001")["isSuperAdmin"], true);
    assert_eq!(
        (m["subject"].as_str(), m["description"].as_str(), m["owner"].as_str()),
        (Some("Renamed"), Some("about"), Some("5511999990001"))
    );
    assert_eq!(
        (m["adminOnlyMessage"].clone(), m["adminOnlySettings"].clone(), m["requireAdminApproval"].clone()),
        (json!(true), json!(true), json!(false))
    );
    assert_eq!(m["invitationLink"], json!(first_link), "an admin sees the link");
    assert_eq!(m["invitationLinkError"], Value::Null);
    let (_, light) = get(&p, &format!("light-group-metadata/{group}")).await;
    assert_eq!((light["invitationLink"].clone(), participants(&light)), (Value::Null, participants(&m)));
    assert_eq!(light["invitationLinkError"], Value::Null, "the light form does not ask for the link");
    assert_eq!(send_to(&p, &group, "after changes").await, Ok(set(&[A, C, D])), "the creator is an admin");
    let (_, chats) = get(&p, "chats").await;
    let listed = chats.as_array().unwrap().iter().find(|c| c["phone"] == json!(group)).cloned();
    let listed = listed.unwrap_or_else(|| panic!("the group's chat is listed: {chats}"));
    assert_eq!((&listed["isGroup"], &listed["isGroupAnnouncement"]), (&json!(true), &json!(false)), "{listed}");

    let link = post(&p, &format!("group-invitation-link/{group}"), json!({})).await;
    assert_eq!(link, json!({"phone": group, "invitationLink": first_link}));
    let by_get = get(&p, &format!("group-invitation-link/{group}")).await;
    assert_eq!(by_get, (200, link), "GET, as Z-API's documentation has it since 2026-02");
    let reset = post(&p, &format!("redefine-invitation-link/{group}"), json!({})).await;
    let new_link = reset["invitationLink"].as_str().unwrap().to_owned();
    assert_ne!(new_link, first_link);
    let (status, _) = get(&p, &format!("group-invitation-metadata?url={first_link}")).await;
    assert_eq!(status, 404, "the old link stops working");
    let (status, inv) = get(&p, &format!("group-invitation-metadata?url={new_link}")).await;
    assert_eq!((status, inv["phone"].as_str(), inv["subject"].as_str()), (200, Some(group.as_str()), Some("Renamed")));
    assert_eq!(inv["participantsCount"], 4);

    assert_eq!(post(&p, "leave-group", json!({"groupId": g})).await, json!({"value": true}));
    let after = send_to(&p, &group, "anyone?").await;
    assert!(after.as_ref().is_err_and(|e| e.contains("not a participant")), "{after:?}");
    let (_, groups) = get(&p, "groups?page=1&pageSize=10").await;
    assert_eq!(groups, json!([]), "a group left is not listed");
    let (status, _) = get(&p, &format!("group-metadata/{group}")).await;
    assert_eq!(status, 400, "no metadata for a group the account is not in");
    let refused = post(&p, "update-group-name", json!({"groupId": g, "groupName": "x"})).await;
    assert_eq!(refused["value"], false);

    let (status, joined) = get(&p, &format!("accept-invite-group?url={new_link}")).await;
    assert_eq!((status, joined), (200, json!({"success": true})));
    let (status, stale) = get(&p, &format!("accept-invite-group?url={first_link}")).await;
    assert_eq!((status, stale["success"].clone()), (200, json!(false)));
    let back = send_to(&p, &group, "back").await;
    assert!(back.as_ref().is_err_and(|e| e.contains("only admins")), "a member of an admin-only group: {back:?}");

    p.ce.terminate();
    p.ce = Chatedge::up(p.dir.path(), FAST);
    wait_connected(&p.http, &p.ce, &p.inst).await;
    let m = metadata(&p, &group).await;
    assert_eq!(participants(&m), set(&["5511999990001", A, C, D]), "kept across a restart");
    assert_eq!((m["subject"].as_str(), m["adminOnlyMessage"].clone()), (Some("Renamed"), json!(true)));
    assert_eq!(m["invitationLink"], Value::Null, "a member who is not an admin does not see the link");
    assert_eq!(m["invitationLinkError"], "not-authorized", "and is told why");
    let (_, groups) = get(&p, "groups").await;
    assert_eq!(groups[0]["phone"], json!(group));
    assert_eq!((groups[0]["name"].as_str(), groups[0]["isGroup"].clone()), (Some("Renamed"), json!(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_listed_by_page() {
    let p = paired(FAST).await;
    let mut made = BTreeSet::new();
    for i in 0..3 {
        made.insert(create(&p, &format!("g{i}"), &[A]).await.0);
    }
    let mut seen = BTreeSet::new();
    for page in 1..=2 {
        let (status, v) = get(&p, &format!("groups?page={page}&pageSize=2")).await;
        assert_eq!(status, 200, "{v}");
        let list = v.as_array().unwrap();
        assert_eq!(list.len(), if page == 1 { 2 } else { 1 });
        seen.extend(list.iter().map(|g| g["phone"].as_str().unwrap().to_owned()));
    }
    assert_eq!(seen, made);
    let (status, v) = get(&p, "groups?page=0").await;
    assert_eq!(status, 400, "{v}");
}

/// The fields a notification webhook shares with seed 001's example, compared one by one:
/// fixed values equal, the example's numbers replaced by the scenario's.
fn same_as_seed(got: &Value, fixture: &str, want: &[(&str, Value)]) {
    let path = format!("{}/tests/fixtures/zapi/received/{fixture}.json", env!("CARGO_MANIFEST_DIR"));
    let seed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (key, example) in seed.as_object().unwrap() {
        assert!(got.get(key).is_some(), "{fixture}: {key} is missing in {got}");
        match want.iter().find(|(k, _)| k == key) {
            Some((_, v)) => assert_eq!(&got[key], v, "{fixture}: {key}"),
            None if matches!(
                key.as_str(),
                "isGroup"
                    | "isNewsletter"
                    | "fromMe"
                    | "status"
                    | "type"
                    | "notification"
                    | "callId"
                    | "code"
                    | "expiresAt"
                    | "requestMethod"
                    | "broadcast"
                    | "forwarded"
                    | "referenceMessageId"
                    | "externalAdReply"
                    | "photo"
            ) =>
            {
                assert_eq!(&got[key], example, "{fixture}: {key}")
            }
            None => {}
        }
    }
}

async fn notice(p: &Paired, kind: &str, about: &str) -> Value {
    let found = |e: &[sink::Received]| {
        e.iter()
            .find(|r| r.body["notification"] == kind && r.body["notificationParameters"][0] == about)
            .map(|r| r.body.clone())
    };
    let events = p.sink.wait_for(PATIENCE, kind, |e| found(e).is_some()).await;
    found(&events).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_others_do_to_a_group_arrives_as_the_seeds_notifications() {
    let p = paired(FAST).await;
    let (group, _) = create(&p, "Notices", &[A, B, C]).await;
    post(&p, "add-admin", json!({"groupId": group, "phones": [A]})).await;
    let common = |kind: &str, participant: &str, params: Value| {
        vec![
            ("notification", json!(kind)),
            ("phone", json!(group)),
            ("participantPhone", json!(participant)),
            ("notificationParameters", params),
            ("connectedPhone", json!("5511999990001")),
        ]
    };

    sim(&p, "group-add", json!({"groupId": group, "by": A, "phones": [D]})).await;
    let add = notice(&p, "GROUP_PARTICIPANT_ADD", D).await;
    same_as_seed(&add, "membership_request_revoked", &common("GROUP_PARTICIPANT_ADD", A, json!([D])));
    assert_eq!(add["isGroup"], true);
    for (action, kind) in [
        ("group-promote", "GROUP_PARTICIPANT_PROMOTE"),
        ("group-demote", "GROUP_PARTICIPANT_DEMOTE"),
        ("group-remove", "GROUP_PARTICIPANT_REMOVE"),
    ] {
        sim(&p, action, json!({"groupId": group, "by": A, "phones": [D]})).await;
        let n = notice(&p, kind, D).await;
        assert_eq!(
            (n["participantPhone"].clone(), n["notificationParameters"].clone()),
            (json!(A), json!([D])),
            "{kind}"
        );
    }
    sim(&p, "group-leave", json!({"groupId": group, "phone": B})).await;
    let left = notice(&p, "GROUP_PARTICIPANT_LEAVE", B).await;
    assert_eq!(left["participantPhone"], B);
    assert_eq!(participants(&metadata(&p, &group).await), set(&["5511999990001", A, C]), "the world changed too");

    post(&p, "update-group-settings", json!({"groupId": group, "requireAdminApproval": true})).await;
    sim(&p, "group-join-request", json!({"groupId": group, "phone": "554433330001"})).await;
    let asked = notice(&p, "MEMBERSHIP_APPROVAL_REQUEST", "554433330001").await;
    same_as_seed(
        &asked,
        "membership_request_invite_link",
        &common("MEMBERSHIP_APPROVAL_REQUEST", "554433330001", json!(["554433330001"])),
    );
    sim(&p, "group-join-request-revoke", json!({"groupId": group, "phone": "554433330001"})).await;
    let revoked = notice(&p, "REVOKED_MEMBERSHIP_REQUESTS", "554433330001").await;
    same_as_seed(
        &revoked,
        "membership_request_revoked",
        &common("REVOKED_MEMBERSHIP_REQUESTS", "554433330001", json!(["554433330001"])),
    );
    assert!(revoked.get("requestMethod").is_none(), "the seed's revoked example has no requestMethod");
    sim(&p, "group-join-request", json!({"groupId": group, "phone": "554433330002", "addedBy": C})).await;
    let added = notice(&p, "MEMBERSHIP_APPROVAL_REQUEST", "554433330002").await;
    same_as_seed(
        &added,
        "membership_request_non_admin_add",
        &common("MEMBERSHIP_APPROVAL_REQUEST", "554433330002", json!(["554433330002", C])),
    );

    let rejected = post(&p, "approve-participant", json!({"groupId": group, "phones": ["554433330001"]})).await;
    assert_eq!(rejected["value"], false, "a withdrawn request cannot be approved");
    assert_eq!(
        post(&p, "approve-participant", json!({"groupId": group, "phones": ["554433330002"]})).await,
        json!({"value": true})
    );
    assert!(participants(&metadata(&p, &group).await).contains("554433330002"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_someone_else_runs_is_joined_by_its_link_and_admin_only_sends_fail_for_members() {
    let p = paired(FAST).await;
    let made =
        sim(&p, "group-create", json!({"owner": A, "name": "Theirs", "participants": [B], "addMe": false})).await;
    let (group, link) =
        (made["phone"].as_str().unwrap().to_owned(), made["invitationLink"].as_str().unwrap().to_owned());
    let out = send_to(&p, &group, "let me in").await;
    assert!(out.as_ref().is_err_and(|e| e.contains("not a participant")), "{out:?}");
    let (status, joined) = get(&p, &format!("accept-invite-group?url={link}")).await;
    assert_eq!((status, joined), (200, json!({"success": true})));
    assert_eq!(send_to(&p, &group, "hi").await, Ok(set(&[A, B])));
    sim(&p, "group-settings", json!({"groupId": group, "by": A, "adminOnlyMessage": true})).await;
    let out = send_to(&p, &group, "still there?").await;
    assert!(out.as_ref().is_err_and(|e| e.contains("only admins")), "{out:?}");
    let refused = post(&p, "add-admin", json!({"groupId": group, "phones": [B]})).await;
    assert_eq!(refused["value"], false, "a member is not an admin");

    let created = sim(&p, "group-create", json!({"owner": C, "name": "Invited", "participants": [D]})).await;
    let n = notice(&p, "GROUP_CREATE", "Invited").await;
    assert_eq!((n["phone"].clone(), n["participantPhone"].clone()), (created["phone"].clone(), json!(C)));

    post(&p, "privacy/group-add", json!({"type": "CONTACTS"})).await;
    let url = format!("{}/sim/group-create", p.ce.dp);
    let body = json!({"instanceId": p.inst.id, "owner": C, "name": "Blocked by privacy", "participants": [D]});
    let (status, v) = p.http.post(&url, Some(&p.ce.admin_token), &body).await;
    assert_eq!(status, 409, "the account's privacy keeps strangers from adding it: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_admin_letting_every_member_share_the_link_is_told_and_shows_the_link_to_members() {
    let p = paired(FAST).await;
    let made = sim(&p, "group-create", json!({"owner": A, "name": "Shared link", "participants": [B]})).await;
    let group = made["phone"].as_str().unwrap().to_owned();
    let (status, v) = get(&p, &format!("group-invitation-link/{group}")).await;
    assert_eq!(status, 400, "a member does not see the link while only admins share it: {v}");
    assert_eq!(metadata(&p, &group).await["invitationLinkError"], "not-authorized");

    let url = format!("{}/sim/group-settings", p.ce.dp);
    let bad = json!({"instanceId": p.inst.id, "groupId": group, "by": A, "linkMode": "EVERYONE"});
    let (status, v) = p.http.post(&url, Some(&p.ce.admin_token), &bad).await;
    assert_eq!(status, 400, "{v}");
    sim(&p, "group-settings", json!({"groupId": group, "by": A, "linkMode": "ALL_MEMBER_LINK"})).await;
    let kind = "GROUP_MEMBER_LINK_PROPERTY_UPDATE";
    let events = p.sink.wait_for(PATIENCE, kind, |e| e.iter().any(|r| r.body["notification"] == kind)).await;
    let told = events.iter().find(|r| r.body["notification"] == kind).unwrap().body.clone();
    assert_eq!(
        (
            &told["linkMode"],
            &told["phone"],
            &told["participantPhone"],
            &told["notificationParameters"],
            &told["isGroup"]
        ),
        (&json!("ALL_MEMBER_LINK"), &json!(group), &json!(A), &json!([]), &json!(true)),
        "{told}"
    );
    assert_eq!(told["type"], "ReceivedCallback");

    let (status, v) = get(&p, &format!("group-invitation-link/{group}")).await;
    assert_eq!((status, v["invitationLink"].clone()), (200, made["invitationLink"].clone()), "{v}");
    let m = metadata(&p, &group).await;
    assert_eq!(
        (m["invitationLink"].clone(), m["invitationLinkError"].clone()),
        (made["invitationLink"].clone(), Value::Null)
    );
    let (status, _) =
        p.http.post(&p.ce.instance_url(&p.inst, &format!("redefine-invitation-link/{group}")), None, &json!({})).await;
    assert_ne!(status, 200, "resetting the link stays an admin's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_group_requests_name_the_field() {
    let p = paired(FAST).await;
    let cases: &[(&str, Value, &str)] = &[
        ("create-group", json!({"phones": [A]}), "groupName is required"),
        ("create-group", json!({"groupName": "g", "phones": []}), "phones must have from 1"),
        ("create-group", json!({"groupName": "g", "phones": ["5511999990001"]}), "leave it out of phones"),
        ("add-participant", json!({"groupId": "5511999999999", "phones": [A]}), "groupId must be a group id"),
        ("update-group-settings", json!({"phone": "120363019502650977-group"}), "one of adminOnlyMessage"),
        ("update-group-photo", json!({"groupId": "120363019502650977-group"}), "groupPhoto is required"),
    ];
    for (route, body, want) in cases {
        let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, body).await;
        assert_eq!(status, 400, "{route} {body}: {v}");
        assert!(v["message"].as_str().unwrap_or("").contains(want), "{route} {body}: {v}");
    }
    let (status, v) = get(&p, "group-metadata/120363019502650977-group").await;
    assert_eq!((status, v["error"].as_str()), (404, Some("Not found")));
    let (status, v) = get(&p, "group-invitation-metadata").await;
    assert_eq!(status, 400, "{v}");
    let refused = post(&p, "leave-group", json!({"groupId": "120363019502650977-group"})).await;
    assert_eq!(refused["value"], false, "an unknown group: {refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_to_join_waits_for_an_admin_of_the_group() {
    let p = paired(FAST).await;
    let made =
        sim(&p, "group-create", json!({"owner": A, "name": "Approval", "participants": [B], "addMe": false})).await;
    let (group, link) =
        (made["phone"].as_str().unwrap().to_owned(), made["invitationLink"].as_str().unwrap().to_owned());
    sim(&p, "group-settings", json!({"groupId": group, "by": A, "requireAdminApproval": true})).await;
    let (status, asked) = get(&p, &format!("accept-invite-group?url={link}")).await;
    assert_eq!((status, asked), (200, json!({"success": true})));
    let waiting = send_to(&p, &group, "am I in?").await;
    assert!(waiting.as_ref().is_err_and(|e| e.contains("not a participant")), "still asking: {waiting:?}");
    sim(&p, "group-approve", json!({"groupId": group, "by": A, "phones": ["5511999990001"]})).await;
    let n = notice(&p, "GROUP_PARTICIPANT_ADD", "5511999990001").await;
    assert_eq!((n["phone"].clone(), n["participantPhone"].clone()), (json!(group), json!(A)));
    assert_eq!(send_to(&p, &group, "in").await, Ok(set(&[A, B])));
}
