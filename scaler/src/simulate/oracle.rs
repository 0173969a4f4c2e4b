//! The oracle policy: provisions from the true future demand, to bound what is possible.
//!
//! An instance launched at tick `t` is ready at the first tick at or after `t + lead`,
//! and the next launch opportunity is one tick later, so the count at `t` must cover
//! every tick in `[t, t + lead + tick)`: `ceil(max demand there / capacity)`, clamped to
//! the policy's bounds. A monotonic deque keeps that maximum O(1) amortized.

use crate::decision::{Bounds, Overrides};
use crate::policy::Policy;
use crate::schedule::ScheduleBounds;
use crate::time::Timestamp;
use crate::window::MaxWindow;

/// The oracle's state over one trace.
#[derive(Debug)]
pub(crate) struct Oracle {
    need: Vec<u32>,
    window: MaxWindow,
    next_row: usize,
    step_ms: u64,
    horizon_ms: u64,
    schedule: Option<(u64, ScheduleBounds)>,
}

impl Oracle {
    /// An oracle over `demand` rows of `step_ms` each, looking `horizon_ms` ahead.
    pub(crate) fn new(demand: &[f64], capacity_rps: f64, step_ms: u64, horizon_ms: u64) -> Self {
        let need = demand
            .iter()
            .map(|&d| crate::decision::instances_for(d, capacity_rps))
            .collect();
        Self {
            need,
            window: MaxWindow::default(),
            next_row: 0,
            step_ms: step_ms.max(1),
            horizon_ms,
            schedule: None,
        }
    }

    /// The instances to run at `t_ms` into the trace (wall clock `now`).
    pub(crate) fn desired(&mut self, policy: &Policy, t_ms: u64, now: Timestamp) -> u32 {
        let last = self.need.len().saturating_sub(1);
        let lo = to_index(t_ms / self.step_ms).min(last);
        let hi = to_index(t_ms.saturating_add(self.horizon_ms.saturating_sub(1)) / self.step_ms)
            .min(last);
        while self.next_row <= hi {
            let need = self.need.get(self.next_row).copied().unwrap_or(0);
            self.window.push(self.next_row as u64, need);
            self.next_row += 1;
        }
        self.window.evict_before(lo as u64);
        let need = self.window.max_from(lo as u64).unwrap_or(0);
        let schedule = match self.schedule {
            Some((minute, bounds)) if minute == now.unix_minute() => bounds,
            _ => {
                let bounds = ScheduleBounds::at(&policy.schedule, now);
                self.schedule = Some((now.unix_minute(), bounds));
                bounds
            }
        };
        Bounds::new(policy, &Overrides::default(), schedule)
            .clamp(need)
            .0
    }
}

fn to_index(row: u64) -> usize {
    usize::try_from(row).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_the_peak_within_the_horizon() {
        let policy = Policy {
            min: 0,
            max: 100,
            ..Policy::default()
        };
        // Rows of 10 s; capacity 10 rps; horizon 30 s.
        let demand = [10.0, 10.0, 10.0, 95.0, 10.0, 10.0, 10.0, 10.0];
        let mut oracle = Oracle::new(&demand, 10.0, 10_000, 30_000);
        let now = Timestamp::from_unix_secs(0);
        let got: Vec<u32> = (0..8)
            .map(|r| oracle.desired(&policy, r * 10_000, now))
            .collect();
        assert_eq!(got, [1, 10, 10, 10, 1, 1, 1, 1]);
    }
}
