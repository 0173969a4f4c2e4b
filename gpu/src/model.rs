//! The Holt-Winters recursion in f32: the CPU twin of `gpu/sse.wgsl`.
//!
//! Additive Holt-Winters with an optionally damped trend and zero, one or two seasonal
//! periods (Taylor 2003's double seasonal form, without his AR(1) error adjustment).
//! Every operation below appears in the same order in the WGSL kernel, with no division
//! and no library function, so both backends round identically wherever the GPU compiler
//! does not fuse a multiply and an add.

use crate::grid::Params;
use crate::init::InitState;
use crate::series::Seasons;

/// The SSE recorded for a grid point whose recursion overflowed (inf or NaN).
pub const DIVERGED: f32 = f32::MAX;

/// Maps a non-finite sum of squares to [`DIVERGED`], as the kernel does.
pub fn finite_or_diverged(sse: f32) -> f32 {
    if sse.is_finite() {
        sse
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

    /// Consumes one observation; returns the one-step-ahead error made before seeing it.
    #[inline(always)]
    pub fn step(&mut self, y: f32, p: &Params) -> f32 {
        let damped = p.phi * self.trend;
        let base = self.level + damped;
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

    /// The seasonal term that applies `k` steps after the last observation (k >= 1).
    pub fn seasonal_ahead(&self, k: usize) -> f32 {
        let mut total = 0.0;
        if self.short > 0 {
            total += self.seasonals[(self.i1 + k - 1) % self.short];
        }
        if self.long > 0 {
            total += self.seasonals[self.short + (self.i2 - self.short + k - 1) % self.long];
        }
        total
    }
}

/// Sum of squared one-step errors over the whole series, accumulated in order.
pub fn sse(values: &[f32], init: &InitState, params: &Params, state: &mut State) -> f32 {
    state.reset(init);
    let mut sse = 0.0_f32;
    for &y in values {
        let e = state.step(y, params);
        sse += e * e;
    }
    finite_or_diverged(sse)
}

/// Runs the recursion once, keeping the final state and every one-step residual.
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
