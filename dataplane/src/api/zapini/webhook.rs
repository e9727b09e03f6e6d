//! Zapini's webhook settings (seed 002, `PUT /instances/{uuid}/webhook`, and a `GET` beside
//! it): `webhook_url` (required), `webhook_secret` (the text `X-Webhook-Signature` is keyed
//! with; absent keeps the one set before, `null` goes back to the instance's own secret),
//! `events` (Zapini's names or the seed's aliases; absent means all) and `is_active`. Parsed
//! into the settings patch that points every webhook kind at the URL and puts the instance's
//! webhooks in Zapini's shape, applied through `api::settings` like every dialect's settings;
//! the events themselves are rendered by `outbox::payload::zapini`.

use chatedge_config::settings::{SettingChange, SettingsPatch};
use chatedge_config::snapshot::{WebhookDialect, Webhooks};
use chatedge_config::zapini_webhook::{ZapiniEvent, ZapiniWebhook, MAX_SECRET_LEN};
use chatedge_config::{UrlPolicy, WebhookUrl};
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::{fields, render, Call, ZapiniError};
use crate::api::settings::{self, SettingsError};

/// `PUT /instances/{uuid}/webhook`: answers once this node serves the change.
pub async fn put(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let instance = call.instance(Some(call.id.as_deref().unwrap_or("")))?;
    let o = fields::object(&call.body)?;
    let setting =
        parse(&o, &instance.webhooks, call.app.url_policy).map_err(|e| ZapiniError::invalid(e.field, e.message))?;
    settings::change(call.app, &instance.id, &setting.patch).await.map_err(|e| match e {
        SettingsError::RefusedUrl(message) => ZapiniError::invalid("webhook_url", message),
        SettingsError::Control(e) => ZapiniError::ControlPlane(e.to_string()),
        e @ SettingsError::NotAppliedYet => ZapiniError::Unavailable(e.to_string()),
    })?;
    let data = describe(Some(&setting.url), Some(&setting.webhook), &setting.unsent);
    Ok(render::data(StatusCode::OK, Some("Webhook updated"), data))
}

/// `GET /instances/{uuid}/webhook`: what is set (never the secret).
pub async fn get(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let instance = call.instance(Some(call.id.as_deref().unwrap_or("")))?;
    let w = &instance.webhooks;
    let zapini = (w.dialect == WebhookDialect::Zapini).then_some(w.zapini.as_ref()).flatten();
    let url = zapini.and(w.get(chatedge_config::snapshot::WebhookKind::Received));
    Ok(render::data(StatusCode::OK, None, describe(url, zapini, &[])))
}

/// Longest URL taken.
const MAX_URL_LEN: usize = 2048;
/// Most names an `events` list may hold.
const MAX_EVENTS: usize = 32;

/// A field that is not what the route takes, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid { field, message: message.into() }
}

/// What the body asks for, read against the instance's current `webhooks`.
#[derive(Debug)]
pub struct WebhookSetting {
    pub patch: SettingsPatch,
    pub url: WebhookUrl,
    pub webhook: ZapiniWebhook,
    /// Names the body gave that chatedge knows but sends no event for.
    pub unsent: Vec<String>,
}

pub fn parse(o: &Map<String, Value>, current: &Webhooks, policy: UrlPolicy) -> Result<WebhookSetting, Invalid> {
    let raw = match o.get("webhook_url") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= MAX_URL_LEN => s.trim(),
        Some(Value::String(s)) if s.len() > MAX_URL_LEN => {
            return Err(invalid("webhook_url", format!("webhook_url is longer than {MAX_URL_LEN} characters")))
        }
        None | Some(Value::Null) => return Err(invalid("webhook_url", "webhook_url is required")),
        Some(Value::String(_)) => return Err(invalid("webhook_url", "webhook_url must not be empty")),
        Some(_) => return Err(invalid("webhook_url", "webhook_url must be a string")),
    };
    let url = WebhookUrl::parse(raw, policy)
        .map_err(|e| invalid("webhook_url", format!("{}: {e}", chatedge_config::redact(raw))))?;
    let kept = current.zapini.as_ref().and_then(|z| z.secret.clone());
    let secret = match o.get("webhook_secret") {
        None => kept,
        Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) if s.len() > MAX_SECRET_LEN => {
            return Err(invalid("webhook_secret", format!("webhook_secret is longer than {MAX_SECRET_LEN} bytes")))
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("webhook_secret", "webhook_secret must be a string")),
    };
    let (events, unsent) = events(o.get("events"))?;
    let active = match o.get("is_active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("is_active", "is_active must be true or false")),
    };
    let webhook = ZapiniWebhook { secret, events, active };
    let patch = SettingsPatch {
        changes: vec![
            SettingChange::EveryWebhook(Some(url.clone())),
            SettingChange::WebhookDialect(WebhookDialect::Zapini),
            SettingChange::ZapiniWebhook(Some(webhook.clone())),
        ],
    };
    Ok(WebhookSetting { patch, url, webhook, unsent })
}

/// The events named (each once, in the seed's order), and the known names no event answers.
fn events(v: Option<&Value>) -> Result<(Vec<ZapiniEvent>, Vec<String>), Invalid> {
    let names = match v {
        None | Some(Value::Null) => return Ok((ZapiniEvent::ALL.to_vec(), Vec::new())),
        Some(Value::Array(a)) if a.len() > MAX_EVENTS => {
            return Err(invalid("events", format!("events names at most {MAX_EVENTS} events")))
        }
        Some(Value::Array(a)) => a,
        Some(_) => return Err(invalid("events", "events must be an array of event names")),
    };
    let (mut chosen, mut unsent) = (Vec::new(), Vec::new());
    for name in names {
        let Some(name) = name.as_str() else {
            return Err(invalid("events", "events must be an array of event names"));
        };
        match ZapiniEvent::parse(name) {
            Some([]) => unsent.push(name.to_owned()),
            Some(events) => chosen.extend_from_slice(events),
            None => {
                let known: Vec<&str> = ZapiniEvent::ALL.iter().map(|e| e.name()).collect();
                return Err(invalid("events", format!("unknown event {name:?}; events are {}", known.join(", "))));
            }
        }
    }
    let chosen = ZapiniEvent::ALL.into_iter().filter(|e| chosen.contains(e)).collect();
    Ok((chosen, unsent))
}

/// The `data` of an answer about the webhook: what is set, never the secret; the names given
/// that chatedge sends no event for, when there are any.
pub fn describe(url: Option<&WebhookUrl>, webhook: Option<&ZapiniWebhook>, unsent: &[String]) -> Value {
    let events: Vec<&str> = webhook.map(|w| w.events.iter().map(|e| e.name()).collect()).unwrap_or_default();
    let mut v = json!({
        "webhook_url": url.map(|u| u.as_str()),
        "events": events,
        "is_active": webhook.is_some_and(|w| w.active) && url.is_some(),
        "has_secret": webhook.is_some_and(|w| w.secret.is_some()),
    });
    if !unsent.is_empty() {
        // Said when they are named, so a receiver does not wait for them.
        v["events_not_sent"] = json!(unsent);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn the_seeds_example_sets_its_url_secret_and_events() {
        let o =
            body(json!({"webhook_url": "https://your-server.com/webhook", "webhook_secret": "your_secret_key_here",
            "events": ["message.incoming", "message.status"], "is_active": true}));
        let s = parse(&o, &Webhooks::default(), UrlPolicy::default()).unwrap();
        assert_eq!(s.url.as_str(), "https://your-server.com/webhook");
        assert_eq!(s.webhook.events, [ZapiniEvent::MessageReceived, ZapiniEvent::MessageStatus]);
        assert_eq!((s.webhook.secret.as_deref(), s.webhook.active), (Some("your_secret_key_here"), true));
        let mut w = Webhooks::default();
        for c in &s.patch.changes {
            let mut i = chatedge_config::InstanceConfig::new_trial(
                chatedge_config::TenantId::random(),
                chatedge_config::TokenHash::of(b"t"),
                "x".into(),
                0,
                1,
            );
            i.webhooks = w.clone();
            SettingsPatch { changes: vec![c.clone()] }.apply(&mut i);
            w = i.webhooks;
        }
        assert_eq!((w.dialect, w.zapini.as_ref()), (WebhookDialect::Zapini, Some(&s.webhook)));
        assert!(chatedge_config::snapshot::WebhookKind::ALL.iter().all(|k| w.get(*k) == Some(&s.url)));
    }

    #[test]
    fn absent_fields_take_defaults_and_an_absent_secret_keeps_the_one_set_before() {
        let current = Webhooks {
            zapini: Some(ZapiniWebhook { secret: Some("old".into()), events: vec![], active: true }),
            ..Webhooks::default()
        };
        let s = parse(&body(json!({"webhook_url": "https://h.example/w"})), &current, UrlPolicy::default()).unwrap();
        assert_eq!((s.webhook.events.len(), s.webhook.active, s.webhook.secret.as_deref()), (7, true, Some("old")));
        let o = body(json!({"webhook_url": "https://h.example/w", "webhook_secret": null, "is_active": false,
            "events": ["connection.update", "contact.update", "message.deleted", "instance.connected"]}));
        let s = parse(&o, &current, UrlPolicy::default()).unwrap();
        assert_eq!(s.webhook.secret, None);
        assert!(!s.webhook.active);
        assert_eq!(s.webhook.events, [ZapiniEvent::InstanceConnected, ZapiniEvent::InstanceDisconnected]);
        assert_eq!(s.unsent, ["contact.update", "message.deleted"]);
    }

    #[test]
    fn each_bad_field_is_refused_naming_it() {
        let cases = [
            (json!({}), "webhook_url", "required"),
            (json!({"webhook_url": ""}), "webhook_url", "empty"),
            (json!({"webhook_url": 3}), "webhook_url", "string"),
            (json!({"webhook_url": "not a url"}), "webhook_url", "not an absolute URL"),
            (json!({"webhook_url": "https://h.example", "webhook_secret": 5}), "webhook_secret", "string"),
            (
                json!({"webhook_url": "https://h.example", "webhook_secret": "x".repeat(257)}),
                "webhook_secret",
                "longer",
            ),
            (json!({"webhook_url": "https://h.example", "events": "message.sent"}), "events", "array"),
            (json!({"webhook_url": "https://h.example", "events": [1]}), "events", "array"),
            (json!({"webhook_url": "https://h.example", "events": ["message.exploded"]}), "events", "message.exploded"),
            (json!({"webhook_url": "https://h.example", "is_active": "yes"}), "is_active", "true or false"),
        ];
        for (b, field, says) in cases {
            let e = parse(&body(b.clone()), &Webhooks::default(), UrlPolicy::default()).unwrap_err();
            assert_eq!(e.field, field, "{b}");
            assert!(e.message.contains(says), "{b}: {}", e.message);
        }
    }
}
