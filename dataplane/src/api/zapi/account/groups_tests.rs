use super::*;

fn body(v: Value) -> bytes::Bytes {
    bytes::Bytes::from(v.to_string())
}

fn group(s: &str) -> GroupRef {
    GroupRef::Group(Phone::parse(s).unwrap())
}

#[test]
fn the_seeds_and_the_hars_requests_read_as_calls() {
    let g = "120363019502650977-group";
    match change(
        Op::Members(MemberChange::Add),
        &body(json!({"autoInvite": true, "groupId": g, "phones": ["5544999999999", 5544888888888u64]})),
    )
    .unwrap()
    {
        Net::Members { group: r, change: MemberChange::Add, phones } => {
            assert_eq!(r, group(g));
            assert_eq!(phones.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    match change(
        Op::Members(MemberChange::Promote),
        &body(json!({"communityId": "120363186053925765", "phones": ["5511999999999"]})),
    )
    .unwrap()
    {
        Net::Members { group: GroupRef::Community(id), change: MemberChange::Promote, .. } => {
            assert_eq!(id, "120363186053925765")
        }
        other => panic!("{other:?}"),
    }
    match change(Op::Photo, &body(json!({"groupID": g, "groupPhoto": "https://www.z-api.io/logo.svg"}))).unwrap() {
        Net::SetPicture { picture: Picture::Url(u), .. } => assert_eq!(u, "https://www.z-api.io/logo.svg"),
        other => panic!("{other:?}"),
    }
    match change(Op::Photo, &body(json!({"groupId": g, "groupPhoto": "data:image/png;base64,iVBORw0KGgo="}))).unwrap() {
        Net::SetPicture { picture: Picture::Data(b), .. } => assert_eq!(&b[..4], b"\x89PNG"),
        other => panic!("{other:?}"),
    }
    match change(Op::Settings, &body(json!({"groupId": "5511999999999-1623281429", "adminOnlyMessage": true}))).unwrap()
    {
        Net::Configure { settings, .. } => {
            assert_eq!(settings, SettingsChange { admin_only_message: Some(true), ..Default::default() })
        }
        other => panic!("{other:?}"),
    }
    let seed = json!({"phone": g, "adminOnlyMessage": true, "adminOnlySettings": true, "requireAdminApproval": false, "adminOnlyAddMember": true});
    assert!(matches!(change(Op::Settings, &body(seed)).unwrap(), Net::Configure { .. }));
    let created = create(&json!({"groupName": "Meu grupo Z-API", "phones": ["5511999999999","5511888888888"], "profileImage": "https://www.z-api.io/logo.svg"}).as_object().unwrap().clone()).unwrap();
    assert!(
        matches!(created, (Net::Create { picture: Some(Picture::Url(_)), ref participants, .. }, false) if participants.len() == 2),
        "autoInvite is off unless asked"
    );
    let asked = json!({"autoInvite": true, "groupName": "g", "phones": ["5511999999999"]});
    assert!(matches!(create(asked.as_object().unwrap()), Ok((_, true))));
    assert_eq!(group_or_community("120363019502650977").unwrap(), GroupRef::Community("120363019502650977".into()));
    assert_eq!(group_or_community(g).unwrap(), group(g));
}

#[test]
fn each_bad_field_is_named() {
    let g = "120363019502650977-group";
    let cases: &[(Op, Value, &str)] = &[
        (Op::Rename, json!({"groupId": g}), "groupName is required"),
        (Op::Rename, json!({"groupName": "x"}), "groupId is required"),
        (Op::Rename, json!({"groupId": "5511999999999", "groupName": "x"}), "groupId must be a group id"),
        (Op::Rename, json!({"groupId": g, "groupName": "x".repeat(101)}), "groupName is longer"),
        (Op::Description, json!({"groupId": g}), "groupDescription is required"),
        (Op::Members(MemberChange::Add), json!({"groupId": g}), "phones is required"),
        (Op::Members(MemberChange::Add), json!({"groupId": g, "phones": []}), "phones must have from 1"),
        (Op::Members(MemberChange::Remove), json!({"groupId": g, "phones": ["12ab"]}), "phones[0]"),
        (Op::Members(MemberChange::Remove), json!({"groupId": g, "phones": [g]}), "phones[0] must be a phone number"),
        (
            Op::Members(MemberChange::Promote),
            json!({"communityId": "abc", "phones": ["5511999999999"]}),
            "communityId must be a community id",
        ),
        (Op::Leave, json!({}), "groupId is required"),
        (Op::Photo, json!({"groupId": g}), "groupPhoto is required"),
        (Op::Photo, json!({"groupId": g, "groupPhoto": "ftp://x"}), "groupPhoto"),
        (Op::Settings, json!({"phone": g}), "one of adminOnlyMessage"),
        (Op::Settings, json!({"phone": g, "adminOnlyMessage": "yes"}), "adminOnlyMessage must be true or false"),
    ];
    for (op, b, want) in cases {
        match change(*op, &body(b.clone())) {
            Err(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{b}: {message}"),
            other => panic!("{b}: {other:?}"),
        }
    }
    let create_cases = [
        (json!({"phones": ["5511999999999"]}), "groupName is required"),
        (json!({"groupName": "g"}), "phones is required"),
        (json!({"groupName": "g", "phones": ["5511999999999"], "autoInvite": "maybe"}), "autoInvite"),
    ];
    for (b, want) in create_cases {
        match create(b.as_object().unwrap()) {
            Err(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{b}: {message}"),
            other => panic!("{b}: {other:?}"),
        }
    }
}

#[test]
fn paging_reads_page_and_page_size() {
    assert_eq!(paging(Some("page=2&pageSize=10")).unwrap(), (2, 10));
    assert_eq!(paging(None).unwrap(), (1, MAX_PAGE_SIZE));
    for bad in ["page=0", "pageSize=0", "pageSize=1001", "page=x"] {
        assert!(paging(Some(bad)).is_err(), "{bad}");
    }
}

/// Each route of `table` is in the family's OpenAPI part with each of its methods, and the
/// part documents nothing else.
fn documented_both_ways<Op>(table: &[Route<Op>], part: &str) {
    let doc: Value = serde_json::from_str(part).unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((path.clone(), method.to_uppercase()));
        }
    }
    let mut served: Vec<(String, String)> = Vec::new();
    for r in table {
        for m in r.methods.split(", ") {
            served.push((format!("/{}", r.path), m.to_owned()));
        }
    }
    documented.sort();
    served.sort();
    assert_eq!(served, documented);
}

#[test]
fn every_group_and_community_route_is_documented_and_nothing_else() {
    documented_both_ways(ROUTES, include_str!("../../../../openapi/zapi/groups.json"));
    documented_both_ways(super::super::communities::ROUTES, include_str!("../../../../openapi/zapi/communities.json"));
}
