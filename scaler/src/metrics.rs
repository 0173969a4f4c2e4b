//! Counters and gauges the proxy exports as Prometheus metrics.
//!
//! The loop updates them once per tick; the proxy reads a [`MetricsSnapshot`] when
//! scraped and maps it onto `tidegate_scaler_decisions_total{pool,direction}`,
//! `tidegate_scaler_desired_instances{pool}`, `tidegate_pool_instances{pool,state}`,
//! `tidegate_cost_per_hour{pool}` and `tidegate_driver_errors_total{driver}`.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use crate::decision::Direction;

/// One pool's counters and gauges.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PoolCounters {
    /// Decisions that raised the desired count.
    pub decisions_up: u64,
    /// Decisions that lowered it.
    pub decisions_down: u64,
    /// Decisions that left it.
    pub decisions_none: u64,
    /// The desired instance count.
    pub desired: u32,
    /// What the pool's instances cost per hour now (0 without a cost model).
    pub cost_per_hour: f64,
    /// Instances passing the health check.
    pub ready: u32,
    /// Instances launched, not yet ready.
    pub pending: u32,
    /// Instances draining for removal.
    pub draining: u32,
}

/// Everything the scaler counts, at one instant.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    /// Per pool.
    pub pools: BTreeMap<String, PoolCounters>,
    /// Failed driver calls per driver name.
    pub driver_errors: BTreeMap<String, u64>,
}

/// The scaler's metrics, shared by every pool loop.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<MetricsSnapshot>,
}

/// One tick's gauges for a pool.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolGauges {
    pub(crate) desired: u32,
    pub(crate) ready: u32,
    pub(crate) pending: u32,
    pub(crate) draining: u32,
    pub(crate) cost_per_hour: f64,
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one decision and sets the pool's gauges.
    pub(crate) fn record_tick(&self, pool: &str, direction: Direction, gauges: PoolGauges) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let counters = inner.pools.entry(pool.to_owned()).or_default();
        match direction {
            Direction::Up => counters.decisions_up += 1,
            Direction::Down => counters.decisions_down += 1,
            Direction::None => counters.decisions_none += 1,
        }
        counters.desired = gauges.desired;
        counters.ready = gauges.ready;
        counters.pending = gauges.pending;
        counters.draining = gauges.draining;
        counters.cost_per_hour = gauges.cost_per_hour;
    }

    /// Counts one failed call of `driver`.
    pub(crate) fn record_driver_error(&self, driver: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        *inner.driver_errors.entry(driver.to_owned()).or_default() += 1;
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
