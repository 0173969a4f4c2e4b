//! The simulator: replays a demand trace through the real decision code in virtual time.
//!
//! Each tick: instances whose lead time passed become ready (module `fleet`); the ready ones
//! serve up to `instance_capacity_rps` each and the rest of the demand is unserved;
//! in-flight = served rate x `service_time`. The policy then decides: `reactive` is the
//! real [`Controller`] (windows, panic mode, stabilization, rate limit, bounds, budget),
//! `predictive` is the same controller with the real [`PredictiveRecommender`] added
//! (fitting synchronously at each refit point, so runs are deterministic), and `oracle`
//! provisions from the true future demand (module `oracle`) to bound what any policy
//! could do. All start from a warm pool sized for the first rows.
//!
//! Use: [`read_trace`] -> [`SimulationInput`] -> [`simulate`] per [`SimPolicy`] ->
//! [`write_outputs`] (`timeline.csv`, `summary.json`, `timeline.svg`).

mod fleet;
mod oracle;
mod output;
mod plot;
mod timeline;
mod trace;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tidegate_gpu::{Device, Forecaster};

use crate::controller::Controller;
use crate::error::ScalerError;
use crate::policy::Policy;
use crate::predict::{PredictiveConfig, PredictiveRecommender};
use crate::recommend::Recommender;
use crate::signals::Observation;
use crate::time::{duration_millis, Timestamp};

use fleet::Fleet;
use oracle::Oracle;
use timeline::TimelineBuilder;

pub use output::{write_outputs, OutputFiles};
pub use timeline::TimelinePoint;
pub use trace::{read_trace, Trace};

/// Everything a simulation run needs (`[simulate]` plus a pool's scaler policy).
#[derive(Clone, Debug)]
pub struct SimulationInput {
    /// The pool's scaling policy (its `tick` is replaced by [`SimulationInput::tick`]).
    pub policy: Policy,
    /// Requests per second one ready instance serves.
    pub instance_capacity_rps: f64,
    /// In-flight = served rate x this.
    pub service_time: Duration,
    /// Virtual time per control-loop tick.
    pub tick: Duration,
    /// Virtual time per trace row.
    pub step: Duration,
    /// Wall-clock time of the first row (schedules are evaluated against it).
    pub start: Timestamp,
    /// Request rate per row, already scaled.
    pub demand: Vec<f64>,
    /// The predictive policy's forecasting settings. Its lead time and target are the
    /// policy's, its service time is [`SimulationInput::service_time`], and its step
    /// defaults to one row; give seasons in rows with [`SimulationInput::rows`].
    pub predictive: PredictiveConfig,
    /// Where the predictive policy's fits run.
    pub forecast_device: Device,
}

impl SimulationInput {
    /// The virtual time `rows` trace rows span, e.g. `input.rows(24)` for a daily season
    /// of an hourly trace.
    pub fn rows(&self, rows: u32) -> Duration {
        self.step.saturating_mul(rows)
    }

    /// The predictive settings the simulator runs: the policy's lead time and target, the
    /// simulated service time, and one row per step unless a step is given.
    pub fn predictive_config(&self) -> PredictiveConfig {
        PredictiveConfig {
            enabled: true,
            lead_time: self.policy.lead_time,
            target_in_flight: self.policy.target_in_flight,
            service_time: Some(self.service_time),
            step: self.predictive.step.or(Some(self.step)),
            ..self.predictive.clone()
        }
    }

    /// Checks the input before a run.
    pub fn validate(&self) -> Result<(), ScalerError> {
        self.policy.validate()?;
        if !(self.instance_capacity_rps.is_finite() && self.instance_capacity_rps > 0.0) {
            return Err(ScalerError::invalid(
                "instance_capacity_rps",
                self.instance_capacity_rps,
                "must be a number > 0",
            ));
        }
        for (field, value) in [("tick", self.tick), ("step", self.step)] {
            if duration_millis(value) == 0 {
                return Err(ScalerError::invalid(
                    field,
                    format!("{value:?}"),
                    "must be at least 1ms",
                ));
            }
        }
        if self.demand.is_empty() {
            return Err(ScalerError::invalid(
                "demand",
                "[]",
                "the trace has no rows",
            ));
        }
        if let Some(bad) = self.demand.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
            return Err(ScalerError::invalid(
                "demand",
                bad,
                "every request rate must be a number >= 0",
            ));
        }
        Ok(())
    }
}

/// Which policy provisions the simulated pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SimPolicy {
    /// The real control loop's decision code.
    Reactive,
    /// The control loop with the predictive recommender: max(reactive, forecast).
    Predictive,
    /// Perfect knowledge of demand `lead_time` ahead.
    Oracle,
}

impl SimPolicy {
    /// Every policy, in report order.
    pub const ALL: [SimPolicy; 3] = [
        SimPolicy::Reactive,
        SimPolicy::Predictive,
        SimPolicy::Oracle,
    ];

    /// The policy's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reactive => "reactive",
            Self::Predictive => "predictive",
            Self::Oracle => "oracle",
        }
    }

    /// Parses `--policy`: `reactive`, `predictive`, `oracle` or `all`.
    pub fn parse_choice(text: &str) -> Result<Vec<SimPolicy>, ScalerError> {
        if text == "all" {
            Ok(Self::ALL.to_vec())
        } else {
            text.parse().map(|p| vec![p])
        }
    }
}

impl FromStr for SimPolicy {
    type Err = ScalerError;

    fn from_str(text: &str) -> Result<Self, ScalerError> {
        match text {
            "reactive" => Ok(Self::Reactive),
            "predictive" => Ok(Self::Predictive),
            "oracle" => Ok(Self::Oracle),
            other => Err(ScalerError::invalid(
                "policy",
                other,
                "use reactive, predictive, oracle or all",
            )),
        }
    }
}

impl fmt::Display for SimPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether to show a progress bar on stderr (it stays hidden when stderr is no terminal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Never.
    Hidden,
    /// On long runs, when stderr is a terminal.
    Stderr,
}

/// What one policy achieved over the trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimSummary {
    /// The policy.
    pub policy: SimPolicy,
    /// Unserved requests / all requests.
    pub unserved_request_fraction: f64,
    /// Seconds during which some requests went unserved.
    pub slo_violation_seconds: f64,
    /// Instance-hours paid for (pending instances included).
    pub instance_hours: f64,
    /// instance_hours x per_instance_hour (0 without a cost model).
    pub cost: f64,
    /// Decisions that raised the instance count.
    pub scale_ups: u64,
    /// Decisions that lowered it.
    pub scale_downs: u64,
    /// The most instances at once.
    pub max_instances: u32,
    /// Requests that arrived.
    pub total_requests: f64,
    /// Requests not served.
    pub unserved_requests: f64,
    /// Control-loop ticks simulated.
    pub ticks: u64,
    /// Virtual time simulated, in hours.
    pub simulated_hours: f64,
    /// Forecast fits run (predictive only).
    pub forecast_fits: u64,
}

/// One policy's run: the summary and the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulationReport {
    /// The summary numbers.
    pub summary: SimSummary,
    /// One point per trace row (or per tick when ticks are longer).
    pub timeline: Vec<TimelinePoint>,
}

/// Runs each of `policies` over the input.
pub fn simulate_all(
    input: &SimulationInput,
    policies: &[SimPolicy],
    progress: Progress,
) -> Result<Vec<SimulationReport>, ScalerError> {
    policies
        .iter()
        .map(|&p| simulate(input, p, progress))
        .collect()
}

/// Runs one policy over the input.
pub fn simulate(
    input: &SimulationInput,
    policy: SimPolicy,
    progress: Progress,
) -> Result<SimulationReport, ScalerError> {
    input.validate()?;
    let scaler_policy = Policy {
        tick: input.tick,
        ..input.policy.clone()
    };
    let tick_ms = duration_millis(input.tick);
    let step_ms = duration_millis(input.step);
    let lead_ms = duration_millis(scaler_policy.lead_time);
    let rows = input.demand.len();
    let total_ms = step_ms.saturating_mul(rows as u64);
    let ticks = total_ms.div_ceil(tick_ms);
    let capacity = input.instance_capacity_rps;
    let service_s = input.service_time.as_secs_f64();

    let mut oracle = Oracle::new(
        &input.demand,
        capacity,
        step_ms,
        lead_ms.saturating_add(tick_ms),
    );
    let initial = oracle.desired(&scaler_policy, 0, input.start);
    let predictive = match policy {
        SimPolicy::Predictive => Some(Arc::new(PredictiveRecommender::synchronous(
            "simulated",
            &input.predictive_config(),
            Arc::new(Forecaster::new(input.forecast_device)),
        )?)),
        SimPolicy::Reactive | SimPolicy::Oracle => None,
    };
    let mut controller = match policy {
        SimPolicy::Reactive | SimPolicy::Predictive => Some(
            Controller::new("simulated", scaler_policy.clone(), initial)?.with_recommenders(
                predictive
                    .iter()
                    .map(|p| Arc::clone(p) as Arc<dyn Recommender>)
                    .collect(),
            ),
        ),
        SimPolicy::Oracle => None,
    };
    let mut fleet = Fleet::new(initial);
    let bucket_ms = step_ms.max(tick_ms);
    let mut timeline = TimelineBuilder::new(
        bucket_ms,
        usize::try_from(total_ms.div_ceil(bucket_ms)).unwrap_or(0),
    );
    let bar = progress_bar(progress, ticks, policy);

    let mut summary = SimSummary {
        policy,
        unserved_request_fraction: 0.0,
        slo_violation_seconds: 0.0,
        instance_hours: 0.0,
        cost: 0.0,
        scale_ups: 0,
        scale_downs: 0,
        max_instances: fleet.len(),
        total_requests: 0.0,
        unserved_requests: 0.0,
        ticks,
        simulated_hours: total_ms as f64 / 3_600_000.0,
        forecast_fits: 0,
    };
    let mut instance_seconds = 0.0;
    let mut desired = initial;
    for k in 0..ticks {
        let t_ms = k * tick_ms;
        let now = input.start + Duration::from_millis(t_ms);
        let dt_s = tick_ms.min(total_ms - t_ms) as f64 / 1000.0;
        let row = usize::try_from(t_ms / step_ms)
            .unwrap_or(usize::MAX)
            .min(rows - 1);
        let demand = input.demand.get(row).copied().unwrap_or(0.0);

        fleet.advance(t_ms);
        let ready = fleet.ready();
        let ready_capacity = f64::from(ready) * capacity;
        let served = demand.min(ready_capacity);
        let unserved = if demand - served > 1e-9 * demand.max(1.0) {
            demand - served
        } else {
            0.0
        };

        let to = match controller.as_mut() {
            Some(controller) => {
                let observation = Observation {
                    in_flight: served * service_s,
                    request_rate: demand,
                    p95_latency: None,
                    ready,
                    pending: fleet.len() - ready,
                    draining: 0,
                };
                controller.step(&observation, now).to
            }
            None => oracle.desired(&scaler_policy, t_ms, now),
        };
        if to > desired {
            summary.scale_ups += 1;
        } else if to < desired {
            summary.scale_downs += 1;
        }
        desired = to;
        fleet.scale_to(to, t_ms.saturating_add(lead_ms));

        let instances = fleet.len();
        summary.max_instances = summary.max_instances.max(instances);
        instance_seconds += f64::from(instances) * dt_s;
        summary.total_requests += demand * dt_s;
        summary.unserved_requests += unserved * dt_s;
        if unserved > 0.0 {
            summary.slo_violation_seconds += dt_s;
        }
        timeline.add(
            t_ms,
            dt_s,
            TimelinePoint {
                time_s: 0.0,
                demand_rps: demand,
                ready_capacity_rps: ready_capacity,
                instances: f64::from(instances),
                unserved_rps: unserved,
            },
        );
        if k % 16_384 == 0 {
            bar.set_position(k);
        }
    }
    bar.finish_and_clear();

    summary.instance_hours = instance_seconds / 3600.0;
    summary.forecast_fits = predictive.map_or(0, |p| p.report().fits);
    summary.cost = scaler_policy
        .cost
        .map_or(0.0, |c| summary.instance_hours * c.per_instance_hour);
    summary.unserved_request_fraction = if summary.total_requests > 0.0 {
        summary.unserved_requests / summary.total_requests
    } else {
        0.0
    };
    Ok(SimulationReport {
        summary,
        timeline: timeline.finish(),
    })
}

/// A progress bar for runs long enough to need one; hidden otherwise.
fn progress_bar(progress: Progress, ticks: u64, policy: SimPolicy) -> ProgressBar {
    const LONG_RUN_TICKS: u64 = 200_000;
    if progress == Progress::Hidden || ticks < LONG_RUN_TICKS {
        return ProgressBar::hidden();
    }
    // A stderr target hides itself when stderr is not a terminal.
    let bar = ProgressBar::with_draw_target(Some(ticks), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix:>9} [{bar:40}] {percent:>3}% {pos}/{len} ticks, eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_prefix(policy.as_str());
    bar
}
