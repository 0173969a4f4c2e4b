//! Rolling-origin backtest, as run by `tidegate forecast`.
//!
//! Origins are rows `n-H, n-H-S, ...` (K of them). The model for an origin is fitted on
//! at most the W rows before it, never a later one, and forecasts the H rows from it.
//! All origins are fitted as one batch, so the GPU sees them together. Accuracy is MASE:
//! each origin's mean absolute error over the horizon divided by the in-sample mean
//! absolute error of the seasonal naive forecast with the short period N (1 without
//! seasons), averaged over the origins whose scale is positive.

use std::io::{self, Write};

use crate::error::ForecastError;
use crate::forecaster::{Backend, Forecaster};
use crate::grid::Grid;
use crate::series::{Seasons, Series};

/// What to backtest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacktestSpec {
    /// Seasonal periods of the model.
    pub seasons: Seasons,
    /// Steps forecast from each origin (H).
    pub horizon: usize,
    /// Number of origins (K).
    pub origins: usize,
    /// Rows between consecutive origins (S).
    pub spacing: usize,
    /// Most rows before an origin a fit may use (W).
    pub window: usize,
    /// Whether the forecasts combine the models with the seasonal copy (as the
    /// predictive policy's do); false: the models' average alone.
    pub seasonal_copy: bool,
}

/// One forecast step at one origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BacktestRow {
    /// Row index of the origin: the first row forecast, the first row not seen.
    pub origin: usize,
    /// Step ahead, 1..=H; the row forecast is `origin + step - 1`.
    pub step: usize,
    /// The observed value.
    pub actual: f32,
    /// The point forecast.
    pub forecast: f32,
}

/// Rows and accuracy of a backtest.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    /// Every (origin, step), origins in increasing order.
    pub rows: Vec<BacktestRow>,
    /// Mean MASE of the model over origins with a positive scale (None if there are none).
    pub mase: Option<f64>,
    /// Mean MASE of the seasonal naive forecast over the same origins, for comparison.
    pub naive_mase: Option<f64>,
    /// The backend that ran the fits.
    pub backend: Backend,
}

impl BacktestSpec {
    /// The origins, in increasing order, after checking they all have enough history.
    pub fn origins_for(&self, len: usize) -> Result<Vec<usize>, ForecastError> {
        let invalid = |m: String| Err(ForecastError::InvalidBacktest(m));
        self.seasons.validate()?;
        let needed = self.seasons.min_len();
        for (name, value) in [
            ("horizon", self.horizon),
            ("origins", self.origins),
            ("spacing", self.spacing),
        ] {
            if value == 0 {
                return invalid(format!("{name} is 0; it must be at least 1"));
            }
        }
        if len < needed + 1 {
            return invalid(format!(
                "the series has {len} rows; seasons {} need {needed} rows before the first \
                 origin and at least one row to forecast",
                self.seasons
            ));
        }
        if self.window < needed {
            return invalid(format!(
                "history {} is shorter than the {needed} rows seasons {} need (two of the \
                 longest period); use a history of at least {needed}",
                self.window, self.seasons
            ));
        }
        if self.horizon > len - needed {
            return invalid(format!(
                "horizon {} is too long for {len} rows: a fit needs {needed} rows before its \
                 origin; use a horizon of at most {}",
                self.horizon,
                len - needed
            ));
        }
        let room = len - needed - self.horizon;
        let span = (self.origins - 1).saturating_mul(self.spacing);
        if span > room {
            return invalid(format!(
                "{} origins spaced {} with horizon {} need {} rows ({needed} before the first \
                 origin); the series has {len}: use at most {} origins, or a spacing of at most {}",
                self.origins,
                self.spacing,
                self.horizon,
                span.saturating_add(needed + self.horizon),
                room / self.spacing + 1,
                room / (self.origins - 1)
            ));
        }
        let last = len - self.horizon;
        Ok((0..self.origins)
            .rev()
            .map(|k| last - k * self.spacing)
            .collect())
    }
}

impl Backtest {
    /// Writes the rows as CSV: `origin,step,actual,forecast`, one line per row.
    pub fn write_csv(&self, mut out: impl Write) -> io::Result<()> {
        writeln!(out, "origin,step,actual,forecast")?;
        for row in &self.rows {
            writeln!(
                out,
                "{},{},{},{}",
                row.origin, row.step, row.actual, row.forecast
            )?;
        }
        out.flush()
    }
}

/// Mean absolute error of the seasonal naive forecast inside `window` (0 when undefined).
fn naive_scale(window: &[f32], period: usize) -> f64 {
    let diffs = window.len().saturating_sub(period);
    if diffs == 0 {
        return 0.0;
    }
    let total: f64 = window
        .windows(period + 1)
        .map(|w| f64::from((w[period] - w[0]).abs()))
        .sum();
    total / diffs as f64
}

/// Fits every origin in one batch and scores the forecasts.
pub fn backtest(
    forecaster: &Forecaster,
    values: &[f32],
    spec: &BacktestSpec,
    grid: &Grid,
) -> Result<Backtest, ForecastError> {
    let origins = spec.origins_for(values.len())?;
    let windows: Vec<&[f32]> = origins
        .iter()
        .map(|&o| &values[o.saturating_sub(spec.window)..o])
        .collect();
    let series = windows
        .iter()
        .map(|w| Series::new(w.to_vec(), spec.seasons))
        .collect::<Result<Vec<_>, _>>()?;
    let fits = forecaster.fit(&series, grid);
    let backend = fits.first().map_or(forecaster.backend(), |f| f.backend());
    let period = spec.seasons.short().max(1) as usize;
    let (mut rows, mut scored) = (Vec::new(), Vec::new());
    for ((&origin, window), fit) in origins.iter().zip(&windows).zip(fits) {
        let fit = if spec.seasonal_copy {
            fit
        } else {
            fit.without_seasonal_copy()
        };
        let forecast = fit.forecast(spec.horizon, 0.5)?;
        let (mut model_error, mut naive_error) = (0.0, 0.0);
        for (k, &predicted) in forecast.point.iter().enumerate() {
            let row = origin + k;
            let actual = values[row];
            let naive = values[row - period * (k / period + 1)];
            model_error += f64::from((actual - predicted).abs());
            naive_error += f64::from((actual - naive).abs());
            rows.push(BacktestRow {
                origin,
                step: k + 1,
                actual,
                forecast: predicted,
            });
        }
        let scale = naive_scale(window, period);
        if scale > 0.0 {
            let h = spec.horizon as f64;
            scored.push((model_error / h / scale, naive_error / h / scale));
        }
    }
    let mean = |pick: fn(&(f64, f64)) -> f64| {
        (!scored.is_empty()).then(|| scored.iter().map(pick).sum::<f64>() / scored.len() as f64)
    };
    Ok(Backtest {
        rows,
        mase: mean(|s| s.0),
        naive_mase: mean(|s| s.1),
        backend,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecaster::Device;

    fn spec(horizon: usize, origins: usize, spacing: usize, window: usize) -> BacktestSpec {
        BacktestSpec {
            seasons: Seasons::Single(4),
            horizon,
            origins,
            spacing,
            window,
            seasonal_copy: true,
        }
    }

    #[test]
    fn origins_step_back_from_the_end_and_need_history() {
        assert_eq!(spec(2, 3, 5, 8).origins_for(30), Ok(vec![18, 23, 28]));
        assert!(spec(2, 3, 5, 8).origins_for(19).is_err());
        assert!(spec(2, 3, 5, 7).origins_for(30).is_err());
        let message = |s: BacktestSpec, len| s.origins_for(len).unwrap_err().to_string();
        assert!(message(spec(0, 3, 5, 8), 30).contains("horizon is 0"));
        assert!(message(spec(23, 1, 1, 8), 30).contains("at most 22"));
        assert!(message(spec(2, 3, 11, 8), 30).contains("at most 2 origins"));
        assert!(message(spec(2, 1, 1, 8), 8).contains("the series has 8 rows"));
        assert_eq!(spec(22, 1, 1, 8).origins_for(30), Ok(vec![8]));
    }

    #[test]
    fn fits_never_see_rows_from_their_origin_on() {
        let pattern = [5.0, 1.0, -2.0, -4.0];
        let mut values: Vec<f32> = (0..60)
            .map(|t| 50.0 + 0.1 * t as f32 + pattern[t % 4])
            .collect();
        // A spike after the only origin must not change its forecast.
        let clean = backtest(
            &Forecaster::new(Device::Cpu),
            &values,
            &spec(4, 1, 1, 40),
            &Grid::standard(Seasons::Single(4), false),
        )
        .unwrap();
        values[57] = 1e4;
        let spiked = backtest(
            &Forecaster::new(Device::Cpu),
            &values,
            &spec(4, 1, 1, 40),
            &Grid::standard(Seasons::Single(4), false),
        )
        .unwrap();
        let forecasts = |b: &Backtest| b.rows.iter().map(|r| r.forecast).collect::<Vec<_>>();
        assert_eq!(forecasts(&clean), forecasts(&spiked));
        assert_eq!(clean.rows.len(), 4);
        assert_eq!(clean.rows[0].origin, 56);
        let mut csv = Vec::new();
        clean.write_csv(&mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], "origin,step,actual,forecast");
        assert!(
            lines[4].starts_with(&format!("56,4,{},", values[59])),
            "{csv}"
        );
        assert!(clean.mase.unwrap_or(f64::NAN) < 0.05, "{clean:?}");
    }
}
