//! Community routes (seed 001, lines 8420–9200, rows 107–114, and the HAR's
//! `update-community-photo`): create (with its announcement group), list, link and unlink
//! groups, metadata, settings, description, picture, deactivate. A community's members are
//! managed through the group routes with `communityId`. Link, unlink, settings and
//! deactivation answer `{"success": …}`, description and picture `{"value": …}` — `false`
//! with a `message` when the network refuses.

use chatedge_config::Phone;
use chatedge_serve::Resp;
use hyper::Method;
use serde_json::{json, Value};

use super::groups::{community_id, community_value, paging, picture, verdict};
use super::{ask, ok};
use crate::api::zapi::fields::{self, Object};
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::network::account::communities::{Call as Net, Community, Reply, WhoCanAddGroups};
use crate::network::account::AccountError;

#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// GET lists, POST creates.
    Communities,
    Link,
    Unlink,
    Settings,
    Deactivate,
    Metadata,
    Description,
    Photo,
}

pub static ROUTES: &[Route<Op>] = &[
    Route { path: "communities", methods: "GET, POST", label: "zapi.communities", op: Op::Communities },
    // Before `communities/{communityId}`, which would otherwise take these paths.
    Route { path: "communities/link", methods: "POST", label: "zapi.communities-link", op: Op::Link },
    Route { path: "communities/unlink", methods: "POST", label: "zapi.communities-unlink", op: Op::Unlink },
    Route { path: "communities/settings", methods: "POST", label: "zapi.communities-settings", op: Op::Settings },
    Route {
        path: "communities/{communityId}",
        methods: "DELETE",
        label: "zapi.communities-deactivate",
        op: Op::Deactivate,
    },
    Route {
        path: "communities-metadata/{communityId}",
        methods: "GET",
        label: "zapi.communities-metadata",
        op: Op::Metadata,
    },
    Route {
        path: "update-community-description",
        methods: "POST",
        label: "zapi.update-community-description",
        op: Op::Description,
    },
    Route { path: "update-community-photo", methods: "POST", label: "zapi.update-community-photo", op: Op::Photo },
];

/// Groups one link or unlink may name (a community links at most 50).
const MAX_GROUPS: usize = 50;
const MAX_NAME: usize = crate::network::account::groups::MAX_SUBJECT_CHARS;
const MAX_DESCRIPTION: usize = crate::network::account::groups::MAX_DESCRIPTION_CHARS;

pub async fn handle(call: &Call<'_>, method: &Method, op: Op, params: &Params) -> Result<Resp, ZapiError> {
    match op {
        Op::Communities if method == Method::GET => {
            let (page, page_size) = paging(call.query.as_deref())?;
            match ask(call, Net::List { page, page_size }).await? {
                Reply::List(list) => ok(&list.iter().map(|c| json!({"name": c.name, "id": c.id})).collect::<Vec<_>>()),
                _ => Err(unexpected()),
            }
        }
        Op::Communities => match ask(call, create(&fields::object(&call.body)?)?).await? {
            Reply::Community(c) => ok(&json!({"id": c.id, "subGroups": sub_groups(&c)})),
            _ => Err(unexpected()),
        },
        Op::Metadata => {
            let community = community_id(params.get(0), "communityId")?;
            match ask(call, Net::Metadata { community }).await? {
                Reply::Community(c) => ok(&metadata(&c)),
                _ => Err(unexpected()),
            }
        }
        Op::Link | Op::Unlink => {
            let o = fields::object(&call.body)?;
            let community = community(&o)?;
            let groups = groups(&o)?;
            let net = match op {
                Op::Link => Net::Link { community, groups },
                _ => Net::Unlink { community, groups },
            };
            linked(ask(call, net).await)
        }
        Op::Deactivate => {
            let community = community_id(params.get(0), "communityId")?;
            verdict("success", ask(call, Net::Deactivate { community }).await.map(|_| ()))
        }
        Op::Settings => {
            let o = fields::object(&call.body)?;
            let community = community(&o)?;
            let who = match fields::one_of(&o, "whoCanAddNewGroups", &["admins", "all"])? {
                Some("all") => WhoCanAddGroups::All,
                Some(_) => WhoCanAddGroups::Admins,
                None => return Err(ZapiError::invalid("Invalid field", "whoCanAddNewGroups is required")),
            };
            verdict("success", ask(call, Net::Configure { community, who_can_add_groups: who }).await.map(|_| ()))
        }
        Op::Description => {
            let o = fields::object(&call.body)?;
            let community = community(&o)?;
            let description = fields::text(&o, "communityDescription", MAX_DESCRIPTION, false)?
                .ok_or_else(|| ZapiError::invalid("Invalid field", "communityDescription is required"))?;
            verdict("value", ask(call, Net::Describe { community, description }).await.map(|_| ()))
        }
        Op::Photo => {
            let (o, media) = fields::object_with_media(&call.body, "communityPhoto")?;
            let community = community(&o)?;
            let picture = picture(media, "communityPhoto")?;
            verdict("value", ask(call, Net::SetPicture { community, picture }).await.map(|_| ()))
        }
    }
}

fn create(o: &Object) -> Result<Net, ZapiError> {
    let name = fields::text(o, "name", MAX_NAME, true)?
        .ok_or_else(|| ZapiError::invalid("Invalid field", "name is required"))?;
    let description = fields::text(o, "description", MAX_DESCRIPTION, false)?;
    Ok(Net::Create { name, description })
}

fn community(o: &Object) -> Result<String, ZapiError> {
    match o.get("communityId") {
        None | Some(Value::Null) => Err(ZapiError::invalid("Invalid field", "communityId is required")),
        Some(v) => community_value(v, "communityId"),
    }
}

/// `groupsPhones`: the group ids to link or unlink.
fn groups(o: &Object) -> Result<Vec<Phone>, ZapiError> {
    let list = fields::array(o, "groupsPhones", 1, MAX_GROUPS)?
        .ok_or_else(|| ZapiError::invalid("Invalid field", "groupsPhones is required"))?;
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        match v.as_str().map(|s| Phone::parse(s.trim())) {
            Some(Ok(p)) if p.is_group() => out.push(p),
            _ => {
                let m = format!("groupsPhones[{i}] must be a group id (120363019502650977-group)");
                return Err(ZapiError::invalid("Invalid field", m));
            }
        }
    }
    Ok(out)
}

/// `{"success": true}` when at least one group changed; the groups left as they were are
/// listed with the reason (seed 001: a group already in another community "will return in
/// the response").
fn linked(r: Result<Reply, ZapiError>) -> Result<Resp, ZapiError> {
    match r {
        Ok(Reply::Linked { changed, unchanged }) => {
            let mut v = json!({"success": changed > 0});
            if !unchanged.is_empty() {
                let list: Vec<Value> =
                    unchanged.iter().map(|u| json!({"phone": u.phone.as_str(), "reason": u.reason})).collect();
                v["unchanged"] = Value::Array(list);
            }
            ok(&v)
        }
        Ok(_) => Err(unexpected()),
        Err(e) => verdict("success", Err(e)),
    }
}

fn sub_groups(c: &Community) -> Vec<Value> {
    c.sub_groups
        .iter()
        .map(|g| json!({"name": g.name, "phone": g.phone.as_str(), "isGroupAnnouncement": g.announcement}))
        .collect()
}

fn metadata(c: &Community) -> Value {
    json!({"name": c.name, "id": c.id, "description": c.description, "subGroups": sub_groups(c)})
}

fn unexpected() -> ZapiError {
    ZapiError::Account(AccountError::Unavailable("unexpected reply".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn requests_read_as_the_seed_writes_them_and_bad_fields_are_named() {
        assert!(matches!(create(&obj(json!({"name": "Minha primeira Comunidade"}))), Ok(Net::Create { .. })));
        let link = obj(
            json!({"communityId": "98372465382764532938", "groupsPhones": ["1345353454354354-group", "1203634230225498-group"]}),
        );
        assert_eq!((community(&link).unwrap().as_str(), groups(&link).unwrap().len()), ("98372465382764532938", 2));
        assert_eq!(community(&obj(json!({"communityId": 120363019502650977u64}))).unwrap(), "120363019502650977");
        let cases = [
            (create(&obj(json!({}))).err(), "name is required"),
            (community(&obj(json!({}))).err(), "communityId is required"),
            (community(&obj(json!({"communityId": "ID da Comunidade"}))).err(), "communityId must be"),
            (groups(&obj(json!({}))).err(), "groupsPhones is required"),
            (groups(&obj(json!({"groupsPhones": ["5511999999999"]}))).err(), "groupsPhones[0]"),
            (groups(&obj(json!({"groupsPhones": []}))).err(), "groupsPhones must have"),
        ];
        for (got, want) in cases {
            match got {
                Some(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{message}"),
                other => panic!("{want}: {other:?}"),
            }
        }
    }
}
