//! Active health probes: an HTTP GET that must answer 2xx or 3xx, or a TCP connect.
//!
//! A probe opens a fresh connection each time (it must not ride on a keep-alive
//! connection that outlived the backend) and is bounded by the check's timeout.

use std::net::SocketAddr;
use std::time::Duration;

use tidegate_conf::HealthProbe;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Runs one probe against `address`; true when it passed within `timeout`.
pub async fn probe(address: SocketAddr, probe: &HealthProbe, timeout: Duration) -> bool {
    tokio::time::timeout(timeout, run(address, probe))
        .await
        .unwrap_or(false)
}

async fn run(address: SocketAddr, probe: &HealthProbe) -> bool {
    let Ok(mut tcp) = TcpStream::connect(address).await else {
        return false;
    };
    let HealthProbe::Http { path } = probe else {
        return true;
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: tidegate-health\r\nConnection: close\r\n\r\n"
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
        assert!(probe(address, &http, Duration::from_secs(2)).await);
        assert!(probe(address, &HealthProbe::Tcp, Duration::from_secs(2)).await);
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        assert!(!probe(closed, &http, Duration::from_secs(2)).await);
    }
}
