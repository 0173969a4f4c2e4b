//! TLS termination on a listener: rustls with ALPN `h2`, `http/1.1` and
//! `http/1.0` (which some clients offer alone, and which the HTTP/1.1 path
//! serves), and the certificate chosen by SNI among the listener's `certs`.
//!
//! Each certificate's names come from its subject alternative names (or its
//! common name when it has none); a client naming none of them, or no name at
//! all, gets the first certificate. Loading happens once at start, so a bad file
//! stops Tidegate before it listens rather than failing handshakes later.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use pingora::listeners::tls::Acceptor;
use pingora::tls::sign::CertifiedKey;
use pingora::tls::{ClientHello, CryptoProvider, ResolvesServerCert, ServerConfig};
use tidegate_conf::ListenerTls;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// A listener's certificates could not be used.
#[derive(Debug, thiserror::Error)]
#[error("TLS certificate {path}: {reason}")]
pub struct TlsError {
    path: String,
    reason: String,
}

fn tls_error(path: &Path, reason: impl fmt::Display) -> TlsError {
    TlsError {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Builds the TLS acceptor of a listener.
pub fn acceptor(config: &ListenerTls) -> Result<Acceptor, TlsError> {
    pingora::tls::install_default_crypto_provider();
    let mut certs = Vec::with_capacity(config.certs.len());
    for pair in &config.certs {
        certs.push(load(&pair.cert, &pair.key)?);
    }
    let resolver = SniResolver { certs };
    let mut server = ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), b"http/1.0".to_vec()];
    Ok(Acceptor::from_server_config(Arc::new(server)))
}

/// One certificate with the names it serves.
struct NamedCert {
    names: Vec<String>,
    key: Arc<CertifiedKey>,
}

fn load(cert: &Path, key: &Path) -> Result<NamedCert, TlsError> {
    let (chain, private_key) =
        pingora::tls::load_certs_and_key_files(&cert.to_string_lossy(), &key.to_string_lossy())
            .map_err(|e| tls_error(cert, e))?
            .ok_or_else(|| {
                tls_error(
                    cert,
                    "no certificate or no private key found in the PEM files",
                )
            })?;
    let provider = CryptoProvider::get_default()
        .ok_or_else(|| tls_error(cert, "no TLS crypto provider installed"))?;
    let signing = provider
        .key_provider
        .load_private_key(private_key)
        .map_err(|e| tls_error(key, e))?;
    let leaf = chain
        .first()
        .ok_or_else(|| tls_error(cert, "the file holds no certificate"))?;
    let names = names(leaf.as_ref()).map_err(|e| tls_error(cert, e))?;
    Ok(NamedCert {
        names,
        key: Arc::new(CertifiedKey::new(chain, signing)),
    })
}

/// The DNS names (lowercased) a certificate is for.
fn names(der: &[u8]) -> Result<Vec<String>, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let GeneralName::DNSName(dns) = name {
                names.push(dns.to_ascii_lowercase());
            }
        }
    }
    if names.is_empty() {
        for cn in cert.subject().iter_common_name() {
            if let Ok(cn) = cn.as_str() {
                names.push(cn.to_ascii_lowercase());
            }
        }
    }
    Ok(names)
}

/// Whether certificate name `pattern` (maybe `*.example.com`) covers `host`.
fn covers(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

/// Picks the certificate whose names cover the client's SNI.
struct SniResolver {
    certs: Vec<NamedCert>,
}

impl fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SniResolver")
            .field(
                "names",
                &self.certs.iter().map(|c| &c.names).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = client_hello.server_name().and_then(|sni| {
            let sni = sni.to_ascii_lowercase();
            self.certs
                .iter()
                .find(|c| c.names.iter().any(|n| covers(n, &sni)))
        });
        chosen.or(self.certs.first()).map(|c| Arc::clone(&c.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("api.example.com", "api.example.com"));
        assert!(covers("*.example.com", "api.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
    }

    #[test]
    fn the_example_certificate_loads_with_its_names() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/examples/certs");
        pingora::tls::install_default_crypto_provider();
        let cert = load(&dir.join("cert.pem"), &dir.join("key.pem")).unwrap();
        assert!(
            cert.names.iter().any(|n| n == "localhost"),
            "{:?}",
            cert.names
        );
    }
}
