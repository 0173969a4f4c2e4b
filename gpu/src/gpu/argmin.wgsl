// One workgroup per member (a series fitted with one discount): the grid point with the lowest loss key, the lowest index
// among equal keys. The key is the loss's bit pattern shifted right by TIE_BITS (losses
// are never negative, so the bits order like the floats): the same order as
// `batch::better` on the CPU. Each invocation scans a strided slice of the row, then a tree reduction in
// workgroup memory combines the 256 results.

const WORKGROUP: u32 = 256u;
const TIE_BITS: u32 = 7u;
// tie key of f32::MAX, the loss of a diverged point.
const DIVERGED_KEY: u32 = 0x7f7fffffu >> TIE_BITS;

struct Dims {
    num_series: u32,
    num_points: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> loss_in: array<f32>;
// (point index, loss bits) per member.
@group(0) @binding(2) var<storage, read_write> choices: array<vec2<u32>>;

var<workgroup> best_key: array<u32, WORKGROUP>;
var<workgroup> best_point: array<u32, WORKGROUP>;

fn better(key: u32, point: u32, than_key: u32, than_point: u32) -> bool {
    return key < than_key || (key == than_key && point < than_point);
}

@compute @workgroup_size(256)
fn argmin_main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let series = wid.y * groups.x + wid.x;
    if (series >= dims.num_series) {
        return;
    }
    let row = series * dims.num_points;
    var key = DIVERGED_KEY;
    var point = 0xffffffffu;
    for (var p = lid; p < dims.num_points; p += WORKGROUP) {
        let k = bitcast<u32>(loss_in[row + p]) >> TIE_BITS;
        if (better(k, p, key, point)) {
            key = k;
            point = p;
        }
    }
    best_key[lid] = key;
    best_point[lid] = point;
    workgroupBarrier();
    for (var stride = WORKGROUP / 2u; stride > 0u; stride = stride / 2u) {
        if (lid < stride) {
            let other_key = best_key[lid + stride];
            let other_point = best_point[lid + stride];
            if (better(other_key, other_point, best_key[lid], best_point[lid])) {
                best_key[lid] = other_key;
                best_point[lid] = other_point;
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let chosen = min(best_point[0], dims.num_points - 1u);
        choices[series] = vec2<u32>(chosen, bitcast<u32>(loss_in[row + chosen]));
    }
}
