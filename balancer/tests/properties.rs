//! Property tests of each policy's promise, through the public `Selector` API.

use std::net::SocketAddr;
use std::sync::Arc;

use fastrand::Rng;
use proptest::prelude::*;
use tidegate_balancer::{Backend, EwmaConfig, InFlightGuard, Nanos, PickRequest, Policy, Selector};

const REGIONS: [&str; 3] = ["a", "b", "c"];
const WINDOW: Nanos = 1_000_000_000;
const NOW: Nanos = 10_000_000_000;

/// One generated backend.
#[derive(Debug, Clone)]
struct Spec {
    region: Option<usize>,
    healthy: bool,
    draining: bool,
    excluded: bool,
    in_flight: u32,
    weight: u32,
    /// How long before `NOW` it joined; under `WINDOW` means it is still ramping.
    age: Nanos,
    rtt_ms: u64,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::option::weighted(0.9, 0..REGIONS.len()),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        0u32..5,
        1u32..=1000,
        prop_oneof![Just(2 * WINDOW), 0..2 * WINDOW],
        1u64..300,
    )
        .prop_map(
            |(region, healthy, draining, excluded, in_flight, weight, age, rtt_ms)| Spec {
                region,
                healthy,
                draining,
                excluded,
                in_flight,
                weight,
                age,
                rtt_ms,
            },
        )
}

/// A generated pool: the backends, the ones the request already tried, and held load.
struct Pool {
    backends: Vec<Arc<Backend>>,
    exclude: Vec<Arc<Backend>>,
    _held: Vec<InFlightGuard>,
}

impl Pool {
    fn new(specs: &[Spec]) -> Self {
        let mut held = Vec::new();
        let mut exclude = Vec::new();
        let backends = specs
            .iter()
            .zip(9000u16..)
            .map(|(s, port)| {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                let region = s.region.map(|r| REGIONS[r]);
                let b = Arc::new(Backend::new(
                    addr,
                    region,
                    s.weight,
                    EwmaConfig::default(),
                    NOW - s.age,
                ));
                b.set_healthy(s.healthy);
                b.set_draining(s.draining);
                b.observe_rtt(NOW - WINDOW / 2, s.rtt_ms * 1_000_000);
                held.extend((0..s.in_flight).map(|_| b.start_request()));
                if s.excluded {
                    exclude.push(Arc::clone(&b));
                }
                b
            })
            .collect();
        Self {
            backends,
            exclude,
            _held: held,
        }
    }

    /// Usable and not already tried by the request.
    fn admissible(&self, b: &Arc<Backend>) -> bool {
        b.is_usable() && !self.exclude.iter().any(|e| Arc::ptr_eq(e, b))
    }
}

fn flat_policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::RoundRobin),
        Just(Policy::Weighted),
        Just(Policy::LeastConn),
        Just(Policy::PeakEwma),
    ]
}

fn region_policy() -> impl Strategy<Value = Policy> {
    (
        flat_policy(),
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "zz"]), 0..5),
        0u32..5,
    )
        .prop_map(
            |(within, fallback, spill_in_flight)| Policy::RegionAffinity {
                within: Box::new(within),
                fallback: fallback.into_iter().map(String::from).collect(),
                spill_in_flight,
            },
        )
}

fn any_policy() -> impl Strategy<Value = Policy> {
    prop_oneof![4 => flat_policy(), 1 => region_policy()]
}

fn request_region() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec!["a", "b", "c", "zz"]))
}

fn share_gaps(counts: &[u32], weights: &[u32], picks: u32) -> Vec<f64> {
    let total: u32 = weights.iter().sum();
    counts
        .iter()
        .zip(weights)
        .map(|(&c, &w)| (f64::from(c) / f64::from(picks) - f64::from(w) / f64::from(total)).abs())
        .collect()
}

proptest! {
    #[test]
    fn never_returns_an_unusable_or_excluded_backend_and_none_only_when_nothing_is_usable(
        specs in prop::collection::vec(spec(), 0..30),
        policy in any_policy(),
        region in request_region(),
        slow_start in prop::option::of(Just(WINDOW)),
        seed: u64,
    ) {
        let pool = Pool::new(&specs);
        let selector = Selector::new(&policy, pool.backends.clone(), slow_start);
        let req = PickRequest { now: NOW, region, exclude: &pool.exclude };
        let anything_usable = pool.backends.iter().any(|b| pool.admissible(b));
        let mut rng = Rng::with_seed(seed);
        for _ in 0..40 {
            match selector.pick(&req, &mut rng) {
                Some(b) => prop_assert!(pool.admissible(b), "picked {:?}", b.addr()),
                None => prop_assert!(!anything_usable, "None with a usable backend"),
            }
        }
    }

    #[test]
    fn region_affinity_stays_home_while_home_has_room(
        specs in prop::collection::vec(spec(), 1..30),
        within in flat_policy(),
        fallback in prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "zz"]), 0..5),
        spill_in_flight in 0u32..5,
        home in prop::sample::select(REGIONS.to_vec()),
        slow_start in prop::option::of(Just(WINDOW)),
        seed: u64,
    ) {
        let pool = Pool::new(&specs);
        let policy = Policy::RegionAffinity {
            within: Box::new(within),
            fallback: fallback.into_iter().map(String::from).collect(),
            spill_in_flight,
        };
        let selector = Selector::new(&policy, pool.backends.clone(), slow_start);
        let room_at_home = pool.backends.iter().any(|b| {
            b.region() == Some(home) && pool.admissible(b) && b.in_flight() < spill_in_flight
        });
        let req = PickRequest { now: NOW, region: Some(home), exclude: &pool.exclude };
        let mut rng = Rng::with_seed(seed);
        for _ in 0..40 {
            let picked = selector.pick(&req, &mut rng);
            if room_at_home {
                let b = picked.ok_or_else(|| TestCaseError::fail("no pick"))?;
                prop_assert_eq!(b.region(), Some(home));
                prop_assert!(b.in_flight() < spill_in_flight, "picked a saturated backend");
            }
        }
    }

    #[test]
    fn round_robin_visits_every_usable_backend_once_per_cycle(
        specs in prop::collection::vec(spec(), 1..30),
        seed: u64,
    ) {
        let pool = Pool::new(&specs);
        let selector = Selector::new(&Policy::RoundRobin, pool.backends.clone(), None);
        let req = PickRequest { now: NOW, region: None, exclude: &pool.exclude };
        let usable: Vec<SocketAddr> = pool
            .backends
            .iter()
            .filter(|b| pool.admissible(b))
            .map(|b| b.addr())
            .collect();
        let mut rng = Rng::with_seed(seed);
        for _ in 0..3 {
            let mut cycle: Vec<SocketAddr> = (0..usable.len())
                .filter_map(|_| selector.pick(&req, &mut rng).map(|b| b.addr()))
                .collect();
            cycle.sort_unstable();
            prop_assert_eq!(&cycle, &usable);
        }
    }

    #[test]
    fn weighted_shares_converge_to_the_weights(
        weights in prop::collection::vec(1u32..=1000, 1..=10),
        seed: u64,
    ) {
        let specs: Vec<Spec> = weights
            .iter()
            .map(|&weight| Spec {
                region: None,
                healthy: true,
                draining: false,
                excluded: false,
                in_flight: 0,
                weight,
                age: 2 * WINDOW,
                rtt_ms: 30,
            })
            .collect();
        let pool = Pool::new(&specs);
        let selector = Selector::new(&Policy::Weighted, pool.backends.clone(), None);
        let req = PickRequest { now: NOW, region: None, exclude: &[] };
        let mut rng = Rng::with_seed(seed);
        let picks = 10_000;
        let mut counts = vec![0u32; weights.len()];
        for _ in 0..picks {
            let b = selector.pick(&req, &mut rng).ok_or_else(|| TestCaseError::fail("no pick"))?;
            let i = pool.backends.iter().position(|x| Arc::ptr_eq(x, b)).unwrap_or(usize::MAX);
            counts[i] += 1;
        }
        for gap in share_gaps(&counts, &weights, picks) {
            prop_assert!(gap <= 0.01, "share off by {gap}: counts {counts:?}");
        }
    }

    #[test]
    fn weighted_shares_among_usable_backends_follow_their_weights(
        specs in prop::collection::vec(spec(), 1..12),
        seed: u64,
    ) {
        let pool = Pool::new(&specs);
        prop_assume!(pool.backends.iter().any(|b| pool.admissible(b)));
        let selector = Selector::new(&Policy::Weighted, pool.backends.clone(), None);
        let req = PickRequest { now: NOW, region: None, exclude: &pool.exclude };
        let mut rng = Rng::with_seed(seed);
        let picks = 10_000;
        let mut counts = vec![0u32; specs.len()];
        for _ in 0..picks {
            let b = selector.pick(&req, &mut rng).ok_or_else(|| TestCaseError::fail("no pick"))?;
            let i = pool.backends.iter().position(|x| Arc::ptr_eq(x, b)).unwrap_or(usize::MAX);
            counts[i] += 1;
        }
        let weights: Vec<u32> = pool
            .backends
            .iter()
            .map(|b| if pool.admissible(b) { b.weight() } else { 0 })
            .collect();
        // Partly random once the walk keeps missing, hence a looser bound than above.
        for gap in share_gaps(&counts, &weights, picks) {
            prop_assert!(gap <= 0.03, "share off by {gap}: counts {counts:?}, weights {weights:?}");
        }
    }
}
