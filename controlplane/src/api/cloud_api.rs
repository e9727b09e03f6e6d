//! The Cloud API part of on-demand instance creation (issue 12): `"network": "cloud-api"` with
//! `"cloudApi": {phoneNumberId, businessAccountId, accessToken, appSecret, verifyToken?}`.
//! Each field is checked here and refused Z-API-style naming it; the verify token is generated
//! when absent. The secrets go into the instance's config and reach the data planes like its
//! webhook secret; they are shown once, in the create answer, with the webhook URL to
//! register with Meta. The integrator's on-demand create and the operator's
//! `POST /admin/accounts/{id}/instances` share this body (see `integrator::create_for`).

use chatedge_config::snapshot::{CloudApiAccount, Network};
use chatedge_config::Secret;
use serde::Deserialize;

use crate::CpError;

/// Longest Graph API id accepted (Meta's ids are 15–17 digits).
const MAX_GRAPH_ID_LEN: usize = 32;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloudApiBody {
    phone_number_id: Option<String>,
    business_account_id: Option<String>,
    access_token: Option<String>,
    app_secret: Option<String>,
    verify_token: Option<String>,
}

fn invalid(message: impl Into<String>) -> CpError {
    CpError::refused(400, "Invalid field", message)
}

/// The instance's network from the create body's `network` and `cloudApi`.
pub fn network(network: Option<&str>, cloud: Option<CloudApiBody>) -> Result<Network, CpError> {
    match (network.map(str::trim), cloud) {
        (None | Some("") | Some("sim"), None) => Ok(Network::Sim),
        (None | Some("") | Some("sim"), Some(_)) => {
            Err(invalid("cloudApi is only accepted with \"network\": \"cloud-api\""))
        }
        (Some("cloud-api"), None) => Err(invalid(
            "cloudApi is required with \"network\": \"cloud-api\" (phoneNumberId, businessAccountId, accessToken, appSecret)",
        )),
        (Some("cloud-api"), Some(c)) => account(c).map(Network::CloudApi),
        (Some(other), _) => Err(invalid(format!("network must be \"sim\", \"cloud-api\" or \"whatsapp-web\", not \"{other}\""))),
    }
}

fn graph_id(field: &str, value: Option<String>) -> Result<String, CpError> {
    let v = value.as_deref().map(str::trim).unwrap_or_default();
    if v.is_empty() {
        return Err(invalid(format!("cloudApi.{field} is required")));
    }
    if v.len() > MAX_GRAPH_ID_LEN || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!("cloudApi.{field} must be the numeric id from Meta's app dashboard")));
    }
    Ok(v.to_owned())
}

fn secret(field: &str, value: Option<String>) -> Result<Secret, CpError> {
    let v = value.unwrap_or_default();
    if v.trim().is_empty() {
        return Err(invalid(format!("cloudApi.{field} is required")));
    }
    Secret::from_given(&v)
        .ok_or_else(|| invalid(format!("cloudApi.{field} must be one word of at most 4096 characters")))
}

fn account(c: CloudApiBody) -> Result<CloudApiAccount, CpError> {
    let verify_token = match c.verify_token.filter(|t| !t.trim().is_empty()) {
        Some(t) => secret("verifyToken", Some(t))?,
        None => Secret::generate(16),
    };
    Ok(CloudApiAccount {
        phone_number_id: graph_id("phoneNumberId", c.phone_number_id)?,
        business_account_id: graph_id("businessAccountId", c.business_account_id)?,
        access_token: secret("accessToken", c.access_token)?,
        app_secret: secret("appSecret", c.app_secret)?,
        verify_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> CloudApiBody {
        CloudApiBody {
            phone_number_id: Some("106540352242922".into()),
            business_account_id: Some("102290129340398".into()),
            access_token: Some("EAAJB...token".into()),
            app_secret: Some("0123456789abcdef".into()),
            verify_token: None,
        }
    }

    fn message(e: CpError) -> String {
        e.to_string()
    }

    #[test]
    fn a_cloud_api_account_is_read_and_its_verify_token_generated_when_absent() {
        let Network::CloudApi(a) = network(Some("cloud-api"), Some(body())).unwrap() else { panic!() };
        assert_eq!(a.phone_number_id, "106540352242922");
        assert_eq!(a.verify_token.expose().len(), 32);
        let given = CloudApiBody { verify_token: Some("my-verify-token".into()), ..body() };
        let Network::CloudApi(a) = network(Some("cloud-api"), Some(given)).unwrap() else { panic!() };
        assert_eq!(a.verify_token.expose(), "my-verify-token");
    }

    #[test]
    fn each_bad_field_is_refused_by_name() {
        let cases = [
            (CloudApiBody { phone_number_id: None, ..body() }, "cloudApi.phoneNumberId is required"),
            (CloudApiBody { business_account_id: Some("waba-1".into()), ..body() }, "cloudApi.businessAccountId"),
            (CloudApiBody { access_token: Some("two words".into()), ..body() }, "cloudApi.accessToken"),
            (CloudApiBody { app_secret: Some(" ".into()), ..body() }, "cloudApi.appSecret is required"),
        ];
        for (b, want) in cases {
            let got = message(network(Some("cloud-api"), Some(b)).unwrap_err());
            assert!(got.contains(want), "{got} should name {want}");
        }
        assert!(message(network(Some("cloud-api"), None).unwrap_err()).contains("cloudApi is required"));
        assert!(message(network(Some("telegram"), None).unwrap_err()).contains("network must be"));
        assert!(message(network(None, Some(body())).unwrap_err()).contains("only accepted"));
        assert_eq!(network(None, None).unwrap(), Network::Sim);
    }
}
