//! Per-pool exponential backoff after failed driver calls.
//!
//! Each consecutive failure doubles the wait from `base` up to `cap`; a rate limit waits
//! at least what the driver asked; a permanent error waits the full `cap` at once,
//! since retrying sooner would fail the same way. One success resets it.

use std::time::Duration;

use crate::driver::DriverError;
use crate::time::Timestamp;

/// When the loop may call the driver again.
#[derive(Clone, Debug)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
    retry_at: Option<Timestamp>,
}

impl Backoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap: cap.max(base),
            failures: 0,
            retry_at: None,
        }
    }

    /// Whether a driver call is allowed at `now`.
    pub(crate) fn allows(&self, now: Timestamp) -> bool {
        self.retry_at.is_none_or(|t| now >= t)
    }

    /// When calls resume, while backing off.
    pub(crate) fn until(&self, now: Timestamp) -> Option<Timestamp> {
        self.retry_at.filter(|&t| now < t)
    }

    /// Records a failure at `now`; returns when to retry.
    pub(crate) fn fail(&mut self, now: Timestamp, error: &DriverError) -> Timestamp {
        self.failures = self.failures.saturating_add(1);
        let exponential = self
            .base
            .saturating_mul(1u32 << self.failures.saturating_sub(1).min(20))
            .min(self.cap);
        let wait = match error {
            DriverError::Permanent(_) => self.cap,
            DriverError::RateLimited { retry_after, .. } => exponential.max(*retry_after),
            _ => exponential,
        };
        let retry_at = now + wait;
        self.retry_at = Some(retry_at);
        retry_at
    }

    /// Records a success: the next failure starts from `base` again.
    pub(crate) fn succeed(&mut self) {
        self.failures = 0;
        self.retry_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_honours_retry_after() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        let t = Timestamp::from_unix_secs(100);
        let transient = DriverError::Transient("x".into());
        let waits: Vec<u64> = (0..5)
            .map(|_| b.fail(t, &transient).unix_secs() - 100)
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 8]);
        assert!(!b.allows(t));
        assert!(b.allows(t + Duration::from_secs(8)));
        b.succeed();
        let limited = DriverError::RateLimited {
            retry_after: Duration::from_secs(5),
            message: String::new(),
        };
        assert_eq!(b.fail(t, &limited).unix_secs() - 100, 5);
        b.succeed();
        assert_eq!(
            b.fail(t, &DriverError::Permanent("x".into())).unix_secs() - 100,
            8
        );
    }
}
