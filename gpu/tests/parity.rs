//! GPU (any adapter, lavapipe included) against the CPU reference: the same chosen grid
//! point and losses within 1e-4 relative, on every shared trace and on random series,
//! for both losses (absolute errors, and squared errors: the SSE), with and without the
//! discounted fits of several half-lives.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure, like tests

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tidegate_gpu::gpu::GpuFitter;
use tidegate_gpu::{cpu, Batch, Grid, Loss, Seasons, Series};

const TOLERANCE: f64 = 1e-4;

/// Checks choices and the whole loss grid; returns the largest relative loss difference.
fn assert_parity(fitter: &GpuFitter, series: &[Series], grid: &Grid, what: &str) -> f64 {
    let batch = Batch::new(series, grid);
    let cpu_choices = cpu::fit(&batch);
    let gpu_choices = fitter.fit(&batch).unwrap();
    assert_eq!(cpu_choices.len(), series.len() * grid.half_lives().len());
    assert_eq!(gpu_choices.len(), cpu_choices.len());
    let mut chosen = 0.0_f64;
    for (s, (g, c)) in gpu_choices.iter().zip(&cpu_choices).enumerate() {
        assert_eq!(
            g.point, c.point,
            "{what} series {s}: GPU chose {g:?}, CPU {c:?}"
        );
        let rel = (f64::from(g.loss) - f64::from(c.loss)).abs() / f64::from(c.loss).max(1e-30);
        assert!(rel <= TOLERANCE, "{what} series {s}: loss {g:?} vs {c:?}");
        chosen = chosen.max(rel);
    }
    let (gpu_grid, cpu_grid) = (fitter.loss_grid(&batch).unwrap(), cpu::loss_grid(&batch));
    let identical = gpu_grid
        .iter()
        .zip(&cpu_grid)
        .filter(|(g, c)| g.to_bits() == c.to_bits())
        .count();
    let worst = common::max_relative_difference(&gpu_grid, &cpu_grid, grid.len());
    assert!(worst <= TOLERANCE, "{what}: grid loss differs by {worst:e}");
    println!(
        "parity {what}: {} members x {} points; chosen loss max rel diff {chosen:e}, near-best grid {worst:e}, {identical}/{} losses bit-identical",
        batch.members(),
        grid.len(),
        gpu_grid.len()
    );
    worst
}

fn trace_series(name: &str, seasons: Seasons) -> Vec<Series> {
    common::trace(name)
        .columns()
        .map(|(_, values)| Series::new(values.to_vec(), seasons).unwrap())
        .collect()
}

#[test]
fn parity_on_every_trace() {
    let Some(fitter) = common::fitter() else {
        return;
    };
    println!("adapter: {}", fitter.adapter());
    let cases = [
        ("hyndsight_daily_pageviews.csv", Seasons::Single(7)),
        (
            "nycflights_hourly_departures_by_origin.csv",
            Seasons::Double(24, 168),
        ),
        (
            "nycflights_hourly_departures_by_origin.csv",
            Seasons::Single(24),
        ),
        ("taylor_halfhourly.csv", Seasons::Double(48, 336)),
        ("taylor_halfhourly.csv", Seasons::Single(48)),
        ("wwwusage_minutely.csv", Seasons::None),
    ];
    let mut covered: Vec<String> = std::fs::read_dir(common::TRACES)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    for (name, seasons) in cases {
        let series = trace_series(name, seasons);
        let standard = Grid::standard_half_lives(seasons);
        let variants = [
            (false, Loss::Absolute, &standard[..]),
            (true, Loss::Absolute, &[f32::INFINITY][..]),
            (false, Loss::Squared, &[f32::INFINITY][..]),
        ];
        for (damped, loss, half_lives) in variants {
            let grid = Grid::standard(seasons, damped)
                .with_loss(loss)
                .with_half_lives(half_lives)
                .unwrap();
            assert_parity(
                &fitter,
                &series,
                &grid,
                &format!(
                    "{name} seasons={seasons} damped={damped} loss={loss} half-lives={half_lives:?}"
                ),
            );
        }
        covered.retain(|n| n != name);
    }
    assert!(
        covered.is_empty(),
        "traces without a parity case: {covered:?}"
    );
}

/// A random series: level, trend, a pattern for each period, and noise.
fn random_series() -> impl Strategy<Value = Series> {
    let seasons = prop_oneof![
        Just(Seasons::None),
        (2u32..30).prop_map(Seasons::Single),
        (2u32..12, 2u32..5).prop_map(|(m1, k)| Seasons::Double(m1, m1 * k)),
    ];
    seasons.prop_flat_map(|seasons| {
        let min = seasons.min_len();
        (
            Just(seasons),
            min..min + 300,
            -1e3f32..1e3,
            -2f32..2.0,
            0.5f32..50.0,
            any::<u64>(),
        )
            .prop_map(|(seasons, len, level, slope, scale, seed)| {
                let mut state = seed | 1;
                let mut noise = move || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 2001) as f32 / 1000.0 - 1.0
                };
                let (m1, m2) = (
                    seasons.short().max(1) as usize,
                    seasons.long().max(1) as usize,
                );
                let pattern1: Vec<f32> = (0..m1).map(|_| scale * noise()).collect();
                let pattern2: Vec<f32> = (0..m2).map(|_| scale * noise()).collect();
                let values = (0..len)
                    .map(|t| {
                        level
                            + slope * t as f32
                            + pattern1[t % m1]
                            + pattern2[t % m2]
                            + scale * 0.3 * noise()
                    })
                    .collect();
                Series::new(values, seasons).unwrap()
            })
    })
}

fn random_grid() -> impl Strategy<Value = Grid> {
    let axis = |lo: f32, hi: f32, max: usize| prop::collection::vec(lo..=hi, 1..=max);
    (
        axis(0.0, 1.0, 5),
        axis(0.0, 1.0, 3),
        axis(0.0, 1.0, 4),
        axis(0.0, 1.0, 3),
        axis(0.5, 1.0, 3),
        axis(0.0, 1.0, 6),
        prop_oneof![Just(Loss::Absolute), Just(Loss::Squared)],
        prop::collection::vec(prop_oneof![Just(f32::INFINITY), 1.0f32..500.0], 1..=3),
    )
        .prop_map(|(a, b, g, o, p, l, loss, half_lives)| {
            Grid::new(&a, &b, &g, &o, &p, &l)
                .unwrap()
                .with_loss(loss)
                .with_half_lives(&half_lives)
                .unwrap()
        })
}

#[test]
fn parity_on_random_series() {
    let Some(fitter) = common::fitter() else {
        return;
    };
    let config = Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = (prop::collection::vec(random_series(), 1..6), random_grid());
    let worst = std::cell::Cell::new(0.0_f64);
    runner
        .run(&strategy, |(series, grid)| {
            let batch = Batch::new(&series, &grid);
            let cpu_choices = cpu::fit(&batch);
            let gpu_choices = fitter
                .fit(&batch)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            for (g, c) in gpu_choices.iter().zip(&cpu_choices) {
                prop_assert_eq!(g.point, c.point);
            }
            let gpu_grid = fitter
                .loss_grid(&batch)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let diff =
                common::max_relative_difference(&gpu_grid, &cpu::loss_grid(&batch), grid.len());
            prop_assert!(diff <= TOLERANCE, "relative loss difference {:e}", diff);
            worst.set(worst.get().max(diff));
            Ok(())
        })
        .unwrap();
    println!(
        "parity random series: max relative loss difference {:e}",
        worst.get()
    );
}
