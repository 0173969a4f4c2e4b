//! Classified driver failures: the class decides how the loop backs off.

use std::time::Duration;

use serde::Serialize;

/// The class of a driver failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DriverErrorKind {
    /// Retry with exponential backoff.
    Transient,
    /// Retry no sooner than the driver said.
    RateLimited,
    /// The provider has no room; retry later, expect a lower count.
    OutOfCapacity,
    /// Retrying the same call will fail the same way; fix configuration.
    Permanent,
}

/// A failed driver call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// A failure that may pass (timeout, connection reset, 5xx).
    #[error("transient: {0}")]
    Transient(String),
    /// The provider asked us to slow down.
    #[error("rate limited, retry after {}: {message}", humantime::format_duration(*retry_after))]
    RateLimited {
        /// How long to wait before the next call.
        retry_after: Duration,
        /// The provider's message.
        message: String,
    },
    /// The provider cannot launch more instances now.
    #[error("out of capacity: {0}")]
    OutOfCapacity(String),
    /// A failure that retrying will not fix (bad config, 4xx, malformed output).
    #[error("permanent: {0}")]
    Permanent(String),
}

impl DriverError {
    /// The failure's class.
    pub fn kind(&self) -> DriverErrorKind {
        match self {
            Self::Transient(_) => DriverErrorKind::Transient,
            Self::RateLimited { .. } => DriverErrorKind::RateLimited,
            Self::OutOfCapacity(_) => DriverErrorKind::OutOfCapacity,
            Self::Permanent(_) => DriverErrorKind::Permanent,
        }
    }

    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Permanent(_))
    }

    /// The wait the driver asked for, if it asked.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}
