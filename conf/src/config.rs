//! The validated runtime configuration: what the proxy reads. Every value here has
//! passed validation, defaults are filled in, and names point at things that exist.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::{Admin, DriverSpec, Forecast, ListenerTls, Pool, Route, Simulate};

/// A complete, validated configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Process-wide settings from `[server]`.
    pub server: Server,
    /// The admin API from `[admin]`; `None` when the file has no `[admin]` table.
    pub admin: Option<Admin>,
    /// The `[[listener]]`s, in file order; at least one.
    pub listeners: Vec<Listener>,
    /// The `[[route]]`s in file order, or one catch-all route when the file has a single pool and no routes.
    pub routes: Vec<Route>,
    /// The `[pool.NAME]` tables, in file order.
    pub pools: Vec<Pool>,
    /// The `[driver.NAME]` tables, in file order.
    pub drivers: Vec<DriverSpec>,
    /// Forecasting settings from `[forecast]`.
    pub forecast: Forecast,
    /// Simulator settings from `[simulate]`.
    pub simulate: Simulate,
}

impl Config {
    /// The pool called `name`, if there is one.
    pub fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|pool| pool.name == name)
    }

    /// The driver called `name`, if there is one.
    pub fn driver(&self, name: &str) -> Option<&DriverSpec> {
        self.drivers.iter().find(|driver| driver.name == name)
    }
}

/// `[server]`: process-wide settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Server {
    /// Worker threads; at least 1.
    pub threads: usize,
    /// How long shutdown waits for in-flight requests to drain.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub grace_period: Duration,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// Whether every request is logged; default false.
    pub access_log: bool,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            threads: 1,
            grace_period: Duration::from_secs(30),
            log_format: LogFormat::Text,
            access_log: false,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines (`"text"`).
    #[default]
    Text,
    /// One JSON object per line (`"json"`).
    Json,
}

impl LogFormat {
    /// The format written as `name` in the file.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

/// A `[[listener]]`: an address the proxy accepts requests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    /// The given name, or `listener-N` for the N-th listener (1-based).
    pub name: String,
    /// The socket address to bind.
    pub address: SocketAddr,
    /// The region of requests arriving here that carry no region header.
    pub region: Option<String>,
    /// TLS settings; `None` for plain HTTP.
    pub tls: Option<ListenerTls>,
}
