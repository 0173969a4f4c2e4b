//! How the proxy talks to a pool's backends: how often a failed request is retried
//! and how long connecting, reading and idling may take.

use std::time::Duration;

use serde::Serialize;

/// A pool's `retry`: retries on another backend after a connect failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retry {
    /// Retries after the first try; 0 disables retries. Default 2.
    pub attempts: u32,
    /// Retries allowed as a percentage of the pool's requests, 0..=100; default 20.
    pub budget_percent: u32,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 2,
            budget_percent: 20,
        }
    }
}

/// A pool's `timeout`: limits on upstream connections, all greater than zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    /// Time to establish a connection to a backend; default 1 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub connect: Duration,
    /// Time to wait for the backend's response; default 60 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub read: Duration,
    /// How long an idle upstream keep-alive connection is kept; default 60 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(1),
            read: Duration::from_secs(60),
            idle: Duration::from_secs(60),
        }
    }
}
