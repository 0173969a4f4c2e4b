//! The crate's error type: what went wrong, with the value and the fix where one exists.

use thiserror::Error;

/// Everything that can fail in `tidegate-gpu`.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ForecastError {
    /// A seasonal period is too short or the two periods are out of order.
    #[error("invalid seasons {seasons}: {hint}")]
    InvalidSeasons {
        /// The periods as given.
        seasons: String,
        /// How to fix them.
        hint: &'static str,
    },
    /// A series holds a NaN or an infinity.
    #[error("series value at index {index} is {value}; every value must be finite")]
    NonFiniteValue {
        /// Where the value is.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A series is too short to initialize its level, trend and seasonals.
    #[error("series has {len} points but needs at least {needed} (two full periods of the longest season)")]
    SeriesTooShort {
        /// Points given.
        len: usize,
        /// Points needed.
        needed: usize,
    },
    /// A smoothing parameter of the grid lies outside its range.
    #[error("grid value {name} = {value} is out of range; use {range}")]
    InvalidGridValue {
        /// The parameter's name (alpha, beta, gamma, omega, phi).
        name: &'static str,
        /// The offending value.
        value: f32,
        /// The allowed range.
        range: &'static str,
    },
    /// A grid axis is empty or the grid is too large to index.
    #[error("invalid grid: {0}")]
    InvalidGrid(&'static str),
    /// A quantile outside (0, 1).
    #[error("quantile {0} is out of range; use a value strictly between 0 and 1, e.g. 0.9")]
    InvalidQuantile(f64),
    /// The fit diverged at every grid point, so it cannot forecast.
    #[error(
        "every grid point diverged on this series; add smaller smoothing parameters to the grid"
    )]
    Diverged,
    /// A backtest specification that cannot be run on this series.
    #[error("invalid backtest: {0}")]
    InvalidBacktest(String),
    /// A device name other than auto, cpu or gpu.
    #[error("unknown forecast device {0:?}; use \"auto\", \"cpu\" or \"gpu\"")]
    UnknownDevice(String),
    /// A loss name other than absolute or squared.
    #[error("unknown loss {0:?}; use \"absolute\" or \"squared\"")]
    UnknownLoss(String),
    /// A trace file could not be read.
    #[error("cannot read trace {path}: {message}")]
    TraceIo {
        /// The file.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// A trace has no column of the requested name.
    #[error("the trace has no column {column:?}; its value columns are {available}")]
    UnknownColumn {
        /// The name asked for.
        column: String,
        /// The value columns it does have, comma-separated.
        available: String,
    },
    /// A trace file is not the expected CSV.
    #[error("trace line {line}: {message}")]
    TraceFormat {
        /// 1-based line number.
        line: usize,
        /// What is wrong there.
        message: String,
    },
}

/// Why the wgpu path could not run; the forecaster answers each with the CPU reference.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GpuError {
    /// No adapter of the requested kind exists on this machine.
    #[error("no {0} wgpu adapter found")]
    NoAdapter(&'static str),
    /// Opening the device failed.
    #[error("cannot open device: {0}")]
    RequestDevice(String),
    /// The device was lost (driver reset, removal, or destruction).
    #[error("device lost: {0}")]
    DeviceLost(String),
    /// wgpu reported a validation, out-of-memory or internal error.
    #[error("wgpu error: {0}")]
    Wgpu(String),
    /// Waiting for the device or mapping the result buffer failed.
    #[error("reading results back failed: {0}")]
    Readback(String),
    /// The batch is outside what the kernel or device supports; the CPU handles it.
    #[error("batch not supported on the GPU: {0}")]
    Unsupported(String),
}

impl GpuError {
    /// Whether the device itself is unusable from now on (as opposed to this one batch).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, GpuError::Unsupported(_))
    }
}
