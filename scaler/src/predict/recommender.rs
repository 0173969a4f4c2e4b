//! [`PredictiveRecommender`]: the predictive policy as a [`Recommender`].
//!
//! Each tick (`recommend`) takes the lock briefly and: adds the request rate to the
//! history; installs a fit that finished since the last tick; submits a refit when
//! `refit_every` has passed (to the background thread, or inline in the simulator);
//! forecasts demand at `now + lead_time` at the upper quantile; and converts it to
//! instances with Little's law and the pool's `target_in_flight`, the reactive policy's
//! units. It abstains until two of the longest season are in the history and fitted.

use std::sync::{Arc, Mutex, PoisonError};

use tidegate_gpu::{Device, Forecaster};

use crate::decision::instances_for;
use crate::error::ScalerError;
use crate::predict::config::{Plan, PredictiveConfig};
use crate::predict::history::History;
use crate::predict::model::{Demand, Model};
use crate::predict::refit::{FitJob, FitOutcome, Refitter, SubmitError};
use crate::predict::report::{FitMember, FitSummary, ForecastReport, PointForecast};
use crate::predict::service::ServiceTime;
use crate::recommend::{Recommendation, Recommender};
use crate::signals::Signals;
use crate::time::Timestamp;

/// Forecasts a pool's demand and recommends instances ahead of it; one per pool (the
/// `pool` argument of `recommend` is not consulted).
#[derive(Debug)]
pub struct PredictiveRecommender {
    pool: String,
    plan: Plan,
    state: Mutex<State>,
}

/// What changes tick to tick.
#[derive(Debug)]
struct State {
    history: History,
    refitter: Refitter,
    model: Option<Model>,
    last_submit: Option<Timestamp>,
    service: ServiceTime,
    latest: Option<PointForecast>,
    last_error: Option<String>,
    fits: u64,
}

impl PredictiveRecommender {
    /// A recommender for `pool` whose fits run on a dedicated background thread, on the
    /// shared `forecaster` (open one per process from `[forecast] device`).
    pub fn new(
        pool: impl Into<String>,
        config: &PredictiveConfig,
        forecaster: Arc<Forecaster>,
    ) -> Result<Self, ScalerError> {
        let pool = pool.into();
        let plan = config.plan()?;
        let refitter = Refitter::background(
            format!("forecast-{pool}"),
            forecaster,
            plan.seasons,
            plan.grid.clone(),
        )
        .map_err(|e| ScalerError::io("forecast thread", e))?;
        Ok(Self::with_refitter(pool, plan, refitter))
    }

    /// Like [`PredictiveRecommender::new`], opening its own forecaster on `device`.
    pub fn with_device(
        pool: impl Into<String>,
        config: &PredictiveConfig,
        device: Device,
    ) -> Result<Self, ScalerError> {
        Self::new(pool, config, Arc::new(Forecaster::new(device)))
    }

    /// A recommender that fits synchronously inside `recommend` whenever a refit is due,
    /// so a replay in virtual time is deterministic (the simulator; tests).
    pub fn synchronous(
        pool: impl Into<String>,
        config: &PredictiveConfig,
        forecaster: Arc<Forecaster>,
    ) -> Result<Self, ScalerError> {
        let plan = config.plan()?;
        let refitter = Refitter::inline(forecaster, plan.seasons, plan.grid.clone());
        Ok(Self::with_refitter(pool.into(), plan, refitter))
    }

    fn with_refitter(pool: String, plan: Plan, refitter: Refitter) -> Self {
        let state = State {
            history: History::new(plan.step_ms, plan.capacity),
            refitter,
            model: None,
            last_submit: None,
            service: ServiceTime::new(plan.service_time_s),
            latest: None,
            last_error: None,
            fits: 0,
        };
        Self {
            pool,
            plan,
            state: Mutex::new(state),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The latest forecast's point request rate, for `tidegate_forecast_requests_per_second`.
    pub fn forecast_rps(&self) -> Option<f64> {
        self.lock().latest.as_ref().map(|f| f.point_rps)
    }

    /// Everything about the forecast, for `GET /api/v1/pools/{pool}/forecast`.
    pub fn report(&self) -> ForecastReport {
        let state = self.lock();
        let fit = state.model.as_ref().map(|model| {
            let params = model.fit().params();
            FitSummary {
                fitted_at: model.fitted_at,
                backend: model.fit().backend().to_string(),
                duration_s: model.duration.as_secs_f64(),
                history_steps: model.steps,
                alpha: params.alpha,
                beta: params.beta,
                gamma: params.gamma,
                omega: params.omega,
                phi: params.phi,
                lambda: params.lambda,
                rmse_rps: model.fit().rmse(),
                members: model
                    .fit()
                    .members()
                    .map(|(half_life, p)| FitMember {
                        half_life_steps: half_life.is_finite().then_some(half_life),
                        alpha: p.alpha,
                        beta: p.beta,
                        gamma: p.gamma,
                        omega: p.omega,
                        phi: p.phi,
                        lambda: p.lambda,
                    })
                    .collect(),
                seasonal_copy_weight: model.fit().copy_weight(),
            }
        });
        let seasons = self.plan.seasons;
        ForecastReport {
            pool: self.pool.clone(),
            enabled: self.plan.enabled,
            step_s: self.plan.step_ms as f64 / 1000.0,
            seasons_steps: [seasons.short(), seasons.long()]
                .into_iter()
                .filter(|&m| m > 0)
                .collect(),
            history_steps: state.history.len(),
            needed_steps: self.plan.needed(),
            fits: state.fits,
            fitting: state.refitter.busy(),
            forecast: state.latest.clone(),
            fit,
            last_error: state.last_error.clone(),
        }
    }

    /// Adds the tick's sample, refits when due, and forecasts at `now + lead_time`.
    fn tick(&self, signals: &Signals, now: Timestamp) -> Option<PointForecast> {
        let plan = &self.plan;
        let mut guard = self.lock();
        let state = &mut *guard;
        state.history.push(now.unix_millis(), signals.request_rate);
        state
            .service
            .observe(now, signals.stable_in_flight, signals.request_rate);

        match state.refitter.poll() {
            Ok(Some(outcome)) => state.install(outcome, &self.pool, plan.seasonal_copy),
            Ok(None) => {}
            Err(error) => state.fail(&self.pool, submit_message(error)),
        }
        let due = state
            .last_submit
            .is_none_or(|t| now.saturating_since(t).as_millis() >= u128::from(plan.refit_every_ms));
        if due && state.history.len() >= plan.needed() && !state.refitter.busy() {
            let job = FitJob {
                values: state.history.closed().iter().copied().collect(),
                next: state.history.next_index(),
                at: now,
            };
            state.last_submit = Some(now);
            match state.refitter.submit(job) {
                Ok(Some(outcome)) => state.install(outcome, &self.pool, plan.seasonal_copy),
                Ok(None) => {}
                Err(error) => state.fail(&self.pool, submit_message(error)),
            }
        }

        let model = state.model.as_mut()?;
        if !model.catch_up(&state.history) {
            state.model = None;
            return None;
        }
        let at = now + std::time::Duration::from_millis(plan.lead_ms);
        let target = state.history.step_of(at.unix_millis());
        let demand = match model.demand_at(target, state.history.open(), plan.quantile) {
            Ok(demand) => demand,
            Err(error) => {
                state.fail(&self.pool, error.to_string());
                state.model = None;
                return None;
            }
        };
        let Demand { point, upper } = demand;
        let service_time_s = state.service.seconds();
        let forecast = PointForecast {
            made_at: now,
            at,
            point_rps: point,
            upper_rps: upper,
            quantile: plan.quantile,
            service_time_s,
            instances: service_time_s.map(|s| instances_for(upper * s, plan.target_in_flight)),
        };
        state.latest = Some(forecast.clone());
        Some(forecast)
    }
}

fn submit_message(error: SubmitError) -> String {
    match error {
        SubmitError::Busy => "a fit is still running".to_owned(),
        SubmitError::Stopped => "the forecast thread stopped; no more refits".to_owned(),
    }
}

impl State {
    fn install(&mut self, outcome: FitOutcome, pool: &str, seasonal_copy: bool) {
        match outcome.fit {
            Ok(fit) => {
                let fit = if seasonal_copy {
                    fit
                } else {
                    fit.without_seasonal_copy()
                };
                self.fits += 1;
                self.last_error = None;
                self.model = Some(Model::new(
                    fit,
                    outcome.next,
                    outcome.at,
                    outcome.steps,
                    outcome.duration,
                ));
            }
            Err(error) => self.fail(pool, error.to_string()),
        }
    }

    fn fail(&mut self, pool: &str, message: String) {
        tracing::warn!(%pool, error = %message, "forecast failed; keeping the previous model");
        self.last_error = Some(message);
    }
}

impl Recommender for PredictiveRecommender {
    /// `predictive`: instances for the forecast demand at `now + lead_time`; `None`
    /// while disabled, before the first fit, or while the service time is unknown.
    fn recommend(&self, _pool: &str, signals: &Signals, now: Timestamp) -> Option<Recommendation> {
        if !self.plan.enabled {
            return None;
        }
        let forecast = self.tick(signals, now)?;
        Some(Recommendation::new("predictive", forecast.instances?))
    }
}
