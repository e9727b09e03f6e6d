//! Request bodies of the Chat Inc dialect (seed 003), read field by field into typed
//! requests. Every refusal names the field at fault (`buttons[1].url`, `contacts[3].number`).
//! Run options are read from `options` (the seed's tables) or, as the seed's own curl examples
//! write some of them, from the top level. Pure functions over the body bytes.

use serde_json::{Map, Value};

use super::error::ChatIncError;
use crate::campaigns::definitions::{NewCampaign, RunRequest};
use crate::campaigns::import::contact_number;
use crate::campaigns::model::{
    valid_field, valid_id, Button, MAX_BUTTONS, MAX_BUTTON_TEXT_CHARS, MAX_DESCRIPTION_CHARS, MAX_FIELDS,
    MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_RUN_AUDIENCES, MAX_TITLE_CHARS, MAX_VALUE_CHARS,
};
use crate::campaigns::template;
use crate::queue::content::Template;

/// Contacts or values one JSON request may carry (larger lists: the CSV routes).
pub const MAX_ROWS_PER_REQUEST: usize = 10_000;
const MAX_URL_CHARS: usize = 2_048;
/// Latest `timeToRun` accepted (Unix seconds, year 2200).
const MAX_TIME_TO_RUN_S: u64 = 7_258_118_400;

type Result<T> = std::result::Result<T, ChatIncError>;

fn bad(field: impl Into<String>, message: impl Into<String>) -> ChatIncError {
    ChatIncError::invalid(field, message)
}

/// The body as a JSON object; an empty body is an empty object.
pub fn object(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(bad("body", "must be a JSON object")),
        Err(e) => Err(bad("body", format!("is not valid JSON: {e}"))),
    }
}

/// A text field: absent or null is `None`; otherwise a string of 1..=`max` characters (after
/// trimming).
fn text(o: &Map<String, Value>, field: &str, max: usize) -> Result<Option<String>> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            let n = s.chars().count();
            if n == 0 {
                return Err(bad(field, "must not be empty"));
            }
            if n > max {
                return Err(bad(field, format!("must be at most {max} characters")));
            }
            Ok(Some(s.to_owned()))
        }
        Some(_) => Err(bad(field, "must be a string")),
    }
}

fn required(o: &Map<String, Value>, field: &str, max: usize) -> Result<String> {
    text(o, field, max)?.ok_or_else(|| bad(field, "is required"))
}

fn id(o: &Map<String, Value>, field: &str, group: bool) -> Result<String> {
    let id = required(o, field, crate::campaigns::model::MAX_ID_CHARS)?;
    if !valid_id(&id, group) || (!group && id == crate::campaigns::model::ALL) {
        let why = match group {
            true => "must be 1 to 64 characters without control characters, '.', '{' or '}'",
            false => "must be 1 to 64 characters without control characters, and not 'all' (every contact)",
        };
        return Err(bad(field, why));
    }
    Ok(id)
}

/// An audience to create or add to (`POST /v1/create/audience`).
#[derive(Debug, Clone, PartialEq)]
pub struct AudienceRequest {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub phones: Vec<String>,
}

pub fn audience(body: &[u8]) -> Result<AudienceRequest> {
    let o = object(body)?;
    let id = id(&o, "id", false)?;
    let name = text(&o, "name", MAX_NAME_CHARS)?;
    let description = text(&o, "description", MAX_DESCRIPTION_CHARS)?;
    let list = match o.get("contacts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(bad("contacts", "must be an array of {\"number\": …} objects")),
    };
    if list.len() > MAX_ROWS_PER_REQUEST {
        return Err(bad("contacts", format!("at most {MAX_ROWS_PER_REQUEST} per request (upload a CSV for more)")));
    }
    let mut phones = Vec::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        let field = format!("contacts[{i}].number");
        let raw = match c {
            Value::Object(m) => m.get("number").or_else(|| m.get("phone")),
            Value::String(_) => Some(c),
            _ => None,
        };
        let raw = match raw {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(bad(field, "is required (a contact number with country and area code)")),
        };
        phones.push(contact_number(&raw).map_err(|e| bad(field, e))?);
    }
    Ok(AudienceRequest { id, name, description, phones })
}

/// `POST /v1/retrieve/audience/contacts`: `{id, after?, limit?}`.
pub fn page(body: &[u8], id_field: &str) -> Result<(String, Option<String>, usize)> {
    let o = object(body)?;
    let id = required(&o, id_field, crate::campaigns::model::MAX_ID_CHARS)?;
    let after = text(&o, "after", 64)?;
    let limit = match o.get("limit") {
        None | Some(Value::Null) => 1_000,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=10_000) => n as usize,
            _ => return Err(bad("limit", "must be a whole number from 1 to 10000")),
        },
    };
    Ok((id, after, limit))
}

/// A variable group with values (`POST /v1/create/variable/group`).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRequest {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub fields: Vec<String>,
    pub values: Vec<(String, Map<String, Value>)>,
}

pub fn group(body: &[u8]) -> Result<GroupRequest> {
    let o = object(body)?;
    let id = id(&o, "id", true)?;
    let name = text(&o, "name", MAX_NAME_CHARS)?;
    let description = text(&o, "description", MAX_DESCRIPTION_CHARS)?;
    let fields: Vec<String> = match o.get("fields") {
        Some(Value::Array(a)) => {
            let mut fields = Vec::new();
            for (i, f) in a.iter().enumerate() {
                match f.as_str() {
                    Some(f) if valid_field(f) => fields.push(f.to_owned()),
                    _ => return Err(bad(format!("fields[{i}]"), "must be a field name: letters, digits and _")),
                }
            }
            fields
        }
        None | Some(Value::Null) => return Err(bad("fields", "is required: the names of the group's variables")),
        Some(_) => return Err(bad("fields", "must be an array of field names")),
    };
    if fields.is_empty() || fields.len() > MAX_FIELDS {
        return Err(bad("fields", format!("must name 1 to {MAX_FIELDS} fields")));
    }
    let rows = match o.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(bad("values", "must be an array of {\"number\", field: value, …} objects")),
    };
    if rows.len() > MAX_ROWS_PER_REQUEST {
        return Err(bad("values", format!("at most {MAX_ROWS_PER_REQUEST} per request (upload a CSV for more)")));
    }
    let mut values = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let Value::Object(row) = row else { return Err(bad(format!("values[{i}]"), "must be an object")) };
        let number = match row.get("number") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(bad(format!("values[{i}].number"), "is required")),
        };
        let number = contact_number(&number).map_err(|e| bad(format!("values[{i}].number"), e))?;
        let mut kept = Map::new();
        for (k, v) in row.iter().filter(|(k, _)| k.as_str() != "number") {
            let field = format!("values[{i}].{k}");
            if !fields.contains(k) {
                return Err(bad(field, "is not one of the group's fields"));
            }
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(bad(field, "must be a string or a number")),
            };
            if v.chars().count() > MAX_VALUE_CHARS {
                return Err(bad(field, format!("must be at most {MAX_VALUE_CHARS} characters")));
            }
            kept.insert(k.clone(), Value::String(v));
        }
        values.push((number, kept));
    }
    Ok(GroupRequest { id, name, description, fields, values })
}

/// A run option: `options.<name>`, else `<name>` at the top level; with the name to blame.
fn option<'a>(o: &'a Map<String, Value>, name: &str) -> Option<(&'a Value, String)> {
    let nested = o.get("options").and_then(Value::as_object).and_then(|opts| opts.get(name));
    match nested.filter(|v| !v.is_null()) {
        Some(v) => Some((v, format!("options.{name}"))),
        None => o.get(name).filter(|v| !v.is_null()).map(|v| (v, name.to_owned())),
    }
}

fn audiences(v: &Value, field: &str) -> Result<Vec<String>> {
    let Value::Array(a) = v else { return Err(bad(field, "must be an array of audience ids (or [\"all\"])")) };
    if a.is_empty() || a.len() > MAX_RUN_AUDIENCES {
        return Err(bad(field, format!("must name 1 to {MAX_RUN_AUDIENCES} audiences")));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, x) in a.iter().enumerate() {
        match x.as_str() {
            Some(s) if valid_id(s, false) => {
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_owned())
                }
            }
            _ => return Err(bad(format!("{field}[{i}]"), "must be an audience id")),
        }
    }
    if out.iter().any(|a| a == crate::campaigns::model::ALL) {
        out = vec![crate::campaigns::model::ALL.to_owned()]; // every contact covers the rest
    }
    Ok(out)
}

/// `timeToRun`: Unix seconds; `None` when absent.
fn time_to_run(o: &Map<String, Value>) -> Result<Option<u64>> {
    let Some((v, field)) = option(o, "timeToRun") else { return Ok(None) };
    match v.as_u64() {
        Some(s @ 1..=MAX_TIME_TO_RUN_S) => Ok(Some(s * 1000)),
        _ => Err(bad(field, "must be a Unix timestamp in seconds")),
    }
}

/// `enUS` (the seed's default) or `en_US`, `pt_BR`, `es`.
fn language(v: &Value, field: &str) -> Result<String> {
    let s = v.as_str().ok_or_else(|| bad(field, "must be a language code like en_US or pt_BR"))?;
    let s = match (s.len(), s.contains('_')) {
        (4, false) if s[..2].chars().all(|c| c.is_ascii_lowercase()) => format!("{}_{}", &s[..2], &s[2..]),
        _ => s.to_owned(),
    };
    if !Template::valid_language(&s) {
        return Err(bad(field, "must be a language code like en_US or pt_BR"));
    }
    Ok(s)
}

fn url(v: &str, field: &str) -> Result<String> {
    let ok = v.chars().count() <= MAX_URL_CHARS
        && (v.starts_with("https://") || v.starts_with("http://"))
        && v.parse::<hyper::Uri>().is_ok_and(|u| u.host().is_some_and(|h| !h.is_empty()));
    match ok {
        true => Ok(v.to_owned()),
        false => Err(bad(field, format!("must be an http(s) URL of at most {MAX_URL_CHARS} characters"))),
    }
}

fn buttons(v: Option<&Value>) -> Result<Vec<Button>> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(bad("buttons", "must be an array of button objects")),
    };
    if list.len() > MAX_BUTTONS {
        return Err(bad("buttons", format!("at most {MAX_BUTTONS} buttons")));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, b) in list.iter().enumerate() {
        let f = |name: &str| format!("buttons[{i}].{name}");
        let Value::Object(b) = b else { return Err(bad(format!("buttons[{i}]"), "must be an object")) };
        let text = text(b, "text", MAX_BUTTON_TEXT_CHARS)
            .map_err(|_| bad(f("text"), format!("is required: 1 to {MAX_BUTTON_TEXT_CHARS} characters")))?;
        let text = text.ok_or_else(|| bad(f("text"), "is required"))?;
        let kind = b.get("type").and_then(Value::as_str).unwrap_or_default();
        let field_text = |name: &str, max: usize| -> Result<Option<String>> {
            match b.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => {
                    Ok(Some(s.trim().to_owned()))
                }
                Some(_) => Err(bad(f(name), format!("must be a string of 1 to {max} characters"))),
            }
        };
        let button = match kind {
            "input" => Button::Input { input: field_text("input", 256)?.unwrap_or_else(|| text.clone()), text },
            "journey" => {
                let journey_id = field_text("journeyId", 128)?
                    .ok_or_else(|| bad(f("journeyId"), "is required for a journey button"))?;
                Button::Journey { text, journey_id }
            }
            "phone" => {
                let raw = field_text("phoneNumber", 32)?
                    .ok_or_else(|| bad(f("phoneNumber"), "is required for a phone button"))?;
                let phone_number = contact_number(&raw).map_err(|e| bad(f("phoneNumber"), e))?;
                Button::Phone { text, phone_number }
            }
            "url" => {
                let raw =
                    field_text("url", MAX_URL_CHARS)?.ok_or_else(|| bad(f("url"), "is required for a url button"))?;
                Button::Url { text, url: url(&raw, &f("url"))? }
            }
            _ => return Err(bad(f("type"), "must be input, journey, phone or url")),
        };
        out.push(button);
    }
    let acts = out.iter().filter(|b| !b.answers_in_chat()).count();
    if acts > 0 && acts < out.len() {
        return Err(bad(
            "buttons",
            "phone and url buttons can only be combined with each other, not with input or journey buttons (seed 003)",
        ));
    }
    Ok(out)
}

/// `POST /v1/create/campaign`: the campaign, and its run when `runImmediately` or `timeToRun`
/// asks for one.
pub fn campaign(body: &[u8]) -> Result<(NewCampaign, Option<RunRequest>)> {
    let o = object(body)?;
    let title = required(&o, "title", MAX_TITLE_CHARS)?;
    let message = required(&o, "message", MAX_MESSAGE_CHARS)?;
    let variables = template::variables(&message)
        .map_err(|part| bad("message", format!("{part} is not a variable: write {{group.field}}")))?;
    let img_url = text(&o, "imgUrl", MAX_URL_CHARS)?.map(|u| url(&u, "imgUrl")).transpose()?;
    let buttons = buttons(o.get("buttons"))?;
    if img_url.is_some() && buttons.iter().any(|b| !b.answers_in_chat()) {
        return Err(bad(
            "imgUrl",
            "an image is sent with input or journey buttons, or without buttons; not with phone or url buttons",
        ));
    }
    let template_type = match option(&o, "whatsAppTemplateType").or_else(|| option(&o, "templateType")) {
        None => "MARKETING".to_owned(),
        Some((v, field)) => match v.as_str() {
            Some("MARKETING") => "MARKETING".to_owned(),
            _ => return Err(bad(field, "must be MARKETING (seed 003's only type)")),
        },
    };
    let language_code = match option(&o, "languageCode") {
        None => "en_US".to_owned(),
        Some((v, field)) => language(v, &field)?,
    };
    let template_name = match option(&o, "templateName") {
        None => None,
        Some((v, field)) => match v.as_str() {
            Some(n) if Template::valid_name(n) => Some(n.to_owned()),
            _ => return Err(bad(field, "must be an approved template's name: lowercase letters, digits and _")),
        },
    };
    let max_per_second = match option(&o, "maxPerSecond") {
        None => None,
        Some((v, field)) => match v.as_u64() {
            Some(n @ 1..=100_000) => Some(n as u32),
            _ => return Err(bad(field, "must be a whole number from 1 to 100000")),
        },
    };
    let run_now = match option(&o, "runImmediately") {
        None => false,
        Some((Value::Bool(b), _)) => *b,
        Some((_, field)) => return Err(bad(field, "must be true or false")),
    };
    let time_to_run_ms = time_to_run(&o)?;
    let run = match run_now || time_to_run_ms.is_some() {
        false => None,
        true => {
            let (v, field) = option(&o, "audiences").ok_or_else(|| {
                bad("options.audiences", "is required to run the campaign (use [\"all\"] for every contact)")
            })?;
            Some(RunRequest { audiences: audiences(v, &field)?, time_to_run_ms })
        }
    };
    let new = NewCampaign {
        title,
        message,
        img_url,
        buttons,
        variables,
        template_type,
        language_code,
        template_name,
        max_per_second,
    };
    Ok((new, run))
}

/// `POST /v1/run/campaign`: `{campaignId, audiences, timeToRun?}`.
pub fn run(body: &[u8]) -> Result<(String, RunRequest)> {
    let o = object(body)?;
    let id = required(&o, "campaignId", crate::campaigns::model::MAX_ID_CHARS)?;
    let (v, field) =
        option(&o, "audiences").ok_or_else(|| bad("audiences", "is required (use [\"all\"] for every contact)"))?;
    Ok((id, RunRequest { audiences: audiences(v, &field)?, time_to_run_ms: time_to_run(&o)? }))
}

/// `{campaignId}` (pause, resume, cancel).
/// `{"id"}` of an audience (`group` false) or a variable group to delete.
pub fn catalog_id(body: &[u8], group: bool) -> Result<String> {
    id(&object(body)?, "id", group)
}

pub fn campaign_id(body: &[u8]) -> Result<String> {
    required(&object(body)?, "campaignId", crate::campaigns::model::MAX_ID_CHARS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// `POST /v1/retrieve/campaign`: `{campaignId, format?, run?, after?, limit?}`.
#[derive(Debug, Clone, PartialEq)]
pub struct RowsRequest {
    pub id: String,
    pub format: Format,
    pub run: Option<u32>,
    pub after: Option<String>,
    /// Rows per page; none asks for the default page (JSON) or the whole run (CSV, streamed).
    pub limit: Option<usize>,
}

pub fn rows(body: &[u8]) -> Result<RowsRequest> {
    let o = object(body)?;
    let id = required(&o, "campaignId", crate::campaigns::model::MAX_ID_CHARS)?;
    let format = match text(&o, "format", 8)?.as_deref() {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(_) => return Err(bad("format", "must be json or csv")),
    };
    let run = match o.get("run") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=1_000) => Some(n as u32),
            _ => return Err(bad("run", "must be a run number (1 for the first run)")),
        },
    };
    let after = text(&o, "after", 64)?;
    let limit = match o.get("limit") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=crate::campaigns::export::MAX_PAGE as u64).contains(&n) => Some(n as usize),
            _ => return Err(bad("limit", format!("must be 1 to {}", crate::campaigns::export::MAX_PAGE))),
        },
    };
    Ok(RowsRequest { id, format, run, after, limit })
}

/// `active` from the query string (`?active=true`) or the body.
pub fn active(query: Option<&str>, body: &[u8]) -> Result<bool> {
    if let Some(v) = chatedge_serve::query_param(query, "active") {
        return match v.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(bad("active", "must be true or false")),
        };
    }
    match object(body)?.get("active") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad("active", "must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(e: ChatIncError) -> String {
        match e {
            ChatIncError::Campaign(crate::campaigns::CampaignError::Invalid { field, .. }) => field,
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn each_bad_campaign_field_is_named() {
        let ok = json!({"title": "t", "message": "Hi {users.first_name}"});
        let with = |k: &str, v: Value| {
            let mut b = ok.clone();
            b[k] = v;
            b
        };
        let long = "x".repeat(5_000);
        let cases: Vec<(Value, &str)> = vec![
            (json!({"message": "m"}), "title"),
            (with("title", json!("")), "title"),
            (with("title", json!(long.clone())), "title"),
            (with("message", json!(long)), "message"),
            (json!({"title": "t"}), "message"),
            (with("message", json!("Hi {users.first name}")), "message"),
            (with("imgUrl", json!("ftp://x")), "imgUrl"),
            (with("buttons", json!({})), "buttons"),
            (
                with(
                    "buttons",
                    json!([{"text": "a", "type": "input"}, {"text": "b", "type": "input"}, {"text": "c", "type": "input"}, {"text": "d", "type": "input"}]),
                ),
                "buttons",
            ),
            (with("buttons", json!([{"type": "input"}])), "buttons[0].text"),
            (
                with("buttons", json!([{"text": "this text is far too long for a button", "type": "input"}])),
                "buttons[0].text",
            ),
            (with("buttons", json!([{"text": "a", "type": "call"}])), "buttons[0].type"),
            (with("buttons", json!([{"text": "a", "type": "journey"}])), "buttons[0].journeyId"),
            (with("buttons", json!([{"text": "a", "type": "phone", "phoneNumber": "12"}])), "buttons[0].phoneNumber"),
            (with("buttons", json!([{"text": "a", "type": "url", "url": "nope"}])), "buttons[0].url"),
            (
                with(
                    "buttons",
                    json!([{"text": "a", "type": "url", "url": "https://x.io"}, {"text": "b", "type": "input"}]),
                ),
                "buttons",
            ),
            (
                with(
                    "buttons",
                    json!([{"text": "a", "type": "phone", "phoneNumber": "+1 234 567 8901"}, {"text": "b", "type": "journey", "journeyId": "j"}]),
                ),
                "buttons",
            ),
            (
                json!({"title": "t", "message": "m", "imgUrl": "https://x.io/a.jpg", "buttons": [{"text": "a", "type": "url", "url": "https://x.io"}]}),
                "imgUrl",
            ),
            (
                json!({"title": "t", "message": "m", "options": {"whatsAppTemplateType": "SPAM"}}),
                "options.whatsAppTemplateType",
            ),
            (json!({"title": "t", "message": "m", "options": {"languageCode": "english"}}), "options.languageCode"),
            (json!({"title": "t", "message": "m", "options": {"runImmediately": "yes"}}), "options.runImmediately"),
            (json!({"title": "t", "message": "m", "options": {"runImmediately": true}}), "options.audiences"),
            (
                json!({"title": "t", "message": "m", "options": {"runImmediately": true, "audiences": []}}),
                "options.audiences",
            ),
            (
                json!({"title": "t", "message": "m", "options": {"runImmediately": true, "audiences": [7]}}),
                "options.audiences[0]",
            ),
            (
                json!({"title": "t", "message": "m", "options": {"timeToRun": -5, "audiences": ["all"]}}),
                "options.timeToRun",
            ),
            (json!({"title": "t", "message": "m", "options": {"maxPerSecond": 0}}), "options.maxPerSecond"),
            (json!({"title": "t", "message": "m", "options": {"templateName": "Not Valid"}}), "options.templateName"),
        ];
        for (body, field) in cases {
            let e = campaign(body.to_string().as_bytes()).expect_err(&body.to_string());
            assert_eq!(field_of(e), field, "{body}");
        }
    }

    #[test]
    fn a_campaign_reads_the_seed_examples() {
        let body = json!({
            "title": "My Marketing Campaign",
            "templateType": "MARKETING",
            "message": "Hello, {users.first_name} {users.last_name}",
            "imgUrl": "https://example.com/a.jpg",
            "buttons": [{"text": "Start", "type": "journey", "journeyId": "myJourneyID"}, {"text": "Go", "type": "input"}],
            "options": {"runImmediately": true, "audiences": ["Frequent Shoppers", "all"], "languageCode": "enUS"}
        });
        let (c, run) = campaign(body.to_string().as_bytes()).unwrap();
        assert_eq!(c.variables.len(), 2);
        assert_eq!(c.language_code, "en_US");
        assert_eq!(c.buttons[1], Button::Input { text: "Go".into(), input: "Go".into() });
        assert_eq!(run, Some(RunRequest { audiences: vec!["all".into()], time_to_run_ms: None }));
        let later = json!({"title": "t", "message": "m", "options": {"timeToRun": 1_900_000_000, "audiences": ["a"]}});
        let (_, run) = campaign(later.to_string().as_bytes()).unwrap();
        assert_eq!(run.unwrap().time_to_run_ms, Some(1_900_000_000_000));
        let stored_only = json!({"title": "t", "message": "m", "options": {"runImmediately": false}});
        assert_eq!(campaign(stored_only.to_string().as_bytes()).unwrap().1, None);
    }

    #[test]
    fn each_bad_audience_and_group_field_is_named() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"name": "n"}), "id"),
            (json!({"id": "all"}), "id"),
            (json!({"id": "a", "contacts": {}}), "contacts"),
            (json!({"id": "a", "contacts": [{"number": "5511999990001"}, {"number": "12"}]}), "contacts[1].number"),
            (json!({"id": "a", "contacts": [{}]}), "contacts[0].number"),
        ];
        for (body, field) in cases {
            assert_eq!(field_of(audience(body.to_string().as_bytes()).unwrap_err()), field, "{body}");
        }
        let cases: Vec<(Value, &str)> = vec![
            (json!({"id": "users.x", "fields": ["a"]}), "id"),
            (json!({"id": "users"}), "fields"),
            (json!({"id": "users", "fields": ["first name"]}), "fields[0]"),
            (json!({"id": "users", "fields": []}), "fields"),
            (json!({"id": "users", "fields": ["a"], "values": [{"a": "x"}]}), "values[0].number"),
            (json!({"id": "users", "fields": ["a"], "values": [{"number": "5511999990001", "b": "x"}]}), "values[0].b"),
            (json!({"id": "users", "fields": ["a"], "values": [{"number": "5511999990001", "a": {}}]}), "values[0].a"),
        ];
        for (body, field) in cases {
            assert_eq!(field_of(group(body.to_string().as_bytes()).unwrap_err()), field, "{body}");
        }
    }

    #[test]
    fn contacts_are_normalised_to_digits() {
        let body = json!({"id": "a", "contacts": [{"number": "+55 (11) 99999-0001"}, "5511999990002"]});
        assert_eq!(audience(body.to_string().as_bytes()).unwrap().phones, vec!["5511999990001", "5511999990002"]);
    }
}
