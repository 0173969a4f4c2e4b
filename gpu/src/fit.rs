//! A fitted model and its forecasts.
//!
//! The point forecast is the model's conditional mean: the expected one-step error `k`
//! steps ahead is `lambda^k e_n` (`e_n` the last unadjusted error), and the state is
//! advanced through the smoothing equations on those expected values, so the forecast
//! is Holt-Winters' plus the AR(1) term and what that term feeds into the level, trend
//! and seasonals (with `lambda = 0`, exactly the additive Holt-Winters forecast).
//!
//! The upper quantile is `point + Q_q(r) * sqrt(v_h)`: `Q_q(r)` is the empirical
//! q-quantile (linear interpolation) of the in-sample AR(1)-adjusted one-step residuals
//! over the scored rows, so skewed, bursty demand widens the upper side as it really
//! does, and `v_h` is the h-step variance multiplier of the model in innovations form
//! (Hyndman et al. 2008, ch. 6) with AR(1) errors: `v_h = sum_{r<h} B_r^2`,
//! `B_0 = 1`, `B_r = lambda B_{r-1} + c_r`, where
//! `c_j = alpha (1 + beta phi_j) + gamma (1 - alpha) [m1 | j] + omega (1 - alpha) [m2 | j]`
//! and `phi_j = phi + ... + phi^j`. It is exact for Gaussian innovations and grows with
//! the horizon as the model's uncertainty does.

use crate::batch::{Batch, Choice, Scaling};
use crate::error::ForecastError;
use crate::forecaster::Backend;
use crate::grid::{Loss, Params};
use crate::model::{run, State, DIVERGED};
use crate::series::Seasons;

/// The chosen model of one series: parameters, final state and residuals (the last two
/// on the standardized series; outputs are scaled back to the series' units).
#[derive(Debug, Clone)]
pub struct Fit {
    params: Params,
    point: usize,
    /// On the standardized series, as the backend computed it.
    loss: f32,
    kind: Loss,
    /// Mean absolute adjusted one-step error over the scored rows, standardized.
    mean_abs: f64,
    scaling: Scaling,
    seasons: Seasons,
    state: State,
    /// The unadjusted one-step error of the last observation, standardized.
    last_error: f32,
    sorted_residuals: Vec<f32>,
    /// Mean squared adjusted residual, standardized.
    mean_square: f64,
    backend: Backend,
}

/// Forecasts for steps 1..=h after the last observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Point forecasts (the conditional mean).
    pub point: Vec<f32>,
    /// The requested quantile at each step.
    pub upper: Vec<f32>,
    /// The quantile `upper` holds, in (0, 1).
    pub quantile: f64,
}

impl Fit {
    /// Re-runs the chosen point on the CPU for the final state and the residuals.
    pub(crate) fn new(
        batch: &Batch<'_>,
        index: usize,
        params: Params,
        choice: Choice,
        backend: Backend,
    ) -> Self {
        let seasons = batch.series()[index].seasons();
        let values = batch.values(index);
        let init = &batch.inits()[index];
        let (state, errors) = run(values, init, seasons, &params);
        let adjusted: Vec<f32> = errors
            .iter()
            .scan(0.0_f32, |previous, &e| {
                let adjusted = e - params.lambda * *previous;
                *previous = e;
                Some(adjusted)
            })
            .collect();
        let scored = &adjusted[init.scored_from.min(adjusted.len())..];
        let mean_abs =
            scored.iter().map(|&r| f64::from(r).abs()).sum::<f64>() / scored.len().max(1) as f64;
        let warm_up = init
            .scored_from
            .max(seasons.longest().min(adjusted.len() / 2));
        let mut sorted_residuals: Vec<f32> = adjusted[warm_up..]
            .iter()
            .copied()
            .filter(|r| r.is_finite())
            .collect();
        let mean_square = sorted_residuals
            .iter()
            .map(|&r| f64::from(r).powi(2))
            .sum::<f64>()
            / sorted_residuals.len().max(1) as f64;
        sorted_residuals.sort_by(f32::total_cmp);
        Fit {
            params,
            point: choice.point,
            loss: choice.loss,
            kind: batch.loss(),
            mean_abs,
            scaling: batch.scalings()[index],
            seasons,
            state,
            last_error: errors.last().copied().unwrap_or(0.0),
            sorted_residuals,
            mean_square,
            backend,
        }
    }

    /// The chosen parameters.
    pub fn params(&self) -> Params {
        self.params
    }

    /// Index of the chosen point in the grid.
    pub fn point(&self) -> usize {
        self.point
    }

    /// The loss at the chosen point, the sum of absolute (or squared, as the grid's
    /// [`Loss`] says) AR(1)-adjusted one-step errors over the scored rows, in the series'
    /// units (squared units for [`Loss::Squared`]; [`DIVERGED`] when every point diverged).
    pub fn loss(&self) -> f64 {
        if !self.is_finite() {
            return f64::from(DIVERGED);
        }
        let unit = match self.kind {
            Loss::Absolute => self.scaling.scale,
            Loss::Squared => self.scaling.scale * self.scaling.scale,
        };
        f64::from(self.loss) * unit
    }

    /// What the fit minimized.
    pub fn loss_kind(&self) -> Loss {
        self.kind
    }

    /// Mean absolute AR(1)-adjusted one-step error over the scored rows, in the series'
    /// units.
    pub fn mae(&self) -> f64 {
        self.mean_abs * self.scaling.scale
    }

    /// Root mean squared one-step error after the warm-up, in the series' units.
    pub fn rmse(&self) -> f64 {
        self.mean_square.sqrt() * self.scaling.scale
    }

    /// Whether the chosen point's recursion stayed finite (false: every point diverged).
    pub fn is_finite(&self) -> bool {
        self.loss < DIVERGED
    }

    /// The seasons the series was fitted with.
    pub fn seasons(&self) -> Seasons {
        self.seasons
    }

    /// The backend that ran the grid search.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Advances the final state by one new observation (in the series' units) with the
    /// fitted parameters, without refitting: forecasts then start after it. A non-finite
    /// value is treated as missing and replaced by the one-step point forecast.
    pub fn observe(&mut self, value: f32) {
        let Scaling { center, scale } = self.scaling;
        let standardized = if value.is_finite() {
            ((f64::from(value) - center) / scale) as f32
        } else {
            self.state.expected(&self.params) + self.params.lambda * self.last_error
        };
        self.last_error = self.state.step(standardized, &self.params);
    }

    /// Point forecasts and the `quantile` for steps 1..=`horizon`.
    pub fn forecast(&self, horizon: usize, quantile: f64) -> Result<Forecast, ForecastError> {
        if !(quantile > 0.0 && quantile < 1.0) {
            return Err(ForecastError::InvalidQuantile(quantile));
        }
        if !self.is_finite() {
            return Err(ForecastError::Diverged);
        }
        let p = self.params;
        let (alpha, beta, phi) = (f64::from(p.alpha), f64::from(p.beta), f64::from(p.phi));
        let lambda = f64::from(p.lambda);
        let short_gain = f64::from(p.gamma) * (1.0 - alpha);
        let long_gain = f64::from(p.omega) * (1.0 - alpha);
        let (m1, m2) = (self.seasons.short() as usize, self.seasons.long() as usize);
        let spread = f64::from(residual_quantile(&self.sorted_residuals, quantile));
        let Scaling { center, scale } = self.scaling;

        let mut ahead = self.state.clone();
        let mut error = self.last_error;
        let mut point = Vec::with_capacity(horizon);
        let mut upper = Vec::with_capacity(horizon);
        let (mut damping, mut phi_power, mut weight, mut variance) = (0.0, 1.0, 1.0, 1.0);
        for k in 1..=horizon {
            if k > 1 {
                // c_{k-1} uses phi_{k-1}, the damping sum before this step's term.
                let j = k - 1;
                let c = alpha * (1.0 + beta * damping)
                    + if m1 > 0 && j % m1 == 0 {
                        short_gain
                    } else {
                        0.0
                    }
                    + if m2 > 0 && j % m2 == 0 {
                        long_gain
                    } else {
                        0.0
                    };
                weight = lambda * weight + c;
                variance += weight * weight;
            }
            phi_power *= phi;
            damping += phi_power;
            error *= p.lambda;
            let mean = ahead.expected(&p) + error;
            ahead.step(mean, &p);
            let mean = f64::from(mean);
            point.push((center + scale * mean) as f32);
            upper.push((center + scale * (mean + spread * variance.sqrt())) as f32);
        }
        Ok(Forecast {
            point,
            upper,
            quantile,
        })
    }
}

/// Empirical quantile with linear interpolation between order statistics (type 7).
fn residual_quantile(sorted: &[f32], q: f64) -> f32 {
    match sorted {
        [] => 0.0,
        [only] => *only,
        _ => {
            let h = (sorted.len() - 1) as f64 * q;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(sorted.len() - 1);
            let (a, b) = (f64::from(sorted[lo]), f64::from(sorted[hi]));
            (a + (h - lo as f64) * (b - a)) as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_order_statistics() {
        let sorted = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(residual_quantile(&sorted, 0.5), 2.0);
        assert_eq!(residual_quantile(&sorted, 0.9), 3.6);
        assert_eq!(residual_quantile(&[], 0.9), 0.0);
    }
}
