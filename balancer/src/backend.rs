//! One upstream endpoint: its fixed identity (address, region, weight, join time) and its
//! live load (in-flight count, peak-EWMA latency, health and draining flags).
//!
//! A `Backend` is shared as `Arc<Backend>` and carried from one selector snapshot to the
//! next, so its load survives rebuilds. Everything live is an atomic with relaxed ordering:
//! each value is an independent hint to the policies, never used to synchronise memory.
//! Requests count themselves in through [`Backend::start_request`]; the returned
//! [`InFlightGuard`] counts them out when dropped, on every path, panics included.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use crate::ewma::{EwmaConfig, RttEstimate};
use crate::Nanos;

/// One upstream endpoint and its live load; shared as `Arc<Backend>` and kept across snapshots.
#[derive(Debug)]
pub struct Backend {
    addr: SocketAddr,
    region: Option<Box<str>>,
    weight: u32,
    joined_at: AtomicU64,
    in_flight: AtomicU32,
    rtt: RttEstimate,
    healthy: AtomicBool,
    draining: AtomicBool,
}

impl Backend {
    /// A healthy, non-draining backend with no requests in flight that joined at `joined_at`.
    pub fn new(
        addr: SocketAddr,
        region: Option<&str>,
        weight: u32,
        ewma: EwmaConfig,
        joined_at: Nanos,
    ) -> Self {
        Self {
            addr,
            region: region.map(Box::from),
            weight,
            joined_at: AtomicU64::new(joined_at),
            in_flight: AtomicU32::new(0),
            rtt: RttEstimate::new(ewma, joined_at),
            healthy: AtomicBool::new(true),
            draining: AtomicBool::new(false),
        }
    }

    /// Like [`Backend::new`], but with the RTT estimate starting at `default_rtt` as
    /// of `estimated_from` rather than as of `joined_at`: for a backend stamped as
    /// joined long before (so past any slow-start ramp) whose estimate must still
    /// start whole, such as one configured at startup.
    pub fn joined_before(
        addr: SocketAddr,
        region: Option<&str>,
        weight: u32,
        ewma: EwmaConfig,
        joined_at: Nanos,
        estimated_from: Nanos,
    ) -> Self {
        Self {
            rtt: RttEstimate::new(ewma, estimated_from),
            ..Self::new(addr, region, weight, ewma, joined_at)
        }
    }

    /// Address requests are sent to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Region the backend runs in, if configured.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Weight for the `weighted` policy.
    pub fn weight(&self) -> u32 {
        self.weight
    }

    /// When the backend joined the pool (drives the slow-start ramp).
    pub fn joined_at(&self) -> Nanos {
        self.joined_at.load(Ordering::Relaxed)
    }

    /// Starts the slow-start ramp again from `now` (a backend that recovered).
    pub fn restart_ramp(&self, now: Nanos) {
        self.joined_at.store(now, Ordering::Relaxed);
    }

    /// Requests currently in flight to this backend.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Starts a request: increments in-flight; the guard decrements on drop.
    pub fn start_request(self: &Arc<Self>) -> InFlightGuard {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlightGuard {
            backend: Arc::clone(self),
        }
    }

    /// Peak-EWMA update with a time-to-first-byte sample.
    pub fn observe_rtt(&self, now: Nanos, rtt: Nanos) {
        self.rtt.observe(now, rtt);
    }

    /// Current estimate in ns, decayed toward 0 by the time since the last sample (read-only, stores nothing).
    pub fn rtt_estimate(&self, now: Nanos) -> f64 {
        self.rtt.estimate(now)
    }

    /// `rtt_estimate(now) * (in_flight + 1)`: the load `peak_ewma` compares.
    pub fn cost(&self, now: Nanos) -> f64 {
        self.rtt_estimate(now) * (f64::from(self.in_flight()) + 1.0)
    }

    /// Records the latest health-check verdict.
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Relaxed);
    }

    /// Whether the latest health verdict was healthy (true until told otherwise).
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Marks the backend as leaving: it finishes what it has but gets no new requests.
    pub fn set_draining(&self, draining: bool) {
        self.draining.store(draining, Ordering::Relaxed);
    }

    /// Whether the backend is draining (false until told otherwise).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Healthy and not draining: may be given new requests.
    pub fn is_usable(&self) -> bool {
        self.is_healthy() && !self.is_draining()
    }
}

/// Counts one request in flight on a backend for as long as it lives.
#[derive(Debug)]
pub struct InFlightGuard {
    backend: Arc<Backend>,
}

impl InFlightGuard {
    /// The backend this request runs on.
    pub fn backend(&self) -> &Arc<Backend> {
        &self.backend
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.backend.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend() -> Arc<Backend> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 9001));
        Arc::new(Backend::new(
            addr,
            Some("eu-west"),
            3,
            EwmaConfig::default(),
            42,
        ))
    }

    #[test]
    fn keeps_its_identity() {
        let b = backend();
        assert_eq!(b.addr(), SocketAddr::from(([127, 0, 0, 1], 9001)));
        assert_eq!(b.region(), Some("eu-west"));
        assert_eq!(b.weight(), 3);
        assert_eq!(b.joined_at(), 42);
    }

    #[test]
    fn a_backend_joined_before_starts_its_estimate_whole_when_told() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 9001));
        let now = 86_400_000_000_000;
        let config = EwmaConfig::default();
        let b = Backend::joined_before(addr, None, 1, config, 0, now);
        assert_eq!(b.joined_at(), 0);
        assert_eq!(b.rtt_estimate(now), config.default_rtt as f64);
        // Stamped at the join instead, a day of decay leaves nothing.
        let stale = Backend::new(addr, None, 1, config, 0);
        assert!(stale.rtt_estimate(now) < 1.0);
    }

    #[test]
    fn guard_counts_in_and_out() {
        let b = backend();
        assert_eq!(b.in_flight(), 0);
        let first = b.start_request();
        let second = b.start_request();
        assert_eq!(b.in_flight(), 2);
        assert!(Arc::ptr_eq(first.backend(), &b));
        drop(first);
        assert_eq!(b.in_flight(), 1);
        drop(second);
        assert_eq!(b.in_flight(), 0);
    }

    #[test]
    fn guard_counts_out_when_a_request_panics() {
        let b = backend();
        let held = Arc::clone(&b);
        let outcome = std::panic::catch_unwind(move || {
            let _guard = held.start_request();
            panic!("handler failed");
        });
        assert!(outcome.is_err());
        assert_eq!(b.in_flight(), 0);
    }

    #[test]
    fn usable_means_healthy_and_not_draining() {
        let b = backend();
        assert!(b.is_healthy() && !b.is_draining() && b.is_usable());
        b.set_healthy(false);
        assert!(!b.is_usable());
        b.set_healthy(true);
        b.set_draining(true);
        assert!(!b.is_usable());
        b.set_draining(false);
        assert!(b.is_usable());
    }

    #[test]
    fn cost_scales_the_estimate_by_in_flight_plus_one() {
        let b = backend();
        b.observe_rtt(100, 50_000_000);
        let _a = b.start_request();
        let _b = b.start_request();
        assert_eq!(b.cost(100), 3.0 * 50_000_000.0);
        assert_eq!(b.rtt_estimate(100), 50_000_000.0);
    }
}
