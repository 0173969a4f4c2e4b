//! Tidegate's configuration: a TOML file becomes a validated [`Config`].
//!
//! Data flows in four steps. The text is parsed into toml's spanned document tree;
//! `${NAME}` references in string values are replaced from the environment
//! (`interpolate`); the tree is deserialized into plain serde structs that reject
//! unknown keys (`raw`); and `validate` checks values and cross-references, fills in
//! defaults and builds the runtime types. Every failure is a [`ConfigError`] that
//! prints as `FILE:LINE:COL: message` followed by a `hint:` line with the fix.
//! Relative file paths in the configuration resolve against the directory of the
//! configuration file ([`load`]), or a directory given by the caller ([`parse_in`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod admin;
mod config;
mod diagnose;
mod driver;
mod error;
mod forecast;
mod health;
mod interpolate;
mod pool;
mod raw;
mod route;
mod scaler;
mod serialize;
mod simulate;
mod source;
mod summary;
mod tls;
mod upstream;
mod validate;
mod warnings;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use admin::Admin;
pub use config::{Config, Listener, LogFormat, Server};
pub use driver::{DriverKind, DriverSpec};
pub use error::ConfigError;
pub use forecast::{Forecast, ForecastDevice};
pub use health::{HealthCheck, HealthProbe, Outlier};
pub use pool::{BackendSpec, PolicyKind, Pool};
pub use route::{HostMatch, Route};
pub use scaler::{Cost, FitLoss, Predictive, ScalerSpec, ScheduleEntry};
pub use simulate::Simulate;
pub use tls::{CertKey, ListenerTls};
pub use upstream::{Retry, Timeouts, UpstreamProtocol};

use interpolate::Lookup;
use raw::RawConfig;
use source::Source;

/// Reads and validates the configuration file at `path`; errors name the path as given
/// and relative paths inside it resolve against its directory.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: origin.clone(),
        source,
    })?;
    let dir = path.parent().unwrap_or(Path::new(""));
    parse_in(&text, &origin, dir)
}

/// Validates configuration `source` text; errors name it as `origin` and relative
/// paths resolve against the current directory.
pub fn parse(source: &str, origin: &str) -> Result<Config, ConfigError> {
    parse_in(source, origin, Path::new(""))
}

/// [`parse`] with relative paths resolved against `base_dir` (itself taken relative to
/// the current directory when relative).
pub fn parse_in(source: &str, origin: &str, base_dir: &Path) -> Result<Config, ConfigError> {
    let lookup = |name: &str| std::env::var(name).ok();
    parse_with_env(source, origin, &absolute(base_dir), &lookup)
}

/// `dir` made absolute against the current directory; as it is when that fails.
fn absolute(dir: &Path) -> PathBuf {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// [`parse_in`] with `${NAME}` resolved through `lookup` instead of the process environment.
fn parse_with_env(
    text: &str,
    origin: &str,
    base_dir: &Path,
    lookup: Lookup<'_>,
) -> Result<Config, ConfigError> {
    let source = Source::new(origin, text);
    let mut document =
        toml::de::DeTable::parse(text).map_err(|error| diagnose::syntax(&source, &error))?;
    interpolate::document(document.get_mut(), lookup, &source)?;
    let raw = RawConfig::deserialize(toml::de::Deserializer::from(document))
        .map_err(|error| diagnose::schema(&source, &error))?;
    validate::config(&raw, &source, base_dir)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{parse_with_env, ConfigError};

    fn env(name: &str) -> Option<String> {
        (name == "BACKEND_PORT").then(|| "9002".to_owned())
    }

    #[test]
    fn references_are_resolved_through_the_lookup() {
        let text = "[[listener]]\naddress = \"127.0.0.1:8080\"\n[pool.web]\nbackends = [\"127.0.0.1:${BACKEND_PORT}\"]\n";
        let config = parse_with_env(text, "t.toml", Path::new("/"), &env).unwrap();
        assert_eq!(config.pools[0].backends[0].address.port(), 9002);
    }

    #[test]
    fn unset_references_point_at_their_string() {
        let text = "[[listener]]\naddress = \"127.0.0.1:${NOPE}\"\n";
        let error = parse_with_env(text, "t.toml", Path::new("/"), &env).unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::Invalid {
                    line: 2,
                    col: 11,
                    ..
                }
            ),
            "{error}"
        );
    }
}
