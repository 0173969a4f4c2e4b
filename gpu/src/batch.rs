//! A batch ready to fit: standardized series, the grid's points, and each series'
//! initial state (with the first row its loss scores).
//!
//! Each series is fitted once per half-life of the grid: a batch has one *member* per
//! (series, half-life), member `m` being series `m / half_lives` with discount
//! `m % half_lives`. Members of a series share its values and initial state.
//!
//! Built once per fit call on the CPU; both backends read the same batch, which is what
//! makes their starting states identical. Each series is standardized (mean 0, standard
//! deviation 1, computed in f64) so f32 keeps its precision whatever the units: a level
//! of 20,000 MW or of -800 with noise of 0.3 would otherwise lose the errors in rounding.

use rayon::prelude::*;

use crate::grid::{discount, Grid, Loss, Params};
use crate::init::{initial_state, InitState};
use crate::series::Series;

/// Series, grid points and initial states of one fit call.
#[derive(Debug)]
pub struct Batch<'a> {
    series: &'a [Series],
    standardized: Vec<Vec<f32>>,
    scalings: Vec<Scaling>,
    points: Vec<Params>,
    lambdas: Vec<f32>,
    loss: Loss,
    half_lives: Vec<f32>,
    discounts: Vec<f32>,
    inits: Vec<InitState>,
}

/// How a series was standardized: `value = center + scale * standardized`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaling {
    /// The series mean.
    pub center: f64,
    /// The series standard deviation (1 for a constant series).
    pub scale: f64,
}

impl Scaling {
    /// Mean and population standard deviation of `values`.
    pub fn of(values: &[f32]) -> Self {
        let n = values.len().max(1) as f64;
        let center = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let variance = values
            .iter()
            .map(|&v| (f64::from(v) - center).powi(2))
            .sum::<f64>()
            / n;
        let scale = variance.sqrt();
        Scaling {
            center,
            scale: if scale > 0.0 && scale.is_finite() {
                scale
            } else {
                1.0
            },
        }
    }

    /// The standardized values, rounded to f32.
    pub fn apply(&self, values: &[f32]) -> Vec<f32> {
        values
            .iter()
            .map(|&v| ((f64::from(v) - self.center) / self.scale) as f32)
            .collect()
    }
}

/// The grid point a backend chose for one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    /// Index of the point in the grid.
    pub point: usize,
    /// Its loss on the standardized series, the sum of absolute AR(1)-adjusted one-step
    /// errors over the scored rows ([`crate::DIVERGED`] when it overflowed).
    pub loss: f32,
}

impl<'a> Batch<'a> {
    /// Standardizes every series, computes its initial state, and lists the grid's points.
    pub fn new(series: &'a [Series], grid: &Grid) -> Self {
        let prepared: Vec<(Scaling, Vec<f32>, InitState)> = series
            .par_iter()
            .map(|s| {
                let scaling = Scaling::of(s.values());
                let values = scaling.apply(s.values());
                let init = initial_state(&values, s.seasons());
                (scaling, values, init)
            })
            .collect();
        let mut batch = Batch {
            series,
            standardized: Vec::with_capacity(series.len()),
            scalings: Vec::with_capacity(series.len()),
            points: grid.points().collect(),
            lambdas: grid.lambdas().to_vec(),
            loss: grid.loss(),
            half_lives: grid.half_lives().to_vec(),
            discounts: grid.half_lives().iter().map(|&h| discount(h)).collect(),
            inits: Vec::with_capacity(series.len()),
        };
        for (scaling, values, init) in prepared {
            batch.scalings.push(scaling);
            batch.standardized.push(values);
            batch.inits.push(init);
        }
        batch
    }

    /// The standardized values of series `index`, the input of both backends.
    pub fn values(&self, index: usize) -> &[f32] {
        &self.standardized[index]
    }

    /// How each series was standardized.
    pub fn scalings(&self) -> &[Scaling] {
        &self.scalings
    }

    /// The series, in input order.
    pub fn series(&self) -> &'a [Series] {
        self.series
    }

    /// The grid's points, in index order.
    pub fn points(&self) -> &[Params] {
        &self.points
    }

    /// The grid's AR(1) coefficients: each recursion scores these consecutive points.
    pub fn lambdas(&self) -> &[f32] {
        &self.lambdas
    }

    /// What the fit minimizes.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// Recursions per series: the grid's points without the `lambda` axis.
    pub fn bases(&self) -> usize {
        self.points.len() / self.lambdas.len().max(1)
    }

    /// Initial states of the standardized series, one per series.
    pub fn inits(&self) -> &[InitState] {
        &self.inits
    }

    /// The grid's half-lives, in rows: each series is fitted once per half-life.
    pub fn half_lives(&self) -> &[f32] {
        &self.half_lives
    }

    /// Members: (series, half-life) fits, series-major.
    pub fn members(&self) -> usize {
        self.series.len() * self.half_lives.len()
    }

    /// The series of member `member` and the per-row discount of its loss.
    pub fn member(&self, member: usize) -> (usize, f32) {
        let per_series = self.discounts.len().max(1);
        (member / per_series, self.discounts[member % per_series])
    }

    /// (member, recursion) pairs to run; each scores `lambdas().len()` grid points.
    pub fn pairs(&self) -> usize {
        self.members() * self.bases()
    }
}

/// Low mantissa bits the argmin ignores: losses that agree to about 1.5e-5 relative tie.
///
/// On lavapipe both backends are bit-identical, but a hardware GPU compiler may fuse a
/// multiply and an add (WGSL allows it), moving a loss in its last bits; comparing
/// truncated losses keeps such noise from flipping the choice between near-equal points.
pub const TIE_BITS: u32 = 7;

/// The key the argmin minimizes: the loss (never negative) with its low mantissa bits
/// dropped, whose bit pattern orders like the float.
pub fn tie_key(loss: f32) -> u32 {
    loss.to_bits() >> TIE_BITS
}

/// The argmin order shared with the GPU reduction: lower key, then lower point index.
pub fn better(key: u32, point: u32, best_key: u32, best_point: u32) -> bool {
    key < best_key || (key == best_key && point < best_point)
}

/// Per-member argmin over a row-major (member x point) loss matrix, in [`better`] order.
pub fn argmin(losses: &[f32], points: usize) -> Vec<Choice> {
    losses
        .chunks(points.max(1))
        .map(|row| {
            let (mut best_key, mut best_point) = (tie_key(crate::DIVERGED), u32::MAX);
            for (p, &v) in (0u32..).zip(row) {
                if better(tie_key(v), p, best_key, best_point) {
                    best_key = tie_key(v);
                    best_point = p;
                }
            }
            let point = best_point as usize;
            Choice {
                point,
                loss: row.get(point).copied().unwrap_or(crate::DIVERGED),
            }
        })
        .collect()
}
