//! api::network: routes a real chat network calls on the data plane (not integrators): for now
//! the Cloud API's webhook, `/network/cloud-api/{instanceId}/webhook`. Each network's route
//! authenticates the network its own way (no Z-API token); none holds state.

pub mod cloud_api;
