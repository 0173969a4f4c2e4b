//! How long a request is in flight, to turn a request rate into in-flight requests
//! (Little's law: in-flight = rate x service time).
//!
//! Either configured, or estimated as the ratio of exponentially weighted means of the
//! stable-window in-flight and the request rate (time constant [`WINDOW_S`]); a ratio of
//! means, not a mean of ratios, so idle ticks do not divide by zero.

use crate::time::Timestamp;

/// Time constant of the observed ratio, seconds.
pub(crate) const WINDOW_S: f64 = 600.0;

/// A configured or observed service time.
#[derive(Debug, Clone)]
pub(crate) struct ServiceTime {
    configured: Option<f64>,
    in_flight: f64,
    rate: f64,
    last: Option<Timestamp>,
}

impl ServiceTime {
    /// Fixed at `configured` seconds, or observed when `None`.
    pub(crate) fn new(configured: Option<f64>) -> Self {
        Self {
            configured,
            in_flight: 0.0,
            rate: 0.0,
            last: None,
        }
    }

    /// Folds in one tick's stable in-flight and request rate.
    pub(crate) fn observe(&mut self, now: Timestamp, in_flight: f64, rate: f64) {
        if self.configured.is_some() || !(in_flight.is_finite() && rate.is_finite()) {
            return;
        }
        let weight = match self.last {
            None => 1.0,
            Some(last) => 1.0 - (-now.saturating_since(last).as_secs_f64() / WINDOW_S).exp(),
        };
        self.in_flight += weight * (in_flight.max(0.0) - self.in_flight);
        self.rate += weight * (rate.max(0.0) - self.rate);
        self.last = Some(now);
    }

    /// Seconds per request, once known.
    pub(crate) fn seconds(&self) -> Option<f64> {
        self.configured
            .or_else(|| (self.rate > 1e-9).then(|| self.in_flight / self.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn observed_ratio_follows_littles_law() {
        let mut s = ServiceTime::new(None);
        assert_eq!(s.seconds(), None);
        let t0 = Timestamp::from_unix_secs(0);
        s.observe(t0, 0.0, 0.0);
        assert_eq!(s.seconds(), None);
        for k in 1..200 {
            s.observe(t0 + Duration::from_secs(10 * k), 20.0, 100.0);
        }
        assert!((s.seconds().unwrap() - 0.2).abs() < 1e-3);
        assert_eq!(ServiceTime::new(Some(0.5)).seconds(), Some(0.5));
    }
}
