//! What the decision function remembers between ticks, and the operator's overrides.
//!
//! [`crate::decide`] reads a [`ScalerState`] and returns a [`crate::Decision`] that
//! carries the state's next values; [`ScalerState::apply`] commits them. Keeping the
//! two apart is what makes the decision a pure function of its inputs.

use serde::{Deserialize, Serialize};

use crate::decision::Decision;
use crate::error::ScalerError;
use crate::policy::Policy;
use crate::schedule::ScheduleBounds;
use crate::time::{duration_millis, Timestamp};
use crate::window::MaxWindow;

/// Operator overrides of one pool (the admin API's `PUT /pools/{pool}/scaler`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// Hold the desired count where it is.
    #[serde(default)]
    pub paused: bool,
    /// Replaces the policy's `min`.
    #[serde(default)]
    pub min: Option<u32>,
    /// Replaces the policy's `max`.
    #[serde(default)]
    pub max: Option<u32>,
    /// Run exactly this many instances (within the bounds), ignoring recommendations.
    #[serde(default)]
    pub desired: Option<u32>,
}

impl Overrides {
    /// Checks the overrides against the policy they modify.
    pub fn validate(&self, policy: &Policy) -> Result<(), ScalerError> {
        let min = self.min.unwrap_or(policy.min);
        let max = self.max.unwrap_or(policy.max);
        if min > max {
            return Err(ScalerError::invalid(
                "min",
                min,
                format!("must be <= max ({max}); lower min or raise max"),
            ));
        }
        if let Some(cap) = policy.budget_cap() {
            if min > cap {
                return Err(ScalerError::invalid(
                    "min",
                    min,
                    format!("the budget pays for {cap} instances; lower min or raise cost.budget_per_hour"),
                ));
            }
        }
        if let Some(desired) = self.desired {
            if desired < min || desired > max {
                return Err(ScalerError::invalid(
                    "desired",
                    desired,
                    format!("must be within [min, max] = [{min}, {max}]"),
                ));
            }
        }
        Ok(())
    }
}

/// The decision function's memory: last desired count, panic mode, stabilization window.
#[derive(Clone, Debug)]
pub struct ScalerState {
    desired: u32,
    overrides: Overrides,
    /// Last tick the panic window crossed the threshold (Knative's `panicTime`).
    panic_last_over: Option<Timestamp>,
    /// Combined recommendations keyed by unix milliseconds.
    stabilization: MaxWindow,
    /// Schedule bounds of the last minute seen; cron is evaluated once a minute.
    schedule: Option<(u64, ScheduleBounds)>,
}

impl ScalerState {
    /// A state that starts from `desired` instances, not panicking, with no history.
    pub fn new(desired: u32) -> Self {
        Self {
            desired,
            overrides: Overrides::default(),
            panic_last_over: None,
            stabilization: MaxWindow::default(),
            schedule: None,
        }
    }

    /// The desired instance count last decided.
    pub fn desired(&self) -> u32 {
        self.desired
    }

    /// Resets the desired count, e.g. to the instances a driver already runs at start-up.
    pub fn set_desired(&mut self, desired: u32) {
        self.desired = desired;
    }

    /// Whether the pool is in panic mode.
    pub fn panicking(&self) -> bool {
        self.panic_last_over.is_some()
    }

    /// The operator's overrides in force.
    pub fn overrides(&self) -> Overrides {
        self.overrides
    }

    /// Replaces the overrides; validate them first with [`Overrides::validate`].
    pub fn set_overrides(&mut self, overrides: Overrides) {
        self.overrides = overrides;
    }

    /// Commits the state changes `decision` carries, decided at `now`.
    pub fn apply(&mut self, policy: &Policy, decision: &Decision, now: Timestamp) {
        let update = &decision.update;
        self.desired = decision.to;
        self.panic_last_over = update.panic_last_over;
        self.schedule = Some((now.unix_minute(), update.schedule));
        let now_ms = now.unix_millis();
        self.stabilization.push(now_ms, update.combined);
        self.stabilization.evict_before(stabilization_start(
            now_ms,
            duration_millis(policy.scale_down_delay),
        ));
    }

    pub(crate) fn panic_last_over(&self) -> Option<Timestamp> {
        self.panic_last_over
    }

    /// The highest combined recommendation within `delay_ms` before `now`.
    pub(crate) fn stabilized_max(&self, now: Timestamp, delay_ms: u64) -> Option<u32> {
        self.stabilization
            .max_from(stabilization_start(now.unix_millis(), delay_ms))
    }

    /// The cached schedule bounds, when `now` is in the minute they were computed for.
    pub(crate) fn cached_schedule(&self, now: Timestamp) -> Option<ScheduleBounds> {
        match self.schedule {
            Some((minute, bounds)) if minute == now.unix_minute() => Some(bounds),
            _ => None,
        }
    }
}

/// The first key inside a window of `delay_ms` ending at `now_ms` (entries strictly newer
/// than `now - delay`); a zero delay covers nothing.
fn stabilization_start(now_ms: u64, delay_ms: u64) -> u64 {
    now_ms.saturating_add(1).saturating_sub(delay_ms)
}
