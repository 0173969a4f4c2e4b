//! A pool's scaling policy: the validated runtime form of `[pool.NAME.scaler]`.
//!
//! The proxy parses TOML into its own serde types and maps them into a [`Policy`];
//! [`Policy::validate`] is the last gate before the control loop uses it, so every
//! invariant the decision function relies on (positive windows and targets, min <= max,
//! a budget that pays for `min`) is checked here once.

use std::time::Duration;

use crate::error::ScalerError;
use crate::schedule::ScheduleRule;

/// What one instance costs and how much the pool may spend.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CostModel {
    /// Price of one instance for one hour.
    pub per_instance_hour: f64,
    /// Most the pool may cost per hour; caps the instance count. `None`: no cap.
    pub budget_per_hour: Option<f64>,
}

impl CostModel {
    /// The most instances the budget pays for, if there is a budget.
    pub fn instance_cap(&self) -> Option<u32> {
        let budget = self.budget_per_hour?;
        // The epsilon keeps e.g. 5.0 / 0.10 = 49.999... from losing an instance.
        let cap = (budget / self.per_instance_hour + 1e-9).floor();
        Some(if cap >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            cap.max(0.0) as u32
        })
    }

    /// The hourly cost of `instances` instances.
    pub fn per_hour(&self, instances: u32) -> f64 {
        f64::from(instances) * self.per_instance_hour
    }
}

/// How one pool scales (see DESIGN.md, "Autoscaler").
#[derive(Clone, Debug)]
pub struct Policy {
    /// Fewest instances, always kept.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// In-flight requests per ready instance the pool aims for.
    pub target_in_flight: f64,
    /// Window the reactive recommendation averages in-flight over.
    pub stable_window: Duration,
    /// Short window that detects bursts.
    pub panic_window: Duration,
    /// Panic when the panic window asks for this many times the ready instances.
    pub panic_threshold: f64,
    /// Scale down only to the highest recommendation over this window.
    pub scale_down_delay: Duration,
    /// Per tick, desired may grow to at most ceil(max(ready, 1) x this rate).
    pub max_scale_up_rate: f64,
    /// Launch-to-ready time of a new instance.
    pub lead_time: Duration,
    /// Control loop period.
    pub tick: Duration,
    /// Price and budget; `None` when the pool has no cost model.
    pub cost: Option<CostModel>,
    /// Scheduled min/max overrides.
    pub schedule: Vec<ScheduleRule>,
}

impl Default for Policy {
    /// Knative KPA's windows and threshold, HPA's 5-minute scale-down delay.
    fn default() -> Self {
        Self {
            min: 1,
            max: 20,
            target_in_flight: 8.0,
            stable_window: Duration::from_secs(60),
            panic_window: Duration::from_secs(6),
            panic_threshold: 2.0,
            scale_down_delay: Duration::from_secs(300),
            max_scale_up_rate: 10.0,
            lead_time: Duration::from_secs(30),
            tick: Duration::from_secs(1),
            cost: None,
            schedule: Vec::new(),
        }
    }
}

impl Policy {
    /// Checks every invariant the control loop relies on.
    pub fn validate(&self) -> Result<(), ScalerError> {
        if self.min > self.max {
            return Err(ScalerError::invalid(
                "min",
                self.min,
                format!("must be <= max ({}); lower min or raise max", self.max),
            ));
        }
        positive("target_in_flight", self.target_in_flight)?;
        at_least_one("panic_threshold", self.panic_threshold)?;
        at_least_one("max_scale_up_rate", self.max_scale_up_rate)?;
        nonzero("tick", self.tick)?;
        nonzero("stable_window", self.stable_window)?;
        nonzero("panic_window", self.panic_window)?;
        if self.panic_window > self.stable_window {
            return Err(ScalerError::invalid(
                "panic_window",
                humantime::format_duration(self.panic_window),
                format!(
                    "must be <= stable_window ({}); Knative uses a tenth of it",
                    humantime::format_duration(self.stable_window)
                ),
            ));
        }
        if let Some(cost) = &self.cost {
            positive("cost.per_instance_hour", cost.per_instance_hour)?;
            if let Some(budget) = cost.budget_per_hour {
                if !(budget.is_finite() && budget >= 0.0) {
                    return Err(ScalerError::invalid(
                        "cost.budget_per_hour",
                        budget,
                        "must be a number >= 0",
                    ));
                }
            }
            if let Some(cap) = cost.instance_cap() {
                if cap < self.min {
                    let needed = cost.per_hour(self.min);
                    return Err(ScalerError::invalid(
                        "cost.budget_per_hour",
                        cost.budget_per_hour.unwrap_or_default(),
                        format!(
                            "pays for {cap} instances but min is {}; raise it to >= {needed}",
                            self.min
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The most instances the budget pays for, if the pool has a budget.
    pub fn budget_cap(&self) -> Option<u32> {
        self.cost.as_ref().and_then(CostModel::instance_cap)
    }
}

fn positive(field: &'static str, value: f64) -> Result<(), ScalerError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(ScalerError::invalid(field, value, "must be a number > 0"))
    }
}

fn at_least_one(field: &'static str, value: f64) -> Result<(), ScalerError> {
    if value.is_finite() && value >= 1.0 {
        Ok(())
    } else {
        Err(ScalerError::invalid(
            field,
            value,
            "must be a number >= 1.0",
        ))
    }
}

fn nonzero(field: &'static str, value: Duration) -> Result<(), ScalerError> {
    if value.is_zero() {
        Err(ScalerError::invalid(
            field,
            "0s",
            "must be a positive duration, e.g. \"1s\"",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid() {
        Policy::default().validate().unwrap();
    }

    #[test]
    fn budget_cap_is_what_the_budget_pays_for() {
        let cost = CostModel {
            per_instance_hour: 0.10,
            budget_per_hour: Some(5.0),
        };
        assert_eq!(cost.instance_cap(), Some(50));
        let unbounded = CostModel {
            per_instance_hour: 0.10,
            budget_per_hour: None,
        };
        assert_eq!(unbounded.instance_cap(), None);
    }

    #[test]
    fn invalid_settings_name_the_field_and_the_fix() {
        let policy = Policy {
            min: 5,
            max: 2,
            ..Policy::default()
        };
        let err = policy.validate().unwrap_err().to_string();
        assert!(err.contains("scaler.min = 5"), "{err}");

        let policy = Policy {
            min: 10,
            cost: Some(CostModel {
                per_instance_hour: 1.0,
                budget_per_hour: Some(4.0),
            }),
            ..Policy::default()
        };
        let err = policy.validate().unwrap_err().to_string();
        assert!(err.contains("raise it to >= 10"), "{err}");

        let policy = Policy {
            target_in_flight: 0.0,
            ..Policy::default()
        };
        assert!(policy.validate().is_err());
    }
}
