//! The predictive policy: Holt-Winters forecasts of a pool's request rate, turned into
//! instance recommendations ahead of demand (DESIGN.md, "Autoscaler" step 3).
//!
//! Data flow per tick: [`PredictiveRecommender::recommend`] adds the request rate to the
//! downsampled history (module `history`); refits run off the tick (module `refit`: a
//! background thread, or inline in the simulator) on `tidegate-gpu`'s [`Forecaster`];
//! the latest fit is kept current step by step (module `model`) and forecasts the step
//! containing `now + lead_time` at the upper quantile; Little's law (module `service`)
//! and `target_in_flight` turn that rate into instances. The proxy reads the latest
//! forecast through [`PredictiveRecommender::report`] and
//! [`PredictiveRecommender::forecast_rps`].
//!
//! [`Forecaster`]: tidegate_gpu::Forecaster

mod config;
mod history;
mod model;
mod recommender;
mod refit;
mod report;
mod service;

pub use config::{PredictiveConfig, STEPS_PER_SHORT_SEASON};
pub use recommender::PredictiveRecommender;
pub use report::{FitMember, FitSummary, ForecastReport, PointForecast};

#[cfg(test)]
mod tests;
