//! Initial level, trend and seasonals by classical decomposition over the first
//! full periods of the longest season, and the first row whose error a fit scores.
//!
//! Computed once per series on the CPU (in f64, rounded to f32) and handed unchanged to
//! both backends, so the GPU and CPU recursions start from bit-identical states.
//!
//! The decomposition has seen the rows it averages, so one-step errors there flatter
//! every model that barely updates its seasonals. As R's `HoltWinters` does, a fit scores
//! only the rows after them, as long as at least one longest period is left to score.

use crate::series::Seasons;

/// Most full periods the initialization averages over.
const MAX_INIT_PERIODS: usize = 4;

/// The model state just before the first observation.
#[derive(Debug, Clone, PartialEq)]
pub struct InitState {
    /// Level at time -1.
    pub level: f32,
    /// Trend at time -1.
    pub trend: f32,
    /// Short seasonals (index = time mod short period) followed by the long seasonals.
    pub seasonals: Vec<f32>,
    /// Index of the first row whose one-step error counts toward the fit's loss: the
    /// first row after those the decomposition averaged, or 0 for a short series.
    pub scored_from: usize,
}

fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len().max(1) as f64;
    values.sum::<f64>() / n
}

fn centered(mut values: Vec<f64>) -> Vec<f64> {
    let m = mean(values.iter().copied());
    values.iter_mut().for_each(|v| *v -= m);
    values
}

/// Classical decomposition: K = clamp(n / L - 1, 2, 4) full periods of the longest
/// season L (one period is kept back for scoring when the series has three or more) give
/// period means; their slope is the trend, the line through them the level, and the
/// detrended values averaged by phase (short season first, then what is left for the
/// long season) the seasonals, each centered to sum to zero.
pub fn initial_state(values: &[f32], seasons: Seasons) -> InitState {
    let y: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    let period = seasons.longest();
    let periods = (y.len() / period)
        .saturating_sub(1)
        .clamp(2, MAX_INIT_PERIODS);
    let means: Vec<f64> = (0..periods)
        .map(|j| mean(y[j * period..(j + 1) * period].iter().copied()))
        .collect();
    let first = means[0];
    let trend = (means[periods - 1] - first) / ((periods - 1) * period) as f64;
    let center = (period as f64 - 1.0) / 2.0;
    let line = |t: f64| first + trend * (t - center);
    let span = periods * period;
    let detrended: Vec<f64> = (0..span).map(|t| y[t] - line(t as f64)).collect();

    let short = seasons.short() as usize;
    let long = seasons.long() as usize;
    let mut seasonals = Vec::with_capacity(seasons.state_len());
    if short > 0 {
        let phase = |i: usize| mean((i..span).step_by(short).map(|t| detrended[t]));
        let short_part = centered((0..short).map(phase).collect());
        if long > 0 {
            let rest = |k: usize| {
                mean((0..periods).map(|j| {
                    let t = j * long + k;
                    detrended[t] - short_part[t % short]
                }))
            };
            let long_part = centered((0..long).map(rest).collect());
            seasonals.extend(short_part.iter().chain(&long_part).map(|&v| v as f32));
        } else {
            seasonals.extend(short_part.iter().map(|&v| v as f32));
        }
    }
    let scored_from = if y.len() >= span + period { span } else { 0 };
    InitState {
        level: line(-1.0) as f32,
        trend: trend as f32,
        seasonals,
        scored_from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_level_trend_and_pattern_of_a_clean_series() {
        let pattern = [3.0, -1.0, -2.0, 0.0];
        let values: Vec<f32> = (0..40)
            .map(|t| 10.0 + 0.5 * t as f32 + pattern[t % 4])
            .collect();
        let init = initial_state(&values, Seasons::Single(4));
        assert!((init.trend - 0.5).abs() < 1e-5, "{init:?}");
        assert!((init.level - 9.5).abs() < 1e-4, "{init:?}");
        for (got, want) in init.seasonals.iter().zip(pattern) {
            assert!((got - want).abs() < 1e-4, "{init:?}");
        }
        assert_eq!(
            init.scored_from, 16,
            "four periods averaged, the rest scored"
        );
    }

    #[test]
    fn keeps_a_period_back_for_scoring_when_it_can() {
        let scored = |n: usize| initial_state(&vec![1.0; n], Seasons::Single(10)).scored_from;
        assert_eq!(
            scored(20),
            0,
            "two periods: both initialize, every row is scored"
        );
        assert_eq!(scored(29), 0);
        assert_eq!(scored(30), 20);
        assert_eq!(scored(45), 30);
        assert_eq!(scored(50), 40);
        assert_eq!(scored(500), 40);
    }

    #[test]
    fn double_season_splits_short_and_long_patterns() {
        let values: Vec<f32> = (0..96)
            .map(|t| {
                100.0 + if t % 4 == 0 { 4.0 } else { 0.0 } + if t % 12 < 4 { 6.0 } else { 0.0 }
            })
            .collect();
        let init = initial_state(&values, Seasons::Double(4, 12));
        assert_eq!(init.seasonals.len(), 16);
        let sum: f32 = init.seasonals[4..].iter().sum();
        assert!(sum.abs() < 1e-3);
        assert!(init.seasonals[4] > init.seasonals[8] + 5.0, "{init:?}");
    }
}
