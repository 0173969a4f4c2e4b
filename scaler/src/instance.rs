//! Backend instances as drivers report them, and their lifecycle states.
//!
//! The JSON form of [`Instance`] is also the wire format of the `exec` and `http`
//! drivers: `{"id": "...", "address": "127.0.0.1:9101", "region": "eu-west"}`, with
//! `region` and `state` optional (a new instance is `pending`).

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// A driver's name for one instance, unique within a pool.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct InstanceId(String);

impl InstanceId {
    /// Wraps a driver's instance name.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an instance is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    /// Launched, not yet passing the proxy's health check.
    #[default]
    Pending,
    /// Passing the health check and taking traffic.
    Ready,
    /// Taking no new requests; finishing the ones it has.
    Draining,
}

/// One backend instance of a pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// The driver's name for it.
    pub id: InstanceId,
    /// Where the proxy sends its requests.
    pub address: SocketAddr,
    /// Its region, for region-affinity balancing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Its state as the reporter knows it (drivers report `pending`; readiness comes
    /// from the proxy's health check).
    #[serde(default)]
    pub state: InstanceState,
}
