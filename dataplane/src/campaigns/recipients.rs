//! Who a run sends to, in a fixed order so a cursor can say where it stopped: the union of
//! its audiences' numbers (audience `all`: every number of any audience of the instance), in
//! byte order, each number once. Bounded range reads only: each call reads at most `limit`
//! numbers per audience after the cursor.

use chatedge_config::InstanceId;

use super::catalog::scan;
use super::model::ALL;
use super::{keys, Campaigns};
use crate::store::StoreError;

impl Campaigns {
    /// The first `limit` distinct numbers after `after` of the union of `audiences`.
    pub fn next_recipients(
        &self,
        instance: &InstanceId,
        audiences: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut all = Vec::new();
        for a in audiences {
            if a == ALL {
                all.extend(self.contacts_after(instance, after, limit)?);
            } else {
                all.extend(self.audience_numbers(instance, a, after, limit)?);
            }
        }
        all.sort_unstable();
        all.dedup();
        all.truncate(limit);
        Ok(all)
    }

    /// Every number of any audience of the instance, after `after`, at most `limit`.
    fn contacts_after(
        &self,
        instance: &InstanceId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let (mut from, to) = keys::table(instance, keys::CONTACT);
        if let Some(a) = after {
            from = keys::contact(instance, a);
            from.push(0);
        }
        let mut out = Vec::new();
        scan(&self.store, &from, &to, limit, |k, _| {
            out.push(String::from_utf8_lossy(&k[17..]).into_owned());
            true
        })?;
        Ok(out)
    }
}
