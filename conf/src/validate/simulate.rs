//! `[simulate]`: the simulated instance's capacity and service time, and the virtual
//! tick; all greater than zero.

use crate::raw::RawSimulate;
use crate::source::Source;
use crate::{ConfigError, Simulate};

use super::value;

/// The `[simulate]` table with defaults for what it leaves out (or for no table at all).
pub(super) fn simulate(
    raw: Option<&RawSimulate>,
    source: &Source<'_>,
) -> Result<Simulate, ConfigError> {
    let defaults = Simulate::default();
    let Some(raw) = raw else {
        return Ok(defaults);
    };
    Ok(Simulate {
        instance_capacity_rps: value::number_or(
            raw.instance_capacity_rps.as_ref(),
            "instance_capacity_rps",
            ("greater than 0", |n| n > 0.0),
            defaults.instance_capacity_rps,
            "write the requests per second one instance serves, e.g. instance_capacity_rps = 50",
            source,
        )?,
        service_time: value::positive_duration_or(
            raw.service_time.as_ref(),
            "service_time",
            defaults.service_time,
            source,
        )?,
        tick: value::positive_duration_or(raw.tick.as_ref(), "tick", defaults.tick, source)?,
    })
}
