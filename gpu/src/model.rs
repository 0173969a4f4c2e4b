//! The Holt-Winters recursion in f32 and the fit's loss: the CPU twin of `gpu/loss.wgsl`.
//!
//! Additive Holt-Winters with an optionally damped trend and zero, one or two seasonal
//! periods (Taylor 2003's double seasonal form), with Taylor's AR(1) adjustment of the
//! one-step error: the forecast adds `lambda e_{t-1}`. As in Taylor's method (and R's
//! `dshw`) the smoothing equations see the unadjusted error `e_t`, so one run of the
//! recursion scores every `lambda` at once. The loss is the sum of absolute adjusted
//! errors `|e_t - lambda e_{t-1}|` from the row [`InitState::scored_from`] on (or, with
//! [`Loss::Squared`], of their squares): the absolute error is what MASE scores, and a
//! holiday's one-off errors do not dominate it as their squares would. The sum may be
//! discounted, weighing recent rows more (see [`crate::Grid::with_half_lives`]).
//! Every operation below appears in the same order in the WGSL
//! kernel, with no division and no library function but the exact `abs`, so both
//! backends round identically wherever the GPU compiler does not fuse a multiply and an
//! add.

use crate::grid::{Loss, Params};
use crate::init::InitState;
use crate::series::Seasons;

/// The loss recorded for a grid point whose recursion overflowed (inf or NaN).
pub const DIVERGED: f32 = f32::MAX;

/// Maps a non-finite loss to [`DIVERGED`], as the kernel does.
pub fn finite_or_diverged(loss: f32) -> f32 {
    if loss.is_finite() {
        loss
    } else {
        DIVERGED
    }
}

/// Level, trend and the rolling seasonal buffer of one model, with the buffer's cursors.
#[derive(Debug, Clone)]
pub struct State {
    /// Current level.
    pub level: f32,
    /// Current trend.
    pub trend: f32,
    /// Short seasonals then long seasonals, indexed by time mod period.
    pub seasonals: Vec<f32>,
    short: usize,
    long: usize,
    i1: usize,
    i2: usize,
}

impl State {
    /// The state before the first observation.
    pub fn start(init: &InitState, seasons: Seasons) -> Self {
        let mut state = State {
            level: 0.0,
            trend: 0.0,
            seasonals: Vec::new(),
            short: seasons.short() as usize,
            long: seasons.long() as usize,
            i1: 0,
            i2: 0,
        };
        state.reset(init);
        state
    }

    /// Rewinds to the initial state, reusing the seasonal buffer's allocation.
    pub fn reset(&mut self, init: &InitState) {
        self.level = init.level;
        self.trend = init.trend;
        self.seasonals.clear();
        self.seasonals.extend_from_slice(&init.seasonals);
        self.i1 = 0;
        self.i2 = self.short;
    }

    /// The short and long seasonals of the next observation (0 for a missing season).
    #[inline(always)]
    fn next_seasonals(&self) -> (f32, f32) {
        let s1 = if self.short > 0 {
            self.seasonals[self.i1]
        } else {
            0.0
        };
        let s2 = if self.long > 0 {
            self.seasonals[self.i2]
        } else {
            0.0
        };
        (s1, s2)
    }

    /// The one-step-ahead forecast without the AR(1) term, summed as [`State::step`] does.
    pub fn expected(&self, p: &Params) -> f32 {
        let base = self.level + p.phi * self.trend;
        let (s1, s2) = self.next_seasonals();
        (base + s1) + s2
    }

    /// Consumes one observation; returns the one-step-ahead error made before seeing it.
    #[inline(always)]
    pub fn step(&mut self, y: f32, p: &Params) -> f32 {
        let damped = p.phi * self.trend;
        let base = self.level + damped;
        let (s1, s2) = self.next_seasonals();
        let error = y - ((base + s1) + s2);
        let level = p.alpha * ((y - s1) - s2) + (1.0 - p.alpha) * base;
        let trend = p.beta * (level - self.level) + (1.0 - p.beta) * damped;
        if self.short > 0 {
            self.seasonals[self.i1] = p.gamma * ((y - level) - s2) + (1.0 - p.gamma) * s1;
            self.i1 += 1;
            if self.i1 == self.short {
                self.i1 = 0;
            }
        }
        if self.long > 0 {
            self.seasonals[self.i2] = p.omega * ((y - level) - s1) + (1.0 - p.omega) * s2;
            self.i2 += 1;
            if self.i2 == self.short + self.long {
                self.i2 = self.short;
            }
        }
        self.level = level;
        self.trend = trend;
        error
    }
}

/// The loss of every AR(1) coefficient in `lambdas` (one recursion with `params`' other
/// parameters), written to `out`: the sum of `|e_t - lambda e_{t-1}|` (or of its square)
/// over the rows from `init.scored_from`, each row's term weighted `discount` times as
/// much as the next row's (the running total is multiplied by `discount` before each
/// term is added; 1 weighs every row the same), accumulated in order ([`DIVERGED`] where
/// it overflowed).
pub fn losses(
    values: &[f32],
    init: &InitState,
    params: &Params,
    (lambdas, loss, discount): (&[f32], Loss, f32),
    state: &mut State,
    out: &mut [f32],
) {
    state.reset(init);
    out.fill(0.0);
    let mut previous = 0.0_f32;
    for (t, &y) in values.iter().enumerate() {
        let e = state.step(y, params);
        if t >= init.scored_from {
            for (total, &lambda) in out.iter_mut().zip(lambdas) {
                let adjusted = e - lambda * previous;
                let term = match loss {
                    Loss::Absolute => adjusted.abs(),
                    Loss::Squared => adjusted * adjusted,
                };
                *total = *total * discount + term;
            }
        }
        previous = e;
    }
    out.iter_mut()
        .for_each(|total| *total = finite_or_diverged(*total));
}

/// Runs the recursion once, keeping the final state and every unadjusted one-step error.
pub fn run(
    values: &[f32],
    init: &InitState,
    seasons: Seasons,
    params: &Params,
) -> (State, Vec<f32>) {
    let mut state = State::start(init, seasons);
    let residuals = values.iter().map(|&y| state.step(y, params)).collect();
    (state, residuals)
}
