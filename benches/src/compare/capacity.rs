//! The arrival rate of the heterogeneous-backends test.
//!
//! Each client connection carries one request at a time, so `connections`
//! connections complete at most `connections / mean service time` requests per
//! second. Spread evenly over the backends (as round robin does), the mean
//! service time is the average of the backends' mean latencies, measured
//! directly: `(fast_backends x fast + slow_backends x slow) / backends`. The
//! test runs at `load` times that capacity.

use serde::{Deserialize, Serialize};

use super::records::{median, select, Run};
use super::CompareError;

/// How the heterogeneous test's rate was derived.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// Mean latency of a fast backend, measured directly, µs.
    pub fast_mean_us: f64,
    /// Mean latency of the slow backend, measured directly, µs.
    pub slow_mean_us: f64,
    /// How many fast backends.
    pub fast_backends: u32,
    /// How many slow backends.
    pub slow_backends: u32,
    /// Client connections of the test.
    pub connections: u32,
    /// Fraction of capacity the test runs at.
    pub load: f64,
    /// Requests per second the connections can carry at most.
    pub capacity_rps: f64,
    /// The test's arrival rate: `load x capacity`, rounded to 10 req/s.
    pub rate_rps: f64,
}

impl Capacity {
    /// Derives capacity and rate from measured mean latencies.
    pub fn new(
        fast_mean_us: f64,
        slow_mean_us: f64,
        fast_backends: u32,
        slow_backends: u32,
        connections: u32,
        load: f64,
    ) -> Self {
        let backends = f64::from(fast_backends + slow_backends).max(1.0);
        let mean_service_us = (f64::from(fast_backends) * fast_mean_us
            + f64::from(slow_backends) * slow_mean_us)
            / backends;
        let capacity_rps = f64::from(connections) * 1e6 / mean_service_us.max(1.0);
        Self {
            fast_mean_us,
            slow_mean_us,
            fast_backends,
            slow_backends,
            connections,
            load,
            capacity_rps,
            rate_rps: (capacity_rps * load / 10.0).round() * 10.0,
        }
    }

    /// Derives it from the `hetero-probe` runs (targets `fast` and `slow`) in `runs`.
    pub fn from_runs(
        runs: &[Run],
        fast_backends: u32,
        slow_backends: u32,
        connections: u32,
        load: f64,
    ) -> Result<Self, CompareError> {
        let mean = |target: &str| {
            median(
                select(runs, "hetero-probe", target, None)
                    .iter()
                    .filter_map(|r| r.latency_us.map(|l| l.mean)),
            )
            .ok_or_else(|| CompareError::Missing {
                what: format!("hetero-probe run against the {target} backend"),
            })
        };
        Ok(Self::new(
            mean("fast")?,
            mean("slow")?,
            fast_backends,
            slow_backends,
            connections,
            load,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_of_three_fast_and_one_slow() {
        // Mean service (3 x 2 ms + 20 ms) / 4 = 6.5 ms; 64 / 6.5 ms = 9846 req/s.
        let c = Capacity::new(2000.0, 20000.0, 3, 1, 64, 0.7);
        assert!((c.capacity_rps - 9846.15).abs() < 0.1, "{c:?}");
        assert_eq!(c.rate_rps, 6890.0);
    }
}
