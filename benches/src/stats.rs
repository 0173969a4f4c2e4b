//! What one load thread measured: latency and send-lag HdrHistograms in
//! nanoseconds, response statuses and failed requests by kind. Threads merge
//! theirs at the end; [`Recorder::latency`] summarises for the report.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::error::SetupError;

/// Largest value the histograms resolve (longer ones are clamped to it).
const HIGHEST_NS: u64 = 3_600_000_000_000;
/// Three significant digits: 0.1% resolution at every scale.
const SIGNIFICANT_DIGITS: u8 = 3;

/// Measurements of one thread (or, merged, of a whole run).
#[derive(Debug, Clone)]
pub struct Recorder {
    latency: Histogram<u64>,
    lag: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    errors: BTreeMap<&'static str, u64>,
    sent: u64,
    last_response: Option<Instant>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Result<Self, SetupError> {
        Ok(Self {
            latency: histogram()?,
            lag: histogram()?,
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            sent: 0,
            last_response: None,
        })
    }

    /// A full response, complete at `done`: `latency` from the planned send
    /// time, `lag` from the planned to the actual send time.
    pub fn response(&mut self, status: u16, latency: Duration, lag: Duration, done: Instant) {
        self.sent += 1;
        self.last_response = self.last_response.max(Some(done));
        self.latency.saturating_record(nanos(latency));
        self.lag.saturating_record(nanos(lag));
        *self.statuses.entry(status).or_default() += 1;
    }

    /// A request that got no full response, counted under `kind`.
    pub fn failure(&mut self, kind: &'static str) {
        self.sent += 1;
        *self.errors.entry(kind).or_default() += 1;
    }

    /// Adds `other`'s measurements to these.
    pub fn merge(&mut self, other: &Self) -> Result<(), SetupError> {
        let failed = |e: hdrhistogram::AdditionError| SetupError::Thread(e.to_string());
        self.latency.add(&other.latency).map_err(failed)?;
        self.lag.add(&other.lag).map_err(failed)?;
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        for (kind, n) in &other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        self.sent += other.sent;
        self.last_response = self.last_response.max(other.last_response);
        Ok(())
    }

    /// When the last response arrived.
    pub fn last_response(&self) -> Option<Instant> {
        self.last_response
    }

    /// Requests sent (answered or failed).
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Responses received, whatever their status.
    pub fn responses(&self) -> u64 {
        self.latency.len()
    }

    /// Responses by status code.
    pub fn statuses(&self) -> &BTreeMap<u16, u64> {
        &self.statuses
    }

    /// Failed requests by kind.
    pub fn errors(&self) -> &BTreeMap<&'static str, u64> {
        &self.errors
    }

    /// Latency percentiles of the responses.
    pub fn latency(&self) -> Percentiles {
        Percentiles::of(&self.latency)
    }

    /// Percentiles of how late requests left after their planned time.
    pub fn lag(&self) -> Percentiles {
        Percentiles::of(&self.lag)
    }

    /// Fraction of responses slower than `threshold`.
    pub fn fraction_over(&self, threshold: Duration) -> f64 {
        let total = self.latency.len();
        if total == 0 {
            return 0.0;
        }
        let at_or_below = self.latency.count_between(0, nanos(threshold));
        total.saturating_sub(at_or_below) as f64 / total as f64
    }
}

/// A latency distribution in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// How many values it summarises.
    pub count: u64,
    /// Smallest.
    pub min: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        let us = |ns: u64| (ns as f64 / 100.0).round() / 10.0;
        if h.is_empty() {
            return Self {
                count: 0,
                min: 0.0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p99_9: 0.0,
                max: 0.0,
            };
        }
        Self {
            count: h.len(),
            min: us(h.min()),
            mean: (h.mean() / 100.0).round() / 10.0,
            p50: us(h.value_at_quantile(0.50)),
            p90: us(h.value_at_quantile(0.90)),
            p99: us(h.value_at_quantile(0.99)),
            p99_9: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
        }
    }
}

fn histogram() -> Result<Histogram<u64>, SetupError> {
    Histogram::new_with_bounds(1, HIGHEST_NS, SIGNIFICANT_DIGITS).map_err(|e| SetupError::System {
        what: "a latency histogram",
        source: std::io::Error::other(format!("{e:?}")),
    })
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_merges_and_summarises() {
        let mut a = Recorder::new().unwrap();
        let mut b = Recorder::new().unwrap();
        let now = Instant::now();
        for i in 1..=100u64 {
            a.response(200, Duration::from_micros(i), Duration::ZERO, now);
        }
        let later = now + Duration::from_secs(1);
        b.response(
            503,
            Duration::from_millis(50),
            Duration::from_micros(5),
            later,
        );
        b.failure("timeout");
        a.merge(&b).unwrap();
        assert_eq!((a.sent(), a.responses()), (102, 101));
        assert_eq!(a.statuses()[&503], 1);
        assert_eq!(a.last_response(), Some(later));
        assert_eq!(a.errors()["timeout"], 1);
        let p = a.latency();
        assert_eq!(p.p50, 51.0);
        assert!((p.max - 50_000.0).abs() < 50.0, "{p:?}");
        assert!((a.fraction_over(Duration::from_millis(1)) - 1.0 / 101.0).abs() < 1e-9);
    }
}
