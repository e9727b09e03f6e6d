//! Contacts routes (seed 001, lines 5643–6180): the address book (paged list, add, remove),
//! what the account knows of a number, whether numbers are on WhatsApp (one or a batch),
//! blocking and reporting. `contacts/add` and `contacts/remove` take a bare JSON array.
//! The contact photo (`GET profile-picture?phone=`) shares its path with the profile family,
//! which serves it.
//! Runs on the request's task; its only I/O is the account call to the instance's shard.

use chatedge_config::Phone;
use chatedge_serve::Resp;
use hyper::Method;
use serde_json::{json, Value};

use super::{ask, ok};
use crate::api::zapi::fields::{self, Object};
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::network::account::contacts::{Call as Net, ContactInfo, NewContact, Reply};
use crate::network::account::AccountError;

#[derive(Debug, Clone, Copy)]
pub enum Op {
    List,
    Add,
    Remove,
    ModifyBlocked,
    Report,
    Get,
    Exists,
    ExistsBatch,
}

pub static ROUTES: &[Route<Op>] = &[
    Route { path: "contacts", methods: "GET", label: "zapi.contacts", op: Op::List },
    Route { path: "contacts/add", methods: "POST", label: "zapi.contacts-add", op: Op::Add },
    Route { path: "contacts/remove", methods: "DELETE", label: "zapi.contacts-remove", op: Op::Remove },
    Route {
        path: "contacts/modify-blocked",
        methods: "POST",
        label: "zapi.contacts-modify-blocked",
        op: Op::ModifyBlocked,
    },
    Route { path: "contacts/{phone}/report", methods: "POST", label: "zapi.contacts-report", op: Op::Report },
    Route { path: "contacts/{phone}", methods: "GET", label: "zapi.contacts-metadata", op: Op::Get },
    Route { path: "phone-exists/{phone}", methods: "GET", label: "zapi.phone-exists", op: Op::Exists },
    Route { path: "phone-exists-batch", methods: "POST", label: "zapi.phone-exists-batch", op: Op::ExistsBatch },
];

/// Entries one page of a list may hold (and what a list without `pageSize` holds).
pub const MAX_PAGE_SIZE: usize = 10_000;
/// Contacts one add or remove request may name.
pub const MAX_BATCH: usize = 1000;
/// Numbers one phone-exists-batch may check (seed 001: 50,000).
pub const MAX_EXISTS_BATCH: usize = 50_000;
/// Longest first or last name kept.
const MAX_NAME_CHARS: usize = 256;

pub async fn handle(call: &Call<'_>, _method: &Method, op: Op, params: &Params) -> Result<Resp, ZapiError> {
    match op {
        Op::List => {
            let (page, page_size) = page(call.query.as_deref(), MAX_PAGE_SIZE)?;
            let Reply::Contacts(list) = ask(call, Net::List { page, page_size }).await? else {
                return Err(unexpected());
            };
            ok(&list.iter().map(listed).collect::<Vec<_>>())
        }
        Op::Add => {
            let Reply::Changed { errors } = ask(call, Net::Add(new_contacts(&call.body)?)).await? else {
                return Err(unexpected());
            };
            changed(errors)
        }
        Op::Remove => {
            let Reply::Changed { errors } = ask(call, Net::Remove(phones(&call.body)?)).await? else {
                return Err(unexpected());
            };
            changed(errors)
        }
        Op::ModifyBlocked => {
            let net = modify_blocked(&fields::object(&call.body)?)?;
            match ask(call, net).await {
                Ok(_) => ok(&json!({"value": true})),
                Err(ZapiError::Account(
                    AccountError::NotFound(_) | AccountError::Refused(_) | AccountError::Limit(_),
                )) => ok(&json!({"value": false})),
                Err(e) => Err(e),
            }
        }
        Op::Report => match ask(call, Net::Report(path_phone(params)?)).await {
            Ok(_) => ok(&json!({"success": true})),
            Err(ZapiError::Account(
                e @ (AccountError::NotFound(_) | AccountError::Refused(_) | AccountError::Limit(_)),
            )) => ok(&json!({"success": false, "error": e.to_string()})),
            Err(e) => Err(e),
        },
        Op::Get => {
            let Reply::Contact(c) = ask(call, Net::Get(path_phone(params)?)).await? else {
                return Err(unexpected());
            };
            ok(
                &json!({"name": c.name, "phone": phone_of(&c), "notify": c.notify, "short": c.short, "imgUrl": c.img_url,
                    "about": c.about}),
            )
        }
        Op::Exists => {
            let Reply::Exists(list) = ask(call, Net::Exists(vec![path_phone(params)?])).await? else {
                return Err(unexpected());
            };
            // `phone` and `lid`: Z-API's documentation since 2025-12 (seed 001 shows `exists`).
            ok(&list.iter().map(|e| json!({"exists": e.exists, "phone": e.phone.as_str(), "lid": e.lid})).collect::<Vec<_>>())
        }
        Op::ExistsBatch => {
            let (inputs, phones) = exists_batch(&fields::object(&call.body)?)?;
            let Reply::Exists(list) = ask(call, Net::Exists(phones)).await? else {
                return Err(unexpected());
            };
            let answers: Vec<Value> = inputs
                .iter()
                .zip(&list)
                .map(|(input, e)| {
                    json!({"exists": e.exists, "inputPhone": input, "outputPhone": e.phone.as_str(), "lid": e.lid})
                })
                .collect();
            ok(&answers)
        }
    }
}

/// `page` (from 1) and `pageSize` query parameters; absent, the first page holds everything
/// (up to `max`).
pub fn page(q: Option<&str>, max: usize) -> Result<(usize, usize), ZapiError> {
    let read = |name: &str, range: std::ops::RangeInclusive<usize>| -> Result<Option<usize>, ZapiError> {
        let Some(raw) = fields::query(q, name) else { return Ok(None) };
        let bad = || {
            ZapiError::invalid(
                "Invalid field",
                format!("{name} must be a whole number from {} to {}", range.start(), range.end()),
            )
        };
        let n = raw.trim().parse::<usize>().map_err(|_| bad())?;
        range.contains(&n).then_some(Some(n)).ok_or_else(bad)
    };
    let page = read("page", 1..=usize::MAX / max.max(1))?.unwrap_or(1);
    let page_size = read("pageSize", 1..=max)?.unwrap_or(max);
    Ok((page, page_size))
}

fn listed(c: &ContactInfo) -> Value {
    json!({"name": c.name, "short": c.short, "notify": c.notify, "vname": c.name, "phone": phone_of(c)})
}

fn phone_of(c: &ContactInfo) -> Option<&str> {
    c.phone.as_ref().map(Phone::as_str)
}

/// `{"success": …, "errors": [{"phone", "error"}]}`: success when every number was applied.
fn changed(errors: Vec<(Phone, String)>) -> Result<Resp, ZapiError> {
    let list: Vec<Value> = errors.iter().map(|(p, e)| json!({"phone": p.as_str(), "error": e})).collect();
    ok(&json!({"success": list.is_empty(), "errors": list}))
}

/// The path's `{phone}`, read like a body's phone.
pub fn path_phone(params: &Params) -> Result<Phone, ZapiError> {
    fields::phone_value(&Value::String(params.get(0).to_owned()), "phone")
}

/// A bare JSON array of 1 to `max` items.
fn array(body: &bytes::Bytes, max: usize) -> Result<Vec<Value>, ZapiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ZapiError::BadJson("the body is empty; send a JSON array".into()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(a)) if (1..=max).contains(&a.len()) => Ok(a),
        Ok(Value::Array(_)) => {
            Err(ZapiError::invalid("Invalid field", format!("the body must have from 1 to {max} items")))
        }
        Ok(_) => Err(ZapiError::BadJson("the body must be a JSON array".into())),
        Err(e) => Err(ZapiError::BadJson(format!("the body is not valid JSON: {e}"))),
    }
}

/// `[{"firstName", "lastName", "phone"}]`.
fn new_contacts(body: &bytes::Bytes) -> Result<Vec<NewContact>, ZapiError> {
    let items = array(body, MAX_BATCH)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let name = format!("[{i}]");
        let o: &Object = fields::nested(Some(item), &name, true)?.ok_or_else(|| missing(&name))?;
        let first_name = fields::within(&name, fields::text(o, "firstName", MAX_NAME_CHARS, true))?
            .ok_or_else(|| missing(&format!("{name}.firstName")))?;
        let last_name = fields::within(&name, fields::text(o, "lastName", MAX_NAME_CHARS, false))?;
        let phone = fields::within(&name, fields::phone(o, "phone"))?;
        out.push(NewContact { phone, first_name, last_name });
    }
    Ok(out)
}

/// `["554499999999", …]`.
fn phones(body: &bytes::Bytes) -> Result<Vec<Phone>, ZapiError> {
    let items = array(body, MAX_BATCH)?;
    items.iter().enumerate().map(|(i, v)| fields::phone_value(v, &format!("[{i}]"))).collect()
}

fn modify_blocked(o: &Object) -> Result<Net, ZapiError> {
    let phone = fields::phone(o, "phone")?;
    let action = fields::one_of(o, "action", &["block", "unblock"])?.ok_or_else(|| missing("action"))?;
    Ok(Net::SetBlocked { phone, blocked: action == "block" })
}

/// `{"phones": [...]}`: the numbers as sent and as read.
fn exists_batch(o: &Object) -> Result<(Vec<String>, Vec<Phone>), ZapiError> {
    let list = fields::array(o, "phones", 1, MAX_EXISTS_BATCH)?.ok_or_else(|| missing("phones"))?;
    let mut inputs = Vec::with_capacity(list.len());
    let mut phones = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        phones.push(fields::phone_value(v, &format!("phones[{i}]"))?);
        inputs.push(match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    Ok((inputs, phones))
}

fn missing(field: &str) -> ZapiError {
    ZapiError::invalid("Invalid field", format!("{field} is required"))
}

fn unexpected() -> ZapiError {
    ZapiError::Account(AccountError::Unavailable("unexpected reply".into()))
}

#[cfg(test)]
type PathMethod = (String, String);

/// The (path, METHOD) pairs of an OpenAPI part and of a route table, for the check that each
/// family documents exactly what it serves.
#[cfg(test)]
pub(super) fn documented_and_served<Op>(part: &str, routes: &[Route<Op>]) -> (Vec<PathMethod>, Vec<PathMethod>) {
    let part: Value = serde_json::from_str(part).expect("the part is JSON");
    let mut documented: Vec<PathMethod> = part["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(p, ops)| ops.as_object().expect("operations").keys().map(move |m| (p.clone(), m.to_uppercase())))
        .collect();
    let mut served: Vec<PathMethod> = routes
        .iter()
        .flat_map(|r| r.methods.split(", ").map(move |m| (format!("/{}", r.path), m.to_owned())))
        .collect();
    documented.sort();
    served.sort();
    (documented, served)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<impl std::fmt::Debug, ZapiError>) -> String {
        match r {
            Err(ZapiError::Invalid { message, .. }) => message,
            Err(ZapiError::BadJson(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn add_reads_the_seed_example() {
        let body = bytes::Bytes::from_static(
            br#"[{"firstName": "Contato 1", "lastName": "Sobrenome 1", "phone": "554499999999"}, {"firstName": "Contato 2", "phone": 554499998888}]"#,
        );
        let list = new_contacts(&body).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].last_name.as_deref(), Some("Sobrenome 1"));
        assert_eq!((list[1].phone.as_str(), list[1].last_name.as_deref()), ("554499998888", None));
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: &[(&[u8], &str)] = &[
            (br#"[{"phone": "554499999999"}]"#, "[0].firstName is required"),
            (br#"[{"firstName": "A", "phone": "55ab"}]"#, "[0].phone"),
            (br#"[{"firstName": "A", "phone": "554499999999"}, 5]"#, "[1] must be an object"),
            (br#"{"firstName": "A"}"#, "JSON array"),
            (br#"[]"#, "from 1 to"),
        ];
        for (body, want) in cases {
            let got = message(new_contacts(&bytes::Bytes::from_static(body)));
            assert!(got.contains(want), "{}: {got}", String::from_utf8_lossy(body));
        }
        let got = message(phones(&bytes::Bytes::from_static(br#"["554499999999", "x"]"#)));
        assert!(got.starts_with("[1]"), "{got}");
        let o = |v: Value| v.as_object().unwrap().clone();
        assert!(message(modify_blocked(&o(json!({"phone": "5544999999999", "action": "block / unblock"}))))
            .contains("action must be one of"));
        assert!(message(modify_blocked(&o(json!({"action": "block"})))).contains("phone is required"));
        assert!(message(exists_batch(&o(json!({"phones": ["1x"]})))).starts_with("phones[0]"));
        assert!(message(exists_batch(&o(json!({})))).contains("phones is required"));
    }

    #[test]
    fn blocking_and_batches_read_as_the_seed_describes() {
        let o = |v: Value| v.as_object().unwrap().clone();
        let net = modify_blocked(&o(json!({"phone": "5544999999999", "action": "unblock"}))).unwrap();
        assert!(matches!(net, Net::SetBlocked { blocked: false, .. }));
        let (inputs, phones) = exists_batch(&o(json!({"phones": ["+55 44 9999-9999", 554488888888u64]}))).unwrap();
        assert_eq!(inputs, ["+55 44 9999-9999", "554488888888"]);
        assert_eq!(phones[0].as_str(), "554499999999");
    }

    #[test]
    fn pages_are_bounded_and_default_to_everything() {
        assert_eq!(page(None, 100).unwrap(), (1, 100));
        assert_eq!(page(Some("page=2&pageSize=20"), 100).unwrap(), (2, 20));
        for bad in ["page=0", "pageSize=0", "pageSize=101", "page=x", "pageSize=-1"] {
            let got = message(page(Some(bad), 100));
            assert!(got.starts_with(bad.split('=').next().unwrap()), "{bad}: {got}");
        }
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let (documented, served) = super::super::contacts::documented_and_served(
            include_str!("../../../../openapi/zapi/contacts.json"),
            ROUTES,
        );
        assert_eq!(documented, served);
    }
}
