//! Helpers shared by the integration tests: traces and a wgpu device of any kind.

#![allow(dead_code)]

use tidegate_gpu::gpu::{find_adapter, open_device, AdapterKind, GpuFitter};
use tidegate_gpu::{GpuError, Trace};

/// Rows kept from the end of long traces.
pub const MAX_ROWS: usize = 2016;

pub const TRACES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/traces/");

/// A trace cut to its last [`MAX_ROWS`] rows.
pub fn trace(name: &str) -> Trace {
    full_trace(name).tail(MAX_ROWS)
}

/// A whole trace.
pub fn full_trace(name: &str) -> Trace {
    Trace::read(format!("{TRACES}{name}")).unwrap()
}

/// A fitter on any adapter (lavapipe counts); None, with a message, only when none exists.
pub fn fitter() -> Option<GpuFitter> {
    match find_adapter(AdapterKind::Any) {
        Ok(adapter) => {
            let (device, queue) = open_device(&adapter).unwrap();
            Some(GpuFitter::new(device, queue).unwrap())
        }
        Err(GpuError::NoAdapter(_)) => {
            println!("skipping: no wgpu adapter on this machine (install mesa-vulkan-drivers for lavapipe)");
            None
        }
        Err(e) => panic!("adapter search failed: {e}"),
    }
}

/// Largest |gpu - cpu| / cpu over the grid points that matter: those whose CPU loss is
/// within 4x of their series' best. (Far worse points sit near the stability boundary,
/// where a single last-bit difference, as a GPU's fused multiply-add makes, is amplified;
/// they are never chosen.)
pub fn max_relative_difference(gpu: &[f32], cpu: &[f32], points: usize) -> f64 {
    gpu.chunks(points)
        .zip(cpu.chunks(points))
        .flat_map(|(g, c)| {
            let best = c.iter().copied().fold(f32::INFINITY, f32::min);
            g.iter()
                .zip(c)
                .filter(move |(_, c)| **c <= 4.0 * best && **c < tidegate_gpu::DIVERGED)
        })
        .map(|(g, c)| (f64::from(*g) - f64::from(*c)).abs() / f64::from(c.abs()).max(1e-30))
        .fold(0.0, f64::max)
}
