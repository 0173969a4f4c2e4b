//! Sliding windows over per-tick samples, with O(1) amortized work per sample.
//!
//! [`MeanWindow`] keeps a running sum over the samples younger than its span (the stable
//! and panic in-flight averages). [`MaxWindow`] is a monotonic deque: the maximum over the
//! entries whose key is at least a bound (the scale-down stabilization window, and the
//! simulator's oracle look-ahead).

use std::collections::VecDeque;
use std::time::Duration;

use crate::time::{duration_millis, Timestamp};

/// The mean of the samples taken within the last `span`; always holds the newest sample.
#[derive(Clone, Debug)]
pub(crate) struct MeanWindow {
    span_ms: u64,
    samples: VecDeque<(u64, f64)>,
    sum: f64,
    pushes_since_resum: usize,
}

impl MeanWindow {
    /// An empty window over `span`.
    pub(crate) fn new(span: Duration) -> Self {
        Self {
            span_ms: duration_millis(span),
            samples: VecDeque::new(),
            sum: 0.0,
            pushes_since_resum: 0,
        }
    }

    /// Adds the sample taken at `now` and drops samples older than the span.
    pub(crate) fn push(&mut self, now: Timestamp, value: f64) {
        let now_ms = now.unix_millis();
        let value = if value.is_finite() {
            value.max(0.0)
        } else {
            0.0
        };
        self.samples.push_back((now_ms, value));
        self.sum += value;
        while self.samples.len() > 1 {
            match self.samples.front() {
                Some(&(t, old)) if t.saturating_add(self.span_ms) <= now_ms => {
                    self.samples.pop_front();
                    self.sum -= old;
                }
                _ => break,
            }
        }
        // A running sum drifts under subtraction; recomputing it once per window length
        // keeps the error bounded at O(1) amortized cost.
        self.pushes_since_resum += 1;
        if self.pushes_since_resum >= self.samples.len().max(64) {
            self.sum = self.samples.iter().map(|&(_, v)| v).sum();
            self.pushes_since_resum = 0;
        }
    }

    /// The mean of the samples in the window, or 0 before the first sample.
    pub(crate) fn mean(&self) -> f64 {
        if self.samples.is_empty() {
            0.0
        } else {
            (self.sum / self.samples.len() as f64).max(0.0)
        }
    }
}

/// The maximum of values keyed by a non-decreasing position (time or index).
#[derive(Clone, Debug, Default)]
pub(crate) struct MaxWindow {
    /// Keys increase front to back; values strictly decrease, so the front is the max.
    entries: VecDeque<(u64, u32)>,
}

impl MaxWindow {
    /// Adds `value` at `key`; `key` must not be smaller than any earlier key.
    pub(crate) fn push(&mut self, key: u64, value: u32) {
        while matches!(self.entries.back(), Some(&(_, v)) if v <= value) {
            self.entries.pop_back();
        }
        self.entries.push_back((key, value));
    }

    /// Forgets the entries whose key is below `min_key`.
    pub(crate) fn evict_before(&mut self, min_key: u64) {
        while matches!(self.entries.front(), Some(&(k, _)) if k < min_key) {
            self.entries.pop_front();
        }
    }

    /// The maximum over entries with key >= `min_key`, without forgetting the others.
    pub(crate) fn max_from(&self, min_key: u64) -> Option<u32> {
        self.entries
            .iter()
            .find(|&&(k, _)| k >= min_key)
            .map(|&(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_unix_secs(secs)
    }

    #[test]
    fn mean_covers_only_the_span() {
        let mut w = MeanWindow::new(Duration::from_secs(3));
        for (s, v) in [(0, 10.0), (1, 20.0), (2, 30.0)] {
            w.push(at(s), v);
        }
        assert!((w.mean() - 20.0).abs() < 1e-9);
        w.push(at(3), 40.0);
        assert!((w.mean() - 30.0).abs() < 1e-9);
    }

    #[test]
    fn mean_keeps_the_newest_sample_when_the_span_is_shorter_than_a_tick() {
        let mut w = MeanWindow::new(Duration::from_secs(6));
        w.push(at(0), 5.0);
        w.push(at(10), 7.0);
        assert!((w.mean() - 7.0).abs() < 1e-9);
    }

    #[test]
    fn max_window_matches_a_naive_scan() {
        let values = [3u32, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9];
        let mut w = MaxWindow::default();
        for (i, &v) in values.iter().enumerate() {
            let key = i as u64;
            w.push(key, v);
            let lo = key.saturating_sub(3);
            w.evict_before(lo);
            let naive = values[lo as usize..=i].iter().copied().max();
            assert_eq!(w.max_from(lo), naive);
        }
    }
}
