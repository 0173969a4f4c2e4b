//! Active health probes: an HTTP GET that must answer 2xx or 3xx, or a TCP connect.
//!
//! A probe opens a fresh connection each time (it must not ride on a keep-alive
//! connection that outlived the backend) and is bounded by the check's timeout. In
//! a pool with `tls = true` the GET goes over TLS, with the pool's SNI and
//! verification, as requests do.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pingora::tls::CertificateDer;
use pingora::tls::{
    ClientConfig, CryptoProvider, DigitallySignedStruct, HandshakeSignatureValid, RootCertStore,
    RusTlsError, ServerCertVerified, ServerCertVerifier, ServerName, SignatureScheme, TlsConnector,
    UnixTime,
};
use tidegate_conf::HealthProbe;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::pool::UpstreamTls;

/// Runs one probe against `address` (over TLS when `tls` is set); true when it
/// passed within `timeout`.
pub async fn probe(
    address: SocketAddr,
    probe: &HealthProbe,
    tls: Option<&UpstreamTls>,
    timeout: Duration,
) -> bool {
    tokio::time::timeout(timeout, run(address, probe, tls))
        .await
        .unwrap_or(false)
}

async fn run(address: SocketAddr, probe: &HealthProbe, tls: Option<&UpstreamTls>) -> bool {
    let Ok(tcp) = TcpStream::connect(address).await else {
        return false;
    };
    let HealthProbe::Http { path } = probe else {
        return true;
    };
    let Some(tls) = tls else {
        return get(tcp, &address.to_string(), path).await;
    };
    let name = if tls.sni.is_empty() {
        ServerName::IpAddress(address.ip().into())
    } else {
        match ServerName::try_from(tls.sni.clone()) {
            Ok(name) => name,
            Err(_) => return false,
        }
    };
    match connector(tls.verify).connect(name, tcp).await {
        Ok(stream) => {
            let host = if tls.sni.is_empty() {
                address.to_string()
            } else {
                tls.sni.clone()
            };
            get(stream, &host, path).await
        }
        Err(e) => {
            tracing::debug!(backend = %address, error = %e, "health probe TLS handshake failed");
            false
        }
    }
}

/// GETs `path` from `host` over `stream`; true on a 2xx or 3xx status line.
async fn get(mut stream: impl AsyncRead + AsyncWrite + Unpin, host: &str, path: &str) -> bool {
    let tcp = &mut stream;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: tidegate-health\r\nConnection: close\r\n\r\n"
    );
    if tcp.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut head = [0u8; 64];
    let mut filled = 0;
    while filled < 12 {
        match tcp.read(&mut head[filled..]).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => filled += n,
        }
    }
    passing_status(&head[..filled])
}

/// The TLS client of probes: verifying against the system roots, or not at all
/// (`tls_verify = false`). Built once per process.
fn connector(verify: bool) -> TlsConnector {
    static VERIFYING: OnceLock<TlsConnector> = OnceLock::new();
    static TRUSTING: OnceLock<TlsConnector> = OnceLock::new();
    let build = || {
        pingora::tls::install_default_crypto_provider();
        let builder = ClientConfig::builder();
        let mut config = if verify {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(pingora::tls::load_native_certs().unwrap_or_default());
            builder.with_root_certificates(roots).with_no_client_auth()
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate))
                .with_no_client_auth()
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        TlsConnector::from(Arc::new(config))
    };
    if verify {
        VERIFYING.get_or_init(build).clone()
    } else {
        TRUSTING.get_or_init(build).clone()
    }
}

/// `tls_verify = false`: any certificate is accepted; handshake signatures are
/// still checked, so the peer holds the key of the certificate it shows.
#[derive(Debug)]
struct AcceptAnyCertificate;

impl AcceptAnyCertificate {
    fn provider() -> Arc<CryptoProvider> {
        CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, RusTlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RusTlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &Self::provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RusTlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &Self::provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        Self::provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Whether a response starts with an HTTP status line of 2xx or 3xx.
fn passing_status(head: &[u8]) -> bool {
    head.starts_with(b"HTTP/1.") && matches!(head.get(9), Some(b'2' | b'3'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_2xx_and_3xx_pass() {
        assert!(passing_status(b"HTTP/1.1 200 OK\r\n"));
        assert!(passing_status(b"HTTP/1.0 302 Found\r\n"));
        assert!(!passing_status(b"HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(!passing_status(b"SSH-2.0-OpenSSH"));
    }

    #[tokio::test]
    async fn probes_a_real_listener_and_a_closed_port() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
            }
        });
        let http = HealthProbe::Http {
            path: "/healthz".into(),
        };
        assert!(probe(address, &http, None, Duration::from_secs(2)).await);
        assert!(probe(address, &HealthProbe::Tcp, None, Duration::from_secs(2)).await);
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        assert!(!probe(closed, &http, None, Duration::from_secs(2)).await);
    }
}
