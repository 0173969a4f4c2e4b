//! Routes: which requests (by host, then path prefix) go to which pool, and the
//! host patterns they match with.

use std::fmt;

use serde::Serialize;

/// A `[[route]]`: requests for `host` under `path_prefix` go to `pool`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The host to match; `None` matches any host.
    #[serde(serialize_with = "crate::serialize::optional_display")]
    pub host: Option<HostMatch>,
    /// The path prefix to match; starts with '/', default "/".
    pub path_prefix: String,
    /// The name of the pool that serves matching requests.
    pub pool: String,
}

/// A host pattern: an exact name or a `*.` wildcard, stored lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostMatch {
    /// Matches exactly this host.
    Exact(String),
    /// `*.example.com`, stored as the suffix `.example.com`.
    Wildcard(String),
}

impl HostMatch {
    /// Whether `host` (lowercased, without port) matches; a wildcard needs at least one label before its suffix.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(exact) => host == exact,
            Self::Wildcard(suffix) => host
                .strip_suffix(suffix.as_str())
                .is_some_and(|labels| !labels.is_empty() && !labels.ends_with('.')),
        }
    }

    /// Parses a `host` value, or says what is wrong with it.
    pub(crate) fn parse(pattern: &str) -> Result<Self, &'static str> {
        if pattern.is_empty() {
            return Err("is empty");
        }
        if pattern.contains('/') {
            return Err("contains '/' (put paths in path_prefix)");
        }
        if pattern.contains(':') {
            return Err("contains ':' (hosts are matched without their port)");
        }
        if pattern.chars().any(char::is_whitespace) {
            return Err("contains whitespace");
        }
        let lower = pattern.to_ascii_lowercase();
        match lower.strip_prefix('*') {
            Some(suffix)
                if suffix.len() > 1 && suffix.starts_with('.') && !suffix.contains('*') =>
            {
                Ok(Self::Wildcard(suffix.to_owned()))
            }
            Some(_) => Err("has a '*' that is not a leading \"*.\" followed by a domain"),
            None if lower.contains('*') => Err("has a '*' that is not a leading \"*.\""),
            None => Ok(Self::Exact(lower)),
        }
    }
}

impl fmt::Display for HostMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(host) => f.write_str(host),
            Self::Wildcard(suffix) => write!(f, "*{suffix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HostMatch;

    #[test]
    fn exact_hosts_are_lowercased_and_match_only_themselves() {
        let host = HostMatch::parse("API.Example.com").unwrap();
        assert_eq!(host, HostMatch::Exact("api.example.com".to_owned()));
        assert!(host.matches("api.example.com"));
        assert!(!host.matches("www.api.example.com"));
    }

    #[test]
    fn wildcards_match_subdomains_but_not_the_bare_domain() {
        let host = HostMatch::parse("*.Example.com").unwrap();
        assert_eq!(host, HostMatch::Wildcard(".example.com".to_owned()));
        assert!(host.matches("a.example.com"));
        assert!(host.matches("a.b.example.com"));
        assert!(!host.matches("example.com"));
        assert!(!host.matches(".example.com"));
        assert!(!host.matches("badexample.com"));
    }

    #[test]
    fn malformed_patterns_are_rejected() {
        for bad in [
            "", "a/b", "a.com:80", "a b", "*", "*.", "a.*.com", "*a.com", "*.*.com",
        ] {
            assert!(HostMatch::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn displays_as_written() {
        assert_eq!(
            HostMatch::parse("*.example.com").unwrap().to_string(),
            "*.example.com"
        );
    }
}
