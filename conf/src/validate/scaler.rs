//! `[pool.NAME.scaler]`: the driver it names exists, the bounds and windows make
//! sense together, and a cost budget can pay for the minimum. `predictive` and
//! `schedule` have their own modules.

use std::path::Path;

use toml::Spanned;

use crate::raw::{RawCost, RawScaler};
use crate::source::Source;
use crate::{ConfigError, Cost, DriverSpec, ScalerSpec};

use super::{predictive, schedule, value};

/// A number greater than zero.
const POSITIVE: (&str, fn(f64) -> bool) = ("greater than 0", |n| n > 0.0);

/// A pool's scaler and the driver it names.
pub(super) fn scaler<'d>(
    raw: &Spanned<RawScaler>,
    drivers: &'d [DriverSpec],
    base_dir: &Path,
    source: &Source<'_>,
) -> Result<(ScalerSpec, &'d DriverSpec), ConfigError> {
    let raw = raw.get_ref();
    let driver = driver(&raw.driver, drivers, source)?;
    let min = value::whole_or(
        raw.min.as_ref(),
        "min",
        (0, i64::from(u32::MAX)),
        ScalerSpec::DEFAULT_MIN,
        "set min to 0 or more instances",
        source,
    )?;
    let max: u32 = value::whole(
        &raw.max,
        "max",
        (1, i64::from(u32::MAX)),
        "set max to 1 or more instances",
        source,
    )?;
    if min > max {
        return Err(source.error(
            raw.max.span(),
            format!("max = {max} is below min = {min}"),
            format!("raise max to {min} or more, or lower min"),
        ));
    }
    let target_in_flight = value::number_or(
        raw.target_in_flight.as_ref(),
        "target_in_flight",
        POSITIVE,
        ScalerSpec::DEFAULT_TARGET_IN_FLIGHT,
        "set the in-flight requests one instance should carry, e.g. target_in_flight = 8",
        source,
    )?;
    let tick =
        value::positive_duration_or(raw.tick.as_ref(), "tick", ScalerSpec::DEFAULT_TICK, source)?;
    let stable_window = value::positive_duration_or(
        raw.stable_window.as_ref(),
        "stable_window",
        ScalerSpec::DEFAULT_STABLE_WINDOW,
        source,
    )?;
    let panic_window = value::positive_duration_or(
        raw.panic_window.as_ref(),
        "panic_window",
        ScalerSpec::DEFAULT_PANIC_WINDOW,
        source,
    )?;
    if panic_window > stable_window {
        let span = raw
            .panic_window
            .as_ref()
            .or(raw.stable_window.as_ref())
            .map_or(raw.driver.span(), Spanned::span);
        return Err(source.error(
            span,
            format!(
                "panic_window ({}) is longer than stable_window ({})",
                value::written(panic_window),
                value::written(stable_window)
            ),
            "the panic window is the short one: make panic_window at most stable_window",
        ));
    }
    let panic_threshold = value::number_or(
        raw.panic_threshold.as_ref(),
        "panic_threshold",
        ("greater than 1", |n| n > 1.0),
        ScalerSpec::DEFAULT_PANIC_THRESHOLD,
        "panic mode starts at this multiple of the ready instances; use e.g. 2.0",
        source,
    )?;
    let max_scale_up_rate = value::number_or(
        raw.max_scale_up_rate.as_ref(),
        "max_scale_up_rate",
        ("at least 1", |n| n >= 1.0),
        ScalerSpec::DEFAULT_MAX_SCALE_UP_RATE,
        "use 1 or more: desired grows to at most ceil(ready x rate) per tick, e.g. 2.0",
        source,
    )?;
    let cost = raw
        .cost
        .as_ref()
        .map(|cost| self::cost(cost.get_ref(), min, source))
        .transpose()?;
    let spec = ScalerSpec {
        driver: driver.name.clone(),
        min,
        max,
        target_in_flight,
        tick,
        stable_window,
        panic_window,
        panic_threshold,
        scale_down_delay: value::duration_or(
            raw.scale_down_delay.as_ref(),
            "scale_down_delay",
            ScalerSpec::DEFAULT_SCALE_DOWN_DELAY,
            source,
        )?,
        lead_time: value::duration_or(
            raw.lead_time.as_ref(),
            "lead_time",
            ScalerSpec::DEFAULT_LEAD_TIME,
            source,
        )?,
        max_scale_up_rate,
        predictive: raw
            .predictive
            .as_ref()
            .map(|predictive| predictive::predictive(predictive, source))
            .transpose()?,
        cost,
        schedule: schedule::schedule(raw.schedule.as_deref(), (min, max), source)?,
        audit_log: raw
            .audit_log
            .as_ref()
            .map(|path| value::path(path, "audit_log", base_dir, source))
            .transpose()?,
    };
    Ok((spec, driver))
}

/// The `[driver.NAME]` that `value` names.
fn driver<'d>(
    value: &Spanned<String>,
    drivers: &'d [DriverSpec],
    source: &Source<'_>,
) -> Result<&'d DriverSpec, ConfigError> {
    let name = value.get_ref();
    drivers
        .iter()
        .find(|driver| &driver.name == name)
        .ok_or_else(|| {
            let hint = if drivers.is_empty() {
                format!("no drivers are defined; add a [driver.{name}] table with kind = \"process\" (or static, exec, http)")
            } else {
                let names: Vec<&str> = drivers.iter().map(|driver| driver.name.as_str()).collect();
                format!("defined drivers: {}", names.join(", "))
            };
            source.error(
                value.span(),
                format!("scaler uses driver \"{name}\", which is not defined"),
                hint,
            )
        })
}

/// A scaler's `cost`; the budget must pay for `min` instances.
fn cost(raw: &RawCost, min: u32, source: &Source<'_>) -> Result<Cost, ConfigError> {
    let per_instance_hour = value::number(
        &raw.per_instance_hour,
        "per_instance_hour",
        ("at least 0", |n| n >= 0.0),
        "write the price of one instance for one hour, e.g. per_instance_hour = 0.10",
        source,
    )?;
    let Some(budget) = &raw.budget_per_hour else {
        return Ok(Cost {
            per_instance_hour,
            budget_per_hour: None,
        });
    };
    let budget_per_hour = value::number(
        budget,
        "budget_per_hour",
        POSITIVE,
        "write the most to spend per hour, e.g. budget_per_hour = 5.0, or remove it for no budget",
        source,
    )?;
    let needed = f64::from(min) * per_instance_hour;
    // A budget written as exactly min x price must pass despite rounding in the product.
    if budget_per_hour < needed * (1.0 - 1e-9) {
        return Err(source.error(
            budget.span(),
            format!(
                "budget_per_hour = {budget_per_hour} cannot pay for min = {min} instances at {per_instance_hour} per instance hour"
            ),
            format!(
                "raise budget_per_hour to at least {}, or lower min",
                amount(needed)
            ),
        ));
    }
    Ok(Cost {
        per_instance_hour,
        budget_per_hour: Some(budget_per_hour),
    })
}

/// A money amount without float noise: at most six decimals, trailing zeros dropped.
fn amount(value: f64) -> String {
    let fixed = format!("{value:.6}");
    fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::amount;

    #[test]
    fn amounts_drop_float_noise() {
        assert_eq!(amount(6.0 * 0.1), "0.6");
        assert_eq!(amount(3.0), "3");
        assert_eq!(amount(0.0015), "0.0015");
    }
}
