//! Per-backend and per-pool request statistics the admin API and the autoscaler
//! read: a lock-free latency histogram and a request counter with a rate.
//!
//! Recording is two relaxed atomic additions; quantiles and rates are computed
//! when someone asks. The histogram has log-spaced buckets (four per power of
//! two, from 1 µs to about 1.2 hours), so a quantile is exact to within 19%.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tidegate_balancer::Nanos;

/// Sub-buckets per power of two.
const STEPS: u32 = 4;
/// Powers of two covered above 1 µs.
const OCTAVES: u32 = 32;
const BUCKETS: usize = (STEPS * OCTAVES) as usize + 1;

/// Latencies of requests, in log-spaced buckets.
#[derive(Debug)]
pub struct LatencyHistogram {
    buckets: Box<[AtomicU64]>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl LatencyHistogram {
    /// Records one latency.
    pub fn record(&self, latency: Nanos) {
        self.buckets[bucket(latency)].fetch_add(1, Ordering::Relaxed);
    }

    /// The `q` quantile (0 to 1) in nanoseconds, or `None` before any sample.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(upper_bound(i));
            }
        }
        Some(upper_bound(BUCKETS - 1))
    }
}

/// The bucket of a latency: 0 below 1 µs, then STEPS per doubling.
fn bucket(latency: Nanos) -> usize {
    let micros = latency / 1_000;
    if micros == 0 {
        return 0;
    }
    let octave = 63 - micros.leading_zeros();
    // The STEPS fraction bits just below the leading one.
    let fraction = if octave >= 2 {
        ((micros >> (octave - 2)) & 0b11) as u32
    } else {
        ((micros << (2 - octave)) & 0b11) as u32
    };
    let index = 1 + octave * STEPS + fraction;
    (index as usize).min(BUCKETS - 1)
}

/// The largest latency in bucket `i`, in nanoseconds.
fn upper_bound(i: usize) -> f64 {
    if i == 0 {
        return 1_000.0;
    }
    let index = (i - 1) as u32;
    let octave = index / STEPS;
    let fraction = index % STEPS;
    let low = 2f64.powi(octave as i32) * (1.0 + f64::from(fraction) / f64::from(STEPS));
    let high = low + 2f64.powi(octave as i32) / f64::from(STEPS);
    high * 1_000.0
}

/// A request counter that also answers "how many per second lately".
#[derive(Debug, Default)]
pub struct RequestMeter {
    total: AtomicU64,
    last: Mutex<(Nanos, u64, f64)>,
}

impl RequestMeter {
    /// Counts one request.
    pub fn count(&self) {
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests counted so far.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Requests per second since the previous call at least `min_gap` earlier
    /// (the last rate computed when called sooner). The first call spreads the
    /// requests counted before it over `min_gap`, at least a second: they are
    /// recent, and a pool scaled to zero must see even one of them.
    pub fn rate(&self, now: Nanos, min_gap: Nanos) -> f64 {
        let total = self.total();
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (at, count, rate) = *last;
        if at == 0 {
            let rate = total as f64 / (min_gap.max(1_000_000_000) as f64 / 1e9);
            *last = (now, total, rate);
            return rate;
        }
        let elapsed = now.saturating_sub(at);
        if elapsed < min_gap {
            return rate;
        }
        let rate = total.saturating_sub(count) as f64 / (elapsed as f64 / 1e9);
        *last = (now, total, rate);
        rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_grow_monotonically_and_bound_their_samples() {
        let mut previous = 0;
        for micros in [
            1u64, 2, 3, 5, 8, 13, 100, 1_000, 65_000, 1_000_000, 60_000_000,
        ] {
            let b = bucket(micros * 1_000);
            assert!(b >= previous, "{micros} µs");
            assert!(
                upper_bound(b) >= (micros * 1_000) as f64,
                "{micros} µs in bucket {b}"
            );
            assert!(
                upper_bound(b) <= (micros * 1_000) as f64 * 1.26,
                "{micros} µs in bucket {b}"
            );
            previous = b;
        }
    }

    #[test]
    fn quantiles_are_within_a_bucket_of_the_truth() {
        let h = LatencyHistogram::default();
        assert_eq!(h.quantile(0.5), None);
        for ms in 1..=100u64 {
            h.record(ms * 1_000_000);
        }
        let p50 = h.quantile(0.5).unwrap() / 1e6;
        let p99 = h.quantile(0.99).unwrap() / 1e6;
        assert!((50.0..=63.0).contains(&p50), "p50 {p50}");
        assert!((99.0..=125.0).contains(&p99), "p99 {p99}");
    }

    #[test]
    fn the_rate_is_requests_over_elapsed_time() {
        let meter = RequestMeter::default();
        assert_eq!(meter.rate(1_000_000_000, 0), 0.0);
        for _ in 0..50 {
            meter.count();
        }
        assert_eq!(meter.rate(1_500_000_000, 0), 100.0);
        assert_eq!(
            meter.rate(1_600_000_000, 1_000_000_000),
            100.0,
            "too soon: the last rate"
        );
        assert_eq!(meter.total(), 50);
    }

    #[test]
    fn requests_before_the_first_reading_count_over_at_least_a_second() {
        let meter = RequestMeter::default();
        meter.count();
        assert_eq!(meter.rate(50_000_000, 1_000_000_000), 1.0);
        assert_eq!(meter.rate(1_050_000_000, 1_000_000_000), 0.0);
        let meter = RequestMeter::default();
        for _ in 0..4 {
            meter.count();
        }
        assert_eq!(meter.rate(1, 2_000_000_000), 2.0);
    }
}
