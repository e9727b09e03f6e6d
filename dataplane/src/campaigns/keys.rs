//! Key layouts of the `campaigns` column family. Every key starts with the instance id, then a
//! one-byte table tag, so one instance's rows of one table are a contiguous range; text parts
//! that are followed by more key are ended by 0x00 (ids and numbers never hold it). Pure
//! functions, no I/O.

use chatedge_config::{InstanceId, MessageId};

/// Table tags (the byte after the instance id).
pub const AUDIENCE: u8 = b'a';
pub const MEMBER: u8 = b'm';
pub const CONTACT: u8 = b'C';
pub const GROUP: u8 = b'g';
pub const VALUES: u8 = b'v';
pub const CAMPAIGN: u8 = b'c';
pub const CURSOR: u8 = b'u';
pub const COUNTERS: u8 = b'n';
pub const RECIPIENT: u8 = b'r';
pub const MESSAGE: u8 = b'x';
pub const SUPPRESSED: u8 = b's';

/// The data plane's test clock (not an instance's row: sixteen zero bytes are no instance id
/// the control plane hands out).
pub const CLOCK: &[u8] = b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0T";

fn key(instance: &InstanceId, tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(17 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    k.extend_from_slice(instance.as_bytes());
    k.push(tag);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

/// The first key of table `tag` of `instance` and the first key after it.
pub fn table(instance: &InstanceId, tag: u8) -> (Vec<u8>, Vec<u8>) {
    (key(instance, tag, &[]), key(instance, tag + 1, &[]))
}

/// Node-wide tables (not an instance's rows): scheduled runs by due time, and running runs.
const NODE: [u8; 16] = [0; 16];
const SCHEDULE: u8 = b'S';
const ACTIVE: u8 = b'R';

/// A scheduled run: due_ms (u64 BE) ‖ instance ‖ campaign → run number.
pub fn schedule(due_ms: u64, instance: &InstanceId, campaign: &str) -> Vec<u8> {
    let mut k = NODE.to_vec();
    k.push(SCHEDULE);
    k.extend_from_slice(&due_ms.to_be_bytes());
    k.extend_from_slice(instance.as_bytes());
    k.extend_from_slice(campaign.as_bytes());
    k
}

/// Scheduled runs due at or before `now_ms`: `[from, to)`.
pub fn schedule_due(now_ms: u64) -> (Vec<u8>, Vec<u8>) {
    let mut from = NODE.to_vec();
    from.push(SCHEDULE);
    let mut to = from.clone();
    to.extend_from_slice(&now_ms.saturating_add(1).to_be_bytes());
    (from, to)
}

/// (due, instance, campaign) of a schedule key.
pub fn parse_schedule(k: &[u8]) -> Option<(u64, InstanceId, String)> {
    let due = u64::from_be_bytes(k.get(17..25)?.try_into().ok()?);
    let instance = InstanceId::from_bytes(k.get(25..41)?.try_into().ok()?);
    Some((due, instance, String::from_utf8(k.get(41..)?.to_vec()).ok()?))
}

/// A running run (fed again at start-up): instance ‖ campaign → run number.
pub fn active(instance: &InstanceId, campaign: &str) -> Vec<u8> {
    let mut k = NODE.to_vec();
    k.push(ACTIVE);
    k.extend_from_slice(instance.as_bytes());
    k.extend_from_slice(campaign.as_bytes());
    k
}

pub fn active_all() -> (Vec<u8>, Vec<u8>) {
    let mut from = NODE.to_vec();
    from.push(ACTIVE);
    let mut to = NODE.to_vec();
    to.push(ACTIVE + 1);
    (from, to)
}

/// (instance, campaign) of an active key.
pub fn parse_active(k: &[u8]) -> Option<(InstanceId, String)> {
    let instance = InstanceId::from_bytes(k.get(17..33)?.try_into().ok()?);
    Some((instance, String::from_utf8(k.get(33..)?.to_vec()).ok()?))
}

/// Every key of `instance` (its teardown).
pub fn instance_span(instance: &InstanceId) -> (Vec<u8>, Vec<u8>) {
    (key(instance, 0, &[]), key(instance, u8::MAX, &[&[u8::MAX]]))
}

/// Every key under `prefix ‖ 0x00` (the rows of one audience, group or run).
pub fn under(prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut from = prefix.to_vec();
    from.push(0);
    let mut to = prefix.to_vec();
    to.push(1);
    (from, to)
}

/// Every row of table `tag` under `id`: an audience's members, a group's values, a
/// campaign's cursors, counters or recipient rows (all its runs).
pub fn rows_of(instance: &InstanceId, tag: u8, id: &str) -> (Vec<u8>, Vec<u8>) {
    under(&key(instance, tag, &[id.as_bytes()]))
}

pub fn audience(instance: &InstanceId, id: &str) -> Vec<u8> {
    key(instance, AUDIENCE, &[id.as_bytes()])
}

pub fn member(instance: &InstanceId, audience: &str, phone: &str) -> Vec<u8> {
    key(instance, MEMBER, &[audience.as_bytes(), phone.as_bytes()])
}

/// Every number of any audience of the instance (what audience `all` means).
pub fn contact(instance: &InstanceId, phone: &str) -> Vec<u8> {
    key(instance, CONTACT, &[phone.as_bytes()])
}

pub fn group(instance: &InstanceId, id: &str) -> Vec<u8> {
    key(instance, GROUP, &[id.as_bytes()])
}

pub fn values(instance: &InstanceId, group: &str, phone: &str) -> Vec<u8> {
    key(instance, VALUES, &[group.as_bytes(), phone.as_bytes()])
}

pub fn campaign(instance: &InstanceId, id: &str) -> Vec<u8> {
    key(instance, CAMPAIGN, &[id.as_bytes()])
}

pub fn cursor(instance: &InstanceId, campaign: &str, run: u32) -> Vec<u8> {
    key(instance, CURSOR, &[campaign.as_bytes(), &run.to_be_bytes()])
}

pub fn counters(instance: &InstanceId, campaign: &str, run: u32) -> Vec<u8> {
    key(instance, COUNTERS, &[campaign.as_bytes(), &run.to_be_bytes()])
}

/// The rows of one run start with this prefix (then 0x00 ‖ phone).
pub fn run_rows(instance: &InstanceId, campaign: &str, run: u32) -> Vec<u8> {
    key(instance, RECIPIENT, &[campaign.as_bytes(), &run.to_be_bytes()])
}

pub fn recipient(instance: &InstanceId, campaign: &str, run: u32, phone: &str) -> Vec<u8> {
    key(instance, RECIPIENT, &[campaign.as_bytes(), &run.to_be_bytes(), phone.as_bytes()])
}

pub fn message(instance: &InstanceId, id: &MessageId) -> Vec<u8> {
    key(instance, MESSAGE, &[id.as_bytes()])
}

/// Whether `key` is a message-id index entry (an instance's, not a node-wide row).
pub fn is_message(key: &[u8]) -> bool {
    key.len() == InstanceId::LEN + 1 + MessageId::LEN && key[InstanceId::LEN] == MESSAGE && key[..16] != NODE
}

pub fn suppressed(instance: &InstanceId, phone: &str) -> Vec<u8> {
    key(instance, SUPPRESSED, &[phone.as_bytes()])
}

/// The last part of a key (after its final 0x00), e.g. the phone of a member row.
pub fn last_part(key: &[u8]) -> &[u8] {
    match key[17.min(key.len())..].iter().rposition(|b| *b == 0) {
        Some(i) => &key[17 + i + 1..],
        None => &key[17.min(key.len())..],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_one_audience_sort_by_number_and_stay_inside_their_range() {
        let i = InstanceId::generate();
        let (from, to) = under(&key(&i, MEMBER, &[b"shoppers"]));
        let a = member(&i, "shoppers", "5511900000001");
        let b = member(&i, "shoppers", "5511900000002");
        let other = member(&i, "shoppers2", "5511900000001");
        assert!(from <= a && a < b && b < to);
        assert!(!(from <= other && other < to), "an audience whose id extends another's is not inside it");
        assert_eq!(last_part(&b), b"5511900000002");
    }

    #[test]
    fn a_campaigns_rows_of_every_run_are_inside_its_range_and_no_other_campaigns_are() {
        let i = InstanceId::generate();
        let (from, to) = rows_of(&i, RECIPIENT, "c_a");
        for run in [1u32, 256, u32::MAX] {
            let row = recipient(&i, "c_a", run, "5511900000001");
            assert!(from <= row && row < to, "run {run}");
        }
        let (cf, ct) = rows_of(&i, COUNTERS, "c_a");
        assert!(cf <= counters(&i, "c_a", 7) && counters(&i, "c_a", 7) < ct);
        for other in [recipient(&i, "c_ab", 1, "5511900000001"), recipient(&i, "c_", 1, "5511900000001")] {
            assert!(!(from <= other && other < to), "another campaign's row");
        }
        assert!(campaign(&i, "c_a") < from || campaign(&i, "c_a") >= to, "the record is deleted by key");
    }

    #[test]
    fn schedules_sort_by_due_time_and_parse_back() {
        let i = InstanceId::generate();
        let early = schedule(1_000, &i, "c_late_id");
        let late = schedule(2_000, &i, "c_a");
        assert!(early < late);
        let (from, to) = schedule_due(1_000);
        assert!(from <= early && early < to && late >= to);
        assert_eq!(parse_schedule(&late), Some((2_000, i, "c_a".into())));
        assert_eq!(parse_active(&active(&i, "c_x")), Some((i, "c_x".into())));
    }
}
