//! [`GpuFitter`]: pipelines and buffers built once, then one batched grid search per call.
//!
//! A call uploads the packed batch, dispatches the loss kernel (one invocation per
//! series x recursion, each scoring a block of AR(1) coefficients) and the argmin kernel
//! (one workgroup per series), and reads back one (point, loss) pair per series. Every wgpu error inside a call is captured by error
//! scopes and returned, never panicked on; device loss is remembered and reported.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use crate::batch::{Batch, Choice};
use crate::error::GpuError;
use crate::gpu::adapter::AdapterSummary;
use crate::gpu::buffers::{binding, bytes_of, Buffers, Packed};
use crate::grid::MAX_LAMBDAS;

/// Largest short + long seasonal period the kernel holds (e.g. 336 + 48 fits; 1440 does not).
pub const MAX_STATE: usize = 1024;
/// Invocations per loss workgroup (`WORKGROUP` in loss.wgsl).
const LOSS_WORKGROUP: u64 = 64;

const LOSS_SOURCE: &str = include_str!("loss.wgsl");
const ARGMIN_SOURCE: &str = include_str!("argmin.wgsl");

/// What the device reported outside any call: loss, or an error no scope caught.
#[derive(Debug, Default)]
struct Health {
    failure: Mutex<Option<String>>,
}

impl Health {
    fn record(&self, message: String) {
        let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        failure.get_or_insert(message);
    }

    fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The wgpu grid-search fitter: built once per device, `fit` per batch.
#[derive(Debug)]
pub struct GpuFitter {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter: AdapterSummary,
    argmin: wgpu::ComputePipeline,
    /// Loss pipelines by seasonal buffer size (a power of two), compiled on first use.
    losses: Mutex<HashMap<usize, wgpu::ComputePipeline>>,
    buffers: Mutex<Buffers>,
    health: Arc<Health>,
}

/// Pops an error scope guard and turns a captured error into ours.
fn check(scope: wgpu::ErrorScopeGuard) -> Result<(), GpuError> {
    match pollster::block_on(scope.pop()) {
        Some(error) => Err(GpuError::Wgpu(error.to_string())),
        None => Ok(()),
    }
}

/// Runs `work` inside validation, out-of-memory and internal error scopes.
fn scoped<T>(
    device: &wgpu::Device,
    work: impl FnOnce() -> Result<T, GpuError>,
) -> Result<T, GpuError> {
    let internal = device.push_error_scope(wgpu::ErrorFilter::Internal);
    let memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let result = work();
    let popped = check(validation).and(check(memory)).and(check(internal));
    popped.and(result)
}

fn pipeline(
    device: &wgpu::Device,
    label: &str,
    source: &str,
    entry: &str,
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &module,
        entry_point: Some(entry),
        compilation_options: wgpu::PipelineCompilationOptions::default(),
        cache: None,
    })
}

/// Splits `groups` workgroups into an (x, y) dispatch within the per-dimension limit.
fn dispatch_shape(groups: u64, max_per_dim: u32) -> Result<(u32, u32), GpuError> {
    let max = u64::from(max_per_dim.max(1));
    let x = groups.clamp(1, max);
    let y = groups.div_ceil(x).max(1);
    if y > max {
        return Err(GpuError::Unsupported(format!(
            "{groups} workgroups exceed the dispatch limit"
        )));
    }
    Ok((x as u32, y as u32))
}

impl GpuFitter {
    /// Builds the pipelines on `device`. Installs an uncaptured-error handler and a
    /// device-lost callback on it, so wgpu never panics and later calls report the loss.
    pub fn new(device: wgpu::Device, queue: wgpu::Queue) -> Result<Self, GpuError> {
        let health = Arc::new(Health::default());
        let lost = Arc::clone(&health);
        device.set_device_lost_callback(move |reason, message| {
            lost.record(format!("{reason:?}: {message}"));
        });
        let uncaptured = Arc::clone(&health);
        device.on_uncaptured_error(Arc::new(move |error| uncaptured.record(error.to_string())));
        let argmin = scoped(&device, || {
            Ok(pipeline(&device, "argmin", ARGMIN_SOURCE, "argmin_main"))
        })?;
        Ok(GpuFitter {
            adapter: AdapterSummary::from_info(&device.adapter_info()),
            device,
            queue,
            argmin,
            losses: Mutex::new(HashMap::new()),
            buffers: Mutex::new(Buffers::new()),
            health,
        })
    }

    /// The adapter the device belongs to.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// The best grid point of every member of the batch (series x half-life).
    pub fn fit(&self, batch: &Batch<'_>) -> Result<Vec<Choice>, GpuError> {
        let words = self.run(batch, false)?;
        Ok(words
            .chunks_exact(2)
            .map(|pair| Choice {
                point: pair[0] as usize,
                loss: f32::from_bits(pair[1]),
            })
            .collect())
    }

    /// Every point's loss, row-major by member then point (for parity checks and diagnostics).
    pub fn loss_grid(&self, batch: &Batch<'_>) -> Result<Vec<f32>, GpuError> {
        Ok(self
            .run(batch, true)?
            .into_iter()
            .map(f32::from_bits)
            .collect())
    }

    /// Rejects batches the kernel or the device limits cannot take.
    fn check_batch(&self, batch: &Batch<'_>) -> Result<usize, GpuError> {
        if let Some(failure) = self.health.failure() {
            return Err(GpuError::DeviceLost(failure));
        }
        let state = batch
            .series()
            .iter()
            .map(|s| s.seasons().state_len())
            .max()
            .unwrap_or(0);
        if state > MAX_STATE {
            return Err(GpuError::Unsupported(format!(
                "seasonal periods total {state} values; the kernel holds at most {MAX_STATE}"
            )));
        }
        if batch.lambdas().len() > MAX_LAMBDAS {
            return Err(GpuError::Unsupported(format!(
                "{} AR(1) coefficients; the kernel holds at most {MAX_LAMBDAS}",
                batch.lambdas().len()
            )));
        }
        let limits = self.device.limits();
        let values: usize = batch.series().iter().map(|s| s.len()).sum();
        let largest = [
            values,
            batch.members() * batch.points().len(),
            batch.points().len() * 8,
            batch.members() * 9,
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        if u32::try_from(batch.members() * batch.points().len()).is_err()
            || bytes_of(largest) > limits.max_storage_buffer_binding_size
        {
            return Err(GpuError::Unsupported(format!(
                "{} series x {} half-lives x {} points exceed the device's buffer limits",
                batch.series().len(),
                batch.half_lives().len(),
                batch.points().len()
            )));
        }
        Ok(state.next_power_of_two().max(8))
    }

    fn loss_pipeline(&self, state: usize) -> Result<wgpu::ComputePipeline, GpuError> {
        let mut cache = self.losses.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = cache.get(&state) {
            return Ok(found.clone());
        }
        let source = LOSS_SOURCE.replace("STATE_LEN", &state.to_string());
        let built = scoped(&self.device, || {
            Ok(pipeline(
                &self.device,
                "holt-winters loss",
                &source,
                "loss_main",
            ))
        })?;
        cache.insert(state, built.clone());
        Ok(built)
    }

    /// Uploads, dispatches and reads back: the full loss matrix or the per-member choices.
    fn run(&self, batch: &Batch<'_>, whole_grid: bool) -> Result<Vec<u32>, GpuError> {
        if batch.series().is_empty() || batch.points().is_empty() {
            return Ok(Vec::new());
        }
        let state = self.check_batch(batch)?;
        let loss_pipeline = self.loss_pipeline(state)?;
        let packed = Packed::new(batch);
        let outputs = batch.members() * batch.points().len();
        let out_words = if whole_grid {
            outputs
        } else {
            2 * batch.members()
        };
        let out_bytes = out_words as u64 * 4;
        let max_dim = self.device.limits().max_compute_workgroups_per_dimension;
        let loss_shape = dispatch_shape((batch.pairs() as u64).div_ceil(LOSS_WORKGROUP), max_dim)?;
        let argmin_shape = dispatch_shape(batch.members() as u64, max_dim)?;

        let mut buffers = self.buffers.lock().unwrap_or_else(PoisonError::into_inner);
        let words = scoped(&self.device, || {
            let lambdas = batch.lambdas().len() as u32;
            let bound = buffers.upload(
                &self.device,
                &self.queue,
                &packed,
                (lambdas, batch.loss()),
                outputs,
                out_bytes,
            );
            let loss_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("loss"),
                layout: &loss_pipeline.get_bind_group_layout(0),
                entries: &numbered(vec![
                    bound.dims.as_entire_binding(),
                    binding(bound.values),
                    binding(bound.seasonals),
                    binding(bound.metas),
                    binding(bound.points),
                    binding(bound.losses),
                ]),
            });
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("holt-winters fit"),
                });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("loss"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&loss_pipeline);
                pass.set_bind_group(0, &loss_group, &[]);
                pass.dispatch_workgroups(loss_shape.0, loss_shape.1, 1);
            }
            if whole_grid {
                encoder.copy_buffer_to_buffer(bound.losses.0, 0, bound.readback, 0, out_bytes);
            } else {
                let argmin_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("argmin"),
                    layout: &self.argmin.get_bind_group_layout(0),
                    entries: &numbered(vec![
                        bound.dims.as_entire_binding(),
                        binding(bound.losses),
                        binding(bound.choices),
                    ]),
                });
                {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("argmin"),
                        timestamp_writes: None,
                    });
                    pass.set_pipeline(&self.argmin);
                    pass.set_bind_group(0, &argmin_group, &[]);
                    pass.dispatch_workgroups(argmin_shape.0, argmin_shape.1, 1);
                }
                encoder.copy_buffer_to_buffer(bound.choices.0, 0, bound.readback, 0, out_bytes);
            }
            self.queue.submit([encoder.finish()]);
            self.read_back(bound.readback, out_bytes)
        })?;
        if let Some(failure) = self.health.failure() {
            return Err(GpuError::DeviceLost(failure));
        }
        Ok(words)
    }

    /// Maps the first `bytes` of the staging buffer, waits for the GPU, and copies them out.
    fn read_back(&self, readback: &wgpu::Buffer, bytes: u64) -> Result<Vec<u32>, GpuError> {
        let (sender, receiver) = mpsc::channel();
        readback.map_async(wgpu::MapMode::Read, ..bytes, move |result| {
            // The receiver outlives the wait below; a failed send means it already gave up.
            drop(sender.send(result));
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        // The wait has run every callback, so an empty channel means the map never finished.
        receiver
            .try_recv()
            .map_err(|e| GpuError::Readback(format!("mapping did not complete: {e}")))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let words = {
            let view = readback
                .get_mapped_range(..bytes)
                .map_err(|e| GpuError::Readback(e.to_string()))?;
            view.chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        readback.unmap();
        Ok(words)
    }
}

/// Bind group entries for `resources`, bound at 0, 1, 2, ... in order.
fn numbered(resources: Vec<wgpu::BindingResource<'_>>) -> Vec<wgpu::BindGroupEntry<'_>> {
    (0u32..)
        .zip(resources)
        .map(|(binding, resource)| wgpu::BindGroupEntry { binding, resource })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_shapes_cover_every_group() {
        assert_eq!(dispatch_shape(10, 65535), Ok((10, 1)));
        assert_eq!(dispatch_shape(70000, 65535), Ok((65535, 2)));
        assert_eq!(dispatch_shape(0, 65535), Ok((1, 1)));
        assert!(dispatch_shape(u64::MAX, 65535).is_err());
    }
}
