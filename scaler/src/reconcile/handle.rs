//! The admin API's grip on a running pool loop: overrides in, status out.
//!
//! A [`PoolHandle`] shares a small mutex-guarded cell with its [`crate::PoolLoop`]: the
//! handle validates and stores overrides, the loop picks them up on its next tick and
//! publishes a [`PoolStatus`] after every tick.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use crate::decision::{Overrides, Reason};
use crate::error::ScalerError;
use crate::policy::Policy;
use crate::time::Timestamp;

/// A pool's scaler as the admin API shows it (`GET /pools/{pool}/scaler`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PoolStatus {
    /// The pool.
    pub pool: String,
    /// The desired instance count.
    pub desired: u32,
    /// Instances passing the health check.
    pub ready: u32,
    /// Instances launched, not yet ready.
    pub pending: u32,
    /// Instances draining for removal.
    pub draining: u32,
    /// Whether the pool is in panic mode.
    pub panicking: bool,
    /// The operator's overrides.
    pub overrides: Overrides,
    /// Why the desired count is what it is.
    pub reason: Option<Reason>,
    /// When the loop last ticked.
    pub updated_at: Option<Timestamp>,
    /// While backing off after a driver failure: when calls resume.
    pub backoff_until: Option<Timestamp>,
    /// The last driver failure.
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) overrides: Overrides,
    pub(crate) status: PoolStatus,
}

/// Changes a running pool loop's overrides and reads its status.
#[derive(Clone, Debug)]
pub struct PoolHandle {
    pool: String,
    policy: Arc<Policy>,
    shared: Arc<Mutex<Shared>>,
}

impl PoolHandle {
    pub(crate) fn new(pool: String, policy: Arc<Policy>, shared: Arc<Mutex<Shared>>) -> Self {
        Self {
            pool,
            policy,
            shared,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pool's name.
    pub fn pool(&self) -> &str {
        &self.pool
    }

    /// The overrides in force (or taking effect next tick).
    pub fn overrides(&self) -> Overrides {
        self.lock().overrides
    }

    /// Replaces the overrides after checking them against the pool's policy.
    pub fn set_overrides(&self, overrides: Overrides) -> Result<(), ScalerError> {
        overrides.validate(&self.policy)?;
        self.lock().overrides = overrides;
        Ok(())
    }

    /// Holds the desired count where it is until [`PoolHandle::resume`].
    pub fn pause(&self) {
        self.lock().overrides.paused = true;
    }

    /// Lets the scaler decide again.
    pub fn resume(&self) {
        self.lock().overrides.paused = false;
    }

    /// The status after the last tick.
    pub fn status(&self) -> PoolStatus {
        let shared = self.lock();
        PoolStatus {
            overrides: shared.overrides,
            ..shared.status.clone()
        }
    }
}
