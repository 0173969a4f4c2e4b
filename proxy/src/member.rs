//! A backend's membership in a pool: its live [`Backend`] plus the health verdicts
//! that decide whether it may take traffic.
//!
//! Two sources judge a backend: active checks (the pool's `health` probe) and
//! passive outlier detection (consecutive connect failures or 5xx answers). The
//! backend is usable when the active verdict is good and it is not ejected; every
//! writer calls [`Member::refresh`], which publishes that conjunction into the
//! backend's `healthy` flag the policies read. Counters are atomics: the request
//! path only touches them when a request fails or after a failure streak.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use metrics::Counter;
use tidegate_balancer::{Backend, Nanos};

use crate::stats::{LatencyHistogram, RequestMeter};

/// Where a member came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Listed in the configuration file.
    Config,
    /// Added through the admin API.
    Admin,
    /// Launched by the pool's autoscaler driver.
    Scaler,
}

impl Origin {
    /// The name used in the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Admin => "admin",
            Origin::Scaler => "scaler",
        }
    }
}

/// Why a member was ejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection could not be made (refused, timed out, reset).
    Connect,
    /// The backend answered 5xx or timed out answering.
    Response,
}

/// One backend of one pool, with its health state.
#[derive(Debug)]
pub struct Member {
    backend: Arc<Backend>,
    origin: Origin,
    /// Verdict of the active checks; true when the pool has none.
    active_ok: AtomicBool,
    /// Consecutive passing / failing probes, for the thresholds.
    probe_passes: AtomicU32,
    probe_failures: AtomicU32,
    /// Whether a probe has ever passed.
    verified: AtomicBool,
    /// When set, ejected by outlier detection until this time.
    ejected_until: AtomicU64,
    ejected_for_connect: AtomicBool,
    times_ejected: AtomicU32,
    consecutive_failures: AtomicU32,
    /// When draining started (0 = not draining).
    draining_since: AtomicU64,
    latency: LatencyHistogram,
    meter: RequestMeter,
    /// `tidegate_requests_total` by status class 1xx to 5xx.
    requests: [Counter; 5],
}

impl Member {
    /// A member of `pool`; with `checked` it takes no traffic before its first
    /// passing probe.
    pub fn new(pool: &str, backend: Arc<Backend>, origin: Origin, checked: bool) -> Self {
        let requests = crate::metrics::status_counters(pool, &backend.addr().to_string());
        let member = Self {
            backend,
            origin,
            active_ok: AtomicBool::new(!checked),
            probe_passes: AtomicU32::new(0),
            probe_failures: AtomicU32::new(0),
            verified: AtomicBool::new(!checked),
            ejected_until: AtomicU64::new(0),
            ejected_for_connect: AtomicBool::new(false),
            times_ejected: AtomicU32::new(0),
            consecutive_failures: AtomicU32::new(0),
            draining_since: AtomicU64::new(0),
            latency: LatencyHistogram::default(),
            meter: RequestMeter::default(),
            requests,
        };
        member.backend.set_healthy(!checked);
        member
    }

    /// The backend the policies pick.
    pub fn backend(&self) -> &Arc<Backend> {
        &self.backend
    }

    /// The backend's address.
    pub fn addr(&self) -> SocketAddr {
        self.backend.addr()
    }

    /// Where the member came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Counts a finished request with its status and duration.
    pub fn record_request(&self, status: u16, duration: Nanos) {
        self.latency.record(duration);
        self.meter.count();
        crate::metrics::count_status(&self.requests, status);
    }

    /// Latencies of the requests it served.
    pub fn latency(&self) -> &LatencyHistogram {
        &self.latency
    }

    /// Requests it served, and their rate.
    pub fn meter(&self) -> &RequestMeter {
        &self.meter
    }

    /// Whether it is waiting for its first passing health check.
    pub fn is_pending(&self) -> bool {
        !self.verified.load(Ordering::Relaxed)
    }

    /// The active checks' verdict.
    pub fn active_ok(&self) -> bool {
        self.active_ok.load(Ordering::Relaxed)
    }

    /// Whether outlier detection has it ejected at `now`.
    pub fn is_ejected(&self, now: Nanos) -> bool {
        self.ejected_until.load(Ordering::Relaxed) > now
    }

    /// Whether it was ejected and the ejection has not been lifted yet.
    pub fn has_ejection(&self) -> bool {
        self.ejected_until.load(Ordering::Relaxed) != 0
    }

    /// How many times outlier detection ejected it.
    pub fn times_ejected(&self) -> u32 {
        self.times_ejected.load(Ordering::Relaxed)
    }

    /// When draining started, if it is draining.
    pub fn draining_since(&self) -> Option<Nanos> {
        match self.draining_since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(since),
        }
    }

    /// Stops new requests from reaching it; returns false if it was already draining.
    pub fn start_draining(&self, now: Nanos) -> bool {
        let first = self
            .draining_since
            .compare_exchange(0, now.max(1), Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        self.backend.set_draining(true);
        first
    }

    /// Publishes "active verdict good and not ejected" to the backend; returns the
    /// new value when it changed.
    pub fn refresh(&self, now: Nanos) -> Option<bool> {
        let usable = self.active_ok() && !self.is_ejected(now);
        if self.backend.is_healthy() == usable {
            return None;
        }
        self.backend.set_healthy(usable);
        if usable {
            self.backend.restart_ramp(now);
        }
        Some(usable)
    }

    /// Records a probe result; returns the new active verdict when it flipped.
    ///
    /// A member that has never passed needs one pass to start taking traffic; one
    /// that failed needs `healthy_threshold` passes in a row to come back, and a
    /// healthy one is out after `unhealthy_threshold` failures in a row.
    pub fn record_probe(
        &self,
        passed: bool,
        healthy_threshold: u32,
        unhealthy_threshold: u32,
    ) -> Option<bool> {
        if passed {
            self.probe_failures.store(0, Ordering::Relaxed);
            let passes = self
                .probe_passes
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1);
            let first = !self.verified.swap(true, Ordering::Relaxed);
            if !self.active_ok() && (first || passes >= healthy_threshold) {
                self.active_ok.store(true, Ordering::Relaxed);
                if self.ejected_for_connect.load(Ordering::Relaxed) {
                    // Reachable again: the reason for the ejection is gone.
                    self.ejected_until.store(1, Ordering::Relaxed);
                }
                return Some(true);
            }
        } else {
            self.probe_passes.store(0, Ordering::Relaxed);
            let failures = self
                .probe_failures
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1);
            if self.active_ok() && failures >= unhealthy_threshold {
                self.active_ok.store(false, Ordering::Relaxed);
                return Some(false);
            }
        }
        None
    }

    /// Counts a successful answer: ends a failure streak.
    pub fn record_success(&self) {
        if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
            self.consecutive_failures.store(0, Ordering::Relaxed);
        }
    }

    /// Counts a failure; returns the failure streak's length.
    pub fn record_failure(&self) -> u32 {
        self.consecutive_failures
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1)
    }

    /// Ejects it until `until`; returns false when it already was.
    pub fn eject(&self, until: Nanos, now: Nanos, why: Failure) -> bool {
        let current = self.ejected_until.load(Ordering::Relaxed);
        if current > now {
            return false;
        }
        if self
            .ejected_until
            .compare_exchange(current, until, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        self.ejected_for_connect
            .store(why == Failure::Connect, Ordering::Relaxed);
        self.times_ejected.fetch_add(1, Ordering::Relaxed);
        self.consecutive_failures.store(0, Ordering::Relaxed);
        true
    }

    /// Lifts an ejection that has run out (or was lifted by a passing probe);
    /// returns true when one was lifted.
    pub fn lift_expired_ejection(&self, now: Nanos) -> bool {
        let until = self.ejected_until.load(Ordering::Relaxed);
        if until == 0 || until > now {
            return false;
        }
        self.ejected_until
            .compare_exchange(until, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidegate_balancer::EwmaConfig;

    fn member(checked: bool) -> Member {
        let backend = Backend::new(
            SocketAddr::from(([127, 0, 0, 1], 9001)),
            None,
            1,
            EwmaConfig::default(),
            0,
        );
        Member::new("p", Arc::new(backend), Origin::Config, checked)
    }

    #[test]
    fn a_checked_member_waits_for_its_first_pass() {
        let m = member(true);
        assert!(!m.backend().is_healthy());
        assert_eq!(m.record_probe(true, 2, 3), Some(true));
        assert_eq!(m.refresh(10), Some(true));
        assert!(m.backend().is_usable());
    }

    #[test]
    fn thresholds_decide_going_down_and_coming_back() {
        let m = member(false);
        assert_eq!(m.record_probe(false, 2, 3), None);
        assert_eq!(m.record_probe(false, 2, 3), None);
        assert_eq!(m.record_probe(false, 2, 3), Some(false));
        assert_eq!(m.refresh(5), Some(false));
        assert_eq!(m.record_probe(true, 2, 3), None);
        assert_eq!(m.record_probe(true, 2, 3), Some(true));
        assert_eq!(m.refresh(6), Some(true));
        assert_eq!(
            m.backend().joined_at(),
            6,
            "a recovered backend ramps again"
        );
    }

    #[test]
    fn ejection_holds_until_it_expires() {
        let m = member(false);
        assert!(m.eject(100, 10, Failure::Response));
        assert!(!m.eject(200, 20, Failure::Response), "already ejected");
        assert_eq!(m.refresh(20), Some(false));
        assert!(!m.lift_expired_ejection(50));
        assert!(m.lift_expired_ejection(100));
        assert_eq!(m.refresh(100), Some(true));
        assert_eq!(m.times_ejected(), 1);
    }

    #[test]
    fn a_passing_probe_lifts_a_connect_ejection_once_the_member_recovers() {
        let m = member(false);
        for _ in 0..3 {
            m.record_probe(false, 2, 3);
        }
        assert_eq!(m.refresh(5), Some(false));
        assert!(m.eject(1_000_000, 10, Failure::Connect));
        m.record_probe(true, 2, 3);
        assert_eq!(m.record_probe(true, 2, 3), Some(true));
        assert!(m.lift_expired_ejection(20));
        assert_eq!(m.refresh(20), Some(true));
    }

    #[test]
    fn draining_starts_once() {
        let m = member(false);
        assert!(m.start_draining(7));
        assert!(!m.start_draining(8));
        assert_eq!(m.draining_since(), Some(7));
        assert!(m.backend().is_draining());
    }
}
