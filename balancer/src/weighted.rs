//! `weighted`: smooth weighted round robin, nginx's sequence, walked lock-free.
//!
//! nginx keeps a mutable `current_weight` per backend behind a lock. Here the whole cycle
//! is computed when the snapshot is built (weights divided by their gcd, so weights 3:6
//! give the 1:2 cycle) and picks walk it with an atomic cursor, skipping entries the pick
//! does not admit; the admitted backends then keep their weights' proportions. If a short
//! walk finds nothing admitted (most of the weight is down), one pass of weighted
//! reservoir sampling over the snapshot picks in proportion to weight instead, so a pick
//! costs at most `WALK_ATTEMPTS + n` looks.
//!
//! Building costs `cycle length x n`. For pathological weight mixes (hundreds of backends
//! with coprime weights) the cycle is cut to its first `MAX_BUILD_WORK / n` entries; any
//! prefix of the SWRR sequence holds each backend's count within n of its exact share.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use fastrand::Rng;

use crate::backend::Backend;
use crate::select::{Admission, Select};

/// Weights are clamped into this range (configuration validates the same bounds).
const WEIGHTS: std::ops::RangeInclusive<u32> = 1..=1000;
/// Upper bound on `cycle length x backends` spent building one sequence.
const MAX_BUILD_WORK: usize = 1 << 24;
/// Sequence entries a pick looks at before falling back to reservoir sampling.
const WALK_ATTEMPTS: usize = 16;

/// Precomputed SWRR cycle over one snapshot plus the cursor walking it.
#[derive(Debug)]
pub(crate) struct Weighted {
    sequence: Vec<usize>,
    cursor: AtomicUsize,
}

impl Weighted {
    /// Computes the SWRR cycle for `backends`' weights.
    pub(crate) fn new(backends: &[Arc<Backend>]) -> Self {
        let weights: Vec<u32> = backends.iter().map(|b| weight(b)).collect();
        let max_len = MAX_BUILD_WORK / backends.len().max(1);
        Self {
            sequence: swrr_sequence(&weights, max_len),
            cursor: AtomicUsize::new(0),
        }
    }
}

impl Select for Weighted {
    fn select(
        &self,
        backends: &[Arc<Backend>],
        admission: &Admission<'_>,
        rng: &mut Rng,
    ) -> Option<usize> {
        let len = self.sequence.len();
        for _ in 0..WALK_ATTEMPTS.min(len) {
            let at = self.cursor.fetch_add(1, Ordering::Relaxed) % len;
            let Some(&i) = self.sequence.get(at) else {
                break;
            };
            if backends.get(i).is_some_and(|b| admission.admits(b, rng)) {
                return Some(i);
            }
        }
        by_weighted_reservoir(backends, admission, rng)
    }
}

fn weight(backend: &Backend) -> u32 {
    backend.weight().clamp(*WEIGHTS.start(), *WEIGHTS.end())
}

/// One pass over `backends`, choosing an admitted one with probability weight / admitted weight.
fn by_weighted_reservoir(
    backends: &[Arc<Backend>],
    admission: &Admission<'_>,
    rng: &mut Rng,
) -> Option<usize> {
    let mut total = 0u64;
    let mut chosen = None;
    for (i, backend) in backends.iter().enumerate() {
        if !admission.admits(backend, rng) {
            continue;
        }
        let w = u64::from(weight(backend));
        total += w;
        if rng.u64(..total) < w {
            chosen = Some(i);
        }
    }
    chosen
}

/// The first `max_len` entries of nginx's smooth weighted round-robin cycle for `weights`.
///
/// Each step adds every weight to its backend's running score, emits the backend with the
/// highest score (the first on ties, as nginx does) and takes the total weight off it.
fn swrr_sequence(weights: &[u32], max_len: usize) -> Vec<usize> {
    let divisor = weights.iter().fold(0, |g, &w| gcd(g, w));
    if divisor == 0 {
        return Vec::new();
    }
    let reduced: Vec<i64> = weights.iter().map(|&w| i64::from(w / divisor)).collect();
    let total: i64 = reduced.iter().sum();
    let len = usize::try_from(total)
        .unwrap_or(usize::MAX)
        .min(max_len.max(1));
    let mut score = vec![0i64; weights.len()];
    let mut sequence = Vec::with_capacity(len);
    for _ in 0..len {
        let mut best = 0;
        let mut best_score = i64::MIN;
        for (i, (s, w)) in score.iter_mut().zip(&reduced).enumerate() {
            *s += w;
            if *s > best_score {
                best = i;
                best_score = *s;
            }
        }
        if let Some(s) = score.get_mut(best) {
            *s -= total;
        }
        sequence.push(best);
    }
    sequence
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ewma::EwmaConfig;
    use crate::selector::PickRequest;
    use fastrand::Rng;
    use proptest::prelude::*;

    fn backends(weights: &[u32]) -> Vec<Arc<Backend>> {
        weights
            .iter()
            .zip(9000u16..)
            .map(|(&w, port)| {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                Arc::new(Backend::new(addr, None, w, EwmaConfig::default(), 0))
            })
            .collect()
    }

    fn counts(sequence: &[usize], n: usize) -> Vec<usize> {
        let mut counts = vec![0; n];
        sequence.iter().for_each(|&i| counts[i] += 1);
        counts
    }

    #[test]
    fn matches_nginx_for_5_1_1() {
        // nginx's documented example: weights a=5, b=1, c=1 give a a b a c a a.
        assert_eq!(swrr_sequence(&[5, 1, 1], usize::MAX), [0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn divides_weights_by_their_gcd() {
        assert_eq!(
            swrr_sequence(&[500, 100, 100], usize::MAX),
            [0, 0, 1, 0, 2, 0, 0]
        );
        assert_eq!(swrr_sequence(&[4, 4], usize::MAX), [0, 1]);
    }

    #[test]
    fn empty_snapshot_has_no_sequence() {
        assert!(swrr_sequence(&[], usize::MAX).is_empty());
        let admission = Admission::new(
            &PickRequest {
                now: 0,
                region: None,
                exclude: &[],
            },
            None,
        );
        let weighted = Weighted::new(&[]);
        assert_eq!(
            weighted.select(&[], &admission, &mut Rng::with_seed(1)),
            None
        );
    }

    #[test]
    fn out_of_range_weights_are_clamped() {
        let b = backends(&[0, 5_000]);
        assert_eq!(weight(&b[0]), 1);
        assert_eq!(weight(&b[1]), 1000);
    }

    #[test]
    fn reservoir_fallback_keeps_weight_proportions() {
        // Only two light backends are up: the walk mostly misses, the reservoir decides.
        let mut weights = vec![1000; 30];
        weights.extend([1, 3]);
        let b = backends(&weights);
        b.iter().take(30).for_each(|b| b.set_healthy(false));
        let weighted = Weighted::new(&b);
        let req = PickRequest {
            now: 0,
            region: None,
            exclude: &[],
        };
        let admission = Admission::new(&req, None);
        let mut rng = Rng::with_seed(5);
        let mut hits = [0u32; 2];
        for _ in 0..20_000 {
            let i = weighted.select(&b, &admission, &mut rng);
            assert!(matches!(i, Some(30 | 31)), "picked {i:?}");
            hits[usize::from(i == Some(31))] += 1;
        }
        let share = f64::from(hits[1]) / 20_000.0;
        assert!((share - 0.75).abs() < 0.02, "share {share}");
    }

    proptest! {
        #[test]
        fn a_cut_cycle_stays_close_to_every_share(
            weights in prop::collection::vec(1u32..=1000, 1..12),
            max_len in 50usize..2_000,
        ) {
            let sequence = swrr_sequence(&weights, max_len);
            let total: u32 = weights.iter().sum();
            let len = sequence.len();
            prop_assert!(len <= max_len);
            for (count, w) in counts(&sequence, weights.len()).into_iter().zip(&weights) {
                let ideal = len as f64 * f64::from(*w) / f64::from(total);
                prop_assert!((count as f64 - ideal).abs() <= weights.len() as f64,
                    "count {count}, ideal {ideal}");
            }
        }

        #[test]
        fn a_full_cycle_gives_each_backend_exactly_its_reduced_weight(
            weights in prop::collection::vec(1u32..=60, 1..8),
        ) {
            let sequence = swrr_sequence(&weights, usize::MAX);
            let g = weights.iter().fold(0, |g, &w| gcd(g, w));
            let reduced: Vec<usize> = weights.iter().map(|&w| (w / g) as usize).collect();
            prop_assert_eq!(counts(&sequence, weights.len()), reduced);
        }
    }
}
