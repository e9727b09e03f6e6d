//! A campaign message with `{group.field}` variables (seed 003, "Create Variables"): finding
//! them when the campaign is created and filling them in for each recipient. Braces that hold
//! no dot (`{}`, `{name}`) are plain text; a braced part with a dot must be a valid
//! `{group.field}`. Pure functions.

use std::collections::HashMap;

use super::model::{valid_field, valid_id};

/// A piece of a parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str, &'a str),
}

/// Splits `message` into text and variables, or names the first malformed `{…}` part.
fn pieces(message: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        let Some(len) = rest[open..].find('}') else { break };
        let inner = &rest[open + 1..open + len];
        match inner.split_once('.') {
            Some((group, field)) => {
                if !valid_id(group, true) || !valid_field(field) {
                    return Err(format!("{{{inner}}}"));
                }
                out.push(Piece::Text(&rest[..open]));
                out.push(Piece::Var(group, field));
            }
            None => out.push(Piece::Text(&rest[..open + len + 1])),
        }
        rest = &rest[open + len + 1..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// The variables of `message` in order of first appearance, or the malformed part.
pub fn variables(message: &str) -> Result<Vec<(String, String)>, String> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for p in pieces(message)? {
        if let Piece::Var(g, f) = p {
            if !vars.iter().any(|(vg, vf)| vg == g && vf == f) {
                vars.push((g.to_owned(), f.to_owned()));
            }
        }
    }
    Ok(vars)
}

/// `message` with each variable replaced by the recipient's value (`values[group][field]`),
/// or the first variable the recipient has no (or an empty) value for, as `group.field`.
pub fn render(
    message: &str,
    values: &HashMap<&str, serde_json::Map<String, serde_json::Value>>,
) -> Result<String, String> {
    let mut out = String::with_capacity(message.len() + 32);
    for p in pieces(message).map_err(|bad| format!("malformed variable {bad}"))? {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(g, f) => {
                let v = values.get(g).and_then(|m| m.get(f)).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
                match v {
                    Some(v) => out.push_str(v),
                    None => return Err(format!("{g}.{f}")),
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variables_are_found_once_each_in_order() {
        let v = variables("Hello, {users.first_name} {users.last_name}! {users.first_name}, {} {plain}").unwrap();
        assert_eq!(v, vec![("users".into(), "first_name".into()), ("users".into(), "last_name".into())]);
    }

    #[test]
    fn a_malformed_variable_is_named() {
        let cases = [("Hi {users.first name}", "{users.first name}"), ("Hi {.x}", "{.x}"), ("{a.}", "{a.}")];
        for (message, bad) in cases {
            assert_eq!(variables(message), Err(bad.to_owned()), "{message}");
        }
    }

    #[test]
    fn each_recipient_gets_its_own_values_and_a_missing_one_is_named() {
        let values = |first: &str| {
            let m = json!({"first_name": first}).as_object().cloned().unwrap();
            HashMap::from([("users", m)])
        };
        assert_eq!(render("Hi {users.first_name}!", &values("Ana")).unwrap(), "Hi Ana!");
        assert_eq!(render("Hi {users.first_name}!", &values("")), Err("users.first_name".into()));
        assert_eq!(render("Hi {users.last_name}", &values("Ana")), Err("users.last_name".into()));
        assert_eq!(render("Unclosed {users.first_name", &values("Ana")).unwrap(), "Unclosed {users.first_name");
    }
}
