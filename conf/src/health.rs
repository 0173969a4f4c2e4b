//! How the proxy decides a backend is fit to serve: active health checks that probe
//! it on a timer, and passive outlier detection that ejects it after failures.

use std::time::Duration;

use serde::Serialize;

/// A pool's `health`: an active probe of every backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// What a probe does.
    pub probe: HealthProbe,
    /// Time between probes of one backend; default 2 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub interval: Duration,
    /// How long a probe may take before it counts as failed; default 500 ms, less than `interval`.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub timeout: Duration,
    /// Consecutive passing probes that make an unhealthy backend healthy; default 2.
    pub healthy_threshold: u32,
    /// Consecutive failing probes that make a healthy backend unhealthy; default 3.
    pub unhealthy_threshold: u32,
}

impl HealthCheck {
    /// Default `interval`.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
    /// Default `timeout`.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
    /// Default `healthy_threshold`.
    pub const DEFAULT_HEALTHY_THRESHOLD: u32 = 2;
    /// Default `unhealthy_threshold`.
    pub const DEFAULT_UNHEALTHY_THRESHOLD: u32 = 3;
}

/// What one health probe does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HealthProbe {
    /// `GET path`; a 2xx response passes.
    Http {
        /// The request path; starts with '/'.
        path: String,
    },
    /// A TCP connect; an established connection passes.
    Tcp,
}

/// A pool's `outlier`: passive ejection of backends that keep failing requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Outlier {
    /// Consecutive failed requests that eject a backend; at least 1, default 5.
    pub consecutive_failures: u32,
    /// The first ejection's length; default 30 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub base_ejection: Duration,
    /// The largest share of the pool's backends ejected at once, 0..=100; default 50.
    pub max_ejection_percent: u32,
}

impl Default for Outlier {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            base_ejection: Duration::from_secs(30),
            max_ejection_percent: 50,
        }
    }
}
