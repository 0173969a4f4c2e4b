//! The http driver against a tiny hyper server on 127.0.0.1:0.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tidegate_scaler::driver::{HttpDriver, HttpDriverConfig};
use tidegate_scaler::{Driver, DriverError, DriverErrorKind, InstanceId, OpId};
use tokio::net::TcpListener;

type Seen = Arc<Mutex<Vec<String>>>;

async fn handle(
    request: Request<Incoming>,
    seen: Seen,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let auth = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let line = format!("{} {}", request.method(), request.uri().path());
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    seen.lock()
        .unwrap()
        .push(format!("{line} {}", String::from_utf8_lossy(&body)));
    let reply = |status: StatusCode, body: &str| {
        let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
        *response.status_mut() = status;
        response
    };
    if auth != "Bearer s3cret" {
        return Ok(reply(StatusCode::UNAUTHORIZED, "missing token"));
    }
    Ok(match line.as_str() {
        "GET /scaler/web/instances" => reply(
            StatusCode::OK,
            r#"[{"id":"i-1","address":"127.0.0.1:9101","region":"eu-west"},{"id":"i-2","address":"127.0.0.1:9102"}]"#,
        ),
        "POST /scaler/web/target" | "POST /scaler/web/remove" => reply(StatusCode::OK, "{}"),
        "GET /scaler/limited/instances" => {
            let mut r = reply(StatusCode::TOO_MANY_REQUESTS, "slow down");
            r.headers_mut().insert("retry-after", "7".parse().unwrap());
            r
        }
        "GET /scaler/broken/instances" => reply(StatusCode::SERVICE_UNAVAILABLE, "down"),
        "GET /scaler/garbage/instances" => reply(StatusCode::OK, "<html>"),
        "GET /scaler/slow/instances" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            reply(StatusCode::OK, "[]")
        }
        _ => reply(StatusCode::NOT_FOUND, "no such route"),
    })
}

/// Serves on 127.0.0.1:0 until the test ends; returns the base URL and the request log.
async fn server() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let service = service_fn(move |r| handle(r, Arc::clone(&log)));
                let _closed = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}/scaler/"), seen)
}

fn driver(url: &str, token: Option<&str>) -> HttpDriver {
    let config = HttpDriverConfig {
        token: token.map(str::to_owned),
        timeout: Duration::from_millis(500),
        ..HttpDriverConfig::new(url)
    };
    HttpDriver::new("webhook", config).unwrap()
}

#[tokio::test]
async fn lists_sets_target_and_removes_with_the_token() {
    let (url, seen) = server().await;
    let d = driver(&url, Some("s3cret"));
    let instances = d.instances("web").await.unwrap();
    assert_eq!(instances.len(), 2);
    assert_eq!(instances[0].region.as_deref(), Some("eu-west"));
    assert_eq!(instances[1].address.port(), 9102);

    d.set_target("web", 4, &OpId::new("op-1")).await.unwrap();
    d.remove("web", &[InstanceId::new("i-2")], &OpId::new("op-2"))
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen[1..],
        [
            r#"POST /scaler/web/target {"desired":4,"op_id":"op-1"}"#.to_owned(),
            r#"POST /scaler/web/remove {"ids":["i-2"],"op_id":"op-2"}"#.to_owned(),
        ]
    );
}

#[tokio::test]
async fn statuses_are_classified() {
    let (url, _seen) = server().await;
    let d = driver(&url, Some("s3cret"));
    let err = d.instances("limited").await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(matches!(err, DriverError::RateLimited { .. }));
    assert_eq!(
        d.instances("broken").await.unwrap_err().kind(),
        DriverErrorKind::Transient
    );
    assert_eq!(
        d.instances("missing").await.unwrap_err().kind(),
        DriverErrorKind::Permanent
    );
    assert_eq!(
        d.instances("garbage").await.unwrap_err().kind(),
        DriverErrorKind::Permanent
    );
    let err = d.instances("slow").await.unwrap_err();
    assert_eq!(err.kind(), DriverErrorKind::Transient);
    assert!(err.to_string().contains("timed out"), "{err}");
    // Without the token: 401 is permanent.
    let anonymous = driver(&url, None);
    assert_eq!(
        anonymous.instances("web").await.unwrap_err().kind(),
        DriverErrorKind::Permanent
    );
}

#[tokio::test]
async fn unreachable_webhook_is_transient_and_bad_urls_are_rejected() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let d = driver(&format!("http://{addr}"), None);
    assert_eq!(
        d.instances("web").await.unwrap_err().kind(),
        DriverErrorKind::Transient
    );
    assert!(HttpDriver::new("w", HttpDriverConfig::new("https://example.invalid")).is_err());
    assert!(HttpDriver::new("w", HttpDriverConfig::new("not a url")).is_err());
    assert_eq!(
        d.instances("a/b").await.unwrap_err().kind(),
        DriverErrorKind::Permanent
    );
}
