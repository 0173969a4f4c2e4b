//! The file as written: plain serde structs mirroring the TOML keys, with unknown
//! keys rejected and spans kept on every value that validation may complain about.
//! Nothing here is checked beyond its TOML type; `validate` turns it into [`crate::Config`].

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// The whole document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawConfig {
    pub(crate) server: Option<RawServer>,
    #[serde(default)]
    pub(crate) listener: Vec<Spanned<RawListener>>,
    #[serde(default)]
    pub(crate) route: Vec<Spanned<RawRoute>>,
    #[serde(default)]
    pub(crate) pool: RawPools,
}

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawServer {
    pub(crate) threads: Option<Spanned<i64>>,
    pub(crate) grace_period: Option<Spanned<String>>,
    pub(crate) log_format: Option<Spanned<String>>,
}

/// One `[[listener]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawListener {
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) address: Spanned<String>,
    pub(crate) region: Option<Spanned<String>>,
}

/// One `[[route]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawRoute {
    pub(crate) host: Option<Spanned<String>>,
    pub(crate) path_prefix: Option<Spanned<String>>,
    pub(crate) pool: Spanned<String>,
}

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
}

/// The `[pool.*]` tables in file order, each with the span of its name.
#[derive(Debug, Default)]
pub(crate) struct RawPools(pub(crate) Vec<(Spanned<String>, Spanned<RawPool>)>);

impl<'de> Deserialize<'de> for RawPools {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PoolsVisitor)
    }
}

struct PoolsVisitor;

impl<'de> Visitor<'de> for PoolsVisitor {
    type Value = RawPools;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of [pool.NAME] tables")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPools, A::Error> {
        let mut pools = Vec::new();
        while let Some(entry) = map.next_entry()? {
            pools.push(entry);
        }
        Ok(RawPools(pools))
    }
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
