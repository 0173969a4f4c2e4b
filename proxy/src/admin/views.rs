//! What the admin API shows of pools and backends: plain serializable records
//! read from a routing snapshot and the members' atomics at one instant.

use serde::Serialize;
use tidegate_balancer::Nanos;
use utoipa::ToSchema;

use crate::member::Member;
use crate::pool::Pool;
use crate::stats::LatencyHistogram;

/// The window request rates are measured over.
const RATE_WINDOW: Nanos = 1_000_000_000;

/// Whether a backend takes traffic, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackendState {
    /// Takes new requests.
    Ready,
    /// Waits for its first passing health check.
    Pending,
    /// Failing its health checks.
    Unhealthy,
    /// Ejected by outlier detection for a while.
    Ejected,
    /// Finishing its requests in flight before it leaves the pool.
    Draining,
}

impl BackendState {
    /// The state of `member` at `now`; draining wins over every other state.
    pub fn of(member: &Member, now: Nanos) -> Self {
        if member.draining_since().is_some() {
            Self::Draining
        } else if member.is_ejected(now) {
            Self::Ejected
        } else if member.is_pending() {
            Self::Pending
        } else if !member.active_ok() {
            Self::Unhealthy
        } else {
            Self::Ready
        }
    }
}

/// One backend of a pool.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackendView {
    /// Where it listens.
    #[schema(example = "127.0.0.1:9001")]
    pub address: String,
    /// The region it runs in.
    pub region: Option<String>,
    /// Its share under `weighted`.
    pub weight: u32,
    /// Where it came from: `config`, `admin` or `scaler`.
    #[schema(example = "config")]
    pub origin: String,
    /// Whether it takes traffic.
    pub state: BackendState,
    /// Requests in flight to it now.
    pub in_flight: u32,
    /// Its peak-EWMA time to first byte, in milliseconds.
    pub ewma_ms: f64,
    /// Requests it has answered.
    pub requests_total: u64,
    /// Requests per second it answered lately.
    pub requests_per_second: f64,
    /// Median latency of its requests in milliseconds; null before any.
    pub latency_p50_ms: Option<f64>,
    /// 99th percentile latency of its requests in milliseconds; null before any.
    pub latency_p99_ms: Option<f64>,
    /// How many times outlier detection ejected it.
    pub times_ejected: u32,
}

impl BackendView {
    /// `member` as it is at `now`.
    pub fn of(member: &Member, now: Nanos) -> Self {
        let backend = member.backend();
        Self {
            address: member.addr().to_string(),
            region: backend.region().map(str::to_string),
            weight: backend.weight(),
            origin: member.origin().as_str().to_string(),
            state: BackendState::of(member, now),
            in_flight: backend.in_flight(),
            ewma_ms: finite(backend.rtt_estimate(now) / 1e6),
            requests_total: member.meter().total(),
            requests_per_second: finite(member.meter().rate(now, RATE_WINDOW)),
            latency_p50_ms: quantile_ms(member.latency(), 0.5),
            latency_p99_ms: quantile_ms(member.latency(), 0.99),
            times_ejected: member.times_ejected(),
        }
    }
}

/// One pool, its counters and its backends.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolView {
    /// The NAME of `[pool.NAME]`.
    pub name: String,
    /// Its balancing policy.
    #[schema(example = "least_conn")]
    pub policy: String,
    /// Requests admitted to the pool and not finished.
    pub in_flight: u32,
    /// Beyond this many requests in flight the pool answers 503.
    pub max_in_flight: u32,
    /// Retries in flight.
    pub retries_in_flight: u32,
    /// Whether fewer than half its backends are usable, so it balances over all.
    pub panic: bool,
    /// Backends ejected by outlier detection now.
    pub ejected: u32,
    /// Requests it has finished.
    pub requests_total: u64,
    /// Requests per second it finished lately.
    pub requests_per_second: f64,
    /// Median latency in milliseconds; null before any request.
    pub latency_p50_ms: Option<f64>,
    /// 99th percentile latency in milliseconds; null before any request.
    pub latency_p99_ms: Option<f64>,
    /// Its backends, draining ones included until they leave.
    pub backends: Vec<BackendView>,
}

impl PoolView {
    /// `pool` as it is at `now`, with the configured `spec`.
    pub fn of(pool: &Pool, spec: &tidegate_conf::Pool, now: Nanos) -> Self {
        let state = pool.state();
        Self {
            name: pool.name().to_string(),
            policy: spec.policy.to_string(),
            in_flight: state.in_flight(),
            max_in_flight: spec.max_in_flight,
            retries_in_flight: state.retries(),
            panic: state.in_panic(),
            ejected: state.ejected(),
            requests_total: state.meter().total(),
            requests_per_second: finite(state.meter().rate(now, RATE_WINDOW)),
            latency_p50_ms: quantile_ms(state.latency(), 0.5),
            latency_p99_ms: quantile_ms(state.latency(), 0.99),
            backends: pool
                .members()
                .iter()
                .map(|m| BackendView::of(m, now))
                .collect(),
        }
    }
}

/// The `q` quantile of `histogram` in milliseconds.
fn quantile_ms(histogram: &LatencyHistogram, q: f64) -> Option<f64> {
    histogram.quantile(q).map(|ns| finite(ns / 1e6))
}

/// `value`, or 0 when it is not a finite number (JSON has no NaN).
fn finite(value: f64) -> f64 {
    if value.is_finite() {
        value
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use tidegate_balancer::{Backend, EwmaConfig};

    use super::*;
    use crate::member::{Failure, Origin};

    fn member(checked: bool) -> Member {
        let addr = SocketAddr::from(([127, 0, 0, 1], 9001));
        let backend = Backend::new(addr, Some("eu"), 3, EwmaConfig::default(), 0);
        Member::new("p", Arc::new(backend), Origin::Admin, checked)
    }

    #[test]
    fn states_follow_checks_ejection_and_draining() {
        let m = member(true);
        assert_eq!(BackendState::of(&m, 10), BackendState::Pending);
        m.record_probe(true, 2, 1);
        m.refresh(10);
        assert_eq!(BackendState::of(&m, 10), BackendState::Ready);
        m.record_probe(false, 2, 1);
        assert_eq!(BackendState::of(&m, 10), BackendState::Unhealthy);
        assert!(m.eject(100, 10, Failure::Response));
        assert_eq!(BackendState::of(&m, 20), BackendState::Ejected);
        m.start_draining(30);
        assert_eq!(BackendState::of(&m, 30), BackendState::Draining);
    }

    #[test]
    fn a_backend_shows_its_settings_and_load() {
        let m = member(false);
        m.record_request(200, 4_000_000);
        let view = BackendView::of(&m, 1_000);
        assert_eq!(view.address, "127.0.0.1:9001");
        assert_eq!(view.region.as_deref(), Some("eu"));
        assert_eq!((view.weight, view.origin.as_str()), (3, "admin"));
        assert_eq!(view.requests_total, 1);
        let p50 = view.latency_p50_ms.unwrap();
        assert!((4.0..5.0).contains(&p50), "{p50}");
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["state"], "ready");
    }
}
