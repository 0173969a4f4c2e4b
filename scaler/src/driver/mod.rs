//! The [`Driver`] trait through which the loop launches and removes instances, and the
//! built-in drivers: [`StaticDriver`], [`ProcessDriver`], [`ExecDriver`], [`HttpDriver`],
//! [`AwsAsgDriver`].
//!
//! Contract: `set_target(pool, n)` is absolute and idempotent (the same `n` twice is one
//! change); scale-down goes through `remove(pool, ids)`, which removes the named
//! instances (already drained by the loop) and lowers the driver's target by as many as
//! it found. Drivers report new instances as `pending`: readiness is the proxy's health
//! check, never the driver's. Failures are classified ([`DriverError`]) so the loop can
//! back off the right way.

mod aws_asg;
mod error;
mod exec;
mod http;
mod process;
mod static_list;

use std::fmt;

use async_trait::async_trait;
use serde::Serialize;

use crate::instance::{Instance, InstanceId};

pub use aws_asg::{AwsAsgConfig, AwsAsgDriver};
pub use error::{DriverError, DriverErrorKind};
pub use exec::{ExecDriver, ExecDriverConfig};
pub use http::{HttpDriver, HttpDriverConfig};
pub use process::{ProcessDriver, ProcessDriverConfig};
pub use static_list::StaticDriver;

/// An operation id: the same id on a retry lets a driver deduplicate the call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct OpId(String);

impl OpId {
    /// Wraps an operation id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Launches and removes a pool's instances (a `[driver.NAME]`).
#[async_trait]
pub trait Driver: Send + Sync + fmt::Debug {
    /// The driver's configured name (the `NAME` of `[driver.NAME]`), for metrics and audit.
    fn name(&self) -> &str;

    /// Every instance of `pool` the driver runs, with its address and region.
    async fn instances(&self, pool: &str) -> Result<Vec<Instance>, DriverError>;

    /// Makes `pool` run `desired` instances in all (absolute, idempotent).
    async fn set_target(&self, pool: &str, desired: u32, op: &OpId) -> Result<(), DriverError>;

    /// Removes the named, already drained instances and lowers the target by as many.
    async fn remove(&self, pool: &str, ids: &[InstanceId], op: &OpId) -> Result<(), DriverError>;

    /// Stops whatever the driver owns locally (child processes); a no-op for remote drivers.
    async fn shutdown(&self) -> Result<(), DriverError> {
        Ok(())
    }
}
