//! `tidegate backend`: a small real HTTP backend for demos, tests and benchmarks.
//!
//! It answers every request with `200` and one line naming its port and region
//! (`backend 9001 region eu-west`), after an optional latency with jitter, and
//! fails a chosen fraction of requests with `500`. `/healthz` answers at once;
//! `/headers` echoes the request headers it received. HTTP/1.1 and h2c.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

/// How a backend behaves.
#[derive(Debug, Clone, Default)]
pub struct BackendOptions {
    /// Added before every answer but `/healthz`.
    pub latency: Duration,
    /// Uniform jitter around `latency` (+/- this much).
    pub jitter: Duration,
    /// Named in the body.
    pub region: Option<String>,
    /// Fraction of requests answered with 500, 0.0 to 1.0.
    pub fail_rate: f64,
}

/// One backend's answering logic, shared by its connections.
#[derive(Debug)]
struct Behaviour {
    options: BackendOptions,
    body: Bytes,
    failure: Bytes,
}

/// Serves `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    options: BackendOptions,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let region = options.region.as_deref().unwrap_or("none");
    let behaviour = Arc::new(Behaviour {
        body: Bytes::from(format!("backend {port} region {region}\n")),
        failure: Bytes::from(format!("backend {port} failing on purpose\n")),
        options,
    });
    tokio::pin!(shutdown);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "backend accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let _ = tcp.set_nodelay(true);
        let behaviour = Arc::clone(&behaviour);
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(Arc::clone(&behaviour), req));
            let builder = auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .await
            {
                tracing::debug!(error = %e, "backend connection ended with an error");
            }
        });
    }
}

async fn answer(
    behaviour: Arc<Behaviour>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path();
    if path == "/healthz" {
        return Ok(text(StatusCode::OK, Bytes::from_static(b"ok\n")));
    }
    let options = &behaviour.options;
    let delay = delay(options.latency, options.jitter);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if options.fail_rate > 0.0 && fastrand::f64() < options.fail_rate {
        return Ok(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            behaviour.failure.clone(),
        ));
    }
    if path == "/headers" {
        let mut echoed = String::new();
        for (name, value) in req.headers() {
            echoed.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        return Ok(text(StatusCode::OK, Bytes::from(echoed)));
    }
    Ok(text(StatusCode::OK, behaviour.body.clone()))
}

fn delay(latency: Duration, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return latency;
    }
    let spread = jitter.as_secs_f64() * (2.0 * fastrand::f64() - 1.0);
    Duration::from_secs_f64((latency.as_secs_f64() + spread).max(0.0))
}

fn text(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Binds `address` for a backend (port 0 picks a free port).
pub async fn bind(address: SocketAddr) -> Result<TcpListener, crate::StartError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| crate::StartError::Bind { address, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_bounds() {
        let latency = Duration::from_millis(20);
        let jitter = Duration::from_millis(5);
        for _ in 0..1000 {
            let d = delay(latency, jitter);
            assert!(d >= Duration::from_millis(15) && d <= Duration::from_millis(25));
        }
        assert_eq!(delay(latency, Duration::ZERO), latency);
    }
}
