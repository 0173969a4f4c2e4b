//! Demand forecasting for Tidegate's predictive autoscaler.
//!
//! Additive Holt-Winters, with one seasonal period or Taylor's double seasonal form, an
//! optionally damped trend and Taylor's AR(1) adjustment of the one-step error, fitted by
//! grid search: every (series, parameter point) gets the sum of absolute adjusted
//! one-step errors over its history (after the rows that initialized it), and each
//! series keeps its best point. The search runs as WGSL compute kernels on wgpu ([`gpu`]) or on the rayon
//! CPU reference ([`cpu`]); both use the same f32 arithmetic in the same order, on the
//! same standardized values and from initial states computed once on the CPU ([`init`]).
//!
//! Data flow: `Series` + `Grid` -> [`Batch`] (initial states) -> backend -> [`Choice`]
//! per series -> [`Fit`] (final state, residuals) -> [`Forecast`]. The [`Forecaster`]
//! picks the backend from [`Device`] and falls back to the CPU on any GPU failure;
//! [`backtest`] scores forecasts at rolling origins.
#![forbid(unsafe_code)]

mod backtest;
mod batch;
pub mod cpu;
mod error;
mod fit;
mod forecaster;
pub mod gpu;
mod grid;
pub mod init;
mod model;
mod series;
mod trace;

pub use backtest::{backtest, Backtest, BacktestRow, BacktestSpec};
pub use batch::{Batch, Choice, Scaling};
pub use error::{ForecastError, GpuError};
pub use fit::{Fit, Forecast, COPY_HALF_LIFE, COPY_WEIGHT_POWER};
pub use forecaster::{Backend, Device, Forecaster};
pub use grid::{Grid, Loss, Params, MAX_LAMBDAS};
pub use model::DIVERGED;
pub use series::{Seasons, Series};
pub use trace::Trace;
/// The wgpu this crate is built against, for callers that open their own device.
pub use wgpu;
