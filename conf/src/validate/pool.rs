//! `[pool.NAME]`: the policy and its knobs, with the region_affinity-only keys
//! allowed only on region_affinity pools and their fallback regions listed once each.
//! Upstream settings, health checks and the scaler are checked by their own modules.

use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use crate::raw::{RawPool, RawPools};
use crate::source::Source;
use crate::{ConfigError, DriverKind, DriverSpec, PolicyKind, Pool};

use super::{backend, health, scaler, upstream, value};

/// Hint listing every policy name.
const POLICY_HINT: &str =
    "use one of: round_robin, weighted, least_conn, peak_ewma, region_affinity";

/// Every pool, in file order; scalers name one of `drivers`.
pub(super) fn pools(
    raw: &RawPools,
    drivers: &[DriverSpec],
    base_dir: &Path,
    source: &Source<'_>,
) -> Result<Vec<Pool>, ConfigError> {
    raw.0
        .iter()
        .map(|(name, table)| pool(name, table.get_ref(), drivers, base_dir, source))
        .collect()
}

fn pool(
    name: &Spanned<String>,
    raw: &RawPool,
    drivers: &[DriverSpec],
    base_dir: &Path,
    source: &Source<'_>,
) -> Result<Pool, ConfigError> {
    let policy = match &raw.policy {
        Some(policy) => policy_kind(policy, "policy", source)?,
        None => PolicyKind::LeastConn,
    };
    let by_region = policy == PolicyKind::RegionAffinity;
    if !by_region {
        reject_region_keys(name.get_ref(), policy, raw, source)?;
    }
    let within = match &raw.within {
        Some(within) => within_kind(within, source)?,
        None => PolicyKind::LeastConn,
    };
    let spill_in_flight = match &raw.spill_in_flight {
        Some(spill) => value::whole(
            spill,
            "spill_in_flight",
            (1, i64::from(u32::MAX)),
            "set spill_in_flight to 1 or more",
            source,
        )?,
        None => 32,
    };
    let region_header = match &raw.region_header {
        Some(header) => header_name(header, source)?,
        None => "x-tidegate-region".to_owned(),
    };
    let max_in_flight = match &raw.max_in_flight {
        Some(max) => value::whole(
            max,
            "max_in_flight",
            (1, i64::from(u32::MAX)),
            "set max_in_flight to 1 or more",
            source,
        )?,
        None => 10_000,
    };
    let slow_start = raw
        .slow_start
        .as_ref()
        .map(|ramp| {
            value::positive_duration(
                ramp,
                "slow_start",
                "remove slow_start to give new backends their full share at once",
                source,
            )
        })
        .transpose()?;
    let decay =
        value::positive_duration_or(raw.decay.as_ref(), "decay", Duration::from_secs(10), source)?;
    let default_rtt = value::positive_duration_or(
        raw.default_rtt.as_ref(),
        "default_rtt",
        Duration::from_millis(30),
        source,
    )?;
    let protocol = upstream::protocol(raw.protocol.as_ref(), source)?;
    let upstream_tls = upstream::tls(raw, source)?;
    let (scaler, driver) = match &raw.scaler {
        Some(scaler) => {
            let (spec, driver) = scaler::scaler(scaler, drivers, base_dir, source)?;
            (Some(spec), Some(driver))
        }
        None => (None, None),
    };
    let driver_launches = driver.is_some_and(|driver| driver.kind != DriverKind::Static);
    let backends = backend::backends(raw.backends.as_ref(), name, driver_launches, source)?;
    let fallback = match &raw.fallback {
        Some(fallback) => fallback_regions(fallback.get_ref(), source)?,
        None => Vec::new(),
    };
    Ok(Pool {
        name: name.get_ref().clone(),
        policy,
        within,
        fallback,
        spill_in_flight,
        region_header,
        max_in_flight,
        slow_start,
        decay,
        default_rtt,
        backends,
        protocol,
        tls: upstream_tls.enabled,
        tls_verify: upstream_tls.verify,
        sni: upstream_tls.sni,
        health: raw
            .health
            .as_ref()
            .map(|health| health::health(health, source))
            .transpose()?,
        outlier: raw
            .outlier
            .as_ref()
            .map(|outlier| health::outlier(outlier.get_ref(), source))
            .transpose()?,
        retry: upstream::retry(raw.retry.as_ref().map(Spanned::get_ref), source)?,
        timeout: upstream::timeouts(raw.timeout.as_ref().map(Spanned::get_ref), source)?,
        scaler,
    })
}

fn policy_kind(
    value: &Spanned<String>,
    key: &str,
    source: &Source<'_>,
) -> Result<PolicyKind, ConfigError> {
    PolicyKind::from_name(value.get_ref()).ok_or_else(|| {
        source.error(
            value.span(),
            format!("unknown {key} \"{}\"", value.get_ref()),
            POLICY_HINT,
        )
    })
}

fn within_kind(value: &Spanned<String>, source: &Source<'_>) -> Result<PolicyKind, ConfigError> {
    let within = policy_kind(value, "within", source)?;
    if within == PolicyKind::RegionAffinity {
        return Err(source.error(
            value.span(),
            "within cannot be region_affinity: it names the policy used inside one region",
            "use one of: round_robin, weighted, least_conn, peak_ewma",
        ));
    }
    Ok(within)
}

/// `within`, `fallback` and `spill_in_flight` mean nothing without region_affinity.
fn reject_region_keys(
    pool: &str,
    policy: PolicyKind,
    raw: &RawPool,
    source: &Source<'_>,
) -> Result<(), ConfigError> {
    let present = [
        ("within", raw.within.as_ref().map(Spanned::span)),
        ("fallback", raw.fallback.as_ref().map(Spanned::span)),
        (
            "spill_in_flight",
            raw.spill_in_flight.as_ref().map(Spanned::span),
        ),
    ];
    match present
        .into_iter()
        .find_map(|(key, span)| Some((key, span?)))
    {
        Some((key, span)) => Err(source.error(
            span,
            format!(
                "{key} applies only to region_affinity pools, and pool \"{pool}\" uses {policy}"
            ),
            "remove it or set policy = \"region_affinity\"",
        )),
        None => Ok(()),
    }
}

/// A header name is an RFC 9110 token; stored lowercased, as headers compare.
fn header_name(value: &Spanned<String>, source: &Source<'_>) -> Result<String, ConfigError> {
    let name = value.get_ref();
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(is_token_char) {
        return Err(source.error(
            value.span(),
            format!("region_header \"{name}\" is not a valid HTTP header name"),
            "use letters, digits and '-', e.g. \"x-tidegate-region\"",
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// Fallback regions, none twice. A region no backend is in yet is allowed (its
/// backends may join through the admin API or a driver); `Config::warnings` names it.
fn fallback_regions(
    raw: &[Spanned<String>],
    source: &Source<'_>,
) -> Result<Vec<String>, ConfigError> {
    let mut fallback: Vec<String> = Vec::with_capacity(raw.len());
    for entry in raw {
        let region = entry.get_ref();
        if fallback.contains(region) {
            return Err(source.error(
                entry.span(),
                format!("fallback region \"{region}\" is listed twice"),
                "list each region once, in spill order",
            ));
        }
        fallback.push(region.clone());
    }
    Ok(fallback)
}
