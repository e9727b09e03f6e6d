//! Zapini's product layer, which chatedge does not serve (issue 15 §2): its routes answer 501
//! `NOT_SERVED` naming the feature, so a client learns what is missing instead of a bare 404.
//! Listed by path prefix, as seed 002 groups them (about 136 routes).

/// The product feature the path (after `/zapini/`, `api/v1/` taken off) belongs to, if any.
pub fn feature(rest: &[&str]) -> Option<&'static str> {
    let feature = match rest {
        ["conversations", _, "automation", ..] | ["conversations", "automation", ..] => "conversation automation",
        ["conversations", _, "tags", ..] | ["tags", ..] => "tags",
        ["conversations", ..] => "conversations",
        ["chat", "messages", _, "transcription", ..] => "transcription",
        ["chat", ..] => "the chat API's conversation views",
        ["voice", ..] => "voice and IVR",
        ["kanban", ..] => "kanban boards",
        ["calendar", ..] => "calendar",
        ["ai-functions", ..] => "AI functions",
        ["external-functions", ..] => "external functions",
        ["auth", ..] => "login and users (they come with a web console)",
        ["users", ..] => "login and users (they come with a web console)",
        ["webhooks", "instance", ..] => "Zapini's incoming instance webhooks",
        _ => return None,
    };
    Some(feature)
}
