//! The batched grid-search fit, CPU reference vs wgpu kernels, at 10, 100 and 1,000
//! series x 1,024 recursions (each scoring 12 AR(1) coefficients) x 2,016 history steps.
//!
//! Series are 2,016-row windows of `taylor_halfhourly.csv` (the i-th starts at row 2i),
//! fitted with Taylor's double seasonal model (48, 336) on `Grid::standard`. Only the
//! grid search (initial states included) is timed, not building the fits.
//!
//! The `fit-combined` group fits the same series once per standard half-life (six
//! members per series, one dispatch), as the predictive policy and `tidegate forecast`
//! do by default, at 10 and 100 series.
//!
//! Run: `cargo bench -p tidegate-gpu --bench fit`. The GPU group uses any adapter, so on
//! a machine without a GPU it measures lavapipe (apt-get install mesa-vulkan-drivers) and
//! is skipped with a message when there is no adapter at all. Criterion's minimum of 10
//! samples (plus warm-up) is kept with a 5 s target, so it warns and runs longer: at
//! 1,000 series one iteration takes 20-40 s on a 2-core CPU or on lavapipe, and a full
//! run took about 15 minutes there. For a quick run, filter out the largest size:
//! `cargo bench -p tidegate-gpu --bench fit -- '/(10|100)$'`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tidegate_gpu::gpu::{find_adapter, open_device, AdapterKind, GpuFitter};
use tidegate_gpu::{cpu, Batch, Grid, Seasons, Series, Trace};

const HISTORY: usize = 2016;
const SIZES: [usize; 3] = [10, 100, 1000];

/// `count` windows of the Taylor trace, or None (with a message) when it cannot be read.
fn series(count: usize) -> Option<Vec<Series>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/traces/taylor_halfhourly.csv"
    );
    let trace = Trace::read(path)
        .map_err(|e| println!("skipping: the bench needs the shared traces: {e}"))
        .ok()?;
    let values = trace.column("value")?;
    let starts = values.len().checked_sub(HISTORY)?.max(1);
    (0..count)
        .map(|i| {
            let start = (2 * i) % starts;
            Series::new(
                values[start..start + HISTORY].to_vec(),
                Seasons::Double(48, 336),
            )
            .ok()
        })
        .collect()
}

fn gpu_fitter() -> Option<GpuFitter> {
    let adapter = find_adapter(AdapterKind::Any).ok()?;
    let (device, queue) = open_device(&adapter).ok()?;
    GpuFitter::new(device, queue).ok()
}

/// Benchmarks `grid` on the CPU reference and, when there is an adapter, on wgpu, at
/// each of `sizes` series; throughput counts recursion steps of every member.
fn bench_grid(c: &mut Criterion, name: &str, grid: &Grid, sizes: &[usize]) {
    let fitter = gpu_fitter();
    match &fitter {
        Some(f) => println!("{name}: gpu adapter: {}", f.adapter()),
        None => println!("{name}: no wgpu adapter: skipping the gpu benchmarks"),
    }
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for &count in sizes {
        let Some(batch_series) = series(count) else {
            return;
        };
        let members = count * grid.half_lives().len();
        group.throughput(Throughput::Elements(
            (members * grid.bases() * HISTORY) as u64,
        ));
        group.bench_with_input(BenchmarkId::new("cpu", count), &batch_series, |b, s| {
            b.iter(|| cpu::fit(&Batch::new(black_box(s), grid)))
        });
        if let Some(fitter) = &fitter {
            group.bench_with_input(BenchmarkId::new("gpu", count), &batch_series, |b, s| {
                b.iter(|| fitter.fit(&Batch::new(black_box(s), grid)))
            });
        }
    }
    group.finish();
}

fn fit(c: &mut Criterion) {
    let grid = Grid::standard(Seasons::Double(48, 336), false);
    bench_grid(c, "fit", &grid, &SIZES);
}

fn fit_combined(c: &mut Criterion) {
    let seasons = Seasons::Double(48, 336);
    let Ok(grid) =
        Grid::standard(seasons, false).with_half_lives(&Grid::standard_half_lives(seasons))
    else {
        return;
    };
    bench_grid(c, "fit-combined", &grid, &[10, 100]);
}

criterion_group!(benches, fit, fit_combined);
criterion_main!(benches);
