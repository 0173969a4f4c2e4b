// One invocation per (member, recursion): additive Holt-Winters over the whole series,
// scoring every AR(1) coefficient of its block of grid points at once. A member is one
// series fitted with one discount. The loss of a point is the sum of |e_t - lambda e_{t-1}|
// (or of its square, when dims.squared is 1) over the rows from `scored_from`, the
// running total multiplied by the member's discount before each row's term is added;
// e_t is the unadjusted one-step error that drives the smoothing equations. The CPU twin is `model.rs`; keep every expression in the same
// order there (no division, no builtin but the exact `abs`) so both round alike.
//
// STATE_LEN is replaced by the host before compilation: the seasonal buffer's size,
// a power of two at least the batch's largest short + long period.

const STATE: u32 = STATE_LENu;
const MAX_LAMBDAS: u32 = 16u;
const WORKGROUP: u32 = 64u;
// f32::MAX: recorded for a point whose recursion overflowed.
const DIVERGED: f32 = 3.40282347e38;
const EXPONENT_MASK: u32 = 0x7f800000u;

struct Dims {
    // Members: (series, discount) pairs.
    num_series: u32,
    // Grid points per series: recursions x lambdas.
    num_points: u32,
    num_lambdas: u32,
    // 1: sum squared errors; 0: absolute errors.
    squared: u32,
}

struct SeriesMeta {
    value_offset: u32,
    len: u32,
    m1: u32,
    m2: u32,
    season_offset: u32,
    level_bits: u32,
    trend_bits: u32,
    scored_from: u32,
    discount_bits: u32,
}

struct Point {
    alpha: f32,
    beta: f32,
    gamma: f32,
    omega: f32,
    phi: f32,
    lambda: f32,
    pad0: f32,
    pad1: f32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read> seasonals: array<f32>;
@group(0) @binding(3) var<storage, read> metas: array<SeriesMeta>;
@group(0) @binding(4) var<storage, read> points: array<Point>;
@group(0) @binding(5) var<storage, read_write> loss_out: array<f32>;

@compute @workgroup_size(64)
fn loss_main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let pair = (wid.y * groups.x + wid.x) * WORKGROUP + lid;
    let lambdas = dims.num_lambdas;
    let bases = dims.num_points / lambdas;
    if (pair >= dims.num_series * bases) {
        return;
    }
    let series = pair / bases;
    let first = (pair % bases) * lambdas;
    let info = metas[series];
    let p = points[first];
    let m1 = info.m1;
    let discount = bitcast<f32>(info.discount_bits);
    let state_end = info.m1 + info.m2;

    var lambda: array<f32, MAX_LAMBDAS>;
    var loss: array<f32, MAX_LAMBDAS>;
    for (var k = 0u; k < lambdas; k++) {
        lambda[k] = points[first + k].lambda;
        loss[k] = 0.0;
    }
    var state: array<f32, STATE>;
    for (var k = 0u; k < state_end; k++) {
        state[k] = seasonals[info.season_offset + k];
    }
    var level = bitcast<f32>(info.level_bits);
    var trend = bitcast<f32>(info.trend_bits);
    var i1 = 0u;
    var i2 = m1;
    var previous = 0.0;
    for (var t = 0u; t < info.len; t++) {
        let y = values[info.value_offset + t];
        let damped = p.phi * trend;
        let base = level + damped;
        var s1 = 0.0;
        if (m1 > 0u) {
            s1 = state[i1];
        }
        var s2 = 0.0;
        if (info.m2 > 0u) {
            s2 = state[i2];
        }
        let e = y - ((base + s1) + s2);
        let new_level = p.alpha * ((y - s1) - s2) + (1.0 - p.alpha) * base;
        let new_trend = p.beta * (new_level - level) + (1.0 - p.beta) * damped;
        if (m1 > 0u) {
            state[i1] = p.gamma * ((y - new_level) - s2) + (1.0 - p.gamma) * s1;
            i1 += 1u;
            if (i1 == m1) {
                i1 = 0u;
            }
        }
        if (info.m2 > 0u) {
            state[i2] = p.omega * ((y - new_level) - s1) + (1.0 - p.omega) * s2;
            i2 += 1u;
            if (i2 == state_end) {
                i2 = m1;
            }
        }
        level = new_level;
        trend = new_trend;
        if (t >= info.scored_from) {
            for (var k = 0u; k < lambdas; k++) {
                let adjusted = e - lambda[k] * previous;
                var term = abs(adjusted);
                if (dims.squared != 0u) {
                    term = adjusted * adjusted;
                }
                loss[k] = loss[k] * discount + term;
            }
        }
        previous = e;
    }
    let row = series * dims.num_points + first;
    for (var k = 0u; k < lambdas; k++) {
        var total = loss[k];
        // A bit test, not `total != total`: WGSL lets compilers assume floats are finite.
        if ((bitcast<u32>(total) & EXPONENT_MASK) == EXPONENT_MASK) {
            total = DIVERGED;
        }
        loss_out[row + k] = total;
    }
}
