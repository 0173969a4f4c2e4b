//! The latest completed fit, kept current between refits, and the forecast at a step.
//!
//! A fit's state ends at the last step it was fitted on; every step closed since is fed
//! through [`Fit::observe`] with the fitted parameters (cheap: one recursion step), so a
//! refit only re-estimates parameters. The forecast for the step containing
//! `now + lead_time` conditions on everything seen: when that step is the open one, its
//! mean so far is the answer (a nowcast); when it is later, the open step's mean so far is
//! observed tentatively and the model forecasts the remaining steps ahead.

use std::time::Duration;

use tidegate_gpu::{Fit, ForecastError};

use crate::predict::history::History;
use crate::time::Timestamp;

/// A fitted model and the step it expects next.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    fit: Fit,
    /// Index of the first step not yet fed to the model.
    next: u64,
    /// When the fit was requested.
    pub(crate) fitted_at: Timestamp,
    /// Steps it was fitted on.
    pub(crate) steps: usize,
    /// Wall time the fit took.
    pub(crate) duration: Duration,
}

/// A point forecast and the upper quantile, in requests per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Demand {
    pub(crate) point: f64,
    pub(crate) upper: f64,
}

impl Model {
    /// A model whose fit ends just before step `next`.
    pub(crate) fn new(
        fit: Fit,
        next: u64,
        fitted_at: Timestamp,
        steps: usize,
        duration: Duration,
    ) -> Self {
        Self {
            fit,
            next,
            fitted_at,
            steps,
            duration,
        }
    }

    /// The fit.
    pub(crate) fn fit(&self) -> &Fit {
        &self.fit
    }

    /// Feeds every closed step the model has not seen; false when some were already
    /// dropped from the history (the model is too old to catch up).
    pub(crate) fn catch_up(&mut self, history: &History) -> bool {
        while self.next < history.next_index() {
            match history.get(self.next) {
                Some(value) => self.fit.observe(value),
                None => return false,
            }
            self.next += 1;
        }
        true
    }

    /// Demand in step `target` (the step containing now + lead time) at `quantile`,
    /// given the open step's index and mean so far.
    pub(crate) fn demand_at(
        &self,
        target: u64,
        open: Option<(u64, f64)>,
        quantile: f64,
    ) -> Result<Demand, ForecastError> {
        match open {
            Some((index, mean)) if target <= index => Ok((mean, mean)),
            Some((index, mean)) if index == self.next => {
                let mut tentative = self.fit.clone();
                tentative.observe(mean as f32);
                forecast(&tentative, target - index, quantile)
            }
            _ => forecast(&self.fit, target.saturating_sub(self.next) + 1, quantile),
        }
        .map(|(point, upper)| Demand {
            point: point.max(0.0),
            upper: upper.max(point).max(0.0),
        })
    }
}

/// The `steps`-ahead point and quantile of `fit`.
fn forecast(fit: &Fit, steps: u64, quantile: f64) -> Result<(f64, f64), ForecastError> {
    let steps = usize::try_from(steps.max(1))
        .unwrap_or(usize::MAX)
        .min(1 << 20);
    let forecast = fit.forecast(steps, quantile)?;
    match (forecast.point.last(), forecast.upper.last()) {
        (Some(&point), Some(&upper)) => Ok((f64::from(point), f64::from(upper))),
        _ => Err(ForecastError::Diverged),
    }
}
