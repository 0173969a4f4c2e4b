//! A scaler's `schedule`: each entry is a 5-field cron expression, checked with the
//! `croner` parser, an optional `duration` the override holds from each match, and
//! the bounds it overrides. The bounds in force while an entry
//! matches (its own, else the scaler's) must still have min <= max.

use croner::parser::{CronParser, Seconds, Year};
use toml::Spanned;

use crate::raw::RawScheduleEntry;
use crate::source::Source;
use crate::{ConfigError, ScheduleEntry};

use super::value;

/// The schedule entries in file order; `bounds` are the scaler's (min, max).
pub(super) fn schedule(
    raw: Option<&[Spanned<RawScheduleEntry>]>,
    bounds: (u32, u32),
    source: &Source<'_>,
) -> Result<Vec<ScheduleEntry>, ConfigError> {
    raw.unwrap_or_default()
        .iter()
        .map(|entry| schedule_entry(entry, bounds, source))
        .collect()
}

fn schedule_entry(
    raw: &Spanned<RawScheduleEntry>,
    (min, max): (u32, u32),
    source: &Source<'_>,
) -> Result<ScheduleEntry, ConfigError> {
    let entry = raw.get_ref();
    let cron = cron(&entry.cron, source)?;
    let duration = entry
        .duration
        .as_ref()
        .map(|value| {
            value::positive_duration(
                value,
                "duration",
                "leave duration out to hold the override during the minutes cron matches",
                source,
            )
        })
        .transpose()?;
    let bound = |value: Option<&Spanned<i64>>, key: &str| {
        value
            .map(|value| {
                value::whole::<u32>(
                    value,
                    key,
                    (0, i64::from(u32::MAX)),
                    &format!("set {key} to 0 or more instances"),
                    source,
                )
            })
            .transpose()
    };
    let entry_min = bound(entry.min.as_ref(), "min")?;
    let entry_max = bound(entry.max.as_ref(), "max")?;
    if entry_min.is_none() && entry_max.is_none() {
        return Err(source.error(
            raw.span(),
            "schedule entry overrides neither min nor max",
            "add min = N and/or max = N: the bounds in force while cron matches",
        ));
    }
    let (in_force_min, in_force_max) = (entry_min.unwrap_or(min), entry_max.unwrap_or(max));
    if in_force_min > in_force_max {
        let error = match &entry.max {
            Some(max_value) => source.error(
                max_value.span(),
                format!("schedule max = {in_force_max} is below min = {in_force_min}"),
                format!("raise this max to {in_force_min} or more, or lower min"),
            ),
            None => source.error(
                entry.min.as_ref().map_or(raw.span(), Spanned::span),
                format!("schedule min = {in_force_min} is above the scaler's max = {max}"),
                format!("add max = {in_force_min} or more to this entry, or lower its min"),
            ),
        };
        return Err(error);
    }
    Ok(ScheduleEntry {
        cron,
        duration,
        min: entry_min,
        max: entry_max,
    })
}

/// A 5-field cron expression (minute hour day-of-month month day-of-week).
fn cron(value: &Spanned<String>, source: &Source<'_>) -> Result<String, ConfigError> {
    let parser = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build();
    match parser.parse(value.get_ref()) {
        Ok(_) => Ok(value.get_ref().clone()),
        Err(error) => Err(source.error(
            value.span(),
            format!("cron \"{}\" is not a valid cron expression: {error}", value.get_ref()),
            "write five fields, minute hour day-of-month month day-of-week, e.g. \"* 8-17 * * MON-FRI\" for every minute from 08:00 to 17:59 on weekdays",
        )),
    }
}
