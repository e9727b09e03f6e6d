//! Campaign definitions and their runs: create (checking every `{group.field}` against the
//! stored groups), run now or at a time, pause, resume, cancel, finish, and the results read
//! back. Each change is one batch under the instance's catalog lock; a run that starts gets
//! its feeder (`feeder`), a scheduled one an entry in the node's schedule (`scheduler`).

use std::sync::Arc;

use chatedge_config::InstanceId;
use rand::Rng;

use super::ledger::{encode, read};
use super::model::{Button, Campaign, Counters, Run, RunState, VariableGroup, MAX_RUNS};
use super::{keys, CampaignError, Campaigns};
use crate::store::{Batch, Cf};

/// A campaign as the client asked for it, fields already checked one by one (the dialect
/// parses; the checks against stored state are here).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCampaign {
    pub title: String,
    pub message: String,
    pub img_url: Option<String>,
    pub buttons: Vec<Button>,
    pub variables: Vec<(String, String)>,
    pub template_type: String,
    pub language_code: String,
    pub template_name: Option<String>,
    pub max_per_second: Option<u32>,
}

/// When and to whom to run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    pub audiences: Vec<String>,
    /// Unix ms; `None` or a time already past: now.
    pub time_to_run_ms: Option<u64>,
}

impl Campaigns {
    pub fn campaign(&self, instance: &InstanceId, id: &str) -> Result<Option<Campaign>, CampaignError> {
        Ok(read(&self.store, &keys::campaign(instance, id))?)
    }

    pub fn campaigns(&self, instance: &InstanceId) -> Result<Vec<Campaign>, CampaignError> {
        let (from, to) = keys::table(instance, keys::CAMPAIGN);
        let mut out = Vec::new();
        let mut bad = None;
        super::catalog::scan(&self.store, &from, &to, self.settings.max_per_instance, |_, v| {
            match serde_json::from_slice(v) {
                Ok(c) => out.push(c),
                Err(e) => bad = Some(e.to_string()),
            }
            bad.is_none()
        })?;
        match bad {
            Some(e) => Err(crate::store::StoreError::Corrupt(e).into()),
            None => Ok(out),
        }
    }

    /// The results of each run of `c`, and their sum.
    pub fn results(&self, instance: &InstanceId, c: &Campaign) -> Result<(Counters, Vec<Counters>), CampaignError> {
        let mut total = Counters::default();
        let mut runs = Vec::with_capacity(c.runs.len());
        for r in &c.runs {
            let counters: Counters = read(&self.store, &keys::counters(instance, &c.id, r.number))?.unwrap_or_default();
            total.sum(&counters);
            runs.push(counters);
        }
        Ok((total, runs))
    }

    /// Stores a new campaign (and its input group when it has input or journey buttons); runs
    /// it when `run` says so.
    pub async fn create(
        self: &Arc<Self>,
        instance: InstanceId,
        new: NewCampaign,
        run: Option<RunRequest>,
    ) -> Result<Campaign, CampaignError> {
        let _lock = self.lock(&instance).await;
        for (g, f) in &new.variables {
            let group = self.group(&instance, g)?;
            match group {
                None => {
                    return Err(CampaignError::invalid(
                        "message",
                        format!("{{{g}.{f}}}: there is no variable group '{g}' (create it first)"),
                    ))
                }
                Some(group) if !group.fields.iter().any(|x| x == f) => {
                    return Err(CampaignError::invalid(
                        "message",
                        format!(
                            "{{{g}.{f}}}: variable group '{g}' has no field '{f}' (it has: {})",
                            group.fields.join(", ")
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(r) = &run {
            self.check_audiences(&instance, &r.audiences, "options.audiences")?;
        }
        if self.campaigns(&instance)?.len() >= self.settings.max_per_instance {
            return Err(CampaignError::TooMany { what: "campaigns", limit: self.settings.max_per_instance });
        }
        let now = chatedge_config::time::unix_ms();
        let id: String = format!(
            "c_{}",
            rand::rng().sample_iter(&rand::distr::Alphanumeric).take(15).map(char::from).collect::<String>()
        );
        let mut campaign = Campaign {
            id: id.clone(),
            title: new.title,
            message: new.message,
            img_url: new.img_url,
            buttons: new.buttons,
            variables: new.variables,
            template_type: new.template_type,
            language_code: new.language_code,
            template_name: new.template_name,
            max_per_second: new.max_per_second,
            created_ms: now,
            runs: Vec::new(),
        };
        let mut batch = Batch::new();
        if campaign.has_input() {
            let group = VariableGroup {
                id: id.clone(),
                name: campaign.title.clone(),
                description: format!("button presses of campaign {id}"),
                fields: vec!["input".into(), "button".into()],
                numbers: 0,
                input: true,
                created_ms: now,
            };
            batch.put(Cf::Campaigns, keys::group(&instance, &id), encode(&group));
        }
        let start = run.map(|r| self.add_run(&instance, &mut campaign, r, &mut batch)).transpose()?;
        batch.put(Cf::Campaigns, keys::campaign(&instance, &id), encode(&campaign));
        self.store.commit(batch).await?;
        self.metrics.campaign_runs.with_label_values(&["created"]).inc();
        self.started(instance, &campaign, start);
        Ok(campaign)
    }

    /// A new run of a stored campaign (`POST /v1/run/campaign`).
    pub async fn run(
        self: &Arc<Self>,
        instance: InstanceId,
        id: &str,
        req: RunRequest,
    ) -> Result<Campaign, CampaignError> {
        let _lock = self.lock(&instance).await;
        let mut campaign = self.campaign(&instance, id)?.ok_or_else(|| not_found(id))?;
        if let Some(r) = campaign.latest().filter(|r| r.state.active()) {
            return Err(CampaignError::Conflict(format!(
                "campaign {id} is {} (run {}): pause and cancel it, or wait until it is done, before running it again",
                r.state.as_str(),
                r.number
            )));
        }
        if campaign.runs.len() >= MAX_RUNS {
            return Err(CampaignError::TooMany { what: "runs of this campaign", limit: MAX_RUNS });
        }
        self.check_audiences(&instance, &req.audiences, "audiences")?;
        let mut batch = Batch::new();
        let start = self.add_run(&instance, &mut campaign, req, &mut batch)?;
        batch.put(Cf::Campaigns, keys::campaign(&instance, id), encode(&campaign));
        self.store.commit(batch).await?;
        self.started(instance, &campaign, Some(start));
        Ok(campaign)
    }

    /// Appends a run, scheduled or running, with its schedule or active entry in `batch`.
    /// Returns whether it starts now.
    fn add_run(
        &self,
        instance: &InstanceId,
        c: &mut Campaign,
        req: RunRequest,
        batch: &mut Batch,
    ) -> Result<bool, CampaignError> {
        let now = self.clock.now_ms();
        let number = c.latest().map(|r| r.number + 1).unwrap_or(1);
        let due = req.time_to_run_ms.filter(|t| *t > now);
        let run = Run {
            number,
            audiences: req.audiences,
            state: if due.is_some() { RunState::Scheduled } else { RunState::Running },
            time_to_run_ms: req.time_to_run_ms,
            started_ms: due.is_none().then_some(now),
            finished_ms: None,
        };
        match due {
            Some(t) => batch.put(Cf::Campaigns, keys::schedule(t, instance, &c.id), number.to_be_bytes().to_vec()),
            None => batch.put(Cf::Campaigns, keys::active(instance, &c.id), number.to_be_bytes().to_vec()),
        }
        c.runs.push(run);
        Ok(due.is_none())
    }

    fn started(self: &Arc<Self>, instance: InstanceId, c: &Campaign, start: Option<bool>) {
        match start {
            Some(true) => {
                self.metrics.campaign_runs.with_label_values(&["started"]).inc();
                self.spawn_feeder(instance, c.id.clone());
            }
            Some(false) => {
                self.metrics.campaign_runs.with_label_values(&["scheduled"]).inc();
                self.wake.notify_one();
            }
            None => {}
        }
    }

    /// Every audience must exist (or be `all`).
    fn check_audiences(&self, instance: &InstanceId, audiences: &[String], field: &str) -> Result<(), CampaignError> {
        for (i, a) in audiences.iter().enumerate() {
            if a != super::model::ALL && self.audience(instance, a)?.is_none() {
                return Err(CampaignError::invalid(format!("{field}[{i}]"), format!("there is no audience '{a}'")));
            }
        }
        Ok(())
    }

    /// Pause (`Running` → `Paused`), resume (`Paused` → `Running`) or cancel (any active
    /// state → `Cancelled`) the latest run. Messages already in the queue (at most the queue
    /// window) still leave.
    pub async fn control(
        self: &Arc<Self>,
        instance: InstanceId,
        id: &str,
        to: RunState,
    ) -> Result<Campaign, CampaignError> {
        let _lock = self.lock(&instance).await;
        let mut c = self.campaign(&instance, id)?.ok_or_else(|| not_found(id))?;
        let Some(run) = c.latest_mut() else {
            return Err(CampaignError::Conflict(format!("campaign {id} has never run")));
        };
        let from = run.state;
        let allowed = match to {
            RunState::Paused => from == RunState::Running,
            RunState::Running => from == RunState::Paused,
            RunState::Cancelled => from.active(),
            RunState::Scheduled | RunState::Done => false,
        };
        if !allowed {
            return Err(CampaignError::Conflict(format!(
                "campaign {id} is {}: it cannot be {}",
                from.as_str(),
                match to {
                    RunState::Paused => "paused",
                    RunState::Running => "resumed",
                    _ => "cancelled",
                }
            )));
        }
        run.state = to;
        let number = run.number;
        let mut batch = Batch::new();
        if from == RunState::Scheduled {
            if let Some(t) = run.time_to_run_ms {
                batch.delete(Cf::Campaigns, keys::schedule(t, &instance, id));
            }
        }
        match to {
            RunState::Cancelled => {
                run.finished_ms = Some(self.clock.now_ms());
                batch.delete(Cf::Campaigns, keys::active(&instance, id));
            }
            RunState::Running => batch.put(Cf::Campaigns, keys::active(&instance, id), number.to_be_bytes().to_vec()),
            _ => batch.delete(Cf::Campaigns, keys::active(&instance, id)),
        }
        batch.put(Cf::Campaigns, keys::campaign(&instance, id), encode(&c));
        self.store.commit(batch).await?;
        let event = match to {
            RunState::Paused => "paused",
            RunState::Running => "resumed",
            _ => "cancelled",
        };
        self.metrics.campaign_runs.with_label_values(&[event]).inc();
        if to == RunState::Running {
            self.spawn_feeder(instance, id.to_owned());
        }
        Ok(c)
    }

    /// The feeder reached the end of run `number`: it is done.
    pub(super) async fn finish(&self, instance: InstanceId, id: &str, number: u32) -> Result<(), CampaignError> {
        let _lock = self.lock(&instance).await;
        let Some(mut c) = self.campaign(&instance, id)? else { return Ok(()) };
        let Some(run) = c.latest_mut().filter(|r| r.number == number && r.state == RunState::Running) else {
            return Ok(());
        };
        run.state = RunState::Done;
        run.finished_ms = Some(self.clock.now_ms());
        let mut batch = Batch::new();
        batch.delete(Cf::Campaigns, keys::active(&instance, id));
        batch.put(Cf::Campaigns, keys::campaign(&instance, id), encode(&c));
        self.store.commit(batch).await?;
        self.metrics.campaign_runs.with_label_values(&["finished"]).inc();
        Ok(())
    }

    /// A scheduled run whose time came: it starts (under the lock, so a cancel that got there
    /// first wins). Returns whether it started.
    pub(super) async fn start_due(
        self: &Arc<Self>,
        instance: InstanceId,
        id: &str,
        due_ms: u64,
    ) -> Result<bool, CampaignError> {
        let _lock = self.lock(&instance).await;
        let mut batch = Batch::new();
        batch.delete(Cf::Campaigns, keys::schedule(due_ms, &instance, id));
        let known = self.config.load().instances.contains_key(&instance);
        let mut c = match self.campaign(&instance, id)? {
            Some(c) if known => c,
            _ => {
                self.store.commit(batch).await?; // the instance or campaign is gone
                return Ok(false);
            }
        };
        let now = self.clock.now_ms();
        let Some(run) = c.latest_mut().filter(|r| r.state == RunState::Scheduled && r.time_to_run_ms == Some(due_ms))
        else {
            self.store.commit(batch).await?;
            return Ok(false);
        };
        run.state = RunState::Running;
        run.started_ms = Some(now);
        batch.put(Cf::Campaigns, keys::active(&instance, id), run.number.to_be_bytes().to_vec());
        batch.put(Cf::Campaigns, keys::campaign(&instance, id), encode(&c));
        self.store.commit(batch).await?;
        self.metrics.campaign_runs.with_label_values(&["started"]).inc();
        self.spawn_feeder(instance, id.to_owned());
        Ok(true)
    }
}

fn not_found(id: &str) -> CampaignError {
    CampaignError::NotFound { what: "campaign", id: id.to_owned() }
}
