//! Labels (WhatsApp Business): the account's labels live in WhatsApp's app state, which the
//! engine syncs from the account's devices and reports as label edits. This module keeps the
//! latest edit of each label in the engine's part of the instance's store (newest edit wins,
//! so a late or replayed edit never undoes a newer one), answers the label list from it, and
//! writes our own edits to WhatsApp first, then here. A new label takes the next number after
//! the highest WhatsApp has shown. It must not know Z-API.

use std::sync::Arc;

use chatedge_connector::KvStore;
use serde::{Deserialize, Serialize};
use whatsapp_rust::wacore::types::events::LabelEditUpdate;
use whatsapp_rust::{Client, Jid};

use super::records::Records;
use crate::engine::{Answer, EngineError, LabelInfo, Query, LABEL_COLORS};

/// Where label records live in the engine's part of the store ([`Records`]).
const LABELS: &[u8] = b"lb/";
/// Labels one account may have listed (WhatsApp Business allows 20; deleted ones stay as such).
const MAX_LABELS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LabelRecord {
    name: String,
    color: u8,
    deleted: bool,
    /// When WhatsApp says the edit was made (ms): only a newer edit replaces this one.
    at_ms: u64,
}

/// One instance's labels.
pub struct Labels {
    records: Records<LabelRecord>,
}

impl Labels {
    pub fn new(store: Arc<dyn KvStore>) -> Labels {
        Labels { records: Records::new(store, LABELS, MAX_LABELS) }
    }

    /// Keeps a label edit the account's devices made (from the app state sync).
    pub async fn synced(&self, edit: &LabelEditUpdate) -> Result<(), EngineError> {
        let action = &edit.action;
        let record = LabelRecord {
            name: action.name.clone().unwrap_or_default(),
            color: action.color.and_then(|c| u8::try_from(c).ok()).unwrap_or(0) % LABEL_COLORS,
            deleted: action.deleted.unwrap_or(false),
            at_ms: edit.timestamp.timestamp_millis().max(0) as u64,
        };
        self.records.keep_newest(&edit.label_id, record, |r| r.at_ms).await
    }

    /// Asks WhatsApp a label `query` through `client`; any other query is not one of these.
    pub async fn ask(&self, client: &Client, query: &Query) -> Result<Answer, EngineError> {
        let labels = client.labels();
        match query {
            Query::Labels => Ok(Answer::Labels(self.list()?)),
            Query::SaveLabel { id, name, color } => {
                let (id, color) = self.placed(id.as_deref(), *color)?;
                labels.create_label(&id, name, i32::from(color)).await.map_err(|e| app_state(&e))?;
                let record = LabelRecord { name: name.clone(), color, deleted: false, at_ms: now_ms() };
                self.records.keep_newest(&id, record, |r| r.at_ms).await?;
                Ok(Answer::Label(LabelInfo { id, name: name.clone(), color }))
            }
            Query::DeleteLabel(id) => {
                let Some(record) = self.records.get(id)?.filter(|r| !r.deleted) else {
                    return Err(EngineError::NotFound(format!("label {id}")));
                };
                labels.delete_label(id).await.map_err(|e| app_state(&e))?;
                self.records
                    .keep_newest(id, LabelRecord { deleted: true, at_ms: now_ms(), ..record }, |r| r.at_ms)
                    .await?;
                Ok(Answer::Done)
            }
            Query::LabelChat { chat, label, on } => {
                if self.records.get(label)?.is_none_or(|r| r.deleted) {
                    return Err(EngineError::NotFound(format!("label {label}")));
                }
                let jid: Jid = super::jid_of(chat);
                let done = match on {
                    true => labels.add_chat_label(label, &jid).await,
                    false => labels.remove_chat_label(label, &jid).await,
                };
                done.map_err(|e| app_state(&e))?;
                Ok(Answer::Done)
            }
            other => Err(EngineError::Refused(format!("{} is not a label query", other.label()))),
        }
    }

    /// The labels not deleted, by number.
    fn list(&self) -> Result<Vec<LabelInfo>, EngineError> {
        let mut all: Vec<LabelInfo> = self
            .records
            .all()?
            .into_iter()
            .filter(|(_, r)| !r.deleted)
            .map(|(id, r)| LabelInfo { id, name: r.name, color: r.color })
            .collect();
        all.sort_by_key(|l| (l.id.parse::<u64>().unwrap_or(u64::MAX), l.id.clone()));
        Ok(all)
    }

    /// The id and color a save writes: a new label takes the number after the highest known
    /// and, without a color, the next color in turn; a changed one keeps its color unless told.
    fn placed(&self, id: Option<&str>, color: Option<u8>) -> Result<(String, u8), EngineError> {
        let color = color.map(|c| c % LABEL_COLORS);
        match id {
            Some(id) => {
                let Some(kept) = self.records.get(id)?.filter(|r| !r.deleted) else {
                    return Err(EngineError::NotFound(format!("label {id}")));
                };
                Ok((id.to_owned(), color.unwrap_or(kept.color)))
            }
            None => {
                let highest =
                    self.records.all()?.iter().filter_map(|(id, _)| id.parse::<u64>().ok()).max().unwrap_or(0);
                let next = highest + 1;
                Ok((next.to_string(), color.unwrap_or(((next - 1) % u64::from(LABEL_COLORS)) as u8)))
            }
        }
    }
}

fn now_ms() -> u64 {
    chatedge_config::time::unix_ms()
}

fn app_state(e: &whatsapp_rust::features::AppStateError) -> EngineError {
    match e {
        whatsapp_rust::features::AppStateError::InvalidRequest(_) => EngineError::Refused(e.to_string()),
        e => EngineError::Unreachable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use whatsapp_rust::wacore::chrono::{TimeZone, Utc};
    use whatsapp_rust::waproto::whatsapp::sync_action_value::LabelEditAction;

    use super::*;
    use crate::real::tests::SlowKv;

    fn edit(id: &str, name: &str, color: i32, deleted: bool, at_s: i64) -> LabelEditUpdate {
        let action = LabelEditAction {
            name: Some(name.to_owned()),
            color: Some(color),
            deleted: Some(deleted),
            ..Default::default()
        };
        LabelEditUpdate::builder()
            .label_id(id.to_owned())
            .timestamp(Utc.timestamp_opt(at_s, 0).unwrap())
            .action(Box::new(action))
            .from_full_sync(false)
            .build()
    }

    fn names(labels: &Labels) -> Vec<(String, String, u8)> {
        labels.list().unwrap().into_iter().map(|l| (l.id, l.name, l.color)).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn synced_edits_keep_the_newest_and_a_new_label_takes_the_next_number_and_color() {
        let labels = Arc::new(Labels::new(Arc::new(SlowKv::default())));
        labels.synced(&edit("2", "Paid", 5, false, 200)).await.unwrap();
        labels.synced(&edit("10", "New customer", 1, false, 100)).await.unwrap();
        labels.synced(&edit("2", "Pending", 4, false, 150)).await.unwrap(); // older: ignored
        labels.synced(&edit("7", "Old", 2, true, 300)).await.unwrap(); // deleted on the phone
                                                                       // A burst of edits of one label kept at once, newest first (a full sync): the newest stays.
        let mut burst = tokio::task::JoinSet::new();
        for n in (1..=50).rev() {
            let labels = labels.clone();
            burst.spawn(async move { labels.synced(&edit("12", &format!("v{n}"), 3, false, 1_000 + n)).await });
        }
        assert!(burst.join_all().await.iter().all(Result::is_ok));
        assert_eq!(labels.records.get("12").unwrap().map(|r| r.name), Some("v50".to_owned()));
        labels.synced(&edit("12", "gone", 3, true, 2_000)).await.unwrap();
        assert_eq!(
            names(&labels),
            [("2".into(), "Paid".into(), 5), ("10".into(), "New customer".into(), 1)],
            "by number; the newest edit wins; deleted ones are not listed"
        );
        assert_eq!(labels.placed(None, None).unwrap(), ("13".into(), 12), "after the highest known, deleted included");
        assert_eq!(labels.placed(None, Some(23)).unwrap(), ("13".into(), 3), "colors wrap at 20");
        assert_eq!(labels.placed(Some("2"), None).unwrap(), ("2".into(), 5), "a change keeps its color");
        assert!(matches!(labels.placed(Some("7"), None), Err(EngineError::NotFound(_))), "deleted");
        assert!(matches!(labels.placed(Some("99"), None), Err(EngineError::NotFound(_))));
    }
}
