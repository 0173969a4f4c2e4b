//! The CPU reference: every (series, grid point) SSE on rayon, then the per-series argmin,
//! in the same f32 arithmetic as the WGSL kernel.

use rayon::prelude::*;

use crate::batch::{argmin, Batch, Choice};
use crate::model::{sse, State};

/// Every point's SSE, row-major by series then grid point.
pub fn sse_grid(batch: &Batch<'_>) -> Vec<f32> {
    let points = batch.points();
    let series = batch.series();
    let inits = batch.inits();
    let seasons_of = |s: usize| series[s].seasons();
    (0..batch.pairs())
        .into_par_iter()
        .map_init(
            || None::<(usize, State)>,
            |scratch, pair| {
                let s = pair / points.len();
                let state = match scratch {
                    Some((owner, state)) if *owner == s => state,
                    _ => {
                        &mut scratch
                            .insert((s, State::start(&inits[s], seasons_of(s))))
                            .1
                    }
                };
                sse(
                    batch.values(s),
                    &inits[s],
                    &points[pair % points.len()],
                    state,
                )
            },
        )
        .collect()
}

/// The best grid point of each series.
pub fn fit(batch: &Batch<'_>) -> Vec<Choice> {
    if batch.points().is_empty() {
        return Vec::new();
    }
    argmin(&sse_grid(batch), batch.points().len())
}
