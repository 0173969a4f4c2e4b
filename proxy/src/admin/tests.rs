//! The admin API end to end in process: routes, layers and status codes.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use tower::ServiceExt;

use super::*;
use crate::clock::Clock;

fn context(token: Option<&str>) -> Arc<AdminContext> {
    let config = tidegate_conf::parse(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\nbackends = [\"127.0.0.1:9001\"]\n",
        "t.toml",
    )
    .unwrap();
    let plane = Arc::new(DataPlane::new(config, Clock::new()));
    Arc::new(AdminContext {
        reloader: Arc::new(Reloader::new(None, Arc::clone(&plane))),
        autoscaler: Arc::new(Autoscaler::idle()),
        plane,
        metrics: None,
        token: token.map(str::to_string),
    })
}

async fn call(
    context: &Arc<AdminContext>,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, HeaderMap, serde_json::Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request.body(Body::from(body.to_string())).unwrap();
    let response = router(Arc::clone(context)).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (parts.status, parts.headers, json)
}

#[tokio::test]
async fn the_token_guards_everything_but_the_probes() {
    let context = context(Some("s3cret"));
    let (status, headers, body) = call(&context, "GET", "/api/v1/pools", None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        "Bearer realm=\"tidegate\""
    );
    assert!(body["error"].is_string());
    let wrong = call(&context, "GET", "/api/v1/pools", Some("guess"), "").await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    let (status, _, body) = call(&context, "GET", "/api/v1/pools", Some("s3cret"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["pools"][0]["backends"][0]["state"], "ready");
    for probe in ["/healthz", "/readyz"] {
        assert_eq!(
            call(&context, "GET", probe, None, "").await.0,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn the_dashboard_page_is_served_without_the_token_and_reads_the_api() {
    let context = context(Some("s3cret"));
    for path in ["/", "/dashboard"] {
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        let response = router(Arc::clone(&context)).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let page = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(page.contains("/api/v1/pools") && page.contains("/api/v1/scaler/events"));
        assert!(!page.contains("s3cret"));
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let context = context(None);
    let (status, _, body) = call(&context, "GET", "/nope", None, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "no route for GET /nope");
    let (status, headers, body) = call(&context, "PUT", "/api/v1/pools", None, "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(headers.contains_key(header::ALLOW));
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn backends_join_and_drain_and_errors_have_their_status() {
    let context = context(None);
    let add = |body: &'static str| {
        let context = Arc::clone(&context);
        async move { call(&context, "POST", "/api/v1/pools/p/backends", None, body).await }
    };
    let (status, _, body) = add(r#"{"address":"127.0.0.1:9005","weight":2}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (body["origin"].as_str(), body["weight"].as_u64()),
        (Some("admin"), Some(2))
    );
    assert_eq!(
        add(r#"{"address":"127.0.0.1:9005"}"#).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        add(r#"{"address":"nowhere"}"#).await.0,
        StatusCode::BAD_REQUEST
    );
    let missing = call(&context, "POST", "/api/v1/pools/q/backends", None, "{}").await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND);

    let uri = "/api/v1/pools/p/backends/127.0.0.1:9005";
    let (status, _, body) = call(&context, "DELETE", uri, None, "").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["state"], "draining");
    let gone = call(
        &context,
        "DELETE",
        "/api/v1/pools/p/backends/127.0.0.1:1",
        None,
        "",
    )
    .await;
    assert_eq!(gone.0, StatusCode::NOT_FOUND);
    let bad = call(&context, "DELETE", "/api/v1/pools/p/backends/x", None, "").await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn reload_without_a_file_conflicts_and_metrics_need_a_recorder() {
    let context = context(None);
    let (status, _, body) = call(&context, "POST", "/api/v1/reload", None, "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["error"].as_str().unwrap().contains("not started from"));
    let (status, _, body) = call(&context, "GET", "/metrics", None, "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn the_config_hides_its_secrets() {
    let config = tidegate_conf::parse(
        "[admin]\naddress = \"127.0.0.1:0\"\ntoken = \"s3cret\"\n\
         [[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\nbackends = [\"127.0.0.1:9001\"]\n",
        "t.toml",
    )
    .unwrap();
    let plane = Arc::new(DataPlane::new(config, Clock::new()));
    let context = Arc::new(AdminContext {
        reloader: Arc::new(Reloader::new(None, Arc::clone(&plane))),
        autoscaler: Arc::new(Autoscaler::idle()),
        plane,
        metrics: None,
        token: Some("s3cret".to_string()),
    });
    let (status, _, body) = call(&context, "GET", "/api/v1/config", Some("s3cret"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["admin"]["token"], "***");
    assert_eq!(body["server"]["grace_period"], "30s");
    assert_eq!(body["pools"][0]["policy"], "least_conn");
    assert!(!body.to_string().contains("s3cret"));
}

#[tokio::test]
async fn readiness_names_the_pools_without_a_usable_backend() {
    let context = context(None);
    let address = "127.0.0.1:9001".parse().unwrap();
    context.plane.drain_backend("p", address).unwrap();
    let (status, _, body) = call(&context, "GET", "/readyz", None, "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["pools"][0], "p");
}

#[test]
fn every_example_configuration_shows_as_json() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/examples");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let config = tidegate_conf::load(&path).unwrap();
            let json = serde_json::to_value(&config).unwrap();
            assert!(json["pools"][0]["name"].is_string(), "{}", path.display());
        }
    }
}

#[test]
fn driver_tokens_are_redacted_and_durations_read_as_written() {
    let config = tidegate_conf::parse(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\nbackends = [\"127.0.0.1:9001\"]\n\
         [driver.hook]\nkind = \"http\"\nurl = \"http://127.0.0.1:7000/pools\"\n\
         token = \"drv-s3cret\"\ntimeout = \"1500ms\"\n",
        "t.toml",
    )
    .unwrap();
    let json = serde_json::to_value(&config).unwrap();
    let driver = &json["drivers"][0];
    assert_eq!(driver["kind"], "http");
    assert_eq!(driver["token"], "***");
    assert_eq!(driver["timeout"], "1s 500ms");
    assert!(!json.to_string().contains("drv-s3cret"));
}

#[test]
fn driver_environment_values_and_url_passwords_are_redacted() {
    let config = tidegate_conf::parse(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\nbackends = [\"127.0.0.1:9001\"]\n\
         [driver.local]\nkind = \"process\"\ncommand = [\"worker\", \"{port}\"]\n\
         ports = \"9100-9109\"\nenv = { API_KEY = \"k3y-s3cret\" }\n\
         [driver.hook]\nkind = \"http\"\nurl = \"http://ops:pa55-s3cret@127.0.0.1:7000/pools\"\n",
        "t.toml",
    )
    .unwrap();
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(
        json["drivers"][0]["env"],
        serde_json::json!([["API_KEY", "***"]])
    );
    assert_eq!(
        json["drivers"][1]["url"],
        "http://ops:***@127.0.0.1:7000/pools"
    );
    let text = json.to_string();
    assert!(!text.contains("k3y-s3cret") && !text.contains("pa55-s3cret"));
}

/// A context whose pool `s` is scaled by a static driver over two backends.
fn scaled_context() -> Arc<AdminContext> {
    let config = tidegate_conf::parse(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\
         [[route]]\npath_prefix = \"/s\"\npool = \"s\"\n\
         [[route]]\npool = \"p\"\n\
         [pool.p]\nbackends = [\"127.0.0.1:9001\"]\n\
         [pool.s]\nbackends = [\"127.0.0.1:9002\", \"127.0.0.1:9003\"]\n\
         [pool.s.scaler]\ndriver = \"fixed\"\nmin = 1\nmax = 2\n\
         [driver.fixed]\nkind = \"static\"\n",
        "t.toml",
    )
    .unwrap();
    let plane = Arc::new(DataPlane::new(config, Clock::new()));
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let autoscaler = Autoscaler::start(&plane.config(), &plane, &stopped).unwrap();
    Arc::new(AdminContext {
        reloader: Arc::new(Reloader::new(None, Arc::clone(&plane))),
        autoscaler: Arc::new(autoscaler),
        plane,
        metrics: None,
        token: None,
    })
}

#[tokio::test]
async fn the_scaler_is_shown_and_steered() {
    let context = scaled_context();
    let (status, _, body) = call(&context, "GET", "/api/v1/pools/s/scaler", None, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["driver"], "fixed");
    assert_eq!(
        (body["min"].as_u64(), body["max"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(body["overrides"]["paused"], false);

    let uri = "/api/v1/pools/s/scaler";
    let (status, _, body) = call(&context, "PUT", uri, None, r#"{"paused":true,"min":2}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["overrides"]["paused"], true);
    assert_eq!(body["overrides"]["min"], 2);
    // A field left out keeps its value; null restores the configured one.
    let (_, _, body) = call(&context, "PUT", uri, None, r#"{"desired":2}"#).await;
    assert_eq!(
        (&body["overrides"]["min"], &body["overrides"]["desired"]),
        (&serde_json::json!(2), &serde_json::json!(2))
    );
    let (_, _, body) = call(&context, "PUT", uri, None, r#"{"min":null,"paused":false}"#).await;
    assert!(body["overrides"]["min"].is_null(), "{body}");
    assert_eq!(body["overrides"]["paused"], false);
    assert_eq!(body["overrides"]["desired"], 2);

    for (bad, why) in [
        (r#"{"min":2,"max":1,"desired":null}"#, "max"),
        (r#"{"desired":3}"#, "desired"),
        (r#"{"pause":true}"#, "pause"),
        ("{", "invalid"),
    ] {
        let (status, _, body) = call(&context, "PUT", uri, None, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(why),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn scaler_routes_name_what_is_missing() {
    let context = scaled_context();
    for (uri, why) in [
        ("/api/v1/pools/p/scaler", "has no scaler"),
        ("/api/v1/pools/nope/scaler", "nope"),
        ("/api/v1/pools/s/forecast", "does not forecast"),
        ("/api/v1/pools/p/forecast", "has no scaler"),
        ("/api/v1/scaler/events?pool=p", "has no scaler"),
    ] {
        let (status, _, body) = call(&context, "GET", uri, None, "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(why),
            "{uri}: {body}"
        );
    }
    let (status, _, body) = call(
        &context,
        "GET",
        "/api/v1/scaler/events?pool=s&limit=5",
        None,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["events"].as_array().unwrap().len() <= 5);
    let (status, _, _) = call(&context, "GET", "/api/v1/scaler/events?limit=-1", None, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A pool left empty, as a form leaves it, means every pool; a limit must
    // be a number.
    let (status, _, body) = call(&context, "GET", "/api/v1/scaler/events?pool=", None, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["events"].is_array());
    let (status, _, _) = call(
        &context,
        "GET",
        "/api/v1/scaler/events?pool=&limit=",
        None,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[test]
fn pool_protocols_show_as_written() {
    let config = tidegate_conf::parse(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n[[route]]\npath_prefix = \"/grpc\"\npool = \"grpc\"\n\
         [[route]]\npool = \"web\"\n\
         [pool.grpc]\nprotocol = \"h2\"\nbackends = [\"127.0.0.1:9001\"]\n\
         [pool.web]\nbackends = [\"127.0.0.1:9002\"]\n",
        "t.toml",
    )
    .unwrap();
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(json["pools"][0]["protocol"], "h2");
    assert_eq!(json["pools"][1]["protocol"], "http1");
}
