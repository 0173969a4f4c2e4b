//! The file as written: plain serde structs mirroring the TOML keys, with unknown
//! keys rejected and spans kept on every value that validation may complain about.
//! Nothing here is checked beyond its TOML type; `validate` turns it into [`crate::Config`].
//! Pools, scalers and drivers have their own submodules; the small top-level tables live here.

mod driver;
mod named;
mod pool;
mod scaler;

use serde::Deserialize;
use toml::Spanned;

pub(crate) use driver::RawDriver;
pub(crate) use named::{Named, RawPools};
pub(crate) use pool::{
    RawBackend, RawBackendTable, RawHealth, RawOutlier, RawPool, RawRetry, RawTimeout,
};
pub(crate) use scaler::{RawCost, RawPredictive, RawScaler, RawScheduleEntry};

/// The whole document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawConfig {
    pub(crate) server: Option<RawServer>,
    pub(crate) admin: Option<Spanned<RawAdmin>>,
    #[serde(default)]
    pub(crate) listener: Vec<Spanned<RawListener>>,
    #[serde(default)]
    pub(crate) route: Vec<Spanned<RawRoute>>,
    #[serde(default)]
    pub(crate) pool: RawPools,
    #[serde(default)]
    pub(crate) driver: Named<RawDriver>,
    pub(crate) forecast: Option<RawForecast>,
    pub(crate) simulate: Option<RawSimulate>,
}

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawServer {
    pub(crate) threads: Option<Spanned<i64>>,
    pub(crate) grace_period: Option<Spanned<String>>,
    pub(crate) log_format: Option<Spanned<String>>,
    pub(crate) access_log: Option<bool>,
}

/// `[admin]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawAdmin {
    pub(crate) address: Option<Spanned<String>>,
    pub(crate) token: Option<Spanned<String>>,
}

/// One `[[listener]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawListener {
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) address: Spanned<String>,
    pub(crate) region: Option<Spanned<String>>,
    pub(crate) tls: Option<Spanned<RawListenerTls>>,
}

/// A listener's `tls`: `{ cert, key }` or `{ certs = [{ cert, key }, ...] }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawListenerTls {
    pub(crate) cert: Option<Spanned<String>>,
    pub(crate) key: Option<Spanned<String>>,
    pub(crate) certs: Option<Spanned<Vec<Spanned<RawCertKey>>>>,
}

/// One entry of a listener's `tls.certs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawCertKey {
    pub(crate) cert: Spanned<String>,
    pub(crate) key: Spanned<String>,
}

/// One `[[route]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawRoute {
    pub(crate) host: Option<Spanned<String>>,
    pub(crate) path_prefix: Option<Spanned<String>>,
    pub(crate) pool: Spanned<String>,
}

/// `[forecast]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawForecast {
    pub(crate) device: Option<Spanned<String>>,
}

/// `[simulate]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawSimulate {
    pub(crate) instance_capacity_rps: Option<Spanned<f64>>,
    pub(crate) service_time: Option<Spanned<String>>,
    pub(crate) tick: Option<Spanned<String>>,
}
