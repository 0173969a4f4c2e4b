//! Cron schedules that raise the floor or lower the ceiling of a pool during set minutes.
//!
//! A [`ScheduleRule`] is a 5-field cron expression (minute hour day-of-month month
//! day-of-week, evaluated in UTC) plus a `min` and/or `max`; the override is in force
//! during every minute the expression matches or, with a duration, for that long
//! from each time it matches (`cron = "0 8 * * MON-FRI"`, 10 hours: weekdays from 8
//! to 18). When several rules are in force, the highest `min` and the lowest `max`
//! win ([`ScheduleBounds`]).

use std::fmt;

use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

use crate::error::ScalerError;
use crate::time::Timestamp;

/// One scheduled override: during each minute `cron` matches (or for `duration`
/// from each match), `min` and `max` apply.
#[derive(Clone)]
pub struct ScheduleRule {
    expression: String,
    cron: Cron,
    duration: Option<std::time::Duration>,
    min: Option<u32>,
    max: Option<u32>,
}

impl fmt::Debug for ScheduleRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScheduleRule")
            .field("cron", &self.expression)
            .field("duration", &self.duration)
            .field("min", &self.min)
            .field("max", &self.max)
            .finish()
    }
}

impl ScheduleRule {
    /// Parses `expression` (5 fields, UTC) into a rule; at least one of `min`/`max` is required.
    pub fn new(expression: &str, min: Option<u32>, max: Option<u32>) -> Result<Self, ScalerError> {
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(expression).map_err(|e| ScalerError::Cron {
            expression: expression.to_owned(),
            reason: e.to_string(),
        })?;
        if min.is_none() && max.is_none() {
            return Err(ScalerError::invalid(
                "schedule",
                expression,
                "a schedule entry needs `min`, `max` or both",
            ));
        }
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo > hi {
                return Err(ScalerError::invalid(
                    "schedule.min",
                    lo,
                    format!("must be <= the entry's max ({hi})"),
                ));
            }
        }
        Ok(Self {
            expression: expression.to_owned(),
            cron,
            duration: None,
            min,
            max,
        })
    }

    /// This rule holding for `duration` from each time its expression matches,
    /// rather than during the matching minutes alone.
    pub fn lasting(mut self, duration: Option<std::time::Duration>) -> Self {
        self.duration = duration.filter(|d| !d.is_zero());
        self
    }

    /// The cron expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The floor this rule sets while it matches.
    pub fn min(&self) -> Option<u32> {
        self.min
    }

    /// The ceiling this rule sets while it matches.
    pub fn max(&self) -> Option<u32> {
        self.max
    }

    /// Whether the rule is in force at `now`: the minute containing it matches
    /// the expression, or with a duration, the last match at or before that
    /// minute was less than the duration before `now`.
    pub fn matches(&self, now: Timestamp) -> bool {
        let minute_start = i64::try_from(now.unix_minute().saturating_mul(60)).unwrap_or(i64::MAX);
        let Some(minute) = chrono::DateTime::from_timestamp(minute_start, 0) else {
            return false;
        };
        let Some(duration) = self.duration else {
            return self.cron.is_time_matching(&minute).unwrap_or(false);
        };
        let Ok(started) = self.cron.find_previous_occurrence(&minute, true) else {
            return false;
        };
        let since = u64::try_from(minute_start.saturating_sub(started.timestamp())).unwrap_or(0);
        // The minute's start is what is compared, as the schedule is read per minute.
        since < duration.as_secs().max(60)
    }
}

/// The floor and ceiling that the schedules put in force at one minute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScheduleBounds {
    /// The highest `min` among the matching rules.
    pub min: Option<u32>,
    /// The lowest `max` among the matching rules.
    pub max: Option<u32>,
}

impl ScheduleBounds {
    /// Combines every rule that matches at `now`.
    pub fn at(rules: &[ScheduleRule], now: Timestamp) -> Self {
        rules
            .iter()
            .filter(|r| r.matches(now))
            .fold(Self::default(), |acc, r| Self {
                min: max_opt(acc.min, r.min),
                max: min_opt(acc.max, r.max),
            })
    }
}

fn max_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn min_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-08 was a Monday.
    fn utc(day: u64, hour: u64, minute: u64) -> Timestamp {
        const MONDAY_2024_01_08: u64 = 1_704_672_000;
        Timestamp::from_unix_secs(MONDAY_2024_01_08 + day * 86_400 + hour * 3_600 + minute * 60)
    }

    #[test]
    fn weekday_morning_rule_matches_only_its_minutes() {
        let rule = ScheduleRule::new("* 8-9 * * MON-FRI", Some(6), None).unwrap();
        assert!(rule.matches(utc(0, 8, 0)));
        assert!(rule.matches(utc(4, 9, 59) + std::time::Duration::from_secs(30)));
        assert!(!rule.matches(utc(0, 10, 0)));
        assert!(!rule.matches(utc(5, 8, 30)), "Saturday");
    }

    #[test]
    fn a_rule_with_a_duration_holds_from_each_match_for_that_long() {
        let rule = ScheduleRule::new("0 8 * * MON-FRI", Some(6), None)
            .unwrap()
            .lasting(Some(std::time::Duration::from_secs(10 * 3_600)));
        assert!(!rule.matches(utc(0, 7, 59)));
        assert!(rule.matches(utc(0, 8, 0)));
        assert!(rule.matches(utc(0, 12, 30)));
        assert!(rule.matches(utc(4, 17, 59)), "Friday");
        assert!(!rule.matches(utc(0, 18, 0)));
        assert!(!rule.matches(utc(5, 9, 0)), "Saturday");
        // Without the duration it holds for the matching minute alone.
        let minute = ScheduleRule::new("0 8 * * MON-FRI", Some(6), None).unwrap();
        assert!(minute.matches(utc(0, 8, 0)));
        assert!(!minute.matches(utc(0, 8, 1)));
        // Longer than the gap between matches: always in force from the first one.
        let daily = ScheduleRule::new("0 0 * * *", Some(2), None)
            .unwrap()
            .lasting(Some(std::time::Duration::from_secs(25 * 3_600)));
        assert!(daily.matches(utc(2, 23, 59)));
    }

    #[test]
    fn overlapping_rules_take_highest_min_and_lowest_max() {
        let rules = [
            ScheduleRule::new("* * * * *", Some(2), Some(10)).unwrap(),
            ScheduleRule::new("* 8 * * *", Some(5), Some(8)).unwrap(),
        ];
        assert_eq!(
            ScheduleBounds::at(&rules, utc(0, 8, 15)),
            ScheduleBounds {
                min: Some(5),
                max: Some(8)
            }
        );
        assert_eq!(
            ScheduleBounds::at(&rules, utc(0, 9, 15)),
            ScheduleBounds {
                min: Some(2),
                max: Some(10)
            }
        );
    }

    #[test]
    fn bad_expressions_and_empty_rules_are_rejected() {
        assert!(matches!(
            ScheduleRule::new("0 8 * *", Some(1), None),
            Err(ScalerError::Cron { .. })
        ));
        assert!(matches!(
            ScheduleRule::new("0 0 8 * * *", Some(1), None),
            Err(ScalerError::Cron { .. })
        ));
        assert!(ScheduleRule::new("0 8 * * *", None, None).is_err());
        assert!(ScheduleRule::new("0 8 * * *", Some(5), Some(2)).is_err());
    }
}
