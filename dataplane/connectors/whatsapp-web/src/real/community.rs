//! Communities on whatsapp-rust: a community is a parent group with an announcement group and
//! the groups linked to it. Each community [`Query`] becomes the engine's community call (`w:g2`
//! IQs for changes, its GraphQL query for the groups of a community), and the answer becomes the
//! connector's [`CommunityInfo`]. Who may add groups is a `w:g2` toggle the engine does not
//! offer after creation, so this module asks it itself. It keeps nothing.

use whatsapp_rust::features::{CommunityError, CommunitySubgroup, CreateCommunityOptions, GroupMetadata};
use whatsapp_rust::wacore::iq::groups::GROUP_IQ_NAMESPACE;
use whatsapp_rust::wacore::iq::spec::IqSpec;
use whatsapp_rust::wacore::request::InfoQuery;
use whatsapp_rust::wacore_binary::{NodeContent, NodeRef};
use whatsapp_rust::{Client, Jid, NodeBuilder};

use super::account::{chat_of, group_error, iq_error};
use super::jid_of;
use crate::engine::{Answer, CommunityGroup, CommunityInfo, EngineError, Query};

/// Asks WhatsApp a community `query` through `client`; any other query is not one of these.
pub async fn ask(client: &Client, query: &Query) -> Result<Answer, EngineError> {
    let communities = client.community();
    match query {
        Query::Communities => {
            let parents = communities.get_participating().await.map_err(|e| community_error(&e))?;
            let mut all = Vec::with_capacity(parents.len());
            for metadata in parents.values() {
                all.push(describe(client, metadata).await?);
            }
            all.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(Answer::Communities(all))
        }
        Query::CreateCommunity { name, description } => {
            let options =
                CreateCommunityOptions { description: description.clone(), ..CreateCommunityOptions::new(name) };
            let created = communities.create(options).await.map_err(|e| community_error(&e))?;
            // The community exists now: if its groups cannot be read at once, it is answered
            // without them rather than failed (a retry would create a second one).
            let groups = match communities.get_subgroups(&created.metadata.id).await {
                Ok(groups) => groups,
                Err(e) => {
                    tracing::warn!(error = %e, "whatsapp-web: the new community's groups could not be read");
                    Vec::new()
                }
            };
            Ok(Answer::Community(info(&created.metadata, &groups)))
        }
        Query::Community(id) => {
            let jid = jid_of(id);
            let metadata = client.groups().get_metadata(&jid).await.map_err(|e| group_error(&e))?;
            if !metadata.is_parent_group {
                return Err(EngineError::NotFound(format!("community {id}")));
            }
            Ok(Answer::Community(describe(client, &metadata).await?))
        }
        Query::LinkGroups { community, groups, link } => {
            let (jid, jids) = (jid_of(community), groups.iter().map(|g| jid_of(g)).collect::<Vec<_>>());
            let (changed, failed) = match link {
                true => {
                    let r = communities.link_subgroups(jid, &jids).await.map_err(|e| community_error(&e))?;
                    (r.linked_jids, r.failed_groups)
                }
                false => {
                    let r = communities.unlink_subgroups(jid, &jids, false).await.map_err(|e| community_error(&e))?;
                    (r.unlinked_jids, r.failed_groups)
                }
            };
            let outcome = |g: &Jid| match failed.iter().find(|(f, _)| f.user == g.user) {
                Some((_, code)) => Some(format!("WhatsApp refused it ({code})")),
                None if changed.iter().any(|c| c.user == g.user) => None,
                None => Some("WhatsApp did not answer for it".to_owned()),
            };
            Ok(Answer::Linked(groups.iter().zip(&jids).map(|(g, jid)| (g.clone(), outcome(jid))).collect()))
        }
        Query::SubGroupCreation { community, anyone } => {
            let toggle = SubGroupCreation { community: jid_of(community), anyone: *anyone };
            client.execute(toggle).await.map_err(|e| iq_error(&e))?;
            Ok(Answer::Done)
        }
        Query::DeactivateCommunity(id) => {
            communities.deactivate(jid_of(id)).await.map_err(|e| community_error(&e))?;
            Ok(Answer::Done)
        }
        other => Err(EngineError::Refused(format!("{} is not a community query", other.label()))),
    }
}

/// The community `metadata` names, with its groups as WhatsApp lists them now.
async fn describe(client: &Client, metadata: &GroupMetadata) -> Result<CommunityInfo, EngineError> {
    let groups = client.community().get_subgroups(&metadata.id).await.map_err(|e| community_error(&e))?;
    Ok(info(metadata, &groups))
}

/// The community in the connector's words: its announcement group first.
fn info(metadata: &GroupMetadata, groups: &[CommunitySubgroup]) -> CommunityInfo {
    let group = |g: &CommunitySubgroup| CommunityGroup {
        id: chat_of(&g.id),
        subject: g.subject.clone(),
        announcement: g.is_default_sub_group,
    };
    let mut groups: Vec<CommunityGroup> = groups.iter().map(group).collect();
    groups.sort_by_key(|g| !g.announcement);
    CommunityInfo {
        id: chat_of(&metadata.id),
        name: metadata.subject.clone(),
        description: metadata.description.clone(),
        groups,
    }
}

fn community_error(e: &CommunityError) -> EngineError {
    match e {
        CommunityError::Iq(e) => iq_error(e),
        CommunityError::Group(e) => group_error(e),
        CommunityError::InvalidRequest(_) => EngineError::Refused(e.to_string()),
        e => EngineError::Unreachable(e.to_string()),
    }
}

/// Who may add groups to a community: `<allow_non_admin_sub_group_creation/>` or its `not_`
/// form, set on the parent group like the other group toggles.
struct SubGroupCreation {
    community: Jid,
    anyone: bool,
}

impl IqSpec for SubGroupCreation {
    type Response = ();

    fn build_iq(&self) -> InfoQuery<'static> {
        let tag = match self.anyone {
            true => "allow_non_admin_sub_group_creation",
            false => "not_allow_non_admin_sub_group_creation",
        };
        InfoQuery::set_ref(
            GROUP_IQ_NAMESPACE,
            &self.community,
            Some(NodeContent::Nodes(vec![NodeBuilder::new(tag).build()])),
        )
    }

    fn parse_response(&self, _response: &NodeRef<'_>) -> Result<(), whatsapp_rust::anyhow::Error> {
        Ok(())
    }
}
