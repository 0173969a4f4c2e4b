//! A `[pool.NAME.scaler]` as written, with its `predictive`, `cost` and `schedule`.

use serde::Deserialize;
use toml::Spanned;

/// `[pool.NAME.scaler]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawScaler {
    pub(crate) driver: Spanned<String>,
    pub(crate) min: Option<Spanned<i64>>,
    pub(crate) max: Spanned<i64>,
    pub(crate) target_in_flight: Option<Spanned<f64>>,
    pub(crate) tick: Option<Spanned<String>>,
    pub(crate) stable_window: Option<Spanned<String>>,
    pub(crate) panic_window: Option<Spanned<String>>,
    pub(crate) panic_threshold: Option<Spanned<f64>>,
    pub(crate) scale_down_delay: Option<Spanned<String>>,
    pub(crate) lead_time: Option<Spanned<String>>,
    pub(crate) max_scale_up_rate: Option<Spanned<f64>>,
    pub(crate) audit_log: Option<Spanned<String>>,
    pub(crate) predictive: Option<Spanned<RawPredictive>>,
    pub(crate) cost: Option<Spanned<RawCost>>,
    pub(crate) schedule: Option<Vec<Spanned<RawScheduleEntry>>>,
}

/// A scaler's `predictive`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawPredictive {
    pub(crate) enabled: Option<bool>,
    pub(crate) seasons: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) history: Option<Spanned<String>>,
    pub(crate) quantile: Option<Spanned<f64>>,
    pub(crate) refit_every: Option<Spanned<String>>,
    pub(crate) damped: Option<bool>,
    pub(crate) loss: Option<Spanned<String>>,
    pub(crate) half_lives: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) seasonal_copy: Option<bool>,
}

/// A scaler's `cost`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawCost {
    pub(crate) per_instance_hour: Spanned<f64>,
    pub(crate) budget_per_hour: Option<Spanned<f64>>,
}

/// One entry of a scaler's `schedule`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawScheduleEntry {
    pub(crate) cron: Spanned<String>,
    pub(crate) duration: Option<Spanned<String>>,
    pub(crate) min: Option<Spanned<i64>>,
    pub(crate) max: Option<Spanned<i64>>,
}
