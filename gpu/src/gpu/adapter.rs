//! Finding an adapter and opening a device for the forecasting kernels.
//!
//! Adapters are ranked discrete > integrated > virtual > other > CPU (software, e.g.
//! Mesa's lavapipe). A hardware-only request skips the last two. `WGPU_BACKEND`
//! narrows the backends searched; the default is Vulkan, Metal and DX12.

use std::fmt;

use crate::error::GpuError;

/// Which adapters a request accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterKind {
    /// A real GPU only (discrete, integrated or virtualized).
    Hardware,
    /// Any adapter, software rasterizers such as lavapipe included.
    Any,
}

/// What the forecaster runs on, for logs and the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The driver's name for the adapter, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// The graphics API, e.g. "Vulkan".
    pub backend: String,
    /// Whether it is a software adapter running on the CPU.
    pub software: bool,
}

impl AdapterSummary {
    /// Summarizes wgpu's adapter description.
    pub fn from_info(info: &wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            software: info.device_type == wgpu::DeviceType::Cpu,
        }
    }
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.software {
            "software"
        } else {
            "hardware"
        };
        write!(f, "{} ({}, {kind})", self.name, self.backend)
    }
}

fn rank(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// The best adapter of the requested kind, if any.
pub fn find_adapter(kind: AdapterKind) -> Result<wgpu::Adapter, GpuError> {
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends = wgpu::Backends::PRIMARY;
    let descriptor = descriptor.with_env();
    let backends = descriptor.backends;
    let instance = wgpu::Instance::new(descriptor);
    let adapters = pollster::block_on(instance.enumerate_adapters(backends));
    let missing = match kind {
        AdapterKind::Hardware => "hardware",
        AdapterKind::Any => "usable",
    };
    adapters
        .into_iter()
        .filter(|a| kind == AdapterKind::Any || rank(a.get_info().device_type) <= 2)
        .filter(|a| {
            a.get_downlevel_capabilities()
                .flags
                .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        })
        .min_by_key(|a| rank(a.get_info().device_type))
        .ok_or(GpuError::NoAdapter(missing))
}

/// Opens a device on `adapter` with the adapter's full limits, so large batches fit.
pub fn open_device(adapter: &wgpu::Adapter) -> Result<(wgpu::Device, wgpu::Queue), GpuError> {
    let descriptor = wgpu::DeviceDescriptor {
        label: Some("tidegate-forecast"),
        required_limits: adapter.limits(),
        ..Default::default()
    };
    pollster::block_on(adapter.request_device(&descriptor))
        .map_err(|e| GpuError::RequestDevice(e.to_string()))
}
