//! What the admin API (`GET /api/v1/pools/{pool}/forecast`) and the
//! `tidegate_forecast_requests_per_second{pool}` gauge show about a pool's forecast.

use serde::Serialize;

use crate::time::Timestamp;

/// The forecast made at the latest tick.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointForecast {
    /// The tick that made it.
    pub made_at: Timestamp,
    /// The instant forecast: `made_at + lead_time`.
    pub at: Timestamp,
    /// Expected request rate at `at`, requests per second.
    pub point_rps: f64,
    /// The configured upper quantile of the request rate at `at`.
    pub upper_rps: f64,
    /// The quantile `upper_rps` holds.
    pub quantile: f64,
    /// Seconds a request is in flight, configured or observed (Little's law).
    pub service_time_s: Option<f64>,
    /// Instances recommended: ceil(upper_rps x service_time_s / target_in_flight).
    pub instances: Option<u32>,
}

/// The fit in use.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FitSummary {
    /// When the fit was requested.
    pub fitted_at: Timestamp,
    /// Which implementation ran the grid search: `cpu` or `gpu`.
    pub backend: String,
    /// Wall time of the fit, seconds.
    pub duration_s: f64,
    /// Steps of history it was fitted on.
    pub history_steps: usize,
    /// Level smoothing (of the first of `members`; so are the five fields below).
    pub alpha: f32,
    /// Trend smoothing.
    pub beta: f32,
    /// Short seasonal smoothing.
    pub gamma: f32,
    /// Long seasonal smoothing.
    pub omega: f32,
    /// Trend damping.
    pub phi: f32,
    /// AR(1) coefficient of the one-step error (0: none).
    pub lambda: f32,
    /// Root mean squared one-step error of the models' averaged forecast over the
    /// scored history, requests per second.
    pub rmse_rps: f64,
    /// The models whose forecasts are averaged, one per half-life.
    pub members: Vec<FitMember>,
    /// Weight of the seasonal copy of the longest season (the value one cycle back) in
    /// the point forecast, from the recent one-step errors of the copy and of the
    /// models' average; null when the history holds no full cycle.
    pub seasonal_copy_weight: Option<f64>,
}

/// One model of the fit in use: its half-life and chosen parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FitMember {
    /// Steps after which a step's error weighs half as much in this model's fit; null
    /// when every step weighs the same.
    pub half_life_steps: Option<f32>,
    /// Level smoothing.
    pub alpha: f32,
    /// Trend smoothing.
    pub beta: f32,
    /// Short seasonal smoothing.
    pub gamma: f32,
    /// Long seasonal smoothing.
    pub omega: f32,
    /// Trend damping.
    pub phi: f32,
    /// AR(1) coefficient of the one-step error (0: none).
    pub lambda: f32,
}

/// Everything known about one pool's forecast.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastReport {
    /// The pool.
    pub pool: String,
    /// Whether the predictive policy is on.
    pub enabled: bool,
    /// Downsampling step, seconds.
    pub step_s: f64,
    /// The seasons in steps, e.g. `[24, 168]`.
    pub seasons_steps: Vec<u32>,
    /// Closed steps of history kept.
    pub history_steps: usize,
    /// Steps needed before the first fit (two of the longest season).
    pub needed_steps: usize,
    /// Fits completed.
    pub fits: u64,
    /// Whether a fit is running now.
    pub fitting: bool,
    /// The latest forecast, once a fit exists.
    pub forecast: Option<PointForecast>,
    /// The fit in use.
    pub fit: Option<FitSummary>,
    /// The latest fit or forecast error, if the latest attempt failed.
    pub last_error: Option<String>,
}
