//! registration: phone-side `/sim` actions of this family (see the parent module).

use std::sync::Arc;

use serde_json::Value;

use super::super::{invalid, SimApiError};
use crate::api::App;
use crate::network::sim::SimNetwork;

/// `/sim/<action>` → metrics label.
pub const ACTIONS: &[(&str, &str)] = &[];

pub async fn serve(_app: &App, _sim: &Arc<SimNetwork>, action: &str, _body: &[u8]) -> Result<Value, SimApiError> {
    Err(invalid(format!("unknown sim action {action}")))
}
