//! Deleting what an instance's campaign catalog holds (chatedge's own routes beside pause,
//! resume and cancel; seed 003 has none): an audience with its members, a variable group with
//! its values, a campaign with its runs' cursors, counters and recipient rows and its input
//! group. Each is refused (409, naming what still needs it) while something does — an audience
//! in a campaign's active run, a group a stored campaign's message uses, a campaign whose run
//! is not finished or whose feeder is still winding down — and is one batch under the
//! instance's catalog lock, so it cannot interleave with a create, a run or a control.
//!
//! A campaign's batch goes through the owning shard (`Command::CampaignDelete`): the shard's
//! ledger forgets the campaign in the same step, so no status or press arriving later writes a
//! row or a counter back. Message-id index entries are not found by campaign: they expire
//! (`model::droppable`), and the ledger ignores an entry whose recipient row is gone. An
//! audience's numbers stay among the instance's contacts (audience `all`). Must not touch the
//! queue: messages already queued still leave.

use chatedge_config::InstanceId;

use super::model::{Campaign, RunState};
use super::{keys, CampaignError, Campaigns};
use crate::shard::Command;
use crate::store::{Batch, Cf};

/// The rows of one campaign to delete in one batch on the owning shard.
#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    pub campaign: String,
    pub keys: Vec<Vec<u8>>,
    pub ranges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Campaigns {
    /// Deletes audience `id` and its members.
    pub async fn delete_audience(&self, instance: InstanceId, id: &str) -> Result<(), CampaignError> {
        let _lock = self.lock(&instance).await;
        if self.audience(&instance, id)?.is_none() {
            return Err(CampaignError::NotFound { what: "audience", id: id.to_owned() });
        }
        let campaigns = self.campaigns(&instance)?;
        let user = campaigns
            .iter()
            .find(|c| c.latest().is_some_and(|r| r.state.active() && r.audiences.iter().any(|a| a == id)));
        if let Some(c) = user {
            return Err(in_use("audience", id, c, "its run is not finished: cancel it or wait until it is done"));
        }
        self.delete_with_rows(keys::audience(&instance, id), keys::rows_of(&instance, keys::MEMBER, id)).await
    }

    /// Deletes variable group `id` and its values.
    pub async fn delete_group(&self, instance: InstanceId, id: &str) -> Result<(), CampaignError> {
        let _lock = self.lock(&instance).await;
        let Some(group) = self.group(&instance, id)? else {
            return Err(CampaignError::NotFound { what: "variable group", id: id.to_owned() });
        };
        let campaigns = self.campaigns(&instance)?;
        if let Some(c) = campaigns.iter().find(|c| group.input && c.id == id) {
            return Err(in_use(
                "variable group",
                id,
                c,
                "it keeps that campaign's button presses: delete the campaign",
            ));
        }
        if let Some(c) = campaigns.iter().find(|c| c.variables.iter().any(|(g, _)| g == id)) {
            return Err(in_use(
                "variable group",
                id,
                c,
                "its message uses the group's fields: delete that campaign first",
            ));
        }
        self.delete_with_rows(keys::group(&instance, id), keys::rows_of(&instance, keys::VALUES, id)).await
    }

    /// Deletes a record and the rows under it in one batch.
    async fn delete_with_rows(&self, record: Vec<u8>, (from, to): (Vec<u8>, Vec<u8>)) -> Result<(), CampaignError> {
        let mut batch = Batch::new();
        batch.delete(Cf::Campaigns, record);
        batch.delete_range(Cf::Campaigns, from, to);
        self.store.commit(batch).await?;
        Ok(())
    }

    /// Deletes campaign `id`: its record, its runs' cursors, counters and recipient rows, and
    /// its input group.
    pub async fn delete_campaign(&self, instance: InstanceId, id: &str) -> Result<(), CampaignError> {
        let _lock = self.lock(&instance).await;
        let Some(campaign) = self.campaign(&instance, id)? else {
            return Err(CampaignError::NotFound { what: "campaign", id: id.to_owned() });
        };
        if let Some(r) = campaign.latest().filter(|r| r.state.active()) {
            let then = match r.state {
                RunState::Scheduled => "cancel it first",
                _ => "cancel it (or wait until it is done) first",
            };
            return Err(CampaignError::Conflict(format!(
                "campaign {id} is {} (run {}): {then}",
                r.state.as_str(),
                r.number
            )));
        }
        if self.is_feeding(instance, id) {
            return Err(CampaignError::Conflict(format!(
                "campaign {id} is still writing its last batch to the queue: try again in a moment"
            )));
        }
        let mut deletion =
            Deletion { campaign: id.to_owned(), keys: vec![keys::campaign(&instance, id)], ranges: Vec::new() };
        for tag in [keys::CURSOR, keys::COUNTERS, keys::RECIPIENT] {
            deletion.ranges.push(keys::rows_of(&instance, tag, id));
        }
        if self.group(&instance, id)?.is_some_and(|g| g.input) {
            deletion.keys.push(keys::group(&instance, id));
            deletion.ranges.push(keys::rows_of(&instance, keys::VALUES, id));
        }
        let deletion = Box::new(deletion);
        self.shards.call(&instance, |reply| Command::CampaignDelete { instance, deletion, reply }).await?;
        self.metrics.campaign_runs.with_label_values(&["deleted"]).inc();
        Ok(())
    }
}

fn in_use(what: &str, id: &str, by: &Campaign, why: &str) -> CampaignError {
    CampaignError::Conflict(format!("{what} {id} is used by campaign {} ({}): {why}", by.id, by.title))
}
