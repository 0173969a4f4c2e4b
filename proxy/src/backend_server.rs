//! `tidegate backend`: a small real HTTP backend for demos, tests and benchmarks.
//!
//! It answers every request with `200` and one line naming its port and region
//! (`backend 9001 region eu-west`), after an optional latency with jitter, and
//! fails a chosen fraction of requests with a chosen status (500 by default).
//! `/healthz` answers at once; `/headers` echoes the request headers it received;
//! a WebSocket upgrade on `/ws` echoes every message. HTTP/1.1 and h2c.

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
    /// Fraction of requests answered with `fail_status`, 0.0 to 1.0.
    pub fail_rate: f64,
    /// The status of a failed answer (500 when unset).
    pub fail_status: Option<StatusCode>,
}

/// One backend's answering logic, shared by its connections.
#[derive(Debug)]
struct Behaviour {
    options: BackendOptions,
    body: Bytes,
    failure: Bytes,
}

/// How often [`parent_exited`] looks at the parent process.
const PARENT_CHECK: Duration = Duration::from_millis(500);

/// Resolves once the process that started this one has exited: this process
/// then has another parent (it was adopted by init or a subreaper). Works when
/// the parent was killed outright and could not stop its children itself. The
/// parent is the one named by `TIDEGATE_PARENT_PID` (the process driver sets
/// it), so a parent that died before this process got to look is seen too;
/// without it, the parent at the first look.
pub async fn parent_exited() {
    let parent = std::env::var("TIDEGATE_PARENT_PID")
        .ok()
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(std::os::unix::process::parent_id);
    let mut ticks = tokio::time::interval(PARENT_CHECK);
    loop {
        ticks.tick().await;
        if std::os::unix::process::parent_id() != parent {
            return;
        }
    }
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
    if path == "/ws" {
        return Ok(websocket::upgrade(req));
    }
    let options = &behaviour.options;
    let delay = delay(options.latency, options.jitter);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if options.fail_rate > 0.0 && fastrand::f64() < options.fail_rate {
        let status = options
            .fail_status
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Ok(text(status, behaviour.failure.clone()));
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

mod websocket {
    //! The `/ws` echo: answers the upgrade, then sends every message back.

    use bytes::Bytes;
    use futures::{SinkExt, StreamExt};
    use http::{header, Request, Response, StatusCode};
    use http_body_util::Full;
    use hyper::body::Incoming;
    use hyper_util::rt::TokioIo;
    use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::WebSocketStream;

    /// The 101 answer to a WebSocket upgrade (or 400 when it is not one).
    pub(super) fn upgrade(mut req: Request<Incoming>) -> Response<Full<Bytes>> {
        let is_upgrade = req
            .headers()
            .get(header::UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
        let Some(key) = req
            .headers()
            .get(header::SEC_WEBSOCKET_KEY)
            .filter(|_| is_upgrade)
        else {
            return super::text(
                StatusCode::BAD_REQUEST,
                Bytes::from_static(b"expected a WebSocket upgrade\n"),
            );
        };
        let accept = derive_accept_key(key.as_bytes());
        let upgrading = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            match upgrading.await {
                Ok(upgraded) => {
                    let ws = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        None,
                    )
                    .await;
                    echo(ws).await;
                }
                Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
            }
        });
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::UPGRADE, http::HeaderValue::from_static("websocket"));
        headers.insert(
            header::CONNECTION,
            http::HeaderValue::from_static("upgrade"),
        );
        if let Ok(accept) = http::HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }

    async fn echo<S>(ws: WebSocketStream<S>)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let (mut tx, mut rx) = ws.split();
        while let Some(Ok(message)) = rx.next().await {
            if message.is_close() {
                break;
            }
            if (message.is_text() || message.is_binary()) && tx.send(message).await.is_err() {
                break;
            }
        }
    }
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
