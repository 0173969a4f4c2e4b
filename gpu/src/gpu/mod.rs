//! The wgpu path: adapter selection, and the fitter that runs the WGSL grid search.
//!
//! Setup (adapter, device, pipelines) happens once in [`GpuFitter::new`]; each
//! [`GpuFitter::fit`] only uploads a batch, dispatches, and reads back the choices.

mod adapter;
mod buffers;
mod fitter;

pub use adapter::{find_adapter, open_device, AdapterKind, AdapterSummary};
pub use fitter::{GpuFitter, MAX_STATE};
