//! One pool's control loop without I/O: window averages, recommenders, decide, commit.
//!
//! The async [`crate::PoolLoop`] and the simulator both drive a [`Controller`] with one
//! [`Observation`] per tick, so the simulator replays the real decision code. Per-tick
//! work is O(1) amortized (running sums, a monotonic deque, cron once a minute).

use std::sync::Arc;
use std::time::Duration;

use crate::decision::{decide, Decision, Overrides, ScalerState};
use crate::error::ScalerError;
use crate::policy::Policy;
use crate::recommend::{Recommendation, Recommender};
use crate::signals::{Observation, Signals};
use crate::time::Timestamp;
use crate::window::MeanWindow;

/// A pool's decision-making state: policy, windows, extra recommenders, memory.
#[derive(Debug)]
pub struct Controller {
    pool: String,
    policy: Policy,
    state: ScalerState,
    stable: MeanWindow,
    panic: MeanWindow,
    recommenders: Vec<Arc<dyn Recommender>>,
}

impl Controller {
    /// A controller for `pool` starting at `desired` instances; validates the policy.
    pub fn new(pool: impl Into<String>, policy: Policy, desired: u32) -> Result<Self, ScalerError> {
        policy.validate()?;
        Ok(Self {
            pool: pool.into(),
            stable: MeanWindow::new(policy.stable_window),
            panic: MeanWindow::new(policy.panic_window),
            state: ScalerState::new(desired),
            policy,
            recommenders: Vec::new(),
        })
    }

    /// Adds extra recommendation sources (e.g. the predictive policy), combined with max().
    pub fn with_recommenders(mut self, recommenders: Vec<Arc<dyn Recommender>>) -> Self {
        self.recommenders = recommenders;
        self
    }

    /// The pool's name.
    pub fn pool(&self) -> &str {
        &self.pool
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The decision state (desired count, panic mode, overrides).
    pub fn state(&self) -> &ScalerState {
        &self.state
    }

    /// Resets the desired count, e.g. to what the driver runs at start-up.
    pub fn set_desired(&mut self, desired: u32) {
        self.state.set_desired(desired);
    }

    /// Replaces the operator's overrides after checking them against the policy.
    pub fn set_overrides(&mut self, overrides: Overrides) -> Result<(), ScalerError> {
        overrides.validate(&self.policy)?;
        self.state.set_overrides(overrides);
        Ok(())
    }

    /// The control loop period.
    pub fn tick(&self) -> Duration {
        self.policy.tick
    }

    /// Folds one tick's observation into the windows, decides, and commits the decision.
    pub fn step(&mut self, observation: &Observation, now: Timestamp) -> Decision {
        self.stable.push(now, observation.in_flight);
        self.panic.push(now, observation.in_flight);
        let signals = Signals {
            stable_in_flight: self.stable.mean(),
            panic_in_flight: self.panic.mean(),
            request_rate: observation.request_rate,
            p95_latency_s: observation.p95_latency.map(|d| d.as_secs_f64()),
            ready: observation.ready,
            pending: observation.pending,
            draining: observation.draining,
        };
        let extra: Vec<Recommendation> = self
            .recommenders
            .iter()
            .filter_map(|r| r.recommend(&self.pool, &signals, now))
            .collect();
        let decision = decide(&self.policy, &self.state, &signals, &extra, now);
        self.state.apply(&self.policy, &decision, now);
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(u32);

    impl Recommender for Fixed {
        fn recommend(
            &self,
            _pool: &str,
            _signals: &Signals,
            _now: Timestamp,
        ) -> Option<Recommendation> {
            Some(Recommendation::new("fixed", self.0))
        }
    }

    #[test]
    fn windows_average_per_tick_samples() {
        let mut c = Controller::new("p", Policy::default(), 1).unwrap();
        let t0 = Timestamp::from_unix_secs(1_000);
        let mut last = None;
        for s in 0..60 {
            let in_flight = if s < 54 { 0.0 } else { 80.0 };
            let obs = Observation {
                in_flight,
                ready: 1,
                ..Observation::default()
            };
            last = Some(c.step(&obs, t0 + Duration::from_secs(s)));
        }
        let d = last.unwrap();
        // Stable window: 6 of 60 samples at 80 -> 8; panic window: all 6 at 80.
        assert!((d.signals.stable_in_flight - 8.0).abs() < 1e-9);
        assert!((d.signals.panic_in_flight - 80.0).abs() < 1e-9);
        assert!(d.panicking);
    }

    #[test]
    fn recommenders_take_part_in_the_decision() {
        let mut c = Controller::new("p", Policy::default(), 1)
            .unwrap()
            .with_recommenders(vec![Arc::new(Fixed(4))]);
        let d = c.step(
            &Observation {
                ready: 1,
                ..Observation::default()
            },
            Timestamp::from_unix_secs(0),
        );
        assert_eq!(d.to, 4);
    }
}
