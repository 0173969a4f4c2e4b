//! What the data plane tells the control loop about a pool, and the decision's inputs.
//!
//! The proxy implements [`SignalSource`]: once per tick the loop asks for a
//! [`PoolSample`] (the in-flight count now, not an average: the loop keeps the stable
//! and panic window averages itself, so the same code runs in virtual time), which the
//! loop turns into an [`Observation`] and the [`crate::Controller`] into [`Signals`].

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::instance::InstanceState;

/// The data plane's view of one backend of a pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackendSample {
    /// The backend's address.
    pub address: SocketAddr,
    /// `Ready` once its health check passes, `Draining` once drained, else `Pending`.
    pub state: InstanceState,
    /// Requests it is serving now.
    pub in_flight: u64,
}

/// The data plane's view of a pool at one instant.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PoolSample {
    /// Requests in flight in the pool now (the loop averages samples over its windows).
    pub in_flight: f64,
    /// Requests per second recently.
    pub request_rate: f64,
    /// 95th percentile latency recently, if any request completed.
    pub p95_latency: Option<Duration>,
    /// Every backend the data plane knows in this pool.
    pub backends: Vec<BackendSample>,
}

/// Reads a pool's signals from the data plane; the proxy implements it.
pub trait SignalSource: Send + Sync + fmt::Debug {
    /// The pool's signals now; an unknown pool samples as empty.
    fn sample(&self, pool: &str) -> PoolSample;
}

/// One tick's input to [`crate::Controller::step`]: a sample plus the instance counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Observation {
    /// Requests in flight now.
    pub in_flight: f64,
    /// Requests per second.
    pub request_rate: f64,
    /// 95th percentile latency.
    pub p95_latency: Option<Duration>,
    /// Instances passing the health check.
    pub ready: u32,
    /// Instances launched but not yet ready.
    pub pending: u32,
    /// Instances being drained for removal.
    pub draining: u32,
}

/// The inputs of one decision: window averages and instance counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signals {
    /// In-flight averaged over the stable window.
    pub stable_in_flight: f64,
    /// In-flight averaged over the panic window.
    pub panic_in_flight: f64,
    /// Requests per second.
    pub request_rate: f64,
    /// 95th percentile latency in seconds.
    pub p95_latency_s: Option<f64>,
    /// Instances passing the health check.
    pub ready: u32,
    /// Instances launched but not yet ready.
    pub pending: u32,
    /// Instances being drained for removal.
    pub draining: u32,
}
