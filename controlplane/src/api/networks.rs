//! Which network a new instance is on: the create body's `network` (and `cloudApi`), or
//! `[network] default` when it names none. `whatsapp-web` is accepted only by a binary built
//! with the `whatsapp-web` feature (its engine carries AGPL-3.0 code: see the README), and is
//! refused otherwise with a 400 that says so. The Cloud API's own fields are read by
//! [`super::cloud_api`].

use chatedge_config::file::DefaultNetwork;
use chatedge_config::snapshot::Network;

use super::cloud_api::{self, CloudApiBody};
use crate::CpError;

/// Whether this binary includes the WhatsApp Web connector.
pub const WHATSAPP_WEB_BUILT: bool = cfg!(feature = "whatsapp-web");

fn whatsapp_web(cloud: Option<CloudApiBody>) -> Result<Network, CpError> {
    if cloud.is_some() {
        return Err(CpError::refused(
            400,
            "Invalid field",
            "cloudApi is only accepted with \"network\": \"cloud-api\"",
        ));
    }
    match WHATSAPP_WEB_BUILT {
        true => Ok(Network::WhatsappWeb),
        false => Err(CpError::refused(
            400,
            "Invalid field",
            "network \"whatsapp-web\" is not available: this chatedge binary was built without the whatsapp-web \
             feature (build with --features whatsapp-web; see the README's licence note)",
        )),
    }
}

pub fn choose(network: Option<&str>, cloud: Option<CloudApiBody>, default: DefaultNetwork) -> Result<Network, CpError> {
    match (network.map(str::trim), default) {
        (Some("whatsapp-web"), _) => whatsapp_web(cloud),
        (None | Some(""), DefaultNetwork::WhatsappWeb) if cloud.is_none() => whatsapp_web(None),
        (network, _) => cloud_api::network(network, cloud),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: CpError) -> String {
        e.to_string()
    }

    #[test]
    fn the_network_is_the_bodys_or_the_configured_default() {
        assert_eq!(choose(None, None, DefaultNetwork::Sim).unwrap(), Network::Sim);
        assert_eq!(choose(Some("sim"), None, DefaultNetwork::WhatsappWeb).unwrap(), Network::Sim);
        let web = choose(Some("whatsapp-web"), None, DefaultNetwork::Sim);
        let by_default = choose(None, None, DefaultNetwork::WhatsappWeb);
        for got in [web, by_default] {
            match WHATSAPP_WEB_BUILT {
                true => assert_eq!(got.unwrap(), Network::WhatsappWeb),
                false => assert!(message(got.unwrap_err()).contains("built without the whatsapp-web feature")),
            }
        }
        assert!(message(choose(Some("telegram"), None, DefaultNetwork::Sim).unwrap_err()).contains("network must be"));
    }
}
