//! contract: the Z-API dialect's route tables checked against the OpenAPI document served at
//! `/openapi.json` (tests only). Both ways: every route of every table (core, messages,
//! settings, every account family) is documented with exactly its methods and reached by the
//! router, every documented instance path is served by a table, every root path is one the
//! edge forwards to the control plane; and every example the document gives validates against
//! its schema, with the document's own `$ref`s resolved. A route added without documentation,
//! or documentation without a route, fails here.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::api::openapi::{self, INSTANCE_PREFIX};
use crate::api::zapi::routes::example_path;
use crate::edge::router;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

fn document() -> Value {
    openapi::document().unwrap_or_else(|e| panic!("the OpenAPI document does not assemble: {e}"))
}

/// The methods a table entry lists, as a set of upper-case names.
fn listed(methods: &str) -> BTreeSet<String> {
    methods.split(", ").map(str::to_owned).collect()
}

/// The methods a path item documents.
fn documented_methods(item: &Value) -> BTreeSet<String> {
    METHODS.iter().filter(|m| item.get(**m).is_some()).map(|m| m.to_uppercase()).collect()
}

fn paths(doc: &Value) -> &serde_json::Map<String, Value> {
    doc["paths"].as_object().expect("the document has paths")
}

/// Every route served under the token, by pattern; a pattern served twice is a table bug.
fn served() -> BTreeMap<&'static str, &'static str> {
    let mut by_pattern = BTreeMap::new();
    for (pattern, methods) in super::documented() {
        assert!(by_pattern.insert(pattern, methods).is_none(), "{pattern} is in two route tables");
    }
    by_pattern
}

#[test]
fn every_served_route_is_documented_with_exactly_its_methods() {
    let doc = document();
    let mut missing = Vec::new();
    for (pattern, methods) in served() {
        let path = format!("{INSTANCE_PREFIX}/{pattern}");
        match paths(&doc).get(&path) {
            None => missing.push(format!("{methods} {pattern}: not in the document")),
            Some(item) if documented_methods(item) != listed(methods) => {
                missing.push(format!("{pattern}: served for {methods}, documented for {:?}", documented_methods(item)))
            }
            Some(_) => {}
        }
    }
    assert!(missing.is_empty(), "routes the OpenAPI document lacks or misstates:\n{}", missing.join("\n"));
}

#[test]
fn every_documented_instance_path_is_served_by_a_table() {
    let doc = document();
    let served = served();
    let prefix = format!("{INSTANCE_PREFIX}/");
    let unserved: Vec<&String> =
        paths(&doc).keys().filter(|p| p.strip_prefix(&prefix).is_some_and(|rest| !served.contains_key(rest))).collect();
    assert!(unserved.is_empty(), "documented but served by no route table: {unserved:?}");
}

#[test]
fn every_root_path_is_forwarded_to_the_control_plane_with_its_methods() {
    let doc = document();
    let root: BTreeMap<String, BTreeSet<String>> = paths(&doc)
        .iter()
        .filter(|(p, _)| !p.starts_with(INSTANCE_PREFIX))
        .map(|(p, item)| (p.trim_start_matches('/').to_owned(), documented_methods(item)))
        .collect();
    let table: BTreeMap<String, BTreeSet<String>> =
        router::CONTROL_PLANE_ROUTES.iter().map(|(p, m)| (p.to_string(), listed(m))).collect();
    assert_eq!(root, table, "root paths documented vs forwarded to the control plane");
    for (pattern, methods) in router::CONTROL_PLANE_ROUTES {
        let path = example_path(pattern, "3A5D07856DC26A1C9E2E08E691E63271");
        let segments: Vec<&str> = path.split('/').collect();
        for m in listed(methods) {
            let method = hyper::Method::from_bytes(m.as_bytes()).unwrap();
            assert!(router::to_control_plane(&method, &segments), "{m} /{path} is not forwarded");
        }
    }
}

#[test]
fn every_served_route_is_reached_by_the_router_and_not_shadowed() {
    // A parameter value no literal segment has, so a `{param}` route is not mistaken for a
    // literal one and the other way round.
    for (pattern, methods) in served() {
        let path = example_path(pattern, "5511999999999");
        let rest: Vec<&str> = path.split('/').collect();
        let got = super::parse(&rest).map(|(_, m, _)| m);
        assert_eq!(got, Some(methods), "{pattern} is routed to another table entry ({got:?})");
    }
}

#[test]
fn every_path_parameter_is_declared() {
    let doc = document();
    for (path, item) in paths(&doc) {
        let names: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .filter(|n| !["instanceId", "instanceToken"].contains(n))
            .collect();
        for m in METHODS.iter().filter_map(|m| item.get(*m)) {
            for name in &names {
                let declared = m["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .chain(item["parameters"].as_array().into_iter().flatten())
                    .map(|p| resolve(&doc, p))
                    .any(|p| p["in"] == "path" && p["name"] == *name);
                assert!(declared, "{path}: path parameter {name} is not declared");
            }
        }
    }
}

/// `v` with a `$ref` to `#/…` in this document followed (once, then again while it points on).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut at = v;
    for _ in 0..8 {
        match at.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => at = doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref #{pointer}")),
            None => break,
        }
    }
    at
}

/// (where, schema, example) for every example of a request body (`request`) or a response.
fn examples(doc: &Value, request: bool) -> Vec<(String, Value, Value)> {
    let mut out = Vec::new();
    for (path, item) in paths(doc) {
        for m in METHODS {
            let Some(op) = item.get(*m) else { continue };
            let bodies: Vec<(String, &Value)> = match request {
                true => op
                    .get("requestBody")
                    .map(|b| (format!("{m} {path} request"), resolve(doc, b)))
                    .into_iter()
                    .collect(),
                false => op["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(status, r)| (format!("{m} {path} {status}"), resolve(doc, r)))
                    .collect(),
            };
            for (at, body) in bodies {
                let mut found = 0;
                for (mime, media) in body["content"].as_object().into_iter().flatten() {
                    let schema = media.get("schema").cloned().unwrap_or(json!({}));
                    if let Some(example) = media.get("example") {
                        out.push((format!("{at} {mime} example"), schema.clone(), example.clone()));
                        found += 1;
                    }
                    for (name, e) in media["examples"].as_object().into_iter().flatten() {
                        let e = resolve(doc, e);
                        let value = e.get("value").unwrap_or_else(|| panic!("{at}: example {name} has no value"));
                        out.push((format!("{at} {mime} examples.{name}"), schema.clone(), value.clone()));
                        found += 1;
                    }
                }
                if request {
                    assert!(found > 0, "{at}: a request body without an example");
                }
            }
        }
    }
    out
}

/// Validates every example against its schema, in a root that carries the document's
/// components so `#/components/…` references resolve.
fn check_examples(request: bool) -> usize {
    let doc = document();
    let all = examples(&doc, request);
    let mut failures = Vec::new();
    for (at, schema, example) in &all {
        let root = json!({"components": doc["components"], "allOf": [schema]});
        let validator = match jsonschema::draft202012::new(&root) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{at}: the schema is not valid JSON Schema: {e}"));
                continue;
            }
        };
        for e in validator.iter_errors(example) {
            failures.push(format!("{at}: {} (at {})", e, e.instance_path()));
        }
    }
    assert!(failures.is_empty(), "examples that do not validate:\n{}", failures.join("\n"));
    all.len()
}

#[test]
fn every_example_request_validates_against_its_schema() {
    let n = check_examples(true);
    assert!(n >= 60, "only {n} request examples: the message routes alone have more");
}

#[test]
fn every_example_response_validates_against_its_schema() {
    check_examples(false);
}

#[test]
fn a_schema_check_can_fail() {
    // The validator is not vacuous: a request missing its required field is refused, even
    // through a `$ref` into the document's components.
    let doc = document();
    let root = json!({"components": doc["components"], "allOf": [{"$ref": "#/components/schemas/MessagesEnvelope"}]});
    let v = jsonschema::draft202012::new(&root).unwrap();
    assert!(v.is_valid(&json!({"phone": "5511999998888"})));
    assert!(!v.is_valid(&json!({"message": "no phone"})));
    assert!(!v.is_valid(&json!({"phone": 5511999998888u64})));
}
