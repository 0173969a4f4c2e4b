//! Tidegate's autoscaler: grows and shrinks backend pools from what the data plane sees.
//!
//! Data flows one way each tick. The proxy's [`SignalSource`] gives a [`PoolSample`];
//! the [`Controller`] folds it into stable and panic window averages and calls the pure
//! [`decide`] function, which combines every [`Recommendation`] (reactive, extra
//! [`Recommender`]s, schedules) under the [`Policy`]'s rules into a [`Decision`]. The
//! async [`PoolLoop`] then reconciles that decision with a [`Driver`] (launch, or drain
//! through the [`DataPlane`] and remove), records an [`AuditEvent`] and updates
//! [`Metrics`]. The [`predict`] module's [`PredictiveRecommender`] is the predictive
//! policy (Holt-Winters on `tidegate-gpu`). The [`simulate`] module replays a demand
//! trace through the same controller in virtual time.
//!
//! Time is always a parameter ([`Timestamp`]): nothing here reads the clock except
//! [`PoolLoop::run`], which derives it from tokio's (pausable) clock.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod controller;
mod data_plane;
mod decision;
pub mod driver;
mod error;
mod instance;
mod metrics;
mod policy;
pub mod predict;
mod recommend;
mod reconcile;
mod schedule;
mod signals;
pub mod simulate;
mod time;
mod window;

pub use audit::{Action, ActionRecord, ActionResult, AuditEvent, AuditLog};
pub use controller::Controller;
pub use data_plane::DataPlane;
pub use decision::{decide, Decision, Direction, Overrides, Reason, ScalerState};
pub use driver::{Driver, DriverError, DriverErrorKind, OpId};
pub use error::ScalerError;
pub use instance::{Instance, InstanceId, InstanceState};
pub use metrics::{Metrics, MetricsSnapshot, PoolCounters};
pub use policy::{CostModel, Policy};
pub use predict::{ForecastReport, PredictiveConfig, PredictiveRecommender};
pub use recommend::{Recommendation, Recommender};
pub use reconcile::{LoopConfig, LoopParts, PoolHandle, PoolLoop, PoolStatus};
pub use schedule::{ScheduleBounds, ScheduleRule};
pub use signals::{BackendSample, Observation, PoolSample, SignalSource, Signals};
/// The forecasting crate's device choice and forecaster, so the proxy need not import it.
pub use tidegate_gpu::{Device as ForecastDevice, Forecaster, Loss};
pub use time::Timestamp;
