//! A `[pool.NAME]` as written: balancing keys, backends, and the inline tables for
//! health checks, outlier ejection, retries and timeouts. The scaler is in `scaler`.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::RawScaler;

/// One `[pool.NAME]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawPool {
    pub(crate) policy: Option<Spanned<String>>,
    pub(crate) within: Option<Spanned<String>>,
    pub(crate) fallback: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) spill_in_flight: Option<Spanned<i64>>,
    pub(crate) region_header: Option<Spanned<String>>,
    pub(crate) max_in_flight: Option<Spanned<i64>>,
    pub(crate) slow_start: Option<Spanned<String>>,
    pub(crate) decay: Option<Spanned<String>>,
    pub(crate) default_rtt: Option<Spanned<String>>,
    pub(crate) backends: Option<Spanned<Vec<Spanned<RawBackend>>>>,
    pub(crate) protocol: Option<Spanned<String>>,
    pub(crate) tls: Option<Spanned<bool>>,
    pub(crate) tls_verify: Option<Spanned<bool>>,
    pub(crate) sni: Option<Spanned<String>>,
    pub(crate) health: Option<Spanned<RawHealth>>,
    pub(crate) outlier: Option<Spanned<RawOutlier>>,
    pub(crate) retry: Option<Spanned<RawRetry>>,
    pub(crate) timeout: Option<Spanned<RawTimeout>>,
    pub(crate) scaler: Option<Spanned<RawScaler>>,
}

/// A pool's `health`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawHealth {
    pub(crate) path: Option<Spanned<String>>,
    pub(crate) tcp: Option<Spanned<bool>>,
    pub(crate) interval: Option<Spanned<String>>,
    pub(crate) timeout: Option<Spanned<String>>,
    pub(crate) healthy_threshold: Option<Spanned<i64>>,
    pub(crate) unhealthy_threshold: Option<Spanned<i64>>,
}

/// A pool's `outlier`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawOutlier {
    pub(crate) consecutive_failures: Option<Spanned<i64>>,
    pub(crate) base_ejection: Option<Spanned<String>>,
    pub(crate) max_ejection_percent: Option<Spanned<i64>>,
}

/// A pool's `retry`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawRetry {
    pub(crate) attempts: Option<Spanned<i64>>,
    pub(crate) budget_percent: Option<Spanned<i64>>,
}

/// A pool's `timeout`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawTimeout {
    pub(crate) connect: Option<Spanned<String>>,
    pub(crate) read: Option<Spanned<String>>,
    pub(crate) idle: Option<Spanned<String>>,
}

/// One entry of `backends`: a bare `"IP:PORT"` or a table.
#[derive(Debug)]
pub(crate) enum RawBackend {
    Address(String),
    Table(RawBackendTable),
}

/// `{ address = ..., region = ..., weight = ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawBackendTable {
    pub(crate) address: Spanned<String>,
    pub(crate) region: Option<Spanned<String>>,
    pub(crate) weight: Option<Spanned<i64>>,
}

impl<'de> Deserialize<'de> for RawBackend {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BackendVisitor)
    }
}

struct BackendVisitor;

impl<'de> Visitor<'de> for BackendVisitor {
    type Value = RawBackend;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a backend address string or { address = ... } table")
    }

    fn visit_str<E: serde::de::Error>(self, address: &str) -> Result<RawBackend, E> {
        Ok(RawBackend::Address(address.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawBackend, A::Error> {
        let table =
            RawBackendTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(RawBackend::Table(table))
    }
}
