//! Packing a batch into the kernels' storage layout, and the device buffers that hold it.
//!
//! Buffers are created on first use and grown (to the next power of two) only when a
//! batch outgrows them, so repeated fits of a similar size allocate nothing.

use std::num::NonZeroU64;

use crate::batch::Batch;
use crate::grid::Loss;

/// Words per member record (`SeriesMeta` in loss.wgsl).
const META_WORDS: usize = 9;
/// Words per grid point record (`Point` in loss.wgsl).
const POINT_WORDS: usize = 8;

/// A batch flattened into the arrays the loss kernel binds.
#[derive(Debug)]
pub struct Packed {
    pub values: Vec<f32>,
    pub seasonals: Vec<f32>,
    pub metas: Vec<u32>,
    pub points: Vec<f32>,
}

impl Packed {
    /// Flattens the batch: each series' values and initial seasonals once, and one record
    /// per member pointing at them. Offsets are in elements and fit in u32 (checked by the
    /// caller).
    pub fn new(batch: &Batch<'_>) -> Self {
        let series = batch.series();
        let mut packed = Packed {
            values: Vec::with_capacity(series.iter().map(|s| s.len()).sum()),
            seasonals: Vec::new(),
            metas: Vec::with_capacity(batch.members() * META_WORDS),
            points: Vec::with_capacity(batch.points().len() * POINT_WORDS),
        };
        let mut offsets = Vec::with_capacity(series.len());
        for (i, init) in batch.inits().iter().enumerate() {
            offsets.push((packed.values.len() as u32, packed.seasonals.len() as u32));
            packed.values.extend_from_slice(batch.values(i));
            packed.seasonals.extend_from_slice(&init.seasonals);
        }
        for member in 0..batch.members() {
            let (i, discount) = batch.member(member);
            let (s, init) = (&series[i], &batch.inits()[i]);
            packed.metas.extend_from_slice(&[
                offsets[i].0,
                s.len() as u32,
                s.seasons().short(),
                s.seasons().long(),
                offsets[i].1,
                init.level.to_bits(),
                init.trend.to_bits(),
                init.scored_from as u32,
                discount.to_bits(),
            ]);
        }
        for p in batch.points() {
            packed
                .points
                .extend_from_slice(&[p.alpha, p.beta, p.gamma, p.omega, p.phi, p.lambda, 0.0, 0.0]);
        }
        packed
    }
}

/// Bytes of `len` 4-byte elements, at least 16 so no binding is empty.
pub fn bytes_of(len: usize) -> u64 {
    (len as u64 * 4).max(16)
}

/// A growable device buffer with fixed usage.
#[derive(Debug)]
struct Slot {
    label: &'static str,
    usage: wgpu::BufferUsages,
    buffer: Option<wgpu::Buffer>,
}

impl Slot {
    fn new(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        Slot {
            label,
            usage,
            buffer: None,
        }
    }

    /// A buffer of at least `size` bytes, reallocated only when the current one is smaller.
    fn ensure(&mut self, device: &wgpu::Device, size: u64) -> &wgpu::Buffer {
        let max = device.limits().max_buffer_size;
        let current = self.buffer.take().filter(|b| b.size() >= size);
        self.buffer.insert(current.unwrap_or_else(|| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size: size.next_power_of_two().min(max).max(size),
                usage: self.usage,
                mapped_at_creation: false,
            })
        }))
    }
}

/// Every buffer the two kernels bind, plus the readback staging buffer.
#[derive(Debug)]
pub struct Buffers {
    dims: Slot,
    values: Slot,
    seasonals: Slot,
    metas: Slot,
    points: Slot,
    losses: Slot,
    choices: Slot,
    readback: Slot,
}

/// The bound range of each buffer for one dispatch.
#[derive(Debug)]
pub struct Bound<'a> {
    pub dims: &'a wgpu::Buffer,
    pub values: (&'a wgpu::Buffer, u64),
    pub seasonals: (&'a wgpu::Buffer, u64),
    pub metas: (&'a wgpu::Buffer, u64),
    pub points: (&'a wgpu::Buffer, u64),
    pub losses: (&'a wgpu::Buffer, u64),
    pub choices: (&'a wgpu::Buffer, u64),
    pub readback: &'a wgpu::Buffer,
}

impl Buffers {
    /// Empty slots; nothing is allocated until the first batch.
    pub fn new() -> Self {
        use wgpu::BufferUsages as U;
        let input = U::STORAGE | U::COPY_DST;
        Buffers {
            dims: Slot::new("dims", U::UNIFORM | U::COPY_DST),
            values: Slot::new("values", input),
            seasonals: Slot::new("seasonals", input),
            metas: Slot::new("series", input),
            points: Slot::new("points", input),
            losses: Slot::new("losses", U::STORAGE | U::COPY_SRC),
            choices: Slot::new("choices", U::STORAGE | U::COPY_SRC),
            readback: Slot::new("readback", U::MAP_READ | U::COPY_DST),
        }
    }

    /// Sizes the buffers for `packed` and uploads it: `lambdas` AR(1) coefficients per
    /// recursion scored by `loss`, `outputs` losses (series x points), `readback` bytes
    /// to read back.
    pub fn upload(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        packed: &Packed,
        (lambdas, loss): (u32, Loss),
        outputs: usize,
        readback: u64,
    ) -> Bound<'_> {
        let members = (packed.metas.len() / META_WORDS) as u32;
        let points = (packed.points.len() / POINT_WORDS) as u32;
        let sizes = (
            bytes_of(packed.values.len()),
            bytes_of(packed.seasonals.len()),
            bytes_of(packed.metas.len()),
            bytes_of(packed.points.len()),
            bytes_of(outputs),
            bytes_of(2 * members as usize),
        );
        let write = |slot: &mut Slot, data: &[u8], size: u64| {
            let buffer = slot.ensure(device, size);
            queue.write_buffer(buffer, 0, data);
        };
        write(
            &mut self.dims,
            bytemuck::cast_slice(&[members, points, lambdas, u32::from(loss == Loss::Squared)]),
            16,
        );
        write(
            &mut self.values,
            bytemuck::cast_slice(&packed.values),
            sizes.0,
        );
        write(
            &mut self.seasonals,
            bytemuck::cast_slice(&packed.seasonals),
            sizes.1,
        );
        write(
            &mut self.metas,
            bytemuck::cast_slice(&packed.metas),
            sizes.2,
        );
        write(
            &mut self.points,
            bytemuck::cast_slice(&packed.points),
            sizes.3,
        );
        self.losses.ensure(device, sizes.4);
        self.choices.ensure(device, sizes.5);
        self.readback.ensure(device, readback);
        Bound {
            dims: self.dims.ensure(device, 16),
            values: (self.values.ensure(device, sizes.0), sizes.0),
            seasonals: (self.seasonals.ensure(device, sizes.1), sizes.1),
            metas: (self.metas.ensure(device, sizes.2), sizes.2),
            points: (self.points.ensure(device, sizes.3), sizes.3),
            losses: (self.losses.ensure(device, sizes.4), sizes.4),
            choices: (self.choices.ensure(device, sizes.5), sizes.5),
            readback: self.readback.ensure(device, readback),
        }
    }
}

/// A binding of the first `size` bytes of `buffer`.
pub fn binding((buffer, size): (&wgpu::Buffer, u64)) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer,
        offset: 0,
        size: NonZeroU64::new(size),
    })
}
