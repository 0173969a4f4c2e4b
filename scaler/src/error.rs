//! The error type at this crate's boundary (everything except driver calls).
//!
//! Driver calls have their own classified [`crate::DriverError`], because the loop
//! reacts to its class; everything a caller configures or asks for reports a
//! [`ScalerError`] that names the field or file, the value, and the fix.

use std::path::PathBuf;

/// What went wrong configuring the scaler, changing its overrides, or running the simulator.
#[derive(Debug, thiserror::Error)]
pub enum ScalerError {
    /// A policy, override or driver setting is out of range.
    #[error("scaler.{field} = {value}: {fix}")]
    Invalid {
        /// The key, as written in `[pool.NAME.scaler]` or `[driver.NAME]`.
        field: &'static str,
        /// The offending value.
        value: String,
        /// How to fix it.
        fix: String,
    },
    /// A schedule's cron expression does not parse.
    #[error("scaler.schedule cron {expression:?}: {reason}; use 5 fields: minute hour day-of-month month day-of-week, e.g. \"0 8 * * MON-FRI\"")]
    Cron {
        /// The expression as written.
        expression: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A trace file is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Trace {
        /// The trace file.
        path: PathBuf,
        /// 1-based line number (0 when the whole file is at fault).
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Encoding JSON failed.
    #[error("encoding JSON for {what}: {source}")]
    Json {
        /// What was being encoded.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// Drawing the simulator's SVG timeline failed.
    #[error("drawing {}: {message}", path.display())]
    Plot {
        /// The SVG file.
        path: PathBuf,
        /// The plotting library's message.
        message: String,
    },
}

impl ScalerError {
    /// An out-of-range setting.
    pub(crate) fn invalid(
        field: &'static str,
        value: impl ToString,
        fix: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            field,
            value: value.to_string(),
            fix: fix.into(),
        }
    }

    /// An I/O failure on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
