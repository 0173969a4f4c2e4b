//! Upstream keep-alive: requests within `timeout.idle` of each other share one
//! connection to the backend; a connection left idle longer is closed by the proxy,
//! and the next request opens a new one. For HTTP/1.1 and HTTP/2 pools alike.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tidegate_tests::{client, config_file, get, proxy};
use tokio::sync::mpsc;

/// The pools' `timeout.idle` in these tests.
const IDLE: Duration = Duration::from_secs(1);

/// A backend (HTTP/1.1 and h2c) that counts the connections it accepts and
/// reports when each one is closed by the other side.
struct CountingBackend {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    closed: mpsc::UnboundedReceiver<Instant>,
}

impl CountingBackend {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (closed_tx, closed) = mpsc::unbounded_channel();
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let closed_tx = closed_tx.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
                            b"counted\n",
                        ))))
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                    let _ = closed_tx.send(Instant::now());
                });
            }
        });
        Self {
            addr,
            accepted,
            closed,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Requests in a row reuse one connection; left idle, it is closed after `IDLE`
/// (not before, and not much later); the next request opens a second one.
async fn idle_connections_close_after_the_timeout(protocol: &str) {
    let mut backend = CountingBackend::start().await;
    // One worker, so every request draws on the same pool of upstream connections.
    let config = config_file(&format!(
        "[server]\nthreads = 1\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [pool.p]\nprotocol = \"{protocol}\"\nbackends = [\"{}\"]\n\
         timeout = {{ idle = \"{}ms\" }}\n",
        backend.addr,
        IDLE.as_millis()
    ));
    let proxy = proxy(&config, 1);
    let client = client();
    for _ in 0..10 {
        let answer = get(&client, proxy.addr(), "/", &[]).await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let last_answer = Instant::now();
    assert_eq!(
        backend.accepted(),
        1,
        "{protocol}: ten requests in a row share one upstream connection"
    );

    let closed_at = tokio::time::timeout(IDLE * 5, backend.closed.recv())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{protocol}: the idle connection is still open after {:?}",
                IDLE * 5
            )
        })
        .unwrap();
    let idle_for = closed_at.saturating_duration_since(last_answer);
    println!(
        "{protocol}: idle upstream connection closed after {idle_for:?} (timeout.idle {IDLE:?})"
    );
    assert!(
        idle_for >= IDLE.mul_f64(0.8) && idle_for < IDLE * 3,
        "{protocol}: closed after {idle_for:?}, configured {IDLE:?}"
    );

    let answer = get(&client, proxy.addr(), "/", &[]).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        backend.accepted(),
        2,
        "{protocol}: the request after the idle timeout opens a new connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_upstream_connections_are_reused_then_closed_after_the_idle_timeout() {
    idle_connections_close_after_the_timeout("http1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_upstream_connections_are_reused_then_closed_after_the_idle_timeout() {
    idle_connections_close_after_the_timeout("h2").await;
}
