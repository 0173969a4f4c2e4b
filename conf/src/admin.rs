//! The admin API's place in the configuration: where it listens and the bearer token
//! that guards it.

use std::net::SocketAddr;

use serde::Serialize;

/// `[admin]`: the admin API, `/metrics` and the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Admin {
    /// The socket address to bind; default `127.0.0.1:9901`.
    pub address: SocketAddr,
    /// The bearer token requests must carry, after `${ENV}` interpolation; required off loopback.
    #[serde(serialize_with = "crate::serialize::redacted")]
    pub token: Option<String>,
}

impl Admin {
    /// The address used when `[admin]` leaves `address` out.
    pub const DEFAULT_ADDRESS: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9901);
}
