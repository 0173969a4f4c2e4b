//! Tidegate's configuration: a TOML file becomes a validated [`Config`].
//!
//! Data flows in four steps. The text is parsed into toml's spanned document tree;
//! `${NAME}` references in string values are replaced from the environment
//! (`interpolate`); the tree is deserialized into plain serde structs that reject
//! unknown keys (`raw`); and `validate` checks values and cross-references, fills in
//! defaults and builds the runtime types. Every failure is a [`ConfigError`] that
//! prints as `FILE:LINE:COL: message` followed by a `hint:` line with the fix.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod diagnose;
mod error;
mod interpolate;
mod pool;
mod raw;
mod route;
mod source;
mod summary;
mod validate;

use std::path::Path;

use serde::Deserialize;

pub use config::{Config, Listener, LogFormat, Server};
pub use error::ConfigError;
pub use pool::{BackendSpec, PolicyKind, Pool};
pub use route::{HostMatch, Route};

use interpolate::Lookup;
use raw::RawConfig;
use source::Source;

/// Reads and validates the configuration file at `path`; errors name the path as given.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: origin.clone(),
        source,
    })?;
    parse(&text, &origin)
}

/// Validates configuration `source` text; errors name it as `origin`.
pub fn parse(source: &str, origin: &str) -> Result<Config, ConfigError> {
    parse_with_env(source, origin, &|name| std::env::var(name).ok())
}

/// [`parse`] with `${NAME}` resolved through `lookup` instead of the process environment.
fn parse_with_env(text: &str, origin: &str, lookup: Lookup<'_>) -> Result<Config, ConfigError> {
    let source = Source::new(origin, text);
    let mut document =
        toml::de::DeTable::parse(text).map_err(|error| diagnose::syntax(&source, &error))?;
    interpolate::document(document.get_mut(), lookup, &source)?;
    let raw = RawConfig::deserialize(toml::de::Deserializer::from(document))
        .map_err(|error| diagnose::schema(&source, &error))?;
    validate::config(&raw, &source)
}

#[cfg(test)]
mod tests {
    use super::{parse_with_env, ConfigError};

    fn env(name: &str) -> Option<String> {
        (name == "BACKEND_PORT").then(|| "9002".to_owned())
    }

    #[test]
    fn references_are_resolved_through_the_lookup() {
        let text = "[[listener]]\naddress = \"127.0.0.1:8080\"\n[pool.web]\nbackends = [\"127.0.0.1:${BACKEND_PORT}\"]\n";
        let config = parse_with_env(text, "t.toml", &env).unwrap();
        assert_eq!(config.pools[0].backends[0].address.port(), 9002);
    }

    #[test]
    fn unset_references_point_at_their_string() {
        let text = "[[listener]]\naddress = \"127.0.0.1:${NOPE}\"\n";
        let error = parse_with_env(text, "t.toml", &env).unwrap_err();
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
