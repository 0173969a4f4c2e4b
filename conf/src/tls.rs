//! TLS on a listener: the certificate and key files it serves, several of them when
//! the certificate is chosen by SNI. Paths are resolved and checked to be readable
//! files at load time; their PEM contents are the proxy's business.

use std::path::PathBuf;

use serde::Serialize;

/// A listener's `tls`: one or more certificates, chosen by SNI at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenerTls {
    /// The certificates in file order; at least one, the first is the default.
    pub certs: Vec<CertKey>,
}

/// A certificate chain and its private key, both PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertKey {
    /// The certificate chain file, resolved against the configuration file's directory.
    pub cert: PathBuf,
    /// The private key file, resolved against the configuration file's directory.
    pub key: PathBuf,
}
