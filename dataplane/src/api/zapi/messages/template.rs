//! `POST /send-template` (issue 12; chatedge's extension, Z-API has no such route): a message
//! template the business had approved on the network, `{"phone", "template" (its name),
//! "language" (its code, e.g. "pt_BR"), "components" (optional, in the Graph API's shape)}`,
//! plus the options every send shares. Only the Cloud API network has templates: on another
//! network the route is refused naming it, before anything is queued. Runs on the request's
//! task; no I/O but the enqueue.

use chatedge_config::snapshot::Network;
use chatedge_serve::Resp;
use serde_json::Value;

use super::super::fields;
use super::super::routes::Route;
use super::super::{Call, ZapiError};
use super::envelope;
use crate::queue::content::Template;
use crate::queue::{Content, OutboundMessage};

/// Components of one template message (header, body, footer, up to 10 buttons).
const MAX_COMPONENTS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateRoute {
    Send,
}

pub static ROUTES: &[Route<TemplateRoute>] =
    &[Route { path: "send-template", methods: "POST", label: "zapi.send-template", op: TemplateRoute::Send }];

pub async fn handle(call: &Call<'_>, _route: TemplateRoute) -> Result<Resp, ZapiError> {
    if !matches!(call.instance.network, Network::CloudApi(_)) {
        return Err(ZapiError::invalid(
            "Not supported on this network",
            "send-template needs a template approved on the network: this instance is on the sim network, \
             which has no templates (create the instance on the Cloud API network)",
        ));
    }
    let message = parse(call)?;
    super::accept(call, message).await
}

fn parse(call: &Call<'_>) -> Result<OutboundMessage, ZapiError> {
    let o = fields::object(&call.body)?;
    let phone = fields::phone(&o, "phone")?;
    let name = fields::text(&o, "template", crate::queue::content::template::MAX_NAME_CHARS, true)?
        .ok_or_else(|| ZapiError::invalid("Invalid template", "template (the template's name) is required"))?;
    if !Template::valid_name(&name) {
        return Err(ZapiError::invalid(
            "Invalid template",
            "template must be the template's name: lowercase letters, digits and underscores",
        ));
    }
    let language = fields::text(&o, "language", 16, true)?.ok_or_else(|| {
        ZapiError::invalid("Invalid language", "language (the template's language code, e.g. pt_BR) is required")
    })?;
    if !Template::valid_language(&language) {
        return Err(ZapiError::invalid("Invalid language", "language must be a code like pt_BR, en_US or es"));
    }
    let components = components(o.get("components"))?;
    let content = Content::Template(Box::new(Template { name, language, components }));
    let mut m = OutboundMessage::new(call.instance.id, phone, content);
    envelope::read(&o, &mut m)?;
    Ok(m)
}

/// `components`: absent, or an array of objects each with a `type` (the Graph API checks the
/// rest against the template it approved).
fn components(v: Option<&Value>) -> Result<Vec<Value>, ZapiError> {
    let bad = |why: &str| ZapiError::invalid("Invalid components", format!("components {why}"));
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let list = v.as_array().ok_or_else(|| bad("must be an array of component objects"))?;
    if list.len() > MAX_COMPONENTS {
        return Err(bad(&format!("may hold at most {MAX_COMPONENTS} components")));
    }
    for c in list {
        let kind = c.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind.is_empty() {
            return Err(bad("entries must be objects with a type (header, body, button, …)"));
        }
    }
    Ok(list.clone())
}
