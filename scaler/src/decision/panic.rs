//! Knative KPA's panic mode: react to a burst on the short window, never scale down meanwhile.
//!
//! The pool panics when the panic window's recommendation is at least `panic_threshold`
//! times the ready instances (at least one). Every tick over the threshold extends the
//! panic; it ends once a whole stable window has passed without one.

use crate::policy::Policy;
use crate::signals::Signals;
use crate::time::Timestamp;

/// Panic mode after this tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PanicMode {
    /// The last tick over the threshold; `None` when not panicking.
    pub(crate) last_over: Option<Timestamp>,
}

impl PanicMode {
    /// Whether the pool is panicking.
    pub(crate) fn active(&self) -> bool {
        self.last_over.is_some()
    }
}

/// The next panic mode given the previous one and this tick's panic recommendation.
pub(crate) fn next(
    policy: &Policy,
    last_over: Option<Timestamp>,
    signals: &Signals,
    panic_recommendation: u32,
    now: Timestamp,
) -> PanicMode {
    let ready = f64::from(signals.ready.max(1));
    let over = f64::from(panic_recommendation) >= policy.panic_threshold * ready;
    let last_over = if over {
        Some(now)
    } else {
        last_over.filter(|&t| now.saturating_since(t) <= policy.stable_window)
    };
    PanicMode { last_over }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn signals(ready: u32) -> Signals {
        Signals {
            ready,
            ..Signals::default()
        }
    }

    #[test]
    fn enters_at_threshold_and_leaves_a_stable_window_after_the_last_burst() {
        let policy = Policy::default(); // threshold 2.0, stable window 60 s
        let t0 = Timestamp::from_unix_secs(1_000);
        assert!(!next(&policy, None, &signals(4), 7, t0).active());
        let entered = next(&policy, None, &signals(4), 8, t0);
        assert!(entered.active());
        let later = t0 + Duration::from_secs(60);
        assert!(next(&policy, entered.last_over, &signals(4), 1, later).active());
        let after = t0 + Duration::from_secs(61);
        assert!(!next(&policy, entered.last_over, &signals(4), 1, after).active());
    }

    #[test]
    fn zero_ready_counts_as_one() {
        let policy = Policy::default();
        let t0 = Timestamp::from_unix_secs(1_000);
        assert!(next(&policy, None, &signals(0), 2, t0).active());
        assert!(!next(&policy, None, &signals(0), 1, t0).active());
    }
}
