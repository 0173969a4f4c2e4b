//! Wall-clock instants as plain values, so tests and the simulator can supply their own.
//!
//! The control loop needs one notion of time for both its windows (differences) and its
//! cron schedules (calendar fields), so a [`Timestamp`] is milliseconds since the Unix
//! epoch, UTC. It is cheap to copy and compare, and never read from the system clock here.

use std::fmt;
use std::ops::Add;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

/// A point in time: milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_ms: u64,
}

impl Timestamp {
    /// The instant `unix_ms` milliseconds after the epoch.
    pub const fn from_unix_millis(unix_ms: u64) -> Self {
        Self { unix_ms }
    }

    /// The instant `secs` seconds after the epoch.
    pub const fn from_unix_secs(secs: u64) -> Self {
        Self {
            unix_ms: secs.saturating_mul(1000),
        }
    }

    /// Converts a `SystemTime`; instants before the epoch become the epoch.
    pub fn from_system_time(time: SystemTime) -> Self {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        Self::from_unix_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    /// Milliseconds since the epoch.
    pub const fn unix_millis(self) -> u64 {
        self.unix_ms
    }

    /// Whole seconds since the epoch.
    pub const fn unix_secs(self) -> u64 {
        self.unix_ms / 1000
    }

    /// Whole minutes since the epoch (the granularity of cron schedules).
    pub const fn unix_minute(self) -> u64 {
        self.unix_ms / 60_000
    }

    /// The time elapsed since `earlier`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.unix_ms.saturating_sub(earlier.unix_ms))
    }

    /// The instant `duration` before this one, or the epoch.
    pub fn saturating_sub(self, duration: Duration) -> Timestamp {
        Self::from_unix_millis(self.unix_ms.saturating_sub(duration_millis(duration)))
    }

    /// RFC 3339 text in UTC with milliseconds, e.g. `2013-01-01T00:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        match chrono::DateTime::from_timestamp_millis(
            i64::try_from(self.unix_ms).unwrap_or(i64::MAX),
        ) {
            Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            None => format!("@{}ms", self.unix_ms),
        }
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn duration_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, rhs: Duration) -> Timestamp {
        Timestamp::from_unix_millis(self.unix_ms.saturating_add(duration_millis(rhs)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

/// In the admin API's OpenAPI document a timestamp is an RFC 3339 string.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339 time, UTC, millisecond precision"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_formats() {
        let t = Timestamp::from_unix_secs(1_356_998_400);
        assert_eq!(t.to_rfc3339(), "2013-01-01T00:00:00.000Z");
        assert_eq!(
            (t + Duration::from_secs(90)).unix_minute(),
            t.unix_minute() + 1
        );
        assert_eq!(
            t.saturating_since(t + Duration::from_secs(1)),
            Duration::ZERO
        );
        assert_eq!(
            Timestamp::default().saturating_sub(Duration::from_secs(5)),
            Timestamp::default()
        );
    }
}
