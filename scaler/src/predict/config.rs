//! The predictive policy's settings (`predictive = { ... }` plus the pool's lead time and
//! target) and their validated runtime form, [`Plan`].
//!
//! The plan fixes the downsampling step: every configured season must be a whole number of
//! steps, so that 1 d and 7 d become e.g. 24 and 168 hourly steps for Holt-Winters.

use std::time::Duration;

use tidegate_gpu::{Grid, Loss, Seasons};

use crate::error::ScalerError;
use crate::time::duration_millis;

/// Steps per shortest season when no step is configured: 1 d -> 1 h, 1 h -> 150 s.
pub const STEPS_PER_SHORT_SEASON: u64 = 24;

/// How the predictive policy forecasts and converts demand to instances.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictiveConfig {
    /// Whether the policy recommends at all (it keeps no history when off).
    pub enabled: bool,
    /// One or two seasonal periods, the second a whole multiple of the first.
    pub seasons: Vec<Duration>,
    /// Most history kept and fitted; at least two of the longest season.
    pub history: Duration,
    /// Forecast quantile provisioned for, in [0.5, 1).
    pub quantile: f64,
    /// Time between refits of the model's parameters.
    pub refit_every: Duration,
    /// Whether the trend is damped.
    pub damped: bool,
    /// What the fit minimizes over the history's one-step errors.
    pub loss: Loss,
    /// Half-lives of the fits whose forecasts are averaged (empty: one fit, every step
    /// alike); `None`: [`Grid::standard_half_lives`], 0.5 to 16 longest seasons.
    pub half_lives: Option<Vec<Duration>>,
    /// Whether the models' forecast is combined with the seasonal copy of the longest
    /// season by recent accuracy ([`tidegate_gpu::Fit::copy_weight`]).
    pub seasonal_copy: bool,
    /// How far ahead to provision: the pool's launch-to-ready time.
    pub lead_time: Duration,
    /// In-flight requests per instance, the same target the reactive policy uses.
    pub target_in_flight: f64,
    /// Mean time a request is in flight; `None` estimates it from the observed
    /// in-flight / request-rate ratio (Little's law).
    pub service_time: Option<Duration>,
    /// Downsampling step; `None` uses the shortest season / [`STEPS_PER_SHORT_SEASON`].
    pub step: Option<Duration>,
}

impl Default for PredictiveConfig {
    /// DESIGN.md's defaults: daily and weekly seasons, 14 d of history, q = 0.9, 10 min refits.
    fn default() -> Self {
        const DAY: u64 = 86_400;
        Self {
            enabled: true,
            seasons: vec![Duration::from_secs(DAY), Duration::from_secs(7 * DAY)],
            history: Duration::from_secs(14 * DAY),
            quantile: 0.9,
            refit_every: Duration::from_secs(600),
            damped: false,
            loss: Loss::Absolute,
            half_lives: None,
            seasonal_copy: true,
            lead_time: Duration::from_secs(30),
            target_in_flight: 8.0,
            service_time: None,
            step: None,
        }
    }
}

/// A validated [`PredictiveConfig`] in steps.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) enabled: bool,
    pub(crate) step_ms: u64,
    pub(crate) seasons: Seasons,
    pub(crate) capacity: usize,
    pub(crate) quantile: f64,
    pub(crate) refit_every_ms: u64,
    pub(crate) lead_ms: u64,
    pub(crate) target_in_flight: f64,
    pub(crate) service_time_s: Option<f64>,
    pub(crate) grid: Grid,
    pub(crate) seasonal_copy: bool,
}

impl Plan {
    /// Fewest completed steps before the policy fits and recommends: two longest seasons.
    pub(crate) fn needed(&self) -> usize {
        self.seasons.min_len()
    }
}

fn invalid(field: &'static str, value: impl ToString, fix: impl Into<String>) -> ScalerError {
    ScalerError::invalid(field, value, fix)
}

fn written(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

impl PredictiveConfig {
    /// Checks every setting; errors name the field, the value and the fix.
    pub fn validate(&self) -> Result<(), ScalerError> {
        self.plan().map(|_| ())
    }

    /// The half-lives in steps (infinite for one fit weighing every step alike). One
    /// shorter than a step is a fraction of a step: that fit weighs little but the
    /// latest steps.
    fn half_life_steps(&self, seasons: Seasons, step_ms: u64) -> Vec<f32> {
        match &self.half_lives {
            None => Grid::standard_half_lives(seasons),
            Some(half_lives) if half_lives.is_empty() => vec![f32::INFINITY],
            Some(half_lives) => half_lives
                .iter()
                .map(|h| {
                    ((h.as_secs_f64() * 1000.0 / step_ms as f64) as f32).max(f32::MIN_POSITIVE)
                })
                .collect(),
        }
    }

    /// The validated settings in steps.
    pub(crate) fn plan(&self) -> Result<Plan, ScalerError> {
        let periods_ms: Vec<u64> = self.seasons.iter().map(|&s| duration_millis(s)).collect();
        let (short, longest) = match periods_ms[..] {
            [a] if a > 0 => (a, a),
            [a, b] if a > 0 && b > a && b % a == 0 => (a, b),
            _ => {
                return Err(invalid(
                    "predictive.seasons",
                    format!("{:?}", self.seasons),
                    "give one or two periods, the second a longer multiple of the first, e.g. [\"1d\", \"7d\"]",
                ))
            }
        };
        let step_ms = match self.step {
            Some(step) => duration_millis(step),
            None if short % STEPS_PER_SHORT_SEASON == 0 => short / STEPS_PER_SHORT_SEASON,
            None => 0,
        };
        if step_ms == 0 || short % step_ms != 0 || short / step_ms < 2 {
            return Err(invalid(
                "predictive.step",
                self.step.map_or_else(|| "auto".to_owned(), written),
                format!(
                    "must divide the shortest season ({}) into at least 2 whole steps, e.g. {}",
                    written(Duration::from_millis(short)),
                    written(Duration::from_millis(
                        short / STEPS_PER_SHORT_SEASON.min(short).max(1)
                    ))
                ),
            ));
        }
        let steps: Vec<u32> = periods_ms
            .iter()
            .map(|&p| u32::try_from(p / step_ms).unwrap_or(u32::MAX))
            .collect();
        let seasons = Seasons::from_periods(&steps).map_err(|e| {
            invalid(
                "predictive.seasons",
                format!("{steps:?} steps"),
                e.to_string(),
            )
        })?;
        let capacity =
            usize::try_from(duration_millis(self.history) / step_ms).unwrap_or(usize::MAX);
        if capacity < seasons.min_len() {
            return Err(invalid(
                "predictive.history",
                written(self.history),
                format!(
                    "must hold two of the longest season: set it to >= {}",
                    written(Duration::from_millis(longest.saturating_mul(2)))
                ),
            ));
        }
        if !(0.5..1.0).contains(&self.quantile) {
            return Err(invalid(
                "predictive.quantile",
                self.quantile,
                "use a value from 0.5 up to but not including 1, e.g. 0.9",
            ));
        }
        if self.refit_every.is_zero() {
            return Err(invalid(
                "predictive.refit_every",
                "0s",
                "must be a positive duration, e.g. \"10m\"",
            ));
        }
        if !(self.target_in_flight.is_finite() && self.target_in_flight > 0.0) {
            return Err(invalid(
                "target_in_flight",
                self.target_in_flight,
                "must be a number > 0",
            ));
        }
        if self.service_time.is_some_and(|s| s.is_zero()) {
            return Err(invalid(
                "service_time",
                "0s",
                "must be positive, or unset to estimate it from in-flight / request rate",
            ));
        }
        Ok(Plan {
            enabled: self.enabled,
            step_ms,
            seasons,
            capacity,
            quantile: self.quantile,
            refit_every_ms: duration_millis(self.refit_every),
            lead_ms: duration_millis(self.lead_time),
            target_in_flight: self.target_in_flight,
            service_time_s: self.service_time.map(|s| s.as_secs_f64()),
            grid: Grid::standard(seasons, self.damped)
                .with_loss(self.loss)
                .with_half_lives(&self.half_life_steps(seasons, step_ms))
                .map_err(|e| invalid("predictive.half_lives", seasons, e.to_string()))?,
            seasonal_copy: self.seasonal_copy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_seasons_become_hourly_steps() {
        let plan = PredictiveConfig::default().plan().unwrap();
        assert_eq!(plan.step_ms, 3_600_000);
        assert_eq!(plan.seasons, Seasons::Double(24, 168));
        assert_eq!(plan.capacity, 336);
        assert_eq!(plan.needed(), 336);
    }

    #[test]
    fn half_lives_become_steps() {
        let grid = |half_lives: Option<Vec<Duration>>| {
            PredictiveConfig {
                half_lives,
                ..PredictiveConfig::default()
            }
            .plan()
            .map(|plan| plan.grid.half_lives().to_vec())
        };
        assert_eq!(
            grid(None).unwrap(),
            vec![84.0, 168.0, 336.0, 672.0, 1344.0, 2688.0]
        );
        assert_eq!(grid(Some(vec![])).unwrap(), vec![f32::INFINITY]);
        let hours = |h: u64| Duration::from_secs(h * 3600);
        assert_eq!(
            grid(Some(vec![hours(12), hours(90)])).unwrap(),
            vec![12.0, 90.0]
        );
        let minute = grid(Some(vec![Duration::from_secs(60)])).unwrap();
        assert!((minute[0] - 1.0 / 60.0).abs() < 1e-6, "{minute:?}");
    }

    #[test]
    fn bad_settings_name_the_field_and_the_fix() {
        let err = |c: PredictiveConfig| c.validate().unwrap_err().to_string();
        let seasons = err(PredictiveConfig {
            seasons: vec![Duration::from_secs(86_400), Duration::from_secs(100_000)],
            ..PredictiveConfig::default()
        });
        assert!(seasons.contains("predictive.seasons"), "{seasons}");
        let history = err(PredictiveConfig {
            history: Duration::from_secs(86_400),
            ..PredictiveConfig::default()
        });
        assert!(history.contains("set it to >= 14days"), "{history}");
        let step = err(PredictiveConfig {
            step: Some(Duration::from_secs(7 * 3600)),
            ..PredictiveConfig::default()
        });
        assert!(step.contains("predictive.step"), "{step}");
        let quantile = err(PredictiveConfig {
            quantile: 1.0,
            ..PredictiveConfig::default()
        });
        assert!(quantile.contains("predictive.quantile = 1"), "{quantile}");
    }
}
