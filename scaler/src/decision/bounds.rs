//! The floor and ceiling in force at one tick: policy, overrides, schedules and budget.
//!
//! The ceiling (max, a schedule's max, the budget cap) wins over the floor (min, a
//! schedule's min): a budget is a promise about money, a floor only about readiness.

use crate::decision::{Overrides, Reason};
use crate::policy::Policy;
use crate::schedule::ScheduleBounds;

/// The range the desired count is clamped to, and why the ceiling is where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub(crate) lo: u32,
    pub(crate) hi: u32,
    hi_is_budget: bool,
}

impl Bounds {
    /// Combines the policy, the overrides and the schedules' bounds.
    pub(crate) fn new(policy: &Policy, overrides: &Overrides, schedule: ScheduleBounds) -> Self {
        let max = overrides.max.unwrap_or(policy.max);
        let max = schedule.max.map_or(max, |m| m.min(max));
        let (hi, hi_is_budget) = match policy.budget_cap() {
            Some(cap) if cap < max => (cap, true),
            _ => (max, false),
        };
        let min = overrides.min.unwrap_or(policy.min);
        let lo = schedule.min.map_or(min, |m| m.max(min)).min(hi);
        Self {
            lo,
            hi,
            hi_is_budget,
        }
    }

    /// Clamps `value` into the range; returns the reason when it had to move.
    pub(crate) fn clamp(&self, value: u32) -> (u32, Option<Reason>) {
        if value > self.hi {
            let reason = if self.hi_is_budget {
                Reason::CappedByBudget { cap: self.hi }
            } else {
                Reason::CappedAtMax { max: self.hi }
            };
            (self.hi, Some(reason))
        } else if value < self.lo {
            (self.lo, Some(Reason::RaisedToMin { min: self.lo }))
        } else {
            (value, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::CostModel;

    #[test]
    fn ceiling_wins_over_floor_and_budget_names_itself() {
        let policy = Policy {
            min: 2,
            max: 20,
            cost: Some(CostModel {
                per_instance_hour: 1.0,
                budget_per_hour: Some(6.0),
            }),
            ..Policy::default()
        };
        let schedule = ScheduleBounds {
            min: Some(10),
            max: None,
        };
        let bounds = Bounds::new(&policy, &Overrides::default(), schedule);
        assert_eq!((bounds.lo, bounds.hi), (6, 6));
        assert_eq!(
            bounds.clamp(30),
            (6, Some(Reason::CappedByBudget { cap: 6 }))
        );

        let overrides = Overrides {
            max: Some(4),
            ..Overrides::default()
        };
        let bounds = Bounds::new(&policy, &overrides, ScheduleBounds::default());
        assert_eq!(bounds.clamp(5), (4, Some(Reason::CappedAtMax { max: 4 })));
        assert_eq!(bounds.clamp(1), (2, Some(Reason::RaisedToMin { min: 2 })));
    }
}
