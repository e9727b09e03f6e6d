//! The end-to-end suite: every test that runs the real `chatedge` binary over sockets, one
//! module per area, built as one test binary so the suite compiles and links once (each was a
//! binary of its own: 55 links of the data plane took most of CI's build). The harness and the
//! support modules are shared at the crate's root. `tests/whatsapp_web.rs` stays a binary of its
//! own: it is built with and without the `whatsapp-web` feature.
//!
//! Run one area with a filter: `cargo test --release --test suite durability::`.

#[path = "../accounts_support/mod.rs"]
mod accounts_support;
#[path = "../common/mod.rs"]
mod common;
#[path = "../edge_support/mod.rs"]
mod edge_support;
#[path = "../common/fake_graph.rs"]
mod fake_graph;
#[path = "../webhook_support/mod.rs"]
mod webhook_support;

mod account_security;
mod accounts_isolation;
mod accounts_lifecycle;
mod bad_input;
mod billing;
mod campaigns;
mod cloud_api_receive;
mod cloud_api_send;
mod control_plane_down;
mod control_plane_restart;
mod crash_midburst;
mod dataplane_link;
mod durability;
mod edge_h3;
mod edge_limits;
mod edge_placement;
mod edge_shutdown;
mod edge_tls;
mod full_disk;
mod idempotency;
mod instance_api;
mod instance_stats;
mod instance_teardown;
mod media_crash;
mod media_out;
mod rate_limits;
mod send_flow;
mod session_faults;
mod sigterm_in_flight;
mod startup;
mod store_backpressure;
mod trial_expiry;
mod webhook_delivery;
mod webhook_isolation;
mod webhook_replay;
mod webhook_security;
mod zami;
mod zapi_business;
mod zapi_channels;
mod zapi_communities;
mod zapi_contacts;
mod zapi_groups;
mod zapi_har_all;
mod zapi_labels;
mod zapi_messages_interactive;
mod zapi_messages_simple;
mod zapi_phone_code;
mod zapi_privacy;
mod zapi_profile;
mod zapi_received;
mod zapi_registration;
mod zapi_status;
mod zapini;
mod zapini_webhooks;
