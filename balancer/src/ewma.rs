//! Peak-EWMA estimate of a backend's time to first byte (tower's and linkerd's `peak_ewma`).
//!
//! A sample above the estimate replaces it at once, so a backend that slows down is
//! penalised immediately; a smaller sample decays in with weight `1 - exp(-elapsed/decay)`,
//! so recovery is gradual. Reads decay the stored estimate toward zero by the time since
//! the last sample without storing anything, so an idle backend is retried eventually.
//! A backend with no sample yet starts at `default_rtt`, stamped at the time it joined.
//!
//! The estimate (f64 bits) and its stamp live in two separate atomics. Two samples racing
//! can lose one update or pair one sample's estimate with the other's stamp; both outcomes
//! leave a plausible estimate, and the next sample corrects it, so no lock is taken.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::Nanos;

/// Tuning of the peak-EWMA estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EwmaConfig {
    /// Time constant with which smaller samples decay in and estimates decay at read time.
    pub decay: Nanos,
    /// Estimate of a backend that has not answered yet.
    pub default_rtt: Nanos,
}

impl Default for EwmaConfig {
    fn default() -> Self {
        Self {
            decay: 10_000_000_000,
            default_rtt: 30_000_000,
        }
    }
}

/// Lock-free peak-EWMA state of one backend.
#[derive(Debug)]
pub(crate) struct RttEstimate {
    decay: Nanos,
    estimate_bits: AtomicU64,
    stamp: AtomicU64,
}

impl RttEstimate {
    /// Starts at `config.default_rtt`, as if sampled at `now`.
    pub(crate) fn new(config: EwmaConfig, now: Nanos) -> Self {
        Self {
            decay: config.decay,
            estimate_bits: AtomicU64::new((config.default_rtt as f64).to_bits()),
            stamp: AtomicU64::new(now),
        }
    }

    /// Folds in a time-to-first-byte sample taken at `now`.
    pub(crate) fn observe(&self, now: Nanos, rtt: Nanos) {
        let stored = f64::from_bits(self.estimate_bits.load(Ordering::Relaxed));
        let sample = rtt as f64;
        let next = if sample > stored {
            sample
        } else {
            let elapsed = now.saturating_sub(self.stamp.load(Ordering::Relaxed));
            let w = self.retention(elapsed);
            stored * w + sample * (1.0 - w)
        };
        self.estimate_bits.store(next.to_bits(), Ordering::Relaxed);
        self.stamp.store(now, Ordering::Relaxed);
    }

    /// The estimate in ns at `now`, decayed by the time since the last sample.
    pub(crate) fn estimate(&self, now: Nanos) -> f64 {
        let stored = f64::from_bits(self.estimate_bits.load(Ordering::Relaxed));
        let elapsed = now.saturating_sub(self.stamp.load(Ordering::Relaxed));
        stored * self.retention(elapsed)
    }

    /// How much of the old estimate survives `elapsed` ns: `exp(-elapsed/decay)`.
    fn retention(&self, elapsed: Nanos) -> f64 {
        match (elapsed, self.decay) {
            (0, _) => 1.0,
            // The limit of exp(-elapsed/decay) as decay goes to 0; avoids a division by 0.
            (_, 0) => 0.0,
            _ => (-(elapsed as f64) / self.decay as f64).exp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;

    fn config() -> EwmaConfig {
        EwmaConfig {
            decay: 1_000 * MS,
            default_rtt: 30 * MS,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn starts_at_default_rtt() {
        let ewma = RttEstimate::new(config(), 5 * MS);
        assert_eq!(ewma.estimate(5 * MS), (30 * MS) as f64);
    }

    #[test]
    fn default_config_is_ten_seconds_and_thirty_ms() {
        let c = EwmaConfig::default();
        assert_eq!(c.decay, 10_000 * MS);
        assert_eq!(c.default_rtt, 30 * MS);
    }

    #[test]
    fn peak_replaces_at_once() {
        let ewma = RttEstimate::new(config(), 0);
        ewma.observe(10 * MS, 200 * MS);
        assert_eq!(ewma.estimate(10 * MS), (200 * MS) as f64);
    }

    #[test]
    fn smaller_sample_decays_in_with_elapsed_weight() {
        let ewma = RttEstimate::new(config(), 0);
        ewma.observe(0, 100 * MS);
        let elapsed = 500 * MS;
        ewma.observe(elapsed, 20 * MS);
        let w = (-0.5f64).exp();
        let expected = (100 * MS) as f64 * w + (20 * MS) as f64 * (1.0 - w);
        assert!(close(ewma.estimate(elapsed), expected));
    }

    #[test]
    fn smaller_sample_at_the_same_instant_changes_nothing() {
        let ewma = RttEstimate::new(config(), 0);
        ewma.observe(7 * MS, 100 * MS);
        ewma.observe(7 * MS, MS);
        assert!(close(ewma.estimate(7 * MS), (100 * MS) as f64));
    }

    #[test]
    fn reads_decay_toward_zero_and_store_nothing() {
        let ewma = RttEstimate::new(config(), 0);
        ewma.observe(0, 100 * MS);
        let later = ewma.estimate(2_000 * MS);
        assert!(close(later, (100 * MS) as f64 * (-2.0f64).exp()));
        // A read does not move the stamp or the stored value.
        assert!(close(ewma.estimate(0), (100 * MS) as f64));
        assert!(close(ewma.estimate(2_000 * MS), later));
    }

    #[test]
    fn zero_decay_forgets_everything_once_time_passes() {
        let ewma = RttEstimate::new(
            EwmaConfig {
                decay: 0,
                default_rtt: 30 * MS,
            },
            0,
        );
        ewma.observe(0, 100 * MS);
        assert_eq!(ewma.estimate(0), (100 * MS) as f64);
        ewma.observe(MS, 10 * MS);
        assert_eq!(ewma.estimate(MS), (10 * MS) as f64);
        assert_eq!(ewma.estimate(2 * MS), 0.0);
    }
}
