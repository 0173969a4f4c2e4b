//! Device selection and the CPU fallback: auto never takes a software adapter, "gpu"
//! does, and a lost device falls back to the CPU with exactly one warning.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure, like tests

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tidegate_gpu::gpu::{find_adapter, open_device, AdapterKind, GpuFitter};
use tidegate_gpu::{Backend, Device, Forecaster, Grid, Seasons, Series};

fn weekly_series(count: usize) -> Vec<Series> {
    (0..count)
        .map(|i| {
            let values = (0..140)
                .map(|t| 50.0 + (t % 7) as f32 * (i + 1) as f32 + (t % 3) as f32)
                .collect();
            Series::new(values, Seasons::Single(7)).unwrap()
        })
        .collect()
}

#[test]
fn auto_uses_hardware_only_and_gpu_accepts_software() {
    let auto = Forecaster::new(Device::Auto);
    match auto.adapter() {
        Some(adapter) => assert!(!adapter.software, "auto picked {adapter}"),
        None => assert_eq!(auto.backend(), Backend::Cpu),
    }
    let gpu = Forecaster::new(Device::Gpu);
    if find_adapter(AdapterKind::Any).is_ok() {
        assert_eq!(gpu.backend(), Backend::Gpu, "{:?}", gpu.cpu_reason());
        let fits = gpu.fit(
            &weekly_series(3),
            &Grid::standard(Seasons::Single(7), false),
        );
        assert!(fits.iter().all(|f| f.backend() == Backend::Gpu));
    } else {
        println!("skipping the gpu half: no wgpu adapter");
        assert!(gpu.cpu_reason().is_some());
    }
}

/// Counts WARN events; everything else is ignored.
struct WarnCounter(Arc<AtomicUsize>);

impl tracing::Subscriber for WarnCounter {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN
            && event.metadata().target().starts_with("tidegate_gpu")
        {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn lost_device_falls_back_to_cpu_with_one_warning() {
    let Ok(adapter) = find_adapter(AdapterKind::Any) else {
        println!("skipping: no wgpu adapter");
        return;
    };
    let (device, queue) = open_device(&adapter).unwrap();
    let forecaster =
        Forecaster::with_gpu(Device::Gpu, GpuFitter::new(device.clone(), queue).unwrap());
    let series = weekly_series(4);
    let grid = Grid::standard(Seasons::Single(7), false);
    let before = forecaster.fit(&series, &grid);
    assert!(before.iter().all(|f| f.backend() == Backend::Gpu));

    device.destroy();
    let warnings = Arc::new(AtomicUsize::new(0));
    let after = tracing::subscriber::with_default(WarnCounter(Arc::clone(&warnings)), || {
        let first = forecaster.fit(&series, &grid);
        let second = forecaster.fit(&series, &grid);
        assert_eq!(first.len(), series.len());
        [first, second]
    });
    assert_eq!(warnings.load(Ordering::SeqCst), 1);
    assert_eq!(forecaster.backend(), Backend::Cpu);
    for fits in &after {
        for (cpu, gpu) in fits.iter().zip(&before) {
            assert_eq!(cpu.backend(), Backend::Cpu);
            assert_eq!(cpu.point(), gpu.point());
        }
    }
}

#[test]
fn forecaster_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Forecaster>();
    shareable::<GpuFitter>();
}
