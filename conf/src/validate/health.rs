//! A pool's `health` (active probes) and `outlier` (passive ejection) tables: a probe
//! is HTTP or TCP, never both; a probe's timeout fits inside its interval; thresholds
//! and failure counts are at least one.

use toml::Spanned;

use crate::raw::{RawHealth, RawOutlier};
use crate::source::Source;
use crate::{ConfigError, HealthCheck, HealthProbe, Outlier};

use super::value;

/// The `health` table of a pool.
pub(super) fn health(
    raw: &Spanned<RawHealth>,
    source: &Source<'_>,
) -> Result<HealthCheck, ConfigError> {
    let table = raw.get_ref();
    let probe = probe(raw, source)?;
    let interval = value::positive_duration_or(
        table.interval.as_ref(),
        "interval",
        HealthCheck::DEFAULT_INTERVAL,
        source,
    )?;
    let timeout = value::positive_duration_or(
        table.timeout.as_ref(),
        "timeout",
        HealthCheck::DEFAULT_TIMEOUT,
        source,
    )?;
    if timeout >= interval {
        let span = table
            .timeout
            .as_ref()
            .or(table.interval.as_ref())
            .map_or(raw.span(), Spanned::span);
        return Err(source.error(
            span,
            format!(
                "health timeout ({}) is not shorter than interval ({})",
                value::written(timeout),
                value::written(interval)
            ),
            "a probe must finish before the next one starts: make timeout shorter than interval",
        ));
    }
    let threshold = |value: Option<&Spanned<i64>>, key: &str, default: u32| {
        value::whole_or(
            value,
            key,
            (1, i64::from(u32::MAX)),
            default,
            &format!("set {key} to 1 or more consecutive probes"),
            source,
        )
    };
    Ok(HealthCheck {
        probe,
        interval,
        timeout,
        healthy_threshold: threshold(
            table.healthy_threshold.as_ref(),
            "healthy_threshold",
            HealthCheck::DEFAULT_HEALTHY_THRESHOLD,
        )?,
        unhealthy_threshold: threshold(
            table.unhealthy_threshold.as_ref(),
            "unhealthy_threshold",
            HealthCheck::DEFAULT_UNHEALTHY_THRESHOLD,
        )?,
    })
}

/// `path = "/..."` for an HTTP probe or `tcp = true` for a connect probe.
fn probe(raw: &Spanned<RawHealth>, source: &Source<'_>) -> Result<HealthProbe, ConfigError> {
    let table = raw.get_ref();
    let tcp = table.tcp.as_ref().filter(|tcp| *tcp.get_ref());
    match (&table.path, tcp) {
        (Some(_), Some(tcp)) => Err(source.error_at_key(
            tcp.span(),
            "health has both path and tcp = true",
            "keep path for an HTTP probe, or tcp = true for a TCP connect probe, not both",
        )),
        (Some(path), None) => {
            if !path.get_ref().starts_with('/') {
                return Err(source.error(
                    path.span(),
                    format!("health path \"{}\" does not start with '/'", path.get_ref()),
                    format!("write it as \"/{}\"", path.get_ref()),
                ));
            }
            Ok(HealthProbe::Http {
                path: path.get_ref().clone(),
            })
        }
        (None, Some(_)) => Ok(HealthProbe::Tcp),
        (None, None) => Err(source.error(
            raw.span(),
            "health says neither what to request nor to probe by TCP",
            "add path = \"/healthz\" or tcp = true",
        )),
    }
}

/// The `outlier` table of a pool.
pub(super) fn outlier(raw: &RawOutlier, source: &Source<'_>) -> Result<Outlier, ConfigError> {
    let defaults = Outlier::default();
    Ok(Outlier {
        consecutive_failures: value::whole_or(
            raw.consecutive_failures.as_ref(),
            "consecutive_failures",
            (1, i64::from(u32::MAX)),
            defaults.consecutive_failures,
            "set consecutive_failures to 1 or more failed requests",
            source,
        )?,
        base_ejection: value::positive_duration_or(
            raw.base_ejection.as_ref(),
            "base_ejection",
            defaults.base_ejection,
            source,
        )?,
        max_ejection_percent: value::whole_or(
            raw.max_ejection_percent.as_ref(),
            "max_ejection_percent",
            (0, 100),
            defaults.max_ejection_percent,
            "use a percentage from 0 to 100",
            source,
        )?,
    })
}
