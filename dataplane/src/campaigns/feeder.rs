//! The feeder: one task per running run (on the edge runtime) that moves the run's recipients
//! into the instance's durable queue in bounded batches. Each batch is one `CampaignFeed`
//! shard command — messages, result rows of the recipients skipped and the run's new cursor in
//! one RocksDB batch — so after a crash the run resumes at the cursor with no recipient queued
//! twice and none skipped. It feeds only while fewer than `[campaigns] queue_window` messages
//! wait in the instance's queue (an interactive send waits behind at most that many campaign
//! messages), no faster than the campaign's own `maxPerSecond`, and no more than the day's
//! limits allow (its account's `dailyQuota`, its instance's daily limit: campaign messages
//! count like any send): a run whose allowance is used up is held, shown as such, until the
//! next UTC day or a raised limit. Recipients are read and their messages built on the
//! blocking pool; the shard only writes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatedge_config::snapshot::Network;
use chatedge_config::{InstanceId, Phone};
use serde_json::{json, Map, Value};

use super::ledger::{read, Skip};
use super::model::{Button, Campaign, Cursor, Outcome, Run, RunState, MAX_MESSAGE_CHARS};
use super::{keys, template, CampaignError, Campaigns};
use crate::error::CoreError;
use crate::media::MediaKind;
use crate::queue::content::interactive::{ActionButton, ButtonMedia, ReplyButton};
use crate::queue::content::{Interactive, Media, MediaSource, Template};
use crate::queue::{Content, OutboundMessage};
use crate::shard::Command;
use crate::store::{Cf, StoreError};

/// How long the feeder waits before looking again at a full window or a busy shard.
const WAIT_FOR_ROOM: Duration = Duration::from_millis(20);
const WAIT_WHEN_REFUSED: Duration = Duration::from_millis(200);
/// How often a run held by a used-up daily limit looks again (a new day, or a raised limit).
const WAIT_FOR_ALLOWANCE: Duration = Duration::from_secs(1);

/// One batch of a run for the owning shard to write.
#[derive(Debug)]
pub struct Feed {
    pub campaign: String,
    pub run: u32,
    pub sends: Vec<OutboundMessage>,
    pub skips: Vec<Skip>,
    pub cursor: Cursor,
}

impl Campaigns {
    /// Starts feeding the latest run of `campaign` unless a task already does.
    pub fn spawn_feeder(self: &Arc<Self>, instance: InstanceId, campaign: String) {
        if !self.start_feeding(instance, &campaign) {
            return;
        }
        let me = self.clone();
        self.metrics.campaign_feeders.inc();
        tokio::spawn(async move {
            if let Err(e) = me.feed(instance, &campaign).await {
                tracing::warn!(instance = %instance, campaign, error = %e, "campaign feeder stopped; it resumes at the next start or run");
            }
            me.metrics.campaign_feeders.dec();
            me.stop_feeding(instance, &campaign);
        });
    }

    async fn feed(self: &Arc<Self>, instance: InstanceId, id: &str) -> Result<(), CampaignError> {
        let (started, mut fed) = (Instant::now(), 0u64);
        loop {
            let Some(campaign) = self.campaign(&instance, id)? else { return Ok(()) };
            let Some(run) = campaign.latest().cloned() else { return Ok(()) };
            if run.state != RunState::Running {
                return Ok(()); // paused, cancelled or done: a resume starts a new task
            }
            let cursor: Cursor = read(&self.store, &keys::cursor(&instance, id, run.number))?.unwrap_or_default();
            if cursor.done {
                return self.finish(instance, id, run.number).await;
            }
            let waiting = self.shards.ask(&instance, |reply| Command::QueueCount { instance, reply }).await?;
            let window = self.settings.queue_window;
            if waiting >= window {
                tokio::time::sleep(WAIT_FOR_ROOM).await;
                continue;
            }
            let allowance = self.shards.call(&instance, |reply| Command::DailyAllowance { instance, reply }).await?;
            let used_up = allowance.filter(|a| a.left == 0);
            self.hold(instance, id, used_up);
            if used_up.is_some() {
                // Until the next UTC day, or a raised limit pushed meanwhile.
                tokio::time::sleep(WAIT_FOR_ALLOWANCE).await;
                continue;
            }
            let mut room = ((window - waiting) as usize).min(self.settings.feed_batch);
            if let Some(a) = allowance {
                room = room.min(usize::try_from(a.left).unwrap_or(usize::MAX));
            }
            if let Some(rate) = campaign.max_per_second {
                // A token bucket of one second's worth: what the rate allows by now, less what
                // this task already fed.
                let allowed = (started.elapsed().as_secs_f64() * rate as f64) as u64 + rate as u64;
                let left = allowed.saturating_sub(fed) as usize;
                if left == 0 {
                    tokio::time::sleep(Duration::from_secs_f64(1.0 / rate as f64)).await;
                    continue;
                }
                room = room.min(left);
            }
            let network = self.config.load().instances.get(&instance).map(|c| c.network.clone());
            let Some(network) = network else { return Ok(()) }; // the instance was removed
            let me = self.clone();
            let build = move || me.build(&instance, &campaign, &run, &cursor, room, &network);
            let feed = tokio::task::spawn_blocking(build)
                .await
                .map_err(|e| CampaignError::Unavailable(format!("feed task: {e}")))??;
            let queued = feed.sends.len() as u64;
            let feed = Box::new(feed);
            match self.shards.call(&instance, |reply| Command::CampaignFeed { instance, feed, reply }).await {
                Ok(_) => fed += queued,
                Err(
                    CoreError::QueueFull { .. }
                    | CoreError::StoreBusy
                    | CoreError::StoreFailing(_)
                    | CoreError::DailyQuota { .. }
                    | CoreError::DailyLimit { .. },
                ) => {
                    self.metrics.campaign_feed_waits.inc();
                    tokio::time::sleep(WAIT_WHEN_REFUSED).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The run's next batch: up to `limit` recipients after the cursor, each with its own
    /// message, or skipped with the reason (suppressed, a variable without a value, a message
    /// its values make longer than a campaign message may be).
    fn build(
        &self,
        instance: &InstanceId,
        campaign: &Campaign,
        run: &Run,
        cursor: &Cursor,
        limit: usize,
        network: &Network,
    ) -> Result<Feed, CampaignError> {
        let phones = self.next_recipients(instance, &run.audiences, cursor.after.as_deref(), limit)?;
        let done = phones.len() < limit;
        let suppressed = self.lookup(phones.iter().map(|p| keys::suppressed(instance, p)).collect())?;
        let mut groups: Vec<&str> = campaign.variables.iter().map(|(g, _)| g.as_str()).collect();
        groups.sort_unstable();
        groups.dedup();
        let mut values: HashMap<&str, Vec<Option<Vec<u8>>>> = HashMap::new();
        for g in &groups {
            values.insert(*g, self.lookup(phones.iter().map(|p| keys::values(instance, g, p)).collect())?);
        }
        let cloud = matches!(network, Network::CloudApi(_));
        let (mut sends, mut skips) = (Vec::with_capacity(phones.len()), Vec::new());
        for (i, phone) in phones.iter().enumerate() {
            let skip = |outcome, reason: String| Skip { phone: phone.clone(), outcome, reason };
            if suppressed[i].is_some() {
                skips.push(skip(Outcome::OptedOut, "opted out: the number is on the suppression list".into()));
                continue;
            }
            let mine: HashMap<&str, Map<String, Value>> = groups
                .iter()
                .filter_map(|g| {
                    let raw = values.get(g)?.get(i)?.as_ref()?;
                    Some((*g, serde_json::from_slice::<Map<String, Value>>(raw).ok()?))
                })
                .collect();
            let text = match template::render(&campaign.message, &mine) {
                Ok(t) if t.chars().count() > MAX_MESSAGE_CHARS => {
                    let why =
                        format!("with its values the message is longer than {MAX_MESSAGE_CHARS} characters: not sent");
                    skips.push(skip(Outcome::SendError, why));
                    continue;
                }
                Ok(t) => t,
                Err(var) => {
                    skips.push(skip(Outcome::SendError, format!("no value for {{{var}}}: not sent")));
                    continue;
                }
            };
            let Ok(to) = Phone::parse(phone) else {
                skips.push(skip(Outcome::SendError, format!("{phone} is not a number that can be sent to")));
                continue;
            };
            let content = content(campaign, text, cloud, &mine);
            sends.push(OutboundMessage::new(*instance, to, content));
        }
        let after = phones.last().cloned().or_else(|| cursor.after.clone());
        Ok(Feed { campaign: campaign.id.clone(), run: run.number, sends, skips, cursor: Cursor { after, done } })
    }

    fn lookup(&self, keys: Vec<Vec<u8>>) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let cf = self.store.cf(Cf::Campaigns);
        self.store
            .db()
            .batched_multi_get_cf(cf, keys.iter(), false)
            .into_iter()
            .map(|r| r.map(|v| v.map(|s| s.to_vec())).map_err(StoreError::from))
            .collect()
    }
}

/// What one recipient is sent: on a Cloud API instance with a template, the approved template
/// with the recipient's values as its body parameters; otherwise the filled-in text — with its
/// buttons (input and journey as reply buttons named `{campaignId}#{n}`, phone and url as
/// action buttons) and its image.
pub fn content(c: &Campaign, text: String, cloud: bool, values: &HashMap<&str, Map<String, Value>>) -> Content {
    if let (true, Some(name)) = (cloud, &c.template_name) {
        let parameters: Vec<Value> = c
            .variables
            .iter()
            .map(|(g, f)| {
                let v = values.get(g.as_str()).and_then(|m| m.get(f)).and_then(Value::as_str).unwrap_or_default();
                json!({"type": "text", "text": v})
            })
            .collect();
        let components = match parameters.is_empty() {
            true => Vec::new(),
            false => vec![json!({"type": "body", "parameters": parameters})],
        };
        let language = c.language_code.clone();
        return Content::Template(Box::new(Template { name: name.clone(), language, components }));
    }
    let image = c.img_url.as_ref().map(|url| MediaSource::Url { url: url.clone() });
    let id = |n: usize| Some(format!("{}#{}", c.id, n + 1));
    if c.buttons.is_empty() {
        return match image {
            Some(source) => Content::Media(Box::new(Media {
                kind: MediaKind::Image,
                source,
                caption: Some(text),
                file_name: None,
                extension: None,
                view_once: false,
                sticker_author: None,
            })),
            None => Content::text(text),
        };
    }
    if c.buttons.iter().all(Button::answers_in_chat) {
        let buttons = c.buttons.iter().enumerate().map(|(n, b)| ReplyButton { id: id(n), label: b.text().to_owned() });
        let media = image.map(|source| ButtonMedia { kind: MediaKind::Image, source });
        return Content::Interactive(Box::new(Interactive::ButtonList {
            message: text,
            media,
            buttons: buttons.collect(),
        }));
    }
    let buttons = c.buttons.iter().enumerate().map(|(n, b)| match b {
        Button::Phone { text, phone_number, .. } => {
            ActionButton::Call { id: id(n), label: text.clone(), phone: phone_number.clone() }
        }
        Button::Url { text, url } => ActionButton::Url { id: id(n), label: text.clone(), url: url.clone() },
        other => ActionButton::Reply { id: id(n), label: other.text().to_owned() },
    });
    Content::Interactive(Box::new(Interactive::ButtonActions {
        message: text,
        title: None,
        footer: None,
        buttons: buttons.collect(),
    }))
}
