//! CSV import (seed 003's `…/from/file` routes): a file of numbers — and, for a variable
//! group, one column per field — read record by record with the `csv` crate from a spooled
//! upload, written in batches of `ROWS_PER_BATCH`, so a file of millions of rows costs one
//! batch of memory. The header names the columns: the number column is `number` (or `phone`,
//! `phone_number`, `whatsapp`, `msisdn`; any case); every other column of a variable group file
//! is a field. A bad row (a number that is not a contact number, a value too long, a wrong
//! count of columns) is reported by its line number and skipped; the others are stored. Runs
//! on a blocking thread under the instance's catalog lock.

use std::io::Read;

use chatedge_config::phone::PhoneKind;
use chatedge_config::{InstanceId, Phone};
use serde::Serialize;
use serde_json::{Map, Value};

use super::model::{valid_field, Audience, VariableGroup, MAX_FIELDS, MAX_VALUE_CHARS};
use super::{commit_blocking, CampaignError, Campaigns};
use crate::store::Batch;

/// Rows per write batch (one fsync each).
pub const ROWS_PER_BATCH: usize = 10_000;
/// Bad rows described in the answer at most (all of them are counted).
pub const MAX_REPORTED: usize = 100;
/// Names the number column may have.
const NUMBER_COLUMNS: [&str; 5] = ["number", "phone", "phone_number", "whatsapp", "msisdn"];

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows stored.
    pub stored: u64,
    /// Numbers new to the audience or group.
    pub added: u64,
    pub bad_rows: u64,
    /// The first `MAX_REPORTED` bad rows, with their line numbers (the header is line 1).
    pub errors: Vec<BadRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    pub line: u64,
    pub error: String,
}

/// What the file fills.
pub enum Target {
    Audience(Audience),
    /// A variable group, and the audience its numbers also join (seed 003's `audienceId`).
    Group(VariableGroup, Option<Audience>),
}

/// A contact number as a CSV cell writes it (`+55 (11) 99999-0001`), normalised to digits.
pub fn contact_number(cell: &str) -> Result<String, String> {
    match Phone::normalize(cell) {
        Ok(p) if p.kind() == PhoneKind::Contact => Ok(p.as_str().to_owned()),
        Ok(_) => Err(format!("'{}' is not a contact number", cell.trim())),
        Err(e) => Err(e.to_string()),
    }
}

impl Campaigns {
    /// Reads the CSV in `file` into `target`. Refuses the whole file only when its header is
    /// unusable or it has more than `[campaigns] max_csv_rows` rows (what came before stays).
    pub fn import(
        &self,
        instance: &InstanceId,
        mut target: Target,
        file: impl Read,
    ) -> Result<(Target, ImportReport), CampaignError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(file);
        let headers = reader.headers().map_err(|e| CampaignError::invalid("file", format!("line 1: {e}")))?.clone();
        let names: Vec<String> = headers.iter().map(|h| h.trim_start_matches('\u{feff}').to_owned()).collect();
        let Some(number_at) = names.iter().position(|h| NUMBER_COLUMNS.contains(&h.to_ascii_lowercase().as_str()))
        else {
            return Err(CampaignError::invalid(
                "file",
                format!(
                    "line 1 must be a header naming the number column ({}); found: {}",
                    NUMBER_COLUMNS.join(", "),
                    names.join(", ")
                ),
            ));
        };
        let fields: Vec<(usize, String)> = match &target {
            Target::Audience(_) => Vec::new(),
            Target::Group(..) => {
                names.iter().enumerate().filter(|(i, _)| *i != number_at).map(|(i, n)| (i, n.clone())).collect()
            }
        };
        if let Some((_, bad)) = fields.iter().find(|(_, n)| !valid_field(n)) {
            return Err(CampaignError::invalid(
                "file",
                format!("line 1: column '{bad}' is not a field name (letters, digits and _)"),
            ));
        }
        if fields.len() > MAX_FIELDS {
            return Err(CampaignError::invalid("file", format!("line 1: at most {MAX_FIELDS} field columns")));
        }
        if let Target::Group(group, _) = &mut target {
            let names: Vec<String> = fields.iter().map(|(_, n)| n.clone()).collect();
            for f in names {
                if !group.fields.contains(&f) {
                    group.fields.push(f);
                }
            }
            if group.fields.len() > MAX_FIELDS {
                return Err(CampaignError::invalid(
                    "file",
                    format!("the group would hold more than {MAX_FIELDS} fields"),
                ));
            }
        }
        let mut report = ImportReport::default();
        let mut phones = Vec::with_capacity(ROWS_PER_BATCH);
        let mut values = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            let line = reader.position().line();
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    report.rows += 1;
                    self.bad(&mut report, line.max(2), e.to_string());
                    continue;
                }
            }
            report.rows += 1;
            if report.rows > self.settings.max_csv_rows {
                self.flush(instance, &mut target, &mut phones, &mut values, &mut report)?;
                return Err(CampaignError::invalid(
                    "file",
                    format!("more than {} rows ([campaigns] max_csv_rows): stopped at line {line}, rows before it are stored", self.settings.max_csv_rows),
                ));
            }
            let line = record.position().map(|p| p.line()).unwrap_or(line);
            if record.len() != names.len() {
                self.bad(&mut report, line, format!("{} columns, the header has {}", record.len(), names.len()));
                continue;
            }
            let number = match contact_number(record.get(number_at).unwrap_or_default()) {
                Ok(n) => n,
                Err(e) => {
                    self.bad(&mut report, line, format!("{}: {e}", names[number_at]));
                    continue;
                }
            };
            if let Target::Group(..) = target {
                let mut row = Map::new();
                let mut too_long = None;
                for (i, name) in &fields {
                    let v = record.get(*i).unwrap_or_default();
                    if v.chars().count() > MAX_VALUE_CHARS {
                        too_long = Some(name.clone());
                    }
                    row.insert(name.clone(), Value::from(v));
                }
                if let Some(name) = too_long {
                    self.bad(&mut report, line, format!("{name}: longer than {MAX_VALUE_CHARS} characters"));
                    continue;
                }
                values.push((number.clone(), row));
            }
            phones.push(number);
            if phones.len() == ROWS_PER_BATCH {
                self.flush(instance, &mut target, &mut phones, &mut values, &mut report)?;
            }
        }
        self.flush(instance, &mut target, &mut phones, &mut values, &mut report)?;
        self.metrics.campaign_csv_rows.with_label_values(&["stored"]).inc_by(report.stored);
        self.metrics.campaign_csv_rows.with_label_values(&["bad"]).inc_by(report.bad_rows);
        Ok((target, report))
    }

    fn bad(&self, report: &mut ImportReport, line: u64, error: String) {
        report.bad_rows += 1;
        if report.errors.len() < MAX_REPORTED {
            report.errors.push(BadRow { line, error });
        }
    }

    /// Writes the rows read so far as one batch and waits until it is durable.
    fn flush(
        &self,
        instance: &InstanceId,
        target: &mut Target,
        phones: &mut Vec<String>,
        values: &mut Vec<(String, Map<String, Value>)>,
        report: &mut ImportReport,
    ) -> Result<(), CampaignError> {
        if phones.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::new();
        let added = match target {
            Target::Audience(a) => self.add_members(instance, a, phones, &mut batch)?,
            Target::Group(g, audience) => {
                let added = self.add_values(instance, g, values, &mut batch)?;
                if let Some(a) = audience {
                    self.add_members(instance, a, phones, &mut batch)?;
                }
                added
            }
        };
        commit_blocking(&self.store, batch)?;
        report.stored += phones.len() as u64;
        report.added += added;
        phones.clear();
        values.clear();
        Ok(())
    }
}
