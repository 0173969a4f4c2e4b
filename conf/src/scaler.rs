//! A pool's autoscaler settings: the bounds and targets of the reactive policy, the
//! predictive policy, the cost model and scheduled overrides of the bounds. The
//! instances themselves come from the [`crate::DriverSpec`] the scaler names.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// `[pool.NAME.scaler]`: how the pool grows and shrinks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScalerSpec {
    /// The NAME of the `[driver.NAME]` that launches and removes instances.
    pub driver: String,
    /// Fewest instances; default 1.
    pub min: u32,
    /// Most instances; at least 1 and at least `min`.
    pub max: u32,
    /// In-flight requests per ready instance the reactive policy aims for; default 8.
    pub target_in_flight: f64,
    /// Time between control-loop ticks; default 1 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub tick: Duration,
    /// The window in-flight is averaged over for normal decisions; default 60 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub stable_window: Duration,
    /// The short window that can trigger panic mode; default 6 s, at most `stable_window`.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub panic_window: Duration,
    /// Panic when the panic window asks for this many times the ready instances; default 2, above 1.
    pub panic_threshold: f64,
    /// Scale down only to the highest recommendation over this window; default 5 min.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub scale_down_delay: Duration,
    /// Launch-to-ready time the predictive policy looks ahead by; default 30 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub lead_time: Duration,
    /// Desired never exceeds ceil(ready x this) in one tick; default 2, at least 1.
    pub max_scale_up_rate: f64,
    /// The forecast-driven policy, when configured.
    pub predictive: Option<Predictive>,
    /// What instances cost and the budget they must fit, when configured.
    pub cost: Option<Cost>,
    /// Overrides of `min`/`max` in force while their cron expression matches, in file order.
    pub schedule: Vec<ScheduleEntry>,
    /// Where scaling decisions are appended, resolved against the configuration file's directory.
    pub audit_log: Option<PathBuf>,
}

impl ScalerSpec {
    /// Default `min`.
    pub const DEFAULT_MIN: u32 = 1;
    /// Default `target_in_flight`.
    pub const DEFAULT_TARGET_IN_FLIGHT: f64 = 8.0;
    /// Default `tick`.
    pub const DEFAULT_TICK: Duration = Duration::from_secs(1);
    /// Default `stable_window`.
    pub const DEFAULT_STABLE_WINDOW: Duration = Duration::from_secs(60);
    /// Default `panic_window`.
    pub const DEFAULT_PANIC_WINDOW: Duration = Duration::from_secs(6);
    /// Default `panic_threshold`.
    pub const DEFAULT_PANIC_THRESHOLD: f64 = 2.0;
    /// Default `scale_down_delay`.
    pub const DEFAULT_SCALE_DOWN_DELAY: Duration = Duration::from_secs(300);
    /// Default `lead_time`.
    pub const DEFAULT_LEAD_TIME: Duration = Duration::from_secs(30);
    /// Default `max_scale_up_rate`.
    pub const DEFAULT_MAX_SCALE_UP_RATE: f64 = 2.0;
}

/// `predictive`: forecast demand with Holt-Winters and provision ahead of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Predictive {
    /// Whether the predictive recommendation is used; default true.
    pub enabled: bool,
    /// Seasonal periods: one, or two with the second a multiple of the first; default 1 d and 7 d.
    #[serde(serialize_with = "crate::serialize::durations")]
    pub seasons: Vec<Duration>,
    /// How much history the model is fitted on; at least twice the longest season, default 14 d.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub history: Duration,
    /// The forecast quantile provisioned for, in [0.5, 1); default 0.9.
    pub quantile: f64,
    /// Time between refits of the model's parameters; default 10 min.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub refit_every: Duration,
    /// Whether the trend is damped; default false.
    pub damped: bool,
    /// What the fit minimizes over the history; default `absolute`.
    pub loss: FitLoss,
    /// Half-lives of the fits whose forecasts are averaged, each weighing recent rows
    /// more; empty: one fit, every row alike. Default (`None`): 0.5, 1, 2, 4, 8 and 16
    /// of the longest season.
    #[serde(serialize_with = "crate::serialize::optional_durations")]
    pub half_lives: Option<Vec<Duration>>,
    /// Whether the fits' averaged forecast is combined with the seasonal copy of the
    /// longest season (the value one season back), each weighted by its recent
    /// one-step errors; default true.
    pub seasonal_copy: bool,
}

/// `predictive.loss`: the sum the forecaster's parameter search minimizes over the
/// one-step errors of the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FitLoss {
    /// The sum of absolute errors (`"absolute"`), the default.
    #[default]
    Absolute,
    /// The sum of squared errors (`"squared"`), Holt-Winters' least-squares fit.
    Squared,
}

impl FitLoss {
    /// Every loss, in the order the documentation lists them.
    pub(crate) const ALL: [Self; 2] = [Self::Absolute, Self::Squared];

    /// The name used in the file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Absolute => "absolute",
            Self::Squared => "squared",
        }
    }

    /// The loss called `name` in the file.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|loss| loss.name() == name)
    }
}

impl Default for Predictive {
    fn default() -> Self {
        const DAY: u64 = 24 * 60 * 60;
        Self {
            enabled: true,
            seasons: vec![Duration::from_secs(DAY), Duration::from_secs(7 * DAY)],
            history: Duration::from_secs(14 * DAY),
            quantile: 0.9,
            refit_every: Duration::from_secs(600),
            damped: false,
            loss: FitLoss::Absolute,
            half_lives: None,
            seasonal_copy: true,
        }
    }
}

/// `cost`: the price of an instance and an optional hourly budget.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cost {
    /// Price of one instance for one hour; at least 0.
    pub per_instance_hour: f64,
    /// Most to spend per hour; greater than 0 and enough for `min` instances.
    pub budget_per_hour: Option<f64>,
}

/// One `schedule` entry: bounds that replace the scaler's while `cron` matches,
/// or for `duration` from each time it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleEntry {
    /// A 5-field cron expression: the minutes the override is in force, or with
    /// `duration` the times it starts.
    pub cron: String,
    /// How long the override holds from each time `cron` matches; without it,
    /// the override holds during the minutes `cron` matches.
    #[serde(serialize_with = "crate::serialize::optional_duration")]
    pub duration: Option<Duration>,
    /// The override of `min`, if any.
    pub min: Option<u32>,
    /// The override of `max`, if any; at least `min`.
    pub max: Option<u32>,
}
