use super::*;

/// What the parsed call must look like.
type Check<'a> = Box<dyn Fn(&Net) -> bool + 'a>;

const ID: &str = "999999999999999999@newsletter";

fn body(v: Value) -> Object {
    v.as_object().unwrap().clone()
}

fn params(p: &[&str]) -> Params {
    let rest: Vec<&str> =
        std::iter::once("newsletter").chain(std::iter::once("metadata")).chain(p.iter().copied()).collect();
    crate::api::zapi::routes::find(ROUTES, &rest).map(|(_, p)| p).unwrap_or_default()
}

#[test]
fn every_route_matches_its_own_example_path() {
    for r in ROUTES {
        let path = crate::api::zapi::routes::example_path(r.path, ID);
        let rest: Vec<&str> = path.split('/').collect();
        let (found, _) = crate::api::zapi::routes::find(ROUTES, &rest).unwrap();
        assert_eq!(found.label, r.label);
    }
}

#[test]
fn channel_requests_read_as_the_har_examples_write_them() {
    let p = params(&[ID]);
    let cases: Vec<(Op, Value, Check<'_>)> = vec![
        (
            Op::Create,
            json!({"name": "Meu canal Z-API", "description": "Canal oficial Z-API"}),
            Box::new(|c| matches!(c, Net::Create { name, description: Some(_) } if name == "Meu canal Z-API")),
        ),
        (Op::Delete, json!({"id": ID}), Box::new(|c| matches!(c, Net::Delete { .. }))),
        (Op::Mute, json!({"id": ID}), Box::new(|c| matches!(c, Net::Mute { muted: true, .. }))),
        (Op::Unmute, json!({"id": ID}), Box::new(|c| matches!(c, Net::Mute { muted: false, .. }))),
        (
            Op::RemoveAdmin,
            json!({"phone": "5511999998888"}),
            Box::new(|c| matches!(c, Net::RemoveAdmin { id, .. } if id.as_str() == ID)),
        ),
        (
            Op::TransferOwnership,
            json!({"phone": "5511999998888", "quitAdmin": false}),
            Box::new(|c| matches!(c, Net::TransferOwnership { quit_admin: false, .. })),
        ),
        (
            Op::Settings,
            json!({"reactionCodes": "basic"}),
            Box::new(|c| matches!(c, Net::SetReactions { reactions: Reactions::Basic, .. })),
        ),
        (
            Op::Search,
            json!({"limit": "50", "view": "TRENDING", "filters": { "countryCodes": ["BR", "CA"] }, "searchText": "Z-API" }),
            Box::new(
                |c| matches!(c, Net::Search { limit: 50, view: View::Trending, countries, text: Some(_) } if countries.len() == 2),
            ),
        ),
        (Op::Name, json!({"id": ID, "name": "Nome do canal"}), Box::new(|c| matches!(c, Net::SetName { .. }))),
        (
            Op::Picture,
            json!({"id": ID, "pictureUrl": "https://example.com/a.png"}),
            Box::new(|c| matches!(c, Net::SetPicture { .. })),
        ),
        (
            Op::Picture,
            json!({"id": ID, "pictureUrl": "iVBORw0KGgo="}),
            Box::new(
                |c| matches!(c, Net::SetPicture { picture, .. } if picture.starts_with("data:image/jpeg;base64,")),
            ),
        ),
    ];
    for (op, b, want) in cases {
        let got = parse(op, &body(b.clone()), &p).unwrap_or_else(|e| panic!("{b}: {e:?}"));
        assert!(want(&got), "{b}: {got:?}");
    }
}

#[test]
fn each_bad_channel_field_is_named() {
    let p = params(&["abc"]);
    let ok_p = params(&[ID]);
    let cases = [
        (Op::Create, json!({}), &ok_p, "name is required"),
        (Op::Create, json!({"name": "x".repeat(101)}), &ok_p, "name is longer"),
        (Op::Follow, json!({"id": "ID do Canal"}), &ok_p, "id must be a channel id"),
        (Op::Follow, json!({"id": "5511999999999"}), &ok_p, "id must be a channel id"),
        (Op::Delete, json!({}), &ok_p, "id is required"),
        (Op::RemoveAdmin, json!({"phone": "5511999998888"}), &p, "newsletterId must be a channel id"),
        (Op::RevokeAdminInvite, json!({}), &ok_p, "phone is required"),
        (Op::Settings, json!({"reactionCodes": "basic | all"}), &ok_p, "reactionCodes must be one of"),
        (Op::Search, json!({"filters": {}}), &ok_p, "limit is required"),
        (Op::Search, json!({"limit": 0}), &ok_p, "limit must be"),
        (Op::Search, json!({"limit": 5, "view": "HOT"}), &ok_p, "view must be one of"),
        (Op::Search, json!({"limit": 5, "filters": {"countryCodes": ["BRA"]}}), &ok_p, "filters.countryCodes[0]"),
        (Op::Description, json!({"id": ID}), &ok_p, "description is required"),
        (Op::Picture, json!({"id": ID, "pictureUrl": "Url ou Base64 da imagem"}), &ok_p, "pictureUrl must be"),
    ];
    for (op, b, params, want) in cases {
        match parse(op, &body(b.clone()), params) {
            Err(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{b}: {message}"),
            other => panic!("{b}: {other:?}"),
        }
    }
}

#[test]
fn a_channel_shows_as_z_api_lists_it() {
    let c = Channel {
        id: Phone::parse(ID).unwrap(),
        name: "Z-API".into(),
        description: "Official".into(),
        picture: None,
        created_ms: 1_695_643_504_000,
        invite_code: "0029Va5Xk71a".into(),
        followers: 123,
        role: Role::Subscriber,
        muted: true,
        reactions: Reactions::All,
        admins: vec![],
        pending_invites: vec![],
    };
    assert_eq!(
        metadata(&c),
        json!({"id": ID, "creationTime": "1695643504", "state": "ACTIVE", "name": "Z-API", "description": "Official",
            "subscribersCount": "123", "inviteLink": "https://www.whatsapp.com/channel/0029Va5Xk71a",
            "verification": "UNVERIFIED", "picture": null, "preview": null, "reactionCodes": "ALL",
            "viewMetadata": {"mute": "ON", "role": "SUBSCRIBER"}})
    );
    assert_eq!(
        found(&c),
        json!({"id": ID, "name": "Z-API", "description": "Official", "subscribersCount": "123", "picture": null})
    );
}
