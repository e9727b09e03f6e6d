//! openapi: the OpenAPI 3.1 document of the Z-API dialect, served at `GET /openapi.json`. It is
//! assembled from checked-in parts (`dataplane/openapi/`): `base.json` (info, shared
//! components) and one file per route family under `zapi/`, whose paths are written after the
//! token (`/privacy/last-seen`) and placed under `/instances/{instanceId}/token/{instanceToken}`
//! here. The route tables are checked against it (tests), so the document cannot drift from
//! what the router serves. Built once, on first request.

use std::sync::OnceLock;

use bytes::Bytes;
use serde_json::{Map, Value};

const BASE: &str = include_str!("../../openapi/base.json");

/// Each family's part, by name.
const FAMILIES: &[(&str, &str)] = &[
    ("instance", include_str!("../../openapi/zapi/instance.json")),
    ("messages", include_str!("../../openapi/zapi/messages.json")),
    ("queue", include_str!("../../openapi/zapi/queue.json")),
    ("settings", include_str!("../../openapi/zapi/settings.json")),
    ("integrator", include_str!("../../openapi/zapi/integrator.json")),
    ("business", include_str!("../../openapi/zapi/business.json")),
    ("calls", include_str!("../../openapi/zapi/calls.json")),
    ("channels", include_str!("../../openapi/zapi/channels.json")),
    ("chats", include_str!("../../openapi/zapi/chats.json")),
    ("communities", include_str!("../../openapi/zapi/communities.json")),
    ("contacts", include_str!("../../openapi/zapi/contacts.json")),
    ("groups", include_str!("../../openapi/zapi/groups.json")),
    ("labels", include_str!("../../openapi/zapi/labels.json")),
    ("privacy", include_str!("../../openapi/zapi/privacy.json")),
    ("profile", include_str!("../../openapi/zapi/profile.json")),
    ("registration", include_str!("../../openapi/zapi/registration.json")),
    ("status", include_str!("../../openapi/zapi/status.json")),
    ("webhook-secret", include_str!("../../openapi/zapi/webhook-secret.json")),
    ("webhooks", include_str!("../../openapi/zapi/webhooks.json")),
    ("templates", include_str!("../../openapi/zapi/templates.json")),
];

/// Where instance routes live.
pub const INSTANCE_PREFIX: &str = "/instances/{instanceId}/token/{instanceToken}";

/// The document as served.
pub fn body() -> Bytes {
    static DOC: OnceLock<Bytes> = OnceLock::new();
    DOC.get_or_init(|| match document() {
        Ok(doc) => Bytes::from(serde_json::to_vec_pretty(&doc).unwrap_or_default()),
        // The parts are checked in and tested; a broken part is a build defect, said plainly.
        Err(e) => Bytes::from(serde_json::json!({"error": "openapi document broken", "message": e}).to_string()),
    })
    .clone()
}

/// Assembles the document, refusing a part that is not JSON or that defines a path or a
/// component another part already defines.
pub fn document() -> Result<Value, String> {
    let mut doc: Value = serde_json::from_str(BASE).map_err(|e| format!("base.json: {e}"))?;
    for (name, text) in FAMILIES {
        let part: Value = serde_json::from_str(text).map_err(|e| format!("zapi/{name}.json: {e}"))?;
        merge_part(&mut doc, name, part)?;
    }
    Ok(doc)
}

fn merge_part(doc: &mut Value, name: &str, part: Value) -> Result<(), String> {
    let Value::Object(mut part) = part else { return Err(format!("zapi/{name}.json is not an object")) };
    let instance_params = serde_json::json!([
        {"$ref": "#/components/parameters/instanceId"},
        {"$ref": "#/components/parameters/instanceToken"}
    ]);
    if let Some(Value::Object(paths)) = part.remove("paths") {
        let target = section(doc, &["paths"])?;
        for (path, mut item) in paths {
            // Paths starting at the root (`/instances`, the integrator routes) stay there.
            let full = match path.starts_with("/instances") {
                true => path,
                false => {
                    if let Value::Object(item) = &mut item {
                        item.insert("parameters".into(), instance_params.clone());
                    }
                    format!("{INSTANCE_PREFIX}{path}")
                }
            };
            if target.insert(full.clone(), item).is_some() {
                return Err(format!("zapi/{name}.json: path {full} is defined twice"));
            }
        }
    }
    if let Some(Value::Object(components)) = part.remove("components") {
        for (kind, entries) in components {
            let Value::Object(entries) = entries else { return Err(format!("zapi/{name}.json: components.{kind}")) };
            let target = section(doc, &["components", &kind])?;
            for (key, value) in entries {
                if target.insert(key.clone(), value).is_some() {
                    return Err(format!("zapi/{name}.json: components.{kind}.{key} is defined twice"));
                }
            }
        }
    }
    Ok(())
}

/// The object at `path` in `doc`, created empty where missing.
fn section<'a>(doc: &'a mut Value, path: &[&str]) -> Result<&'a mut Map<String, Value>, String> {
    let mut at = doc;
    for key in path {
        let Value::Object(map) = at else { return Err(format!("{key}: not an object")) };
        at = map.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    match at {
        Value::Object(map) => Ok(map),
        _ => Err(format!("{}: not an object", path.join("."))),
    }
}

/// Asserts that the OpenAPI document `doc` (paths relative to a dialect's base) lists exactly
/// the (path, methods) its route table serves: the check every dialect's table runs.
#[cfg(test)]
pub fn assert_documents_exactly(doc: &str, served: Vec<(&'static str, &'static str)>) {
    let doc: Value = serde_json::from_str(doc).expect("the document is JSON");
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            documented.push((path.trim_start_matches('/').to_owned(), method.to_uppercase()));
        }
    }
    documented.sort();
    let mut served: Vec<(String, String)> = served
        .into_iter()
        .flat_map(|(p, methods)| methods.split(", ").map(move |m| (p.to_owned(), m.to_owned())))
        .collect();
    served.sort();
    assert_eq!(documented, served);
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_parts_assemble_into_one_document() {
        let doc = super::document().unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/instances/{instanceId}/token/{instanceToken}/privacy/last-seen"]["post"].is_object());
    }
}
