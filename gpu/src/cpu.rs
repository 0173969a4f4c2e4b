//! The CPU reference: every (member, grid point) loss on rayon, then the per-member
//! argmin, in the same f32 arithmetic as the WGSL kernel.

use rayon::prelude::*;

use crate::batch::{argmin, Batch, Choice};
use crate::model::{losses, State};

/// Every point's loss, row-major by member then grid point.
pub fn loss_grid(batch: &Batch<'_>) -> Vec<f32> {
    let points = batch.points();
    let lambdas = batch.lambdas();
    let bases = batch.bases();
    let series = batch.series();
    let inits = batch.inits();
    let mut out = vec![0.0; batch.members() * points.len()];
    if lambdas.is_empty() {
        return out;
    }
    out.par_chunks_mut(lambdas.len()).enumerate().for_each_init(
        || None::<(usize, State)>,
        |scratch, (pair, block)| {
            let (s, discount) = batch.member(pair / bases);
            let state = match scratch {
                Some((owner, state)) if *owner == s => state,
                _ => {
                    &mut scratch
                        .insert((s, State::start(&inits[s], series[s].seasons())))
                        .1
                }
            };
            let params = &points[(pair % bases) * lambdas.len()];
            let scoring = (lambdas, batch.loss(), discount);
            losses(batch.values(s), &inits[s], params, scoring, state, block);
        },
    );
    out
}

/// The best grid point of each member.
pub fn fit(batch: &Batch<'_>) -> Vec<Choice> {
    if batch.points().is_empty() {
        return Vec::new();
    }
    argmin(&loss_grid(batch), batch.points().len())
}
