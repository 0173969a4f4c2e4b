//! The contract every policy implements, and the admission test all of them share.
//!
//! A policy is built once from a backend snapshot and then asked, per request, for the
//! index of a backend in that same snapshot. Whether a backend may take the request at all
//! is decided by [`Admission`], which also carries the request, not by the policy: usable (healthy, not draining), not
//! excluded by the request, under the region's spill threshold where one applies, and past
//! its slow-start roll. Policies only decide among the backends it admits.

use std::fmt;
use std::sync::Arc;

use fastrand::Rng;

use crate::backend::Backend;
use crate::p2c::{LeastConn, PeakEwma};
use crate::policy::Policy;
use crate::region::RegionAffinity;
use crate::round_robin::RoundRobin;
use crate::selector::PickRequest;
use crate::slow_start::SlowStart;
use crate::weighted::Weighted;
use crate::Nanos;

/// A selection algorithm over one immutable backend snapshot.
pub(crate) trait Select: fmt::Debug + Send + Sync {
    /// Index into `backends` (the snapshot this policy was built from) of a backend
    /// `admission` admits; `None` only when it admits none of them.
    fn select(
        &self,
        backends: &[Arc<Backend>],
        admission: &Admission<'_>,
        rng: &mut Rng,
    ) -> Option<usize>;
}

/// Builds the runtime state of `policy` for `backends`.
pub(crate) fn build(policy: &Policy, backends: &[Arc<Backend>]) -> Box<dyn Select> {
    match policy {
        Policy::RoundRobin => Box::new(RoundRobin::default()),
        Policy::Weighted => Box::new(Weighted::new(backends)),
        Policy::LeastConn => Box::new(LeastConn::default()),
        Policy::PeakEwma => Box::new(PeakEwma::default()),
        Policy::RegionAffinity {
            within,
            fallback,
            spill_in_flight,
        } => Box::new(RegionAffinity::new(
            within,
            fallback,
            *spill_in_flight,
            backends,
        )),
    }
}

/// Selects under `admission`, then, if the slow-start ramp turned every backend away,
/// again without the ramp: slow start shifts shares, it never leaves a request unserved.
pub(crate) fn select_ramped(
    policy: &dyn Select,
    backends: &[Arc<Backend>],
    admission: &Admission<'_>,
    rng: &mut Rng,
) -> Option<usize> {
    policy.select(backends, admission, rng).or_else(|| {
        let unramped = admission.without_ramp()?;
        policy.select(backends, &unramped, rng)
    })
}

/// The request being placed and which backends may take it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admission<'a> {
    req: PickRequest<'a>,
    slow_start: Option<SlowStart>,
    in_flight_below: Option<u32>,
    ignore_health: bool,
}

impl<'a> Admission<'a> {
    /// Admits usable backends the request has not tried, ramping new ones if `slow_start` is set.
    pub(crate) fn new(req: &PickRequest<'a>, slow_start: Option<SlowStart>) -> Self {
        Self {
            req: *req,
            slow_start,
            in_flight_below: None,
            ignore_health: false,
        }
    }

    /// The same test, admitting unhealthy backends too (a pool in panic mode).
    pub(crate) fn ignoring_health(self) -> Self {
        Self {
            ignore_health: true,
            ..self
        }
    }

    /// The time of the pick.
    pub(crate) fn now(&self) -> Nanos {
        self.req.now
    }

    /// The region the request comes from, if known.
    pub(crate) fn region(&self) -> Option<&'a str> {
        self.req.region
    }

    /// The same test, also requiring fewer than `limit` requests in flight.
    pub(crate) fn in_flight_below(self, limit: u32) -> Self {
        Self {
            in_flight_below: Some(limit),
            ..self
        }
    }

    /// The same test without the slow-start ramp, or `None` if it had none.
    fn without_ramp(&self) -> Option<Self> {
        self.slow_start.map(|_| Self {
            slow_start: None,
            ..*self
        })
    }

    /// Whether `backend` may take the request; rolls the slow-start ramp with `rng`.
    pub(crate) fn admits(&self, backend: &Arc<Backend>, rng: &mut Rng) -> bool {
        (backend.is_usable() || (self.ignore_health && !backend.is_draining()))
            && self
                .in_flight_below
                .is_none_or(|limit| backend.in_flight() < limit)
            && !self
                .req
                .exclude
                .iter()
                .any(|tried| Arc::ptr_eq(tried, backend))
            && self
                .slow_start
                .is_none_or(|ramp| ramp.admits(backend, self.req.now, rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ewma::EwmaConfig;

    fn backend(joined_at: Nanos) -> Arc<Backend> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 9000));
        Arc::new(Backend::new(
            addr,
            None,
            1,
            EwmaConfig::default(),
            joined_at,
        ))
    }

    fn request(exclude: &[Arc<Backend>]) -> PickRequest<'_> {
        PickRequest {
            now: 1_000,
            region: None,
            exclude,
        }
    }

    #[test]
    fn turns_away_unhealthy_draining_and_excluded_backends() {
        let mut rng = Rng::with_seed(1);
        let ok = backend(0);
        let sick = backend(0);
        sick.set_healthy(false);
        let leaving = backend(0);
        leaving.set_draining(true);
        let tried = backend(0);
        let exclude = [Arc::clone(&tried)];
        let admission = Admission::new(&request(&exclude), None);
        assert!(admission.admits(&ok, &mut rng));
        assert!(!admission.admits(&sick, &mut rng));
        assert!(!admission.admits(&leaving, &mut rng));
        assert!(!admission.admits(&tried, &mut rng));
    }

    #[test]
    fn spill_limit_is_strict() {
        let mut rng = Rng::with_seed(1);
        let b = backend(0);
        let _held = [b.start_request(), b.start_request()];
        let admission = Admission::new(&request(&[]), None);
        assert!(admission.in_flight_below(3).admits(&b, &mut rng));
        assert!(!admission.in_flight_below(2).admits(&b, &mut rng));
    }

    #[test]
    fn ramp_retry_serves_a_pool_of_brand_new_backends() {
        let mut rng = Rng::with_seed(7);
        let backends: Vec<_> = (0..3).map(|_| backend(1_000)).collect();
        let admission = Admission::new(&request(&[]), Some(SlowStart::new(1_000_000)));
        let policy = RoundRobin::default();
        for _ in 0..1_000 {
            assert!(select_ramped(&policy, &backends, &admission, &mut rng).is_some());
        }
    }
}
