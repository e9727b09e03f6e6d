//! Contacts (seed 002), as far as they map onto the address book the Z-API contacts routes
//! use (`Command::Account` with a `contacts::Call`): `GET /contacts` (searched and paged
//! here), `POST /contacts`, `GET`, `PUT` and `DELETE /contacts/{phone}`, `POST
//! /contacts/import`, `GET /contacts/export?format=json|csv` (the instance's address book, or
//! with the account's token and no `instance_id` every instance's, each row naming its
//! instance). A contact is its number and name; the seed's `email`, `company` and
//! `notes` have no place in the address book, so they are refused with 422 naming the field
//! rather than silently dropped. The instance is the key's, or `instance_id` (query or body).

use chatedge_config::Phone;
use chatedge_serve::Resp;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::{ask, fields, render, unexpected, Call, ZapiniError};
use crate::network::account::contacts::{Call as Net, ContactInfo, NewContact, Reply};
use crate::network::account::AccountError;

/// Longest name kept.
const MAX_NAME_CHARS: usize = 256;
/// Most contacts one import may carry.
const MAX_IMPORT: usize = 1000;
/// Largest page (the seed: "max 100").
const MAX_PER_PAGE: usize = 100;
/// Most address-book entries searched.
const MAX_BOOK: usize = 10_000;
/// Most rows one export answers (past it, the caller narrows it with `instance_id`).
const MAX_EXPORT: usize = 100_000;
/// The seed's fields the address book cannot keep.
const NOT_KEPT: [&str; 3] = ["email", "company", "notes"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET` lists, `POST` adds.
    Contacts,
    /// `GET`, `PUT`, `DELETE /contacts/{id}`.
    Contact,
    Import,
    Export,
}

pub async fn handle(call: &Call<'_>, op: Op) -> Result<Resp, ZapiniError> {
    let method = call.parts.method.clone();
    let o = fields::object(&call.body)?;
    let given = fields::string(&o, "instance_id", 64)?.or_else(|| call.query("instance_id"));
    if op == Op::Export {
        return export(call, given.as_deref()).await;
    }
    let instance = call.instance(given.as_deref())?;
    match (op, method) {
        (Op::Contacts, Method::GET) => {
            let book = match ask(call, &instance, Net::List { page: 1, page_size: MAX_BOOK }).await? {
                Reply::Contacts(c) => c,
                _ => return Err(unexpected()),
            };
            let search = call.query("search").map(|s| s.to_lowercase());
            let found: Vec<&ContactInfo> =
                book.iter().filter(|c| search.as_deref().is_none_or(|s| matches(c, s))).collect();
            let per_page = number(call, "per_page", 15, MAX_PER_PAGE)?;
            let page = number(call, "page", 1, usize::MAX / MAX_PER_PAGE)?;
            let total = found.len();
            let data: Vec<Value> =
                found.iter().skip((page - 1) * per_page).take(per_page).map(|c| contact(c)).collect();
            let body = json!({
                "success": true,
                "data": data,
                "meta": {"pagination": {"total": total, "per_page": per_page, "current_page": page,
                                        "last_page": total.div_ceil(per_page).max(1)}},
            });
            Ok(chatedge_serve::json(StatusCode::OK, &body))
        }
        (Op::Contacts, _) => {
            let new = new_contact(&o, "phone_number")?;
            let phone = new.phone.clone();
            changed(ask(call, &instance, Net::Add(vec![new])).await?)?;
            let saved = get(call, &instance, phone).await?;
            Ok(render::data(StatusCode::CREATED, Some("Contact created"), contact(&saved)))
        }
        (Op::Contact, Method::GET) => {
            Ok(render::data(StatusCode::OK, None, contact(&get(call, &instance, path_phone(call)?).await?)))
        }
        (Op::Contact, Method::PUT) => {
            let phone = path_phone(call)?;
            kept_only(&o)?;
            let name = fields::string(&o, "name", MAX_NAME_CHARS)?.ok_or_else(|| fields::required("name"))?;
            changed(
                ask(
                    call,
                    &instance,
                    Net::Add(vec![NewContact { phone: phone.clone(), first_name: name, last_name: None }]),
                )
                .await?,
            )?;
            Ok(render::data(StatusCode::OK, Some("Contact updated"), contact(&get(call, &instance, phone).await?)))
        }
        (Op::Contact, _) => {
            let phone = path_phone(call)?;
            changed(ask(call, &instance, Net::Remove(vec![phone.clone()])).await?)?;
            Ok(render::data(StatusCode::OK, Some("Contact deleted"), json!({"phone_number": phone.as_str()})))
        }
        (Op::Export, _) => Err(ZapiniError::MethodNotAllowed { allowed: "GET" }),
        (Op::Import, _) => {
            let list = match o.get("contacts") {
                Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_IMPORT => a,
                None | Some(Value::Null) => return Err(fields::required("contacts")),
                _ => {
                    return Err(ZapiniError::invalid(
                        "contacts",
                        format!("the contacts field must be an array of 1 to {MAX_IMPORT} contacts"),
                    ))
                }
            };
            let mut new = Vec::with_capacity(list.len());
            for c in list {
                let Value::Object(c) = c else {
                    return Err(ZapiniError::invalid(
                        "contacts",
                        "each contact must be an object {phone_number, name}",
                    ));
                };
                new.push(new_contact(c, "phone_number")?);
            }
            let asked = new.len();
            let errors = match ask(call, &instance, Net::Add(new)).await? {
                Reply::Changed { errors } => errors,
                _ => return Err(unexpected()),
            };
            let errors: Vec<Value> =
                errors.iter().map(|(p, why)| json!({"phone_number": p.as_str(), "error": why})).collect();
            Ok(render::data(
                StatusCode::OK,
                Some("Contacts imported successfully"),
                json!({"imported": asked - errors.len(), "skipped": errors.len(), "errors": errors}),
            ))
        }
    }
}

/// `GET /contacts/export`: JSON (`{success, data: [contact + instance_id]}`) or CSV with the
/// same columns.
async fn export(call: &Call<'_>, given: Option<&str>) -> Result<Resp, ZapiniError> {
    let csv = match call.query("format").as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ZapiniError::invalid("format", "the format parameter must be json or csv")),
    };
    let instances = match (given, &call.credential) {
        (None, super::Credential::Account(_)) => call.instances(),
        _ => vec![call.instance(given)?],
    };
    let mut rows = Vec::new();
    for instance in &instances {
        let book = match ask(call, instance, Net::List { page: 1, page_size: MAX_BOOK }).await? {
            Reply::Contacts(c) => c,
            _ => return Err(unexpected()),
        };
        if rows.len() + book.len() > MAX_EXPORT {
            return Err(ZapiniError::invalid(
                "instance_id",
                format!("the account has more than {MAX_EXPORT} contacts: export one instance at a time (instance_id)"),
            ));
        }
        let uuid = chatedge_config::snapshot::instance_uuid(&instance.id);
        rows.extend(book.into_iter().map(|c| (uuid.clone(), c)));
    }
    if !csv {
        let data: Vec<Value> = rows
            .iter()
            .map(|(uuid, c)| {
                let mut v = contact(c);
                v["instance_id"] = json!(uuid);
                v
            })
            .collect();
        return Ok(render::data(StatusCode::OK, None, Value::Array(data)));
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = ["instance_id", "phone_number", "name", "display_name", "profile_picture_url"];
    let written = out.write_record(header).and_then(|()| {
        rows.iter().try_for_each(|(uuid, c)| {
            let display = c.short.as_ref().or(c.notify.as_ref());
            out.write_record([
                uuid.as_str(),
                c.phone.as_ref().map_or("", |p| p.as_str()),
                c.name.as_deref().unwrap_or(""),
                display.map_or("", |s| s.as_str()),
                c.img_url.as_deref().unwrap_or(""),
            ])
        })
    });
    let bytes = written
        .map_err(|e| e.to_string())
        .and_then(|()| out.into_inner().map_err(|e| e.to_string()))
        .map_err(|e| ZapiniError::Unavailable(format!("cannot write the CSV: {e}")))?;
    let mut res = chatedge_serve::bytes(StatusCode::OK, "text/csv; charset=utf-8", bytes);
    res.headers_mut().insert(
        hyper::header::CONTENT_DISPOSITION,
        hyper::header::HeaderValue::from_static("attachment; filename=\"contacts.csv\""),
    );
    Ok(res)
}

fn matches(c: &ContactInfo, search: &str) -> bool {
    let has = |v: &Option<String>| v.as_deref().is_some_and(|s| s.to_lowercase().contains(search));
    has(&c.name) || has(&c.short) || has(&c.notify) || c.phone.as_ref().is_some_and(|p| p.as_str().contains(search))
}

/// A contact as the seed writes it.
fn contact(c: &ContactInfo) -> Value {
    json!({
        "phone_number": c.phone.as_ref().map(|p| p.as_str()),
        "name": c.name,
        "display_name": c.short.clone().or_else(|| c.notify.clone()),
        "profile_picture_url": c.img_url,
    })
}

async fn get(
    call: &Call<'_>,
    instance: &chatedge_config::InstanceConfig,
    phone: Phone,
) -> Result<ContactInfo, ZapiniError> {
    match ask(call, instance, Net::Get(phone)).await? {
        Reply::Contact(c) => Ok(c),
        _ => Err(unexpected()),
    }
}

/// A batch change's answer: an error for the one number it named.
fn changed(reply: Reply) -> Result<(), ZapiniError> {
    match reply {
        Reply::Changed { errors } => match errors.into_iter().next() {
            None => Ok(()),
            Some((p, why)) => {
                Err(ZapiniError::Account(AccountError::NotFound(format!("contact {}: {why}", p.as_str()))))
            }
        },
        Reply::Done => Ok(()),
        _ => Err(unexpected()),
    }
}

/// Refuses the seed's fields the address book cannot keep.
fn kept_only(o: &fields::Object) -> Result<(), ZapiniError> {
    for field in NOT_KEPT {
        if o.get(field).is_some_and(|v| !v.is_null()) {
            return Err(ZapiniError::invalid(
                field,
                format!(
                    "the {field} field is not kept: chatedge's address book holds a contact's number and name only"
                ),
            ));
        }
    }
    Ok(())
}

fn new_contact(o: &fields::Object, field: &'static str) -> Result<NewContact, ZapiniError> {
    kept_only(o)?;
    let raw = fields::string(o, field, 64)?.ok_or_else(|| fields::required(field))?;
    let phone = fields::phone(field, &raw)?;
    if phone.is_group() {
        return Err(ZapiniError::invalid(field, format!("the {field} field must be a number, not a group")));
    }
    let name = fields::string(o, "name", MAX_NAME_CHARS)?.unwrap_or_else(|| phone.as_str().to_owned());
    Ok(NewContact { phone, first_name: name, last_name: None })
}

/// The `{id}` of `/contacts/{id}`: the contact's number.
fn path_phone(call: &Call<'_>) -> Result<Phone, ZapiniError> {
    let raw = call.id.as_deref().unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    fields::phone("id", &decoded)
}

fn number(call: &Call<'_>, name: &'static str, default: usize, max: usize) -> Result<usize, ZapiniError> {
    match call.query(name) {
        None => Ok(default),
        Some(v) => v.trim().parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            ZapiniError::invalid(name, format!("the {name} field must be a whole number from 1 to {max}"))
        }),
    }
}
