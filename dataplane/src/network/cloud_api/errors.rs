//! errors: how Cloud API failures read in what integrators see — the DeliveryCallback `error`
//! of a refused message (the network's code and title, e.g. "Cloud API error 131047: Message
//! failed to send because more than 24 hours have passed…") and the refusal of what this
//! network cannot express ("not supported on the Cloud API network: …"). One wording, used by
//! sends here and by failed statuses on the inbound path. Pure functions, no I/O.

use super::graph::GraphError;
use crate::network::account::AccountError;

/// The DeliveryCallback error for a message the network refused with `code` and `title`.
pub fn reason(code: i64, title: &str) -> String {
    format!("Cloud API error {code}: {title}")
}

/// The DeliveryCallback error for a failed Graph call.
pub fn graph_reason(e: &GraphError) -> String {
    match e {
        GraphError::Api { code, title, .. } => reason(*code, title),
        other => other.to_string(),
    }
}

/// Something a message or a call asks for that the Cloud API cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not supported on the Cloud API network: {0}")]
pub struct Unsupported(pub String);

impl Unsupported {
    pub fn new(what: impl Into<String>) -> Self {
        Unsupported(what.into())
    }
}

/// The refusal of an account call family (or call) this network has no request for.
pub fn unsupported_call(what: &str) -> AccountError {
    AccountError::Unsupported(Unsupported::new(what).to_string())
}

/// An account call's failure as the dialects show it.
pub fn account_error(e: GraphError) -> AccountError {
    match e {
        GraphError::Transport(_) => AccountError::Unavailable(e.to_string()),
        GraphError::Api { status, .. } if status >= 500 => AccountError::Unavailable(graph_reason(&e)),
        other => AccountError::Refused(graph_reason(&other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_network_code_and_title() {
        let e = GraphError::Api {
            status: 400,
            code: 131026,
            subcode: None,
            title: "Message undeliverable".into(),
            message: "(#131026) Message undeliverable".into(),
            fbtrace_id: None,
        };
        assert_eq!(graph_reason(&e), "Cloud API error 131026: Message undeliverable");
        assert_eq!(Unsupported::new("polls").to_string(), "not supported on the Cloud API network: polls");
    }
}
