//! How the proxy talks to a pool's backends: which HTTP version it speaks to them,
//! how often a failed request is retried and how long connecting, reading and idling
//! may take.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// A pool's `protocol`: the HTTP version spoken to its backends, whatever the client spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamProtocol {
    /// HTTP/1.1, one request at a time per connection; the default.
    #[default]
    Http1,
    /// HTTP/2, many requests per connection, with trailers (what gRPC needs): prior
    /// knowledge (h2c) over plain TCP, ALPN `h2` when the pool has `tls = true`.
    H2,
}

impl UpstreamProtocol {
    /// Every protocol, in the order the documentation lists them.
    pub(crate) const ALL: [Self; 2] = [Self::Http1, Self::H2];

    /// The name used in the file.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Http1 => "http1",
            Self::H2 => "h2",
        }
    }

    /// The protocol called `name` in the file.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|protocol| protocol.name() == name)
    }
}

impl fmt::Display for UpstreamProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A pool's `retry`: retries on another backend after a connect failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retry {
    /// Retries after the first try; 0 disables retries. Default 2.
    pub attempts: u32,
    /// Retries allowed as a percentage of the pool's requests, 0..=100; default 20.
    pub budget_percent: u32,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 2,
            budget_percent: 20,
        }
    }
}

/// A pool's `timeout`: limits on upstream connections, all greater than zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    /// Time to establish a connection to a backend; default 1 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub connect: Duration,
    /// Time to wait for the backend's response; default 60 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub read: Duration,
    /// How long an idle upstream keep-alive connection is kept; default 60 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(1),
            read: Duration::from_secs(60),
            idle: Duration::from_secs(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UpstreamProtocol;

    #[test]
    fn protocol_names_round_trip() {
        for protocol in UpstreamProtocol::ALL {
            assert_eq!(
                UpstreamProtocol::from_name(&protocol.to_string()),
                Some(protocol)
            );
        }
        assert_eq!(UpstreamProtocol::from_name("HTTP/2"), None);
    }
}
