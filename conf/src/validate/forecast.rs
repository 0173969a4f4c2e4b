//! `[forecast]`: the device name is one of auto, cpu, gpu.

use crate::raw::RawForecast;
use crate::source::Source;
use crate::{ConfigError, Forecast, ForecastDevice};

/// The `[forecast]` table with defaults for what it leaves out (or for no table at all).
pub(super) fn forecast(
    raw: Option<&RawForecast>,
    source: &Source<'_>,
) -> Result<Forecast, ConfigError> {
    let Some(device) = raw.and_then(|raw| raw.device.as_ref()) else {
        return Ok(Forecast::default());
    };
    let device = ForecastDevice::from_name(device.get_ref()).ok_or_else(|| {
        source.error(
            device.span(),
            format!("unknown forecast device \"{}\"", device.get_ref()),
            "use \"auto\" (a hardware GPU when there is one), \"cpu\" or \"gpu\"",
        )
    })?;
    Ok(Forecast { device })
}
