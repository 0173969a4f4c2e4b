//! The front door: pick a device once, then fit batches on it, falling back to the CPU.
//!
//! [`Forecaster::new`] never fails: when the requested device cannot be had it runs on
//! the CPU and says why. A GPU error during a fit (device loss included) is logged once
//! with `tracing::warn!`, the batch is refitted on the CPU, and the GPU is not used again.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::batch::{Batch, Choice};
use crate::cpu;
use crate::error::{ForecastError, GpuError};
use crate::fit::Fit;
use crate::gpu::{find_adapter, open_device, AdapterKind, AdapterSummary, GpuFitter};
use crate::grid::Grid;
use crate::series::Series;

/// The `[forecast] device` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// A hardware GPU when there is one, the CPU otherwise.
    #[default]
    Auto,
    /// The CPU reference; wgpu is never touched.
    Cpu,
    /// Any wgpu adapter, software ones (lavapipe) included; the CPU if there is none.
    Gpu,
}

impl FromStr for Device {
    type Err = ForecastError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu),
            other => Err(ForecastError::UnknownDevice(other.to_string())),
        }
    }
}

/// Which implementation ran a fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The rayon CPU reference.
    Cpu,
    /// The WGSL kernels on a wgpu adapter.
    Gpu,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        })
    }
}

/// Fits Holt-Winters models to batches of series on the chosen device.
#[derive(Debug)]
pub struct Forecaster {
    requested: Device,
    gpu: Option<GpuFitter>,
    cpu_reason: Option<String>,
    gpu_failed: AtomicBool,
}

fn open_gpu(kind: AdapterKind) -> Result<GpuFitter, GpuError> {
    let adapter = find_adapter(kind)?;
    let (device, queue) = open_device(&adapter)?;
    GpuFitter::new(device, queue)
}

/// One choice per series, each naming a point of the grid.
fn plausible(choices: &[Choice], batch: &Batch<'_>) -> bool {
    choices.len() == batch.members() && choices.iter().all(|c| c.point < batch.points().len())
}

impl Forecaster {
    /// Opens the requested device; on any failure runs on the CPU and records why.
    pub fn new(device: Device) -> Self {
        let opened = match device {
            Device::Cpu => Err("device = \"cpu\" was requested".to_string()),
            Device::Auto => open_gpu(AdapterKind::Hardware).map_err(|e| e.to_string()),
            Device::Gpu => open_gpu(AdapterKind::Any).map_err(|e| e.to_string()),
        };
        match opened {
            Ok(fitter) => {
                tracing::info!(adapter = %fitter.adapter(), "forecasting on the GPU");
                Self::with_gpu(device, fitter)
            }
            Err(reason) => {
                if device == Device::Gpu {
                    tracing::warn!(%reason, "forecast device \"gpu\" unavailable; using the CPU");
                } else {
                    tracing::info!(%reason, "forecasting on the CPU");
                }
                Forecaster {
                    requested: device,
                    gpu: None,
                    cpu_reason: Some(reason),
                    gpu_failed: AtomicBool::new(false),
                }
            }
        }
    }

    /// A forecaster on a fitter the caller built (tests pass their own device this way).
    pub fn with_gpu(requested: Device, fitter: GpuFitter) -> Self {
        Forecaster {
            requested,
            gpu: Some(fitter),
            cpu_reason: None,
            gpu_failed: AtomicBool::new(false),
        }
    }

    /// The device that was asked for.
    pub fn requested(&self) -> Device {
        self.requested
    }

    /// The backend the next fit will try first.
    pub fn backend(&self) -> Backend {
        if self.active_gpu().is_some() {
            Backend::Gpu
        } else {
            Backend::Cpu
        }
    }

    /// The GPU adapter in use, if any.
    pub fn adapter(&self) -> Option<&AdapterSummary> {
        self.active_gpu().map(GpuFitter::adapter)
    }

    /// Why fits run on the CPU, when they do from the start.
    pub fn cpu_reason(&self) -> Option<&str> {
        self.cpu_reason.as_deref()
    }

    fn active_gpu(&self) -> Option<&GpuFitter> {
        self.gpu
            .as_ref()
            .filter(|_| !self.gpu_failed.load(Ordering::Acquire))
    }

    /// Fits every series over the grid, once per half-life of the grid; one [`Fit`] per
    /// series, in order, combining its half-lives' models.
    pub fn fit(&self, series: &[Series], grid: &Grid) -> Vec<Fit> {
        let batch = Batch::new(series, grid);
        let (choices, backend) = self.choose(&batch);
        let per_series = batch.half_lives().len().max(1);
        choices
            .chunks(per_series)
            .enumerate()
            .filter_map(|(index, chosen)| {
                let members = chosen
                    .iter()
                    .map(|&choice| Some((grid.point(choice.point)?, choice)))
                    .collect::<Option<Vec<_>>>()?;
                Some(Fit::new(&batch, index, &members, backend))
            })
            .collect()
    }

    /// Runs the grid search on the GPU when possible, on the CPU otherwise.
    fn choose(&self, batch: &Batch<'_>) -> (Vec<Choice>, Backend) {
        let Some(gpu) = self.active_gpu() else {
            return (cpu::fit(batch), Backend::Cpu);
        };
        match gpu.fit(batch) {
            Ok(choices) if plausible(&choices, batch) => (choices, Backend::Gpu),
            Ok(choices) => {
                let error = GpuError::Readback(format!(
                    "implausible results ({} for {} members, or a point outside the grid)",
                    choices.len(),
                    batch.members()
                ));
                self.disable_gpu(&error);
                (cpu::fit(batch), Backend::Cpu)
            }
            Err(error) if !error.is_fatal() => {
                tracing::debug!(%error, "fitting this batch on the CPU");
                (cpu::fit(batch), Backend::Cpu)
            }
            Err(error) => {
                self.disable_gpu(&error);
                (cpu::fit(batch), Backend::Cpu)
            }
        }
    }

    fn disable_gpu(&self, error: &GpuError) {
        if !self.gpu_failed.swap(true, Ordering::AcqRel) {
            tracing::warn!(%error, "GPU forecasting failed; falling back to the CPU for good");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_parses_config_values() {
        assert_eq!("auto".parse::<Device>(), Ok(Device::Auto));
        assert_eq!("gpu".parse::<Device>(), Ok(Device::Gpu));
        assert!("tpu".parse::<Device>().is_err());
    }

    #[test]
    fn cpu_device_never_opens_a_gpu() {
        let forecaster = Forecaster::new(Device::Cpu);
        assert_eq!(forecaster.backend(), Backend::Cpu);
        assert!(forecaster.adapter().is_none());
        assert!(forecaster.cpu_reason().is_some());
    }
}
