//! The per-pool snapshot the proxy picks from: backends plus the built policy.
//!
//! A [`Selector`] is built off the request path whenever a pool's membership changes and
//! published through `ArcSwap`; requests load it and call [`Selector::pick`] without locks.
//! Live state (in flight, latency, health) sits in the shared [`Backend`]s, so it carries
//! over from one snapshot to the next.

use std::sync::Arc;

use fastrand::Rng;

use crate::backend::Backend;
use crate::policy::Policy;
use crate::select::{self, Admission, Select};
use crate::slow_start::SlowStart;
use crate::Nanos;

/// What a pick knows about the request.
#[derive(Debug, Clone, Copy)]
pub struct PickRequest<'a> {
    /// The caller's clock reading for this pick.
    pub now: Nanos,
    /// The region the request comes from, if known.
    pub region: Option<&'a str>,
    /// Backends not to pick (already tried by this request), compared by `Arc::ptr_eq`.
    pub exclude: &'a [Arc<Backend>],
}

/// An immutable snapshot of a pool's backends plus the policy state to pick from it.
#[derive(Debug)]
pub struct Selector {
    backends: Vec<Arc<Backend>>,
    policy: Box<dyn Select>,
    slow_start: Option<SlowStart>,
}

impl Selector {
    /// Builds `policy` over `backends`, ramping new backends over `slow_start` if set.
    pub fn new(policy: &Policy, backends: Vec<Arc<Backend>>, slow_start: Option<Nanos>) -> Self {
        Self {
            policy: select::build(policy, &backends),
            backends,
            slow_start: slow_start.map(SlowStart::new),
        }
    }

    /// The backends of this snapshot, in the order given.
    pub fn backends(&self) -> &[Arc<Backend>] {
        &self.backends
    }

    /// Chooses a backend for `req`; `None` only when no backend is usable (all unhealthy / draining / excluded).
    pub fn pick(&self, req: &PickRequest<'_>, rng: &mut Rng) -> Option<&Arc<Backend>> {
        self.pick_index(req, rng).and_then(|i| self.backends.get(i))
    }

    /// Like [`Selector::pick`], returning the backend's position in [`Selector::backends`].
    pub fn pick_index(&self, req: &PickRequest<'_>, rng: &mut Rng) -> Option<usize> {
        let admission = Admission::new(req, self.slow_start);
        select::select_ramped(self.policy.as_ref(), &self.backends, &admission, rng)
    }

    /// Like [`Selector::pick`], but unhealthy backends count as usable (draining ones
    /// still do not): a pool in panic mode spreads load over every backend rather
    /// than overload the few that pass their checks.
    pub fn pick_ignoring_health(
        &self,
        req: &PickRequest<'_>,
        rng: &mut Rng,
    ) -> Option<&Arc<Backend>> {
        self.pick_index_ignoring_health(req, rng)
            .and_then(|i| self.backends.get(i))
    }

    /// Like [`Selector::pick_ignoring_health`], returning the backend's position.
    pub fn pick_index_ignoring_health(
        &self,
        req: &PickRequest<'_>,
        rng: &mut Rng,
    ) -> Option<usize> {
        let admission = Admission::new(req, self.slow_start).ignoring_health();
        select::select_ramped(self.policy.as_ref(), &self.backends, &admission, rng)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::thread;

    use super::*;
    use crate::EwmaConfig;

    fn backends(n: u16) -> Vec<Arc<Backend>> {
        (0..n)
            .map(|i| {
                let addr = SocketAddr::from(([127, 0, 0, 1], 9000 + i));
                Arc::new(Backend::new(
                    addr,
                    Some("a"),
                    1 + u32::from(i),
                    EwmaConfig::default(),
                    0,
                ))
            })
            .collect()
    }

    fn all_policies() -> [Policy; 5] {
        [
            Policy::RoundRobin,
            Policy::Weighted,
            Policy::LeastConn,
            Policy::PeakEwma,
            Policy::RegionAffinity {
                within: Box::new(Policy::PeakEwma),
                fallback: vec!["b".into()],
                spill_in_flight: 4,
            },
        ]
    }

    #[test]
    fn selector_can_be_published_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Selector>();
    }

    #[test]
    fn empty_pool_picks_nothing() {
        let req = PickRequest {
            now: 0,
            region: Some("a"),
            exclude: &[],
        };
        for policy in all_policies() {
            let selector = Selector::new(&policy, Vec::new(), Some(1_000));
            assert!(selector.backends().is_empty());
            assert!(
                selector.pick(&req, &mut Rng::with_seed(1)).is_none(),
                "{policy:?}"
            );
        }
    }

    #[test]
    fn concurrent_picks_always_serve_and_leave_no_load_behind() {
        for policy in all_policies() {
            let pool = backends(6);
            pool[2].set_healthy(false);
            let selector = Selector::new(&policy, pool.clone(), None);
            thread::scope(|scope| {
                for seed in 0..4 {
                    let selector = &selector;
                    scope.spawn(move || {
                        let mut rng = Rng::with_seed(seed);
                        let mut held = Vec::new();
                        for step in 0..5_000u64 {
                            let req = PickRequest {
                                now: step * 1_000,
                                region: Some("a"),
                                exclude: &[],
                            };
                            let picked = selector.pick(&req, &mut rng);
                            let backend = picked.expect("a usable backend exists");
                            assert!(backend.is_usable());
                            held.push(backend.start_request());
                            if held.len() > 8 {
                                let done = held.remove(0);
                                done.backend().observe_rtt(req.now, 1_000_000 + step % 7);
                            }
                        }
                    });
                }
            });
            assert!(pool.iter().all(|b| b.in_flight() == 0), "{policy:?}");
        }
    }

    #[test]
    fn panic_picks_reach_unhealthy_backends_but_never_draining_ones() {
        for policy in all_policies() {
            let pool = backends(4);
            pool[0].set_healthy(false);
            pool[1].set_healthy(false);
            pool[2].set_healthy(false);
            pool[3].set_draining(true);
            let selector = Selector::new(&policy, pool.clone(), None);
            let req = PickRequest {
                now: 1,
                region: Some("a"),
                exclude: &[],
            };
            let mut rng = Rng::with_seed(3);
            assert!(selector.pick(&req, &mut rng).is_none(), "{policy:?}");
            let mut seen = [false; 4];
            for _ in 0..200 {
                let picked = selector.pick_ignoring_health(&req, &mut rng).unwrap();
                let index = pool.iter().position(|b| Arc::ptr_eq(b, picked)).unwrap();
                seen[index] = true;
            }
            assert_eq!(seen, [true, true, true, false], "{policy:?}");
        }
    }

    #[test]
    fn restart_ramp_moves_the_join_time() {
        let pool = backends(1);
        pool[0].restart_ramp(77);
        assert_eq!(pool[0].joined_at(), 77);
    }
}
