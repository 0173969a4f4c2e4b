//! Power of two choices, shared by `least_conn` and `peak_ewma` over a [`Load`] metric.
//!
//! A pick samples two distinct admitted backends uniformly at random and takes the one with
//! the lower load; ties keep the first sample, which is as random as the second. Sampling
//! is O(1) in the common case: draw an index, retry a few times when it is not admitted (or,
//! for the second, would repeat the first); only when that keeps missing does one O(n)
//! reservoir pass choose two distinct admitted backends. With one admitted backend, it wins.

use std::fmt;
use std::sync::Arc;

use fastrand::Rng;

use crate::backend::Backend;
use crate::select::{Admission, Select};
use crate::Nanos;

/// Draws per sample before falling back to the reservoir pass.
const SAMPLE_ATTEMPTS: usize = 4;

/// A comparable measure of how busy a backend is; lower wins.
pub(crate) trait Load: fmt::Debug + Default + Send + Sync {
    /// The measure's type.
    type Metric: PartialOrd;
    /// The backend's load at `now`.
    fn load(&self, backend: &Backend, now: Nanos) -> Self::Metric;
}

/// `least_conn`'s load: requests in flight.
#[derive(Debug, Default)]
pub(crate) struct InFlight;

impl Load for InFlight {
    type Metric = u32;
    fn load(&self, backend: &Backend, _now: Nanos) -> u32 {
        backend.in_flight()
    }
}

/// `peak_ewma`'s load: peak-EWMA time to first byte x (in flight + 1).
#[derive(Debug, Default)]
pub(crate) struct Cost;

impl Load for Cost {
    type Metric = f64;
    fn load(&self, backend: &Backend, now: Nanos) -> f64 {
        backend.cost(now)
    }
}

/// Power of two choices on the load `L`.
#[derive(Debug, Default)]
pub(crate) struct P2c<L> {
    load: L,
}

/// Power of two choices on requests in flight.
pub(crate) type LeastConn = P2c<InFlight>;
/// Power of two choices on peak-EWMA cost.
pub(crate) type PeakEwma = P2c<Cost>;

/// The outcome of one pick: the winner and, when two were sampled, the other sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Duel {
    /// Index of the chosen backend.
    pub(crate) winner: usize,
    /// Index of the sample it beat, absent when only one backend was admitted.
    pub(crate) loser: Option<usize>,
}

impl<L: Load> P2c<L> {
    /// Samples up to two distinct admitted backends and lets the less loaded one win.
    pub(crate) fn duel(
        &self,
        backends: &[Arc<Backend>],
        admission: &Admission<'_>,
        rng: &mut Rng,
    ) -> Option<Duel> {
        let (a, b) = sample(backends, admission, rng)?;
        let Some(b) = b else {
            return Some(Duel {
                winner: a,
                loser: None,
            });
        };
        let now = admission.now();
        let (Some(first), Some(second)) = (backends.get(a), backends.get(b)) else {
            return None;
        };
        // Each load is read once, so the comparison and the choice agree.
        let (winner, loser) = if self.load.load(second, now) < self.load.load(first, now) {
            (b, a)
        } else {
            (a, b)
        };
        Some(Duel {
            winner,
            loser: Some(loser),
        })
    }
}

impl<L: Load> Select for P2c<L> {
    fn select(
        &self,
        backends: &[Arc<Backend>],
        admission: &Admission<'_>,
        rng: &mut Rng,
    ) -> Option<usize> {
        self.duel(backends, admission, rng).map(|duel| duel.winner)
    }
}

/// Two distinct admitted indices (the second absent when only one is admitted).
fn sample(
    backends: &[Arc<Backend>],
    admission: &Admission<'_>,
    rng: &mut Rng,
) -> Option<(usize, Option<usize>)> {
    if backends.len() >= 2 {
        if let Some(a) = draw(backends, admission, rng, None) {
            if let Some(b) = draw(backends, admission, rng, Some(a)) {
                return Some((a, Some(b)));
            }
        }
    }
    reservoir_pair(backends, admission, rng)
}

/// Up to `SAMPLE_ATTEMPTS` uniform draws for an admitted index other than `besides`.
fn draw(
    backends: &[Arc<Backend>],
    admission: &Admission<'_>,
    rng: &mut Rng,
    besides: Option<usize>,
) -> Option<usize> {
    let n = backends.len();
    for _ in 0..SAMPLE_ATTEMPTS {
        let i = match besides {
            None => rng.usize(..n),
            // Drawing from n - 1 slots and stepping over `taken` keeps the two distinct.
            Some(taken) => match rng.usize(..n - 1) {
                j if j >= taken => j + 1,
                j => j,
            },
        };
        if admission.admits(&backends[i], rng) {
            return Some(i);
        }
    }
    None
}

/// One pass choosing two distinct admitted indices uniformly (reservoir sampling, k = 2).
fn reservoir_pair(
    backends: &[Arc<Backend>],
    admission: &Admission<'_>,
    rng: &mut Rng,
) -> Option<(usize, Option<usize>)> {
    let mut slots = [None, None];
    let mut seen = 0;
    for (i, backend) in backends.iter().enumerate() {
        if !admission.admits(backend, rng) {
            continue;
        }
        seen += 1;
        let slot = if seen <= 2 {
            seen - 1
        } else {
            rng.usize(..seen)
        };
        if let Some(s) = slots.get_mut(slot) {
            *s = Some(i);
        }
    }
    let [first, second] = slots;
    first.map(|a| (a, second))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ewma::EwmaConfig;
    use crate::selector::PickRequest;
    use crate::InFlightGuard;
    use fastrand::Rng;
    use proptest::prelude::*;

    const NOW: Nanos = 5_000_000_000;

    /// One backend of a generated pool: usable, excluded, in flight, last RTT sample in ms.
    type Spec = (bool, bool, u32, u64);

    struct Pool {
        backends: Vec<Arc<Backend>>,
        exclude: Vec<Arc<Backend>>,
        _held: Vec<InFlightGuard>,
    }

    fn pool(specs: &[Spec]) -> Pool {
        let mut held = Vec::new();
        let backends: Vec<_> = specs
            .iter()
            .zip(9000u16..)
            .map(|(&(usable, _, in_flight, rtt_ms), port)| {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                let b = Arc::new(Backend::new(addr, None, 1, EwmaConfig::default(), 0));
                b.set_healthy(usable);
                b.observe_rtt(NOW - 1_000_000_000, rtt_ms * 1_000_000);
                held.extend((0..in_flight).map(|_| b.start_request()));
                b
            })
            .collect();
        let exclude = specs
            .iter()
            .zip(&backends)
            .filter(|((_, excluded, _, _), _)| *excluded)
            .map(|(_, b)| Arc::clone(b))
            .collect();
        Pool {
            backends,
            exclude,
            _held: held,
        }
    }

    fn admitted(pool: &Pool) -> Vec<usize> {
        (0..pool.backends.len())
            .filter(|&i| {
                let b = &pool.backends[i];
                b.is_usable() && !pool.exclude.iter().any(|e| Arc::ptr_eq(e, b))
            })
            .collect()
    }

    fn check_duels<L: Load>(p2c: &P2c<L>, pool: &Pool, seed: u64) -> Result<(), TestCaseError> {
        let req = PickRequest {
            now: NOW,
            region: None,
            exclude: &pool.exclude,
        };
        let admission = Admission::new(&req, None);
        let admitted = admitted(pool);
        let mut rng = Rng::with_seed(seed);
        for _ in 0..50 {
            let duel = p2c.duel(&pool.backends, &admission, &mut rng);
            let Some(Duel { winner, loser }) = duel else {
                prop_assert!(admitted.is_empty());
                continue;
            };
            prop_assert!(admitted.contains(&winner));
            match loser {
                None => prop_assert_eq!(admitted.len(), 1),
                Some(loser) => {
                    prop_assert!(admitted.contains(&loser));
                    prop_assert_ne!(winner, loser);
                    let load = |i: usize| p2c.load.load(&pool.backends[i], NOW);
                    prop_assert!(load(winner) <= load(loser), "picked the heavier sample");
                }
            }
        }
        Ok(())
    }

    fn specs() -> impl Strategy<Value = Vec<Spec>> {
        prop::collection::vec(
            (
                prop::bool::weighted(0.8),
                prop::bool::weighted(0.1),
                0u32..6,
                1u64..200,
            ),
            0..40,
        )
    }

    proptest! {
        #[test]
        fn least_conn_never_picks_the_heavier_sample(specs in specs(), seed: u64) {
            check_duels(&LeastConn::default(), &pool(&specs), seed)?;
        }

        #[test]
        fn peak_ewma_never_picks_the_heavier_sample(specs in specs(), seed: u64) {
            check_duels(&PeakEwma::default(), &pool(&specs), seed)?;
        }
    }

    fn shares<L: Load>(p2c: &P2c<L>, pool: &Pool, picks: u32) -> Vec<f64> {
        let req = PickRequest {
            now: NOW,
            region: None,
            exclude: &pool.exclude,
        };
        let admission = Admission::new(&req, None);
        let mut rng = Rng::with_seed(9);
        let mut hits = vec![0u32; pool.backends.len()];
        for _ in 0..picks {
            if let Some(i) = p2c.select(&pool.backends, &admission, &mut rng) {
                hits[i] += 1;
            }
        }
        hits.iter()
            .map(|&h| f64::from(h) / f64::from(picks))
            .collect()
    }

    #[test]
    fn the_idle_backend_wins_exactly_when_sampled() {
        // Sampled in 1 - (3/4 x 2/3) = 1/2 of the picks; "always the least" would give 1.
        let p = pool(&[
            (true, false, 0, 30),
            (true, false, 9, 30),
            (true, false, 9, 30),
            (true, false, 9, 30),
        ]);
        let s = shares(&LeastConn::default(), &p, 40_000);
        assert!((s[0] - 0.5).abs() < 0.01, "shares {s:?}");
    }

    #[test]
    fn peak_ewma_prefers_the_fast_backend_when_sampled() {
        let p = pool(&[
            (true, false, 0, 10),
            (true, false, 0, 100),
            (true, false, 0, 100),
        ]);
        let s = shares(&PeakEwma::default(), &p, 30_000);
        // Sampled in 1 - (2/3 x 1/2) = 2/3 of the picks.
        assert!((s[0] - 2.0 / 3.0).abs() < 0.01, "shares {s:?}");
    }

    #[test]
    fn equal_loads_spread_evenly() {
        let p = pool(&[(true, false, 1, 30); 5]);
        for share in shares(&LeastConn::default(), &p, 50_000) {
            assert!((share - 0.2).abs() < 0.01, "share {share}");
        }
    }

    #[test]
    fn finds_the_few_usable_backends_in_a_large_pool() {
        let mut specs = vec![(false, false, 0, 30); 1_000];
        specs[417] = (true, false, 3, 30);
        let p = pool(&specs);
        let s = shares(&LeastConn::default(), &p, 200);
        assert_eq!(s[417], 1.0);

        specs[901] = (true, false, 2, 30);
        let p = pool(&specs);
        let req = PickRequest {
            now: NOW,
            region: None,
            exclude: &[],
        };
        let admission = Admission::new(&req, None);
        let mut rng = Rng::with_seed(2);
        for _ in 0..200 {
            let duel = LeastConn::default().duel(&p.backends, &admission, &mut rng);
            assert!(
                matches!(
                    duel,
                    Some(Duel {
                        winner: 901,
                        loser: Some(417)
                    })
                ),
                "{duel:?}"
            );
        }
    }

    #[test]
    fn reservoir_pair_is_uniform_over_pairs() {
        let p = pool(&[(true, false, 0, 30); 4]);
        let req = PickRequest {
            now: NOW,
            region: None,
            exclude: &[],
        };
        let admission = Admission::new(&req, None);
        let mut rng = Rng::with_seed(4);
        let mut pairs = std::collections::HashMap::new();
        for _ in 0..60_000 {
            let (a, b) = reservoir_pair(&p.backends, &admission, &mut rng).expect("admitted");
            let b = b.expect("two admitted");
            assert_ne!(a, b);
            *pairs.entry((a.min(b), a.max(b))).or_insert(0u32) += 1;
        }
        assert_eq!(pairs.len(), 6);
        for count in pairs.values() {
            assert!(
                (f64::from(*count) / 60_000.0 - 1.0 / 6.0).abs() < 0.01,
                "{pairs:?}"
            );
        }
    }
}
