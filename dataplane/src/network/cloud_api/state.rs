//! state: what the Cloud API connectors learn about each instance's number and chats, shared by
//! every shard and the webhook route (one value per data plane, behind an `Arc`): the number's
//! display name and quality rating (read by `status`, `me`, `device`) and the last message
//! received in each chat (the typing indicator and mark-as-read need a received wamid). Both
//! maps are bounded; the mutexes are held for a map operation only, never across `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chatedge_config::{InstanceId, Phone};

/// Chats whose last received message is remembered, over all instances; past it the oldest
/// entry is forgotten (a typing indicator in that chat is then skipped until its next message).
pub const MAX_LAST_RECEIVED: usize = 100_000;
/// Instances whose number details are remembered (one per Cloud API instance on this node).
pub const MAX_NUMBERS: usize = 100_000;

/// The business number as the Graph API describes it (`GET /{phone-number-id}`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NumberInfo {
    /// `display_phone_number`, as Meta formats it (`+1 555-010-0000`).
    pub display_phone_number: String,
    /// `verified_name`: the business name shown to customers.
    pub verified_name: String,
    /// `quality_rating`: GREEN, YELLOW, RED or UNKNOWN.
    pub quality_rating: String,
    /// `code_verification_status`, `platform_type`, `throughput.level` when given.
    pub code_verification_status: Option<String>,
    pub platform_type: Option<String>,
    pub throughput_level: Option<String>,
}

#[derive(Default)]
struct LastReceived {
    map: HashMap<(InstanceId, Phone), String>,
    order: VecDeque<(InstanceId, Phone)>,
}

/// Shared Cloud API facts; see the module docs.
#[derive(Default)]
pub struct CloudState {
    numbers: Mutex<HashMap<InstanceId, NumberInfo>>,
    last_received: Mutex<LastReceived>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each critical section is one map operation: a panic elsewhere cannot leave it half done.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CloudState {
    pub fn new() -> Self {
        CloudState::default()
    }

    /// The number's details, as last verified.
    pub fn number(&self, instance: &InstanceId) -> Option<NumberInfo> {
        lock(&self.numbers).get(instance).cloned()
    }

    pub fn set_number(&self, instance: InstanceId, info: NumberInfo) {
        let mut numbers = lock(&self.numbers);
        if numbers.len() >= MAX_NUMBERS && !numbers.contains_key(&instance) {
            numbers.clear(); // refilled as instances reconnect
        }
        numbers.insert(instance, info);
    }

    pub fn forget(&self, instance: &InstanceId) {
        lock(&self.numbers).remove(instance);
    }

    /// A message `wamid` arrived from `chat` (the inbound path calls this).
    pub fn received(&self, instance: InstanceId, chat: Phone, wamid: String) {
        let mut l = lock(&self.last_received);
        let key = (instance, chat);
        if l.map.insert(key.clone(), wamid).is_none() {
            l.order.push_back(key);
            if l.order.len() > MAX_LAST_RECEIVED {
                if let Some(old) = l.order.pop_front() {
                    l.map.remove(&old);
                }
            }
        }
    }

    /// The last message received from `chat`, if remembered.
    pub fn last_received(&self, instance: &InstanceId, chat: &Phone) -> Option<String> {
        lock(&self.last_received).map.get(&(*instance, chat.clone())).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_received_message_per_chat_is_kept_and_bounded() {
        let s = CloudState::new();
        let i = InstanceId::generate();
        let a = Phone::parse("5511999990001").unwrap();
        s.received(i, a.clone(), "wamid.1".into());
        s.received(i, a.clone(), "wamid.2".into());
        assert_eq!(s.last_received(&i, &a).as_deref(), Some("wamid.2"));
        for n in 0..MAX_LAST_RECEIVED {
            s.received(i, Phone::parse(&format!("55119{n:08}")).unwrap(), "w".into());
        }
        assert_eq!(s.last_received(&i, &a), None, "the oldest chat is forgotten past the bound");
    }
}
