//! The pure decision function: signals and state in, a desired instance count out.
//!
//! Order of the rules, each of which may change the value and so the [`Reason`]:
//! 1. recommendations (reactive `ceil(stable / target)`, panic `ceil(panic / target)`
//!    while panicking, each extra [`crate::Recommender`], the schedules' `min`), max();
//! 2. scale-down stabilization: no lower than the highest recommendation over
//!    `scale_down_delay` (HPA);
//! 3. no scale-down while panicking (Knative KPA);
//! 4. scale-up rate: growth only up to `ceil(max(ready, 1) x max_scale_up_rate)` per tick
//!    (never a cut below the previous desired count, so pending launches survive);
//! 5. bounds: `[min, max]`, overrides, schedules, and the budget cap (ceiling wins).
//!
//! Overrides bypass 1-4: `paused` holds the count, a manual `desired` is only clamped.

mod bounds;
mod panic;
mod state;

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use crate::policy::Policy;
use crate::recommend::Recommendation;
use crate::schedule::ScheduleBounds;
use crate::signals::Signals;
use crate::time::{duration_millis, Timestamp};

pub(crate) use bounds::Bounds;
pub use state::{Overrides, ScalerState};

/// Which way a decision moves the desired count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// More instances.
    Up,
    /// Fewer instances.
    Down,
    /// Unchanged.
    None,
}

impl Direction {
    /// The direction from `from` to `to`.
    pub fn between(from: u32, to: u32) -> Self {
        match to.cmp(&from) {
            std::cmp::Ordering::Greater => Self::Up,
            std::cmp::Ordering::Less => Self::Down,
            std::cmp::Ordering::Equal => Self::None,
        }
    }

    /// The metrics label: `up`, `down` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::None => "none",
        }
    }
}

/// Why the desired count is what it is: the last rule that set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The highest recommendation, from `source`, stood.
    Recommended {
        /// The winning recommendation's source.
        source: Cow<'static, str>,
    },
    /// A scale-down was held at the highest recommendation of the stabilization window.
    HeldForStabilization {
        /// That highest recommendation.
        highest: u32,
    },
    /// A scale-down was refused because the pool is panicking.
    HeldWhilePanicking,
    /// Growth was cut to the maximum scale-up rate.
    ScaleUpRateLimited {
        /// ceil(max(ready, 1) x max_scale_up_rate).
        limit: u32,
    },
    /// Raised to the floor (min, its override, or a schedule's min).
    RaisedToMin {
        /// The floor.
        min: u32,
    },
    /// Cut to the ceiling (max, its override, or a schedule's max).
    CappedAtMax {
        /// The ceiling.
        max: u32,
    },
    /// Cut to what the budget pays for.
    CappedByBudget {
        /// Instances the budget pays for.
        cap: u32,
    },
    /// The operator paused the scaler.
    Paused,
    /// The operator set the desired count.
    Manual {
        /// The count asked for.
        desired: u32,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Recommended { source } => write!(f, "{source} recommendation"),
            Self::HeldForStabilization { highest } => {
                write!(f, "scale-down held at {highest}, the highest recommendation within scale_down_delay")
            }
            Self::HeldWhilePanicking => f.write_str("no scale-down while panicking"),
            Self::ScaleUpRateLimited { limit } => {
                write!(f, "scale-up limited to {limit} by max_scale_up_rate")
            }
            Self::RaisedToMin { min } => write!(f, "raised to min {min}"),
            Self::CappedAtMax { max } => write!(f, "capped at max {max}"),
            Self::CappedByBudget { cap } => write!(f, "capped at {cap}, what the budget pays for"),
            Self::Paused => f.write_str("paused by the operator"),
            Self::Manual { desired } => write!(f, "set to {desired} by the operator"),
        }
    }
}

/// The outcome of one tick's decision, with everything the audit log needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// Desired count before this tick.
    pub from: u32,
    /// Desired count after this tick.
    pub to: u32,
    /// Which way it moved.
    pub direction: Direction,
    /// Why `to` is what it is.
    pub reason: Reason,
    /// Every recommendation considered, in order: reactive, panic, extra, schedule.
    pub recommendations: Vec<Recommendation>,
    /// Whether the pool is panicking after this tick.
    pub panicking: bool,
    /// The inputs.
    pub signals: Signals,
    pub(crate) update: StateUpdate,
}

/// The state changes a decision carries, committed by [`ScalerState::apply`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct StateUpdate {
    pub(crate) combined: u32,
    pub(crate) panic_last_over: Option<Timestamp>,
    pub(crate) schedule: ScheduleBounds,
}

/// Instances needed to hold `in_flight` at `target` each.
pub(crate) fn instances_for(in_flight: f64, target: f64) -> u32 {
    let n = (in_flight / target).ceil();
    if !n.is_finite() || n <= 0.0 {
        0
    } else if n >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        n as u32
    }
}

/// Decides the desired instance count at `now`; pure: no I/O, no clock, no mutation.
pub fn decide(
    policy: &Policy,
    state: &ScalerState,
    signals: &Signals,
    extra: &[Recommendation],
    now: Timestamp,
) -> Decision {
    let from = state.desired();
    let overrides = state.overrides();
    let schedule = state
        .cached_schedule(now)
        .unwrap_or_else(|| ScheduleBounds::at(&policy.schedule, now));
    let bounds = Bounds::new(policy, &overrides, schedule);

    let stable = instances_for(signals.stable_in_flight, policy.target_in_flight);
    let burst = instances_for(signals.panic_in_flight, policy.target_in_flight);
    let panic = panic::next(policy, state.panic_last_over(), signals, burst, now);

    let mut recommendations = Vec::with_capacity(4 + extra.len());
    recommendations.push(Recommendation::new("reactive", stable));
    if signals.ready == 0 && signals.request_rate > 0.0 {
        // A pool scaled to zero sees requests but can hold none in flight:
        // they find no backend. One instance wakes it (Knative's activator),
        // and the in-flight signal takes over once it is ready.
        recommendations.push(Recommendation::new("wake", 1));
    }
    if panic.active() {
        recommendations.push(Recommendation::new("panic", burst));
    }
    recommendations.extend(extra.iter().cloned());
    if let Some(min) = schedule.min {
        recommendations.push(Recommendation::new("schedule", min));
    }
    let winner = recommendations
        .iter()
        .fold(None::<&Recommendation>, |best, r| match best {
            Some(b) if b.instances >= r.instances => Some(b),
            _ => Some(r),
        });
    let combined = winner.map_or(0, |r| r.instances);

    let (to, reason) = if overrides.paused {
        (from, Reason::Paused)
    } else if let Some(desired) = overrides.desired {
        let (to, clamped) = bounds.clamp(desired);
        (to, clamped.unwrap_or(Reason::Manual { desired }))
    } else {
        let source = winner.map_or(Cow::Borrowed("reactive"), |r| r.source.clone());
        let mut value = combined;
        let mut reason = Reason::Recommended { source };
        let delay_ms = duration_millis(policy.scale_down_delay);
        if let Some(highest) = state.stabilized_max(now, delay_ms) {
            if highest > value {
                value = highest;
                reason = Reason::HeldForStabilization { highest };
            }
        }
        if panic.active() && value < from {
            value = from;
            reason = Reason::HeldWhilePanicking;
        }
        if value > from {
            let limit = instances_for(
                f64::from(signals.ready.max(1)) * policy.max_scale_up_rate,
                1.0,
            );
            let ceiling = limit.max(from);
            if value > ceiling {
                value = ceiling;
                reason = Reason::ScaleUpRateLimited { limit };
            }
        }
        let (value, clamped) = bounds.clamp(value);
        (value, clamped.unwrap_or(reason))
    };

    Decision {
        from,
        to,
        direction: Direction::between(from, to),
        reason,
        recommendations,
        panicking: panic.active(),
        signals: *signals,
        update: StateUpdate {
            combined,
            panic_last_over: panic.last_over,
            schedule,
        },
    }
}

#[cfg(test)]
mod tests;
