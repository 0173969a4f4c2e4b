//! The monotonic clock the data plane hands to the pure balancer policies.
//!
//! Policies never read a clock themselves (so tests and the simulator can drive
//! virtual time); the proxy reads this one once per request phase and passes the
//! value down as [`Nanos`].

use std::time::{Duration, Instant};

use tidegate_balancer::Nanos;

/// Offset of the first reading. Backends present at startup are stamped as joined
/// at 0, so they count as long warmed up and never go through `slow_start`.
const WARM_START: Duration = Duration::from_secs(24 * 60 * 60);

/// A monotonic clock measuring nanoseconds since a fixed origin.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    /// A clock whose first reading is [`WARM_START`].
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    /// Nanoseconds since the origin, plus the warm-start offset.
    pub fn now(&self) -> Nanos {
        let elapsed = self.origin.elapsed() + WARM_START;
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    /// The stamp given to backends configured at startup.
    pub const fn startup() -> Nanos {
        0
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// A duration as [`Nanos`], saturating.
pub fn nanos(d: Duration) -> Nanos {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_after_the_warm_start_offset_and_is_monotonic() {
        let clock = Clock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(a >= nanos(WARM_START));
        assert!(b >= a);
    }
}
