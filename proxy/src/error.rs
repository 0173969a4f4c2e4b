//! Errors that stop Tidegate from starting.

use std::net::SocketAddr;

/// Why the proxy, the demo or a backend could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration file is invalid.
    #[error(transparent)]
    Config(#[from] tidegate_conf::ConfigError),
    /// A listener's TLS certificate could not be loaded.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The autoscaler could not start.
    #[error(transparent)]
    Autoscale(#[from] crate::autoscale::AutoscaleError),
    /// A listening socket could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address from the configuration.
        address: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A runtime, thread or signal handler could not be created.
    #[error("cannot start {what}: {source}")]
    Runtime {
        /// What was being started.
        what: &'static str,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}
