//! Slow start: a linear traffic ramp for backends that joined recently (Envoy-style).
//!
//! Within `window` of joining, a backend is admitted to a pick with probability
//! `max(0.1, elapsed / window)`; a turned-away backend leaves the pick to the others, so
//! its share grows linearly from a 10% floor instead of jumping to full load while its
//! caches and connection pools are cold. The roll uses the caller's random source, so it
//! is reproducible, and it applies the same way under every policy.

use fastrand::Rng;

use crate::backend::Backend;
use crate::Nanos;

/// Share of its full traffic a backend gets the moment it joins.
const FLOOR: f64 = 0.1;

/// The slow-start ramp of a pool.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlowStart {
    window: Nanos,
}

impl SlowStart {
    /// A ramp that reaches full traffic `window` after a backend joins.
    pub(crate) fn new(window: Nanos) -> Self {
        Self { window }
    }

    /// Probability that a backend that joined at `joined_at` is admitted at `now`.
    pub(crate) fn admission_probability(&self, joined_at: Nanos, now: Nanos) -> f64 {
        let elapsed = now.saturating_sub(joined_at);
        if elapsed >= self.window {
            return 1.0;
        }
        (elapsed as f64 / self.window as f64).max(FLOOR)
    }

    /// Rolls whether `backend` is admitted to a pick at `now`.
    pub(crate) fn admits(&self, backend: &Backend, now: Nanos, rng: &mut Rng) -> bool {
        let p = self.admission_probability(backend.joined_at(), now);
        p >= 1.0 || rng.f64() < p
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use super::*;
    use crate::{Backend, EwmaConfig, PickRequest, Policy, Selector};

    const WINDOW: Nanos = 10_000;

    #[test]
    fn ramp_is_linear_with_a_floor() {
        let ramp = SlowStart::new(WINDOW);
        assert_eq!(ramp.admission_probability(0, 0), FLOOR);
        assert_eq!(ramp.admission_probability(0, 500), FLOOR);
        assert_eq!(ramp.admission_probability(0, 2_500), 0.25);
        assert_eq!(ramp.admission_probability(1_000, 6_000), 0.5);
        assert_eq!(ramp.admission_probability(0, WINDOW), 1.0);
        assert_eq!(ramp.admission_probability(0, 10 * WINDOW), 1.0);
        // A backend stamped in the future is treated as just joined.
        assert_eq!(ramp.admission_probability(9_000, 0), FLOOR);
    }

    #[test]
    fn empty_window_admits_everyone() {
        assert_eq!(SlowStart::new(0).admission_probability(5, 5), 1.0);
    }

    /// Share of `picks` round-robin picks that land on one new backend among `old` settled ones.
    fn new_backend_share(old: usize, ramp: f64, picks: usize) -> f64 {
        let addr = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let now = 1_000_000;
        let joined = now - (ramp * WINDOW as f64) as Nanos;
        let mut backends: Vec<_> = (0..old)
            .map(|i| {
                Arc::new(Backend::new(
                    addr(9000 + i as u16),
                    None,
                    1,
                    EwmaConfig::default(),
                    0,
                ))
            })
            .collect();
        let new = Arc::new(Backend::new(
            addr(8999),
            None,
            1,
            EwmaConfig::default(),
            joined,
        ));
        backends.push(Arc::clone(&new));
        let selector = Selector::new(&Policy::RoundRobin, backends, Some(WINDOW));
        let req = PickRequest {
            now,
            region: None,
            exclude: &[],
        };
        let mut rng = Rng::with_seed(11);
        let hits = (0..picks)
            .filter(|_| {
                selector
                    .pick(&req, &mut rng)
                    .is_some_and(|b| Arc::ptr_eq(b, &new))
            })
            .count();
        hits as f64 / picks as f64
    }

    #[test]
    fn ramp_scales_a_new_backends_share_like_a_weight() {
        // Admitted with probability r, the new backend weighs r against 1 for each old one.
        for (old, ramp) in [(1, 0.5), (4, 0.1), (4, 0.5), (9, 0.25)] {
            let share = new_backend_share(old, ramp, 40_000);
            let expected = ramp / (old as f64 + ramp);
            assert!(
                (share - expected).abs() < 0.01,
                "old={old} ramp={ramp}: share {share}, expected {expected}"
            );
        }
    }

    #[test]
    fn a_backend_past_its_window_gets_a_full_share() {
        let share = new_backend_share(3, 1.0, 4_000);
        assert_eq!(share, 0.25);
    }
}
