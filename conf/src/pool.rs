//! Pools: a named set of backends with the policy that balances between them and the
//! knobs of that policy.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::{HealthCheck, Outlier, Retry, ScalerSpec, Timeouts, UpstreamProtocol};

/// A `[pool.NAME]`: backends and how to balance requests among them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pool {
    /// The NAME of `[pool.NAME]`.
    pub name: String,
    /// How a backend is chosen; default `least_conn`.
    pub policy: PolicyKind,
    /// The policy used inside a region; only meaningful for `region_affinity`.
    pub within: PolicyKind,
    /// Regions to spill to, in order; only for `region_affinity`.
    pub fallback: Vec<String>,
    /// In-flight requests per backend at which a region spills over; only for `region_affinity`.
    pub spill_in_flight: u32,
    /// The request header naming the caller's region, lowercased.
    pub region_header: String,
    /// Requests admitted to the pool at once before it answers 503.
    pub max_in_flight: u32,
    /// Ramp-up time of a new backend, if any.
    #[serde(serialize_with = "crate::serialize::optional_duration")]
    pub slow_start: Option<Duration>,
    /// How fast faster latency samples decay into the peak-EWMA.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub decay: Duration,
    /// The peak-EWMA a new backend starts with.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub default_rtt: Duration,
    /// The backends, in file order; at least one unless a scaler's driver provides them.
    pub backends: Vec<BackendSpec>,
    /// The HTTP version spoken to the backends; default `http1`.
    pub protocol: UpstreamProtocol,
    /// Whether connections to the backends use TLS; default false.
    pub tls: bool,
    /// Whether backend certificates are verified when `tls` is on; default true.
    pub tls_verify: bool,
    /// The server name sent to backends when `tls` is on; `None` sends none.
    pub sni: Option<String>,
    /// The active health check, if configured.
    pub health: Option<HealthCheck>,
    /// Passive outlier ejection, if configured.
    pub outlier: Option<Outlier>,
    /// Retries of failed requests.
    pub retry: Retry,
    /// Upstream connection timeouts.
    pub timeout: Timeouts,
    /// The autoscaler of this pool, if configured.
    pub scaler: Option<ScalerSpec>,
}

/// A balancing policy, named in the file in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// In turn over healthy backends.
    RoundRobin,
    /// Smooth weighted round robin.
    Weighted,
    /// Power of two choices on in-flight requests.
    LeastConn,
    /// Power of two choices on peak-EWMA latency times load.
    PeakEwma,
    /// Prefer the request's region, spill to `fallback` regions.
    RegionAffinity,
}

impl PolicyKind {
    /// Every policy, in the order the documentation lists them.
    pub(crate) const ALL: [Self; 5] = [
        Self::RoundRobin,
        Self::Weighted,
        Self::LeastConn,
        Self::PeakEwma,
        Self::RegionAffinity,
    ];

    /// The name used in the file.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::RoundRobin => "round_robin",
            Self::Weighted => "weighted",
            Self::LeastConn => "least_conn",
            Self::PeakEwma => "peak_ewma",
            Self::RegionAffinity => "region_affinity",
        }
    }

    /// The policy called `name` in the file.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|policy| policy.name() == name)
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One backend of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendSpec {
    /// Where the backend listens.
    pub address: SocketAddr,
    /// The region it runs in; required in `region_affinity` pools.
    pub region: Option<String>,
    /// Its share under `weighted`, 1..=1000; default 1.
    pub weight: u32,
}

#[cfg(test)]
mod tests {
    use super::PolicyKind;

    #[test]
    fn names_round_trip() {
        for policy in PolicyKind::ALL {
            assert_eq!(PolicyKind::from_name(&policy.to_string()), Some(policy));
        }
        assert_eq!(PolicyKind::from_name("LeastConn"), None);
    }
}
