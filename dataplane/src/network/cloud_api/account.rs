//! account: what the Cloud API can do for an instance besides sending messages — verifying
//! the number (`resume`), the business profile (`/{phone-number-id}/whatsapp_business_profile`),
//! the account's message templates (`/{waba-id}/message_templates`: only APPROVED ones are
//! listed, and a template send is checked against them first, [`template_approval`]) and the
//! typing indicator.
//! Every other account call is refused with an error naming the network; none is faked. Runs
//! as local tasks on the shard that owns the instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chatedge_config::snapshot::CloudApiAccount;
use chatedge_config::{InstanceId, Phone};
use serde_json::{json, Value};

use super::errors::{account_error, graph_reason, unsupported_call};
use super::state::NumberInfo;
use super::CloudApiDeps;
use crate::network::account::{business, profile, templates, Account, AccountCall, AccountReply, AccountResult};
use crate::network::{Credentials, Generation, NetworkEvent};
use crate::queue::content::Template as QueuedTemplate;

/// What `resume` asks of the number (Cloud API "Phone Numbers" reference).
const NUMBER_FIELDS: &str =
    "display_phone_number,verified_name,quality_rating,code_verification_status,platform_type,throughput";
/// Business profile fields a profile picture read asks for.
const PROFILE_FIELDS: &str = "about,address,description,email,profile_picture_url,websites,vertical";
/// Most websites a business profile lists (Cloud API: "maximum of 2").
const MAX_WEBSITES: usize = 2;

/// Verifies the instance's credentials against the Graph API: `Connected` as the number, or
/// `Disconnected` (`logged_out` when the token is refused).
pub async fn verify(
    deps: &CloudApiDeps,
    instance: InstanceId,
    generation: Generation,
    _saved: Credentials,
) -> NetworkEvent {
    let lost =
        |reason: String, logged_out| NetworkEvent::Disconnected { instance, generation, reason, logged_out, ack: None };
    let Some(account) = deps.account(&instance) else {
        return lost("the instance is not on the Cloud API network".into(), true);
    };
    let path = format!("{}?fields={NUMBER_FIELDS}", account.phone_number_id);
    let answer = match deps.graph.get_json(&account.access_token, &path).await {
        Ok(a) => a,
        Err(e) => {
            deps.metrics.cloud_api_verifications.with_label_values(&[outcome(&e)]).inc();
            let logged_out = e.kind() == super::graph::ErrorKind::Auth;
            return lost(graph_reason(&e), logged_out);
        }
    };
    let info = number_info(&answer);
    let digits: String = info.display_phone_number.chars().filter(char::is_ascii_digit).collect();
    let Ok(phone) = Phone::parse(&digits) else {
        deps.metrics.cloud_api_verifications.with_label_values(&["unexpected"]).inc();
        let shown = &info.display_phone_number;
        return lost(format!("the Graph API gave no usable display_phone_number ('{shown}')"), false);
    };
    deps.metrics.cloud_api_verifications.with_label_values(&["connected"]).inc();
    deps.state.set_number(instance, info);
    let credentials = Credentials(format!("cloud-api:{}", account.phone_number_id));
    NetworkEvent::Connected { instance, generation, phone, credentials, ack: None }
}

fn outcome(e: &super::GraphError) -> &'static str {
    match e.kind() {
        super::graph::ErrorKind::Auth => "auth_refused",
        super::graph::ErrorKind::RateLimited | super::graph::ErrorKind::PairRateLimited => "rate_limited",
        super::graph::ErrorKind::Transient => "unreachable",
        super::graph::ErrorKind::Refused => "refused",
    }
}

fn number_info(v: &Value) -> NumberInfo {
    let s = |k: &str| v[k].as_str().map(str::to_owned);
    NumberInfo {
        display_phone_number: s("display_phone_number").unwrap_or_default(),
        verified_name: s("verified_name").unwrap_or_default(),
        quality_rating: s("quality_rating").unwrap_or_else(|| "UNKNOWN".into()),
        code_verification_status: s("code_verification_status"),
        platform_type: s("platform_type"),
        throughput_level: v["throughput"]["level"].as_str().map(str::to_owned),
    }
}

/// Carries out one account call for a Cloud API instance.
pub async fn call(deps: &CloudApiDeps, instance: InstanceId, account: Account, call: AccountCall) -> AccountResult {
    let family = call.family();
    deps.metrics.cloud_api_account_calls.with_label_values(&[family]).inc();
    let Some(cloud) = deps.account(&instance) else {
        return Err(unsupported_call("account calls for an instance on another network"));
    };
    match call {
        AccountCall::Templates(templates::Call::List { page_size, after }) => {
            list_templates(deps, &cloud, page_size, after).await.map(AccountReply::Templates)
        }
        AccountCall::Business(c) => business(deps, &cloud, c).await.map(AccountReply::Business),
        AccountCall::Profile(c) => profile(deps, &cloud, &account, c).await.map(AccountReply::Profile),
        other => Err(unsupported_call(&format!("{} calls", other.family()))),
    }
}

/// The status of a template Meta lets an account send.
const APPROVED: &str = "APPROVED";
/// How long a template found approved is trusted without asking again.
const APPROVED_TTL: Duration = Duration::from_secs(600);
/// Templates remembered as approved, over all instances; past it the memory starts afresh.
const MAX_APPROVED: usize = 10_000;

/// Templates found approved lately, by (WhatsApp Business Account, name, language), so a
/// campaign's sends do not each ask the Graph API. Only approvals are remembered: a template
/// that was not approved is asked about again at its next send. The mutex is held for one map
/// operation.
#[derive(Default)]
pub struct ApprovedTemplates {
    seen: Mutex<HashMap<(String, String, String), Instant>>,
}

impl ApprovedTemplates {
    fn key(cloud: &CloudApiAccount, t: &QueuedTemplate) -> (String, String, String) {
        (cloud.business_account_id.clone(), t.name.clone(), t.language.clone())
    }

    fn recently(&self, key: &(String, String, String)) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(key).is_some_and(|at| at.elapsed() < APPROVED_TTL)
    }

    fn remember(&self, key: (String, String, String)) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_APPROVED {
            seen.clear();
        }
        seen.insert(key, Instant::now());
    }
}

/// Whether a template may be sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Approval {
    /// Approved — or unknown because the Graph API could not be asked (the send goes ahead
    /// and Meta refuses it if need be).
    MaySend,
    /// Not approved or not there: the DeliveryCallback error.
    Refused(String),
}

/// Asks the account's templates whether `t` (by name and language) is APPROVED.
pub async fn template_approval(deps: &CloudApiDeps, cloud: &CloudApiAccount, t: &QueuedTemplate) -> Approval {
    let key = ApprovedTemplates::key(cloud, t);
    if deps.approved.recently(&key) {
        return Approval::MaySend;
    }
    let name: String = percent_encoding::utf8_percent_encode(&t.name, percent_encoding::NON_ALPHANUMERIC).collect();
    let path = format!(
        "{}/message_templates?fields=name,language,status&name={name}&limit={}",
        cloud.business_account_id,
        templates::MAX_PAGE_SIZE
    );
    let answer = match deps.graph.get_json(&cloud.access_token, &path).await {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(error = %e, template = %t.name, "cloud api: template approval not checked; sending");
            return Approval::MaySend;
        }
    };
    let listed = answer["data"].as_array().map(Vec::as_slice).unwrap_or_default();
    let found = listed.iter().find(|v| v["name"] == t.name.as_str() && v["language"] == t.language.as_str());
    match found.map(|v| v["status"].as_str().unwrap_or_default()) {
        Some(APPROVED) => {
            deps.approved.remember(key);
            Approval::MaySend
        }
        Some(status) => Approval::Refused(format!(
            "template '{}' ({}) is not approved on this WhatsApp Business Account (status {status}); only approved templates can be sent",
            t.name, t.language
        )),
        None => Approval::Refused(format!(
            "template '{}' in language '{}' does not exist on this WhatsApp Business Account",
            t.name, t.language
        )),
    }
}

async fn list_templates(
    deps: &CloudApiDeps,
    cloud: &CloudApiAccount,
    page_size: usize,
    after: Option<String>,
) -> Result<templates::Reply, crate::network::account::AccountError> {
    let limit = page_size.clamp(1, templates::MAX_PAGE_SIZE);
    // Only templates the account may send: Meta filters by status (so pages stay full) and
    // anything else that slips through is dropped here.
    let mut path = format!(
        "{}/message_templates?fields=name,language,status,category,components&status={APPROVED}&limit={limit}",
        cloud.business_account_id
    );
    if let Some(after) = after.as_deref().filter(|a| !a.is_empty()) {
        let cursor: String = percent_encoding::utf8_percent_encode(after, percent_encoding::NON_ALPHANUMERIC).collect();
        path.push_str(&format!("&after={cursor}"));
    }
    let answer = deps.graph.get_json(&cloud.access_token, &path).await.map_err(account_error)?;
    let templates = answer["data"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|t| t["status"] == APPROVED)
        .map(template_info)
        .collect();
    // Graph paging: `paging.next` is present only when there is a next page.
    let after = answer["paging"]["next"]
        .as_str()
        .and_then(|_| answer["paging"]["cursors"]["after"].as_str())
        .map(str::to_owned);
    Ok(templates::Reply::Page { templates, after })
}

fn template_info(v: &Value) -> templates::TemplateInfo {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    templates::TemplateInfo {
        id: s("id"),
        name: s("name"),
        language: s("language"),
        status: s("status"),
        category: s("category"),
        components: v["components"].as_array().cloned().unwrap_or_default(),
    }
}

async fn update_profile(
    deps: &CloudApiDeps,
    cloud: &CloudApiAccount,
    field: &str,
    value: Value,
) -> Result<(), crate::network::account::AccountError> {
    let path = format!("{}/whatsapp_business_profile", cloud.phone_number_id);
    let body = json!({"messaging_product": "whatsapp", field: value});
    deps.graph.post_json(&cloud.access_token, &path, &body).await.map_err(account_error)?;
    Ok(())
}

async fn business(
    deps: &CloudApiDeps,
    cloud: &CloudApiAccount,
    c: business::Call,
) -> Result<business::Reply, crate::network::account::AccountError> {
    match c {
        business::Call::SetDescription(d) => update_profile(deps, cloud, "description", json!(d)).await?,
        business::Call::SetEmail(e) => update_profile(deps, cloud, "email", json!(e)).await?,
        business::Call::SetAddress(a) => update_profile(deps, cloud, "address", json!(a)).await?,
        business::Call::SetWebsites(w) if w.len() > MAX_WEBSITES => {
            return Err(crate::network::account::AccountError::Limit(format!(
                "the Cloud API lists at most {MAX_WEBSITES} websites ({} given)",
                w.len()
            )))
        }
        business::Call::SetWebsites(w) => update_profile(deps, cloud, "websites", json!(w)).await?,
        other => return Err(unsupported_call(business_name(&other))),
    }
    Ok(business::Reply::Done)
}

fn business_name(c: &business::Call) -> &'static str {
    match c {
        business::Call::SetHours(_) => "business opening hours",
        business::Call::SetCategories(_) | business::Call::Categories { .. } => "business categories",
        business::Call::Profile(_) => "another number's business profile",
        _ => "catalogs and collections",
    }
}

async fn profile(
    deps: &CloudApiDeps,
    cloud: &CloudApiAccount,
    account: &Account,
    c: profile::Call,
) -> Result<profile::Reply, crate::network::account::AccountError> {
    match c {
        // The Cloud API's "about" is the text under the number's name.
        profile::Call::SetDescription(about) => {
            update_profile(deps, cloud, "about", json!(about)).await?;
            Ok(profile::Reply::Done)
        }
        profile::Call::Picture(phone) if account.phone.as_ref() == Some(&phone) => {
            let path = format!("{}/whatsapp_business_profile?fields={PROFILE_FIELDS}", cloud.phone_number_id);
            let answer = deps.graph.get_json(&cloud.access_token, &path).await.map_err(account_error)?;
            let url = answer["data"][0]["profile_picture_url"].as_str().filter(|u| !u.is_empty());
            Ok(profile::Reply::Picture(url.map(str::to_owned)))
        }
        profile::Call::Picture(_) => Err(unsupported_call("reading other numbers' profile pictures")),
        profile::Call::SetName(_) => {
            Err(unsupported_call("changing the display name here (Meta reviews it in WhatsApp Manager)"))
        }
        profile::Call::SetPicture(_) => Err(unsupported_call("setting the profile picture by URL")),
    }
}

/// Shows "typing…" to the sender of `wamid` (and marks it read, as the Cloud API does both in
/// one call). Failures are logged: a typing indicator is best effort.
pub async fn typing(deps: &CloudApiDeps, instance: InstanceId, wamid: &str) {
    let Some(cloud) = deps.account(&instance) else { return };
    let path = format!("{}/messages", cloud.phone_number_id);
    let body = json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid,
        "typing_indicator": {"type": "text"}});
    if let Err(e) = deps.graph.post_json(&cloud.access_token, &path, &body).await {
        tracing::debug!(instance = %instance, error = %e, "cloud api: typing indicator not shown");
    }
}
