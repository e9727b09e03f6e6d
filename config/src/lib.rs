//! chatedge-config owns the typed contract shared by the control plane and the data plane:
//! the TOML configuration file (parsed in two stages, validated at load with every error named
//! by its field), the ids and tokens that cross the wire (`InstanceId`, `InstanceToken`,
//! `ZaapId`, `Phone`, …), and the versioned [`snapshot`] the control plane pushes to data planes.
//!
//! It performs no I/O beyond reading a config file and never depends on either plane.

#![forbid(unsafe_code)]

pub mod address_policy;
pub mod campaigns;
pub mod file;
pub mod ids;
pub mod link;
pub mod phone;
pub mod placement;
pub mod rate_limits;
pub mod settings;
pub mod snapshot;
pub mod time;
pub mod token;
pub mod webhook_url;

pub use address_policy::AddressPolicy;
pub use file::{Config, ConfigError};
pub use ids::{EventId, IdError, InstanceId, MediaId, MessageId, NodeId, TenantId, ZaapId};
pub use link::CertFingerprint;
pub use phone::{Phone, PhoneError};
pub use settings::SettingsPatch;
pub use snapshot::{
    ConfigUpdate, DailyUsage, InstanceConfig, SessionReport, Snapshot, StreamMessage, Tenant, UpdateAck,
};
pub use token::{Secret, TokenHash, WebhookSecret};
pub use webhook_url::{redact, UrlPolicy, WebhookUrl, WebhookUrlError};
