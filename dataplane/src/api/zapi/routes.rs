//! routes: Z-API paths as data. A family of routes is a table of [`Route`]s — the path pattern
//! as the seed writes it (`group-metadata/{groupId}`), the methods it accepts, the metrics
//! label and the family's own operation — matched against the path after the token. Tables
//! are what the OpenAPI document is checked against, so a route cannot be served without
//! being documented. Matching allocates only the path parameters it captures.

use std::borrow::Cow;

/// One route of a family.
#[derive(Debug)]
pub struct Route<Op: 'static> {
    /// Segments after the token; `{name}` captures one segment.
    pub path: &'static str,
    /// Comma-separated, as the `Allow` header lists them (`"GET"`, `"PUT, POST"`).
    pub methods: &'static str,
    pub label: &'static str,
    pub op: Op,
}

/// The captured path parameters of a matched route, percent-decoded, in path order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<String>);

impl Params {
    /// The `i`-th captured parameter (empty when the pattern has fewer: a table bug, which the
    /// table tests catch).
    pub fn get(&self, i: usize) -> &str {
        self.0.get(i).map(String::as_str).unwrap_or("")
    }
}

/// The first route of `table` whose pattern matches `rest`.
pub fn find<Op>(table: &'static [Route<Op>], rest: &[&str]) -> Option<(&'static Route<Op>, Params)> {
    table.iter().find_map(|r| matches(r.path, rest).map(|p| (r, p)))
}

fn matches(pattern: &str, rest: &[&str]) -> Option<Params> {
    let mut params = Vec::new();
    let mut segments = rest.iter();
    for want in pattern.split('/') {
        let got = segments.next()?;
        if want.starts_with('{') && want.ends_with('}') {
            if got.is_empty() {
                return None;
            }
            params.push(decode(got).into_owned());
        } else if want != *got {
            return None;
        }
    }
    segments.next().is_none().then_some(Params(params))
}

fn decode(segment: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy()
}

/// `pattern` with each `{param}` replaced by `value` (tests and the OpenAPI check use it to
/// build a concrete path).
pub fn example_path(pattern: &str, value: &str) -> String {
    pattern
        .split('/')
        .map(|s| if s.starts_with('{') && s.ends_with('}') { value } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    static TABLE: &[Route<u8>] = &[
        Route { path: "chats/{phone}/tags/{tag}/add", methods: "PUT", label: "a", op: 1 },
        Route { path: "chats/{phone}", methods: "GET", label: "b", op: 2 },
        Route { path: "chats", methods: "GET", label: "c", op: 3 },
    ];

    #[test]
    fn patterns_capture_their_parameters_and_nothing_longer_matches() {
        type Case = (&'static [&'static str], Option<(u8, &'static [&'static str])>);
        let cases: &[Case] = &[
            (&["chats"], Some((3, &[]))),
            (&["chats", "5511999999999"], Some((2, &["5511999999999"]))),
            (&["chats", "55%2011"], Some((2, &["55 11"]))),
            (&["chats", "5511", "tags", "7", "add"], Some((1, &["5511", "7"]))),
            (&["chats", "5511", "tags"], None),
            (&["chats", ""], None),
            (&["chat"], None),
            (&["chats", "1", "x"], None),
        ];
        for (rest, want) in cases {
            let got = find(TABLE, rest).map(|(r, p)| (r.op, p));
            let want = want.map(|(op, params)| (op, Params(params.iter().map(|s| s.to_string()).collect())));
            assert_eq!(got, want, "{rest:?}");
        }
    }

    #[test]
    fn example_paths_fill_every_parameter() {
        assert_eq!(example_path("chats/{phone}/tags/{tag}/add", "x"), "chats/x/tags/x/add");
    }
}
