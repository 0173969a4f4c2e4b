//! The fitted models of a series (one per half-life of the grid) and their averaged
//! forecasts.
//!
//! Each model's point forecast is its conditional mean: the expected one-step error `k`
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
//!
//! A [`Fit`] of several half-lives averages its models' point forecasts and their
//! quantiles.
//!
//! The averaged point forecast is then combined with the seasonal copy of the longest
//! period (last week's value at the same hour, for hourly data with a weekly season),
//! weighted by their recent accuracy: with `E_m` and `E_c` the absolute one-step errors
//! of the models' average and of the copy, each summed with a discount of half-life
//! [`COPY_HALF_LIFE`] rows, the copy's weight is `E_m^p / (E_m^p + E_c^p)` with
//! `p` = [`COPY_WEIGHT_POWER`]: each forecast is weighted by a power of the inverse of
//! its recent mean absolute error (Bates and Granger 1969 weigh by the inverse mean
//! squared error; discounting as in Stock and Watson 2004).
//! The higher power hands the weight over more decisively to whichever of the two has
//! been right in the last hours.
//! Where the pattern repeats exactly (a flight schedule in an unchanged week) the copy
//! has made no error lately and takes over; where the last cycle was unusual (a
//! holiday) the models do. The upper quantile keeps the models' spread above the
//! combined point.

use std::collections::VecDeque;

use crate::batch::{Batch, Choice, Scaling};
use crate::error::ForecastError;
use crate::forecaster::Backend;
use crate::grid::{Loss, Params};
use crate::model::{run, State, DIVERGED};
use crate::series::Seasons;

/// The fitted models of one series, one per half-life of the grid, whose forecasts are
/// averaged (with the grid's default single half-life, one model). States and residuals
/// are on the standardized series; outputs are scaled back to the series' units.
///
/// Averaging the forecasts of fits that weigh the history differently is a forecast
/// combination: where the pattern changed recently the short half-lives follow it, where
/// it did not the long ones average out noise, and the mean of both is rarely far from
/// the better one. The upper quantile is the mean of the models' quantiles (quantile
/// averaging).
#[derive(Debug, Clone)]
pub struct Fit {
    members: Vec<Member>,
    kind: Loss,
    /// Mean absolute combined adjusted one-step error over the scored rows, standardized.
    mean_abs: f64,
    /// Mean squared combined adjusted residual after the warm-up, standardized.
    mean_square: f64,
    scaling: Scaling,
    seasons: Seasons,
    backend: Backend,
    /// None without seasons, and when the history ends within one cycle of the
    /// longest season after the warm-up.
    copy: Option<SeasonalCopy>,
}

/// Half-life, in rows, of the one-step errors that weigh the seasonal copy against the
/// models. Short: the weight follows which of the two has been right in the last few
/// rows. On the accuracy script's origins, with the copy then weighed by inverse squared
/// errors, half-lives of 2 to 4 rows scored within 1% of each other on every series,
/// 12 rows up to 8% worse on the flight series and 168 rows up to 12% worse
/// (benches/RESULTS.md, "Forecast accuracy").
pub const COPY_HALF_LIFE: f64 = 3.0;

/// The power of the inverse recent mean absolute errors that weighs the seasonal copy
/// against the models. Averaged over six sets of origins, powers 3 to 6 scored within
/// 1.5% of each other and beat inverse squared errors on the flight series (by 1-7%)
/// at a cost of 0.3-0.6% on taylor's h = 12; power 1 (inverse mean absolute error)
/// lost taylor 25% at h = 1 (benches/RESULTS.md, "Forecast accuracy").
pub const COPY_WEIGHT_POWER: f64 = 4.0;

/// The seasonal copy of the longest period and the running errors that weigh it.
#[derive(Debug, Clone)]
struct SeasonalCopy {
    /// The last cycle of observations, standardized, oldest first.
    cycle: VecDeque<f32>,
    /// Discounted sum of the copy's absolute one-step errors.
    copy_errors: f64,
    /// Discounted sum of the absolute one-step errors of the models' averaged forecast.
    model_errors: f64,
}

impl SeasonalCopy {
    /// The copy's weight in the point forecast, in [0, 1] (one half before any error).
    fn weight(&self) -> f64 {
        // Scaled by the larger sum first, so the powers neither overflow nor vanish.
        let larger = self.copy_errors.max(self.model_errors);
        if larger > 0.0 {
            let model = (self.model_errors / larger).powf(COPY_WEIGHT_POWER);
            let copy = (self.copy_errors / larger).powf(COPY_WEIGHT_POWER);
            model / (model + copy)
        } else {
            0.5
        }
    }

    /// The copy's forecast for the next row, standardized.
    fn next(&self) -> f32 {
        self.cycle.front().copied().unwrap_or(0.0)
    }

    /// Records the observation `y` and the models' one-step error on it.
    fn record(&mut self, y: f32, model_error: f64) {
        let decay = 0.5_f64.powf(1.0 / COPY_HALF_LIFE);
        let copy_error = f64::from(y - self.next());
        if copy_error.is_finite() && model_error.is_finite() {
            self.copy_errors = self.copy_errors * decay + copy_error.abs();
            self.model_errors = self.model_errors * decay + model_error.abs();
        }
        self.push(y);
    }

    /// Appends a row to the cycle without scoring it (a missing observation's stand-in).
    fn push(&mut self, y: f32) {
        self.cycle.pop_front();
        self.cycle.push_back(y);
    }
}

/// One model of a [`Fit`]: the point chosen for one half-life, with its final state.
#[derive(Debug, Clone)]
struct Member {
    half_life: f32,
    params: Params,
    point: usize,
    /// On the standardized series, as the backend computed it.
    loss: f32,
    state: State,
    /// The unadjusted one-step error of the last observation, standardized.
    last_error: f32,
    sorted_residuals: Vec<f32>,
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
    /// Re-runs each member's chosen point on the CPU for its final state and residuals.
    pub(crate) fn new(
        batch: &Batch<'_>,
        index: usize,
        chosen: &[(Params, Choice)],
        backend: Backend,
    ) -> Self {
        let seasons = batch.series()[index].seasons();
        let values = batch.values(index);
        let init = &batch.inits()[index];
        let warm_up = init
            .scored_from
            .max(seasons.longest().min(values.len() / 2));
        let mut combined = vec![0.0_f64; values.len()];
        let members: Vec<Member> = chosen
            .iter()
            .zip(batch.half_lives().iter().cycle())
            .map(|(&(params, choice), &half_life)| {
                let (state, errors) = run(values, init, seasons, &params);
                let adjusted: Vec<f32> = errors
                    .iter()
                    .scan(0.0_f32, |previous, &e| {
                        let adjusted = e - params.lambda * *previous;
                        *previous = e;
                        Some(adjusted)
                    })
                    .collect();
                for (total, &r) in combined.iter_mut().zip(&adjusted) {
                    *total += f64::from(r);
                }
                let mut sorted_residuals: Vec<f32> = adjusted[warm_up.min(adjusted.len())..]
                    .iter()
                    .copied()
                    .filter(|r| r.is_finite())
                    .collect();
                sorted_residuals.sort_by(f32::total_cmp);
                Member {
                    half_life,
                    params,
                    point: choice.point,
                    loss: choice.loss,
                    state,
                    last_error: errors.last().copied().unwrap_or(0.0),
                    sorted_residuals,
                }
            })
            .collect();
        let count = members.len().max(1) as f64;
        combined.iter_mut().for_each(|r| *r /= count);
        let scored = &combined[init.scored_from.min(combined.len())..];
        let mean_abs = scored.iter().map(|r| r.abs()).sum::<f64>() / scored.len().max(1) as f64;
        let settled: Vec<f64> = combined[warm_up.min(combined.len())..]
            .iter()
            .copied()
            .filter(|r| r.is_finite())
            .collect();
        let mean_square =
            settled.iter().map(|r| r.powi(2)).sum::<f64>() / settled.len().max(1) as f64;
        let period = seasons.short().max(seasons.long()) as usize;
        let first = warm_up.max(period);
        let copy = (period > 0 && values.len() > first).then(|| {
            let mut copy = SeasonalCopy {
                cycle: values[first - period..first].iter().copied().collect(),
                copy_errors: 0.0,
                model_errors: 0.0,
            };
            for (&y, &error) in values[first..].iter().zip(&combined[first..]) {
                copy.record(y, error);
            }
            copy
        });
        Fit {
            members,
            kind: batch.loss(),
            mean_abs,
            mean_square,
            scaling: batch.scalings()[index],
            seasons,
            backend,
            copy,
        }
    }

    fn first(&self) -> &Member {
        &self.members[0]
    }

    /// The chosen parameters of the first model (the only one unless the grid has
    /// several half-lives; [`Fit::members`] lists them all).
    pub fn params(&self) -> Params {
        self.first().params
    }

    /// Index in the grid of the first model's chosen point.
    pub fn point(&self) -> usize {
        self.first().point
    }

    /// Each model combined: the half-life of its fit in rows (infinite: every row weighs
    /// the same) and its chosen parameters.
    pub fn members(&self) -> impl Iterator<Item = (f32, Params)> + '_ {
        self.members.iter().map(|m| (m.half_life, m.params))
    }

    /// The first model's loss at its chosen point: the sum of absolute (or squared, as
    /// the grid's [`Loss`] says) AR(1)-adjusted one-step errors over the scored rows,
    /// discounted as its half-life says, in the series' units (squared units for
    /// [`Loss::Squared`]; [`DIVERGED`] when every point diverged).
    pub fn loss(&self) -> f64 {
        if !self.is_finite() {
            return f64::from(DIVERGED);
        }
        let unit = match self.kind {
            Loss::Absolute => self.scaling.scale,
            Loss::Squared => self.scaling.scale * self.scaling.scale,
        };
        f64::from(self.first().loss) * unit
    }

    /// What the fit minimized.
    pub fn loss_kind(&self) -> Loss {
        self.kind
    }

    /// Mean absolute AR(1)-adjusted one-step error of the combined forecast over the
    /// scored rows, in the series' units.
    pub fn mae(&self) -> f64 {
        self.mean_abs * self.scaling.scale
    }

    /// Root mean squared one-step error of the combined forecast after the warm-up, in
    /// the series' units.
    pub fn rmse(&self) -> f64 {
        self.mean_square.sqrt() * self.scaling.scale
    }

    /// Whether every model's chosen point stayed finite (false: every point of some
    /// half-life diverged).
    pub fn is_finite(&self) -> bool {
        self.members.iter().all(|m| m.loss < DIVERGED)
    }

    /// The seasons the series was fitted with.
    pub fn seasons(&self) -> Seasons {
        self.seasons
    }

    /// The backend that ran the grid search.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The same fit without the seasonal copy: its forecast is the models' average alone.
    pub fn without_seasonal_copy(mut self) -> Self {
        self.copy = None;
        self
    }

    /// The weight of the seasonal copy of the longest period in the point forecast, in
    /// [0, 1]; the models' average has the rest. None when the history was too short
    /// for a copy (the forecast is the models' alone).
    pub fn copy_weight(&self) -> Option<f64> {
        self.copy.as_ref().map(SeasonalCopy::weight)
    }

    /// Advances every model's final state by one new observation (in the series' units)
    /// with its fitted parameters, without refitting: forecasts then start after it. A
    /// non-finite value is treated as missing and replaced by each model's one-step point
    /// forecast.
    pub fn observe(&mut self, value: f32) {
        let Scaling { center, scale } = self.scaling;
        let standardized = value
            .is_finite()
            .then(|| ((f64::from(value) - center) / scale) as f32);
        let (mut expected_sum, mut error_sum) = (0.0_f64, 0.0_f64);
        for member in &mut self.members {
            let p = member.params;
            let expected = member.state.expected(&p) + p.lambda * member.last_error;
            let previous = member.last_error;
            member.last_error = member.state.step(standardized.unwrap_or(expected), &p);
            expected_sum += f64::from(expected);
            error_sum += f64::from(member.last_error - p.lambda * previous);
        }
        let count = self.members.len().max(1) as f64;
        if let Some(copy) = &mut self.copy {
            match standardized {
                Some(y) => copy.record(y, error_sum / count),
                None => {
                    let w = copy.weight();
                    let point = (1.0 - w) * expected_sum / count + w * f64::from(copy.next());
                    copy.push(point as f32);
                }
            }
        }
    }

    /// Point forecasts and the `quantile` for steps 1..=`horizon`: the mean of the
    /// models' point forecasts combined with the seasonal copy, and above it the mean
    /// of the models' spreads to their quantiles.
    pub fn forecast(&self, horizon: usize, quantile: f64) -> Result<Forecast, ForecastError> {
        if !(quantile > 0.0 && quantile < 1.0) {
            return Err(ForecastError::InvalidQuantile(quantile));
        }
        if !self.is_finite() {
            return Err(ForecastError::Diverged);
        }
        let (mut mean, mut upper) = (vec![0.0_f64; horizon], vec![0.0_f64; horizon]);
        for member in &self.members {
            member.forecast(self.seasons, quantile, &mut mean, &mut upper);
        }
        let count = self.members.len() as f64;
        if let Some(copy) = &self.copy {
            let w = copy.weight();
            let cycle = copy.cycle.len();
            for (k, (mean, upper)) in mean.iter_mut().zip(upper.iter_mut()).enumerate() {
                let spread = *upper - *mean;
                *mean = (1.0 - w) * *mean + w * count * f64::from(copy.cycle[k % cycle]);
                *upper = *mean + spread;
            }
        }
        let Scaling { center, scale } = self.scaling;
        let unscale = |v: &f64| (center + scale * (v / count)) as f32;
        Ok(Forecast {
            point: mean.iter().map(unscale).collect(),
            upper: upper.iter().map(unscale).collect(),
            quantile,
        })
    }
}

impl Member {
    /// Adds this model's standardized point forecasts and `quantile`s for steps
    /// 1..=`mean.len()` to `mean` and `upper`.
    fn forecast(&self, seasons: Seasons, quantile: f64, mean: &mut [f64], upper: &mut [f64]) {
        let p = self.params;
        let (alpha, beta, phi) = (f64::from(p.alpha), f64::from(p.beta), f64::from(p.phi));
        let lambda = f64::from(p.lambda);
        let short_gain = f64::from(p.gamma) * (1.0 - alpha);
        let long_gain = f64::from(p.omega) * (1.0 - alpha);
        let (m1, m2) = (seasons.short() as usize, seasons.long() as usize);
        let spread = f64::from(residual_quantile(&self.sorted_residuals, quantile));

        let mut ahead = self.state.clone();
        let mut error = self.last_error;
        let (mut damping, mut phi_power, mut weight, mut variance) = (0.0, 1.0, 1.0, 1.0);
        for (k, (mean, upper)) in (1..).zip(mean.iter_mut().zip(upper.iter_mut())) {
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
            let expected = ahead.expected(&p) + error;
            ahead.step(expected, &p);
            let expected = f64::from(expected);
            *mean += expected;
            *upper += expected + spread * variance.sqrt();
        }
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

    fn copy_with(copy_errors: f64, model_errors: f64) -> SeasonalCopy {
        SeasonalCopy {
            cycle: VecDeque::from(vec![0.0; 4]),
            copy_errors,
            model_errors,
        }
    }

    #[test]
    fn copy_weight_is_a_power_of_the_inverse_errors() {
        assert_eq!(copy_with(0.0, 0.0).weight(), 0.5);
        assert_eq!(copy_with(3.0, 3.0).weight(), 0.5);
        // The models erred twice as much: 2^4 to 1.
        assert!((copy_with(1.0, 2.0).weight() - 16.0 / 17.0).abs() < 1e-12);
        assert!((copy_with(2.0, 1.0).weight() - 1.0 / 17.0).abs() < 1e-12);
        // An exact copy takes all the weight, however small the models' errors.
        assert_eq!(copy_with(0.0, 1e-300).weight(), 1.0);
        // Sums far from one neither overflow nor vanish in the powers.
        assert!((copy_with(1e200, 2e200).weight() - 16.0 / 17.0).abs() < 1e-12);
        assert!((copy_with(1e-200, 2e-200).weight() - 16.0 / 17.0).abs() < 1e-12);
    }

    #[test]
    fn copy_errors_are_discounted_absolute_errors() {
        let mut copy = copy_with(0.0, 0.0);
        // The copy says 0 for the next row; 2 arrives and the models missed it by -1.
        copy.record(2.0, -1.0);
        assert_eq!((copy.copy_errors, copy.model_errors), (2.0, 1.0));
        // One half-life later, a row both got right: each sum has halved.
        for _ in 0..COPY_HALF_LIFE as usize {
            let next = copy.next();
            copy.record(next, 0.0);
        }
        assert!(
            (copy.copy_errors - 1.0).abs() < 1e-12,
            "{}",
            copy.copy_errors
        );
        assert!(
            (copy.model_errors - 0.5).abs() < 1e-12,
            "{}",
            copy.model_errors
        );
    }
}
