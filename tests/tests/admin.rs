//! The admin API as an operator uses it: the token, pools and backends under
//! load, draining a backend with requests in flight, reloads that fail or race
//! with traffic, and `/metrics` as Prometheus reads it. Real binary, real
//! backends, all on 127.0.0.1 with port 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use serde_json::Value;
use tidegate_tests::{
    backend, backend_list, client, config_file, failures, load, load_counting, proxy_with_admin,
    run_to_end, send, served_by, Reply,
};

const TOKEN: &str = "s3cret-admin-token";

/// Requests from us-east, where only the slow backend runs.
const US: [(&str, &str); 1] = [("x-tidegate-region", "us-east")];

/// An `[admin]` table on a free loopback port with the test token.
fn admin_table() -> String {
    format!("[admin]\naddress = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n")
}

/// `method path` on the admin API with the token.
async fn admin(method: Method, addr: SocketAddr, path: &str, body: &str) -> Reply {
    let auth = format!("Bearer {TOKEN}");
    send(
        &client(),
        method,
        addr,
        path,
        &[("authorization", &auth)],
        body,
    )
    .await
    .unwrap()
}

/// The JSON of `GET path` on the admin API, asserting 200.
async fn admin_json(addr: SocketAddr, path: &str) -> Value {
    let reply = admin(Method::GET, addr, path, "").await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

/// The backend `address` of `pool` in a `GET /pools/{pool}` answer.
fn backend_of<'a>(pool: &'a Value, address: &str) -> Option<&'a Value> {
    pool["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["address"] == address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_guards_everything_but_the_probes() {
    let b = backend(0, None);
    let config = config_file(&format!(
        "{}[[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\nbackends = [\"{}\"]\n",
        admin_table(),
        b.addr()
    ));
    let proxy = proxy_with_admin(&config, 1);
    let api = proxy.admin_addr();
    let c = client();

    let bare = send(&c, Method::GET, api, "/api/v1/pools", &[], "")
        .await
        .unwrap();
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED);
    assert!(bare.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert!(serde_json::from_str::<Value>(&bare.body).unwrap()["error"].is_string());
    let wrong = [("authorization", "Bearer not-the-token")];
    for path in ["/api/v1/pools", "/metrics", "/api/v1/config", "/nope"] {
        let reply = send(&c, Method::GET, api, path, &wrong, "").await.unwrap();
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    for probe in ["/healthz", "/readyz"] {
        let reply = send(&c, Method::GET, api, probe, &[], "").await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{probe}: {}", reply.body);
    }

    let pools = admin_json(api, "/api/v1/pools").await;
    assert_eq!(pools["pools"][0]["name"], "p");
    let config = admin_json(api, "/api/v1/config").await;
    assert_eq!(config["admin"]["token"], "***");
    assert!(!config.to_string().contains(TOKEN), "the token leaked");

    let unknown = admin(Method::GET, api, "/api/v1/nope", "").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("\"error\""), "{}", unknown.body);
    let not_allowed = admin(Method::PATCH, api, "/api/v1/pools", "").await;
    assert_eq!(not_allowed.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        not_allowed.body.contains("\"error\""),
        "{}",
        not_allowed.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_show_in_flight_and_ewma_under_traffic() {
    let backends = [backend(100, None), backend(100, None)];
    let config = config_file(&format!(
        "{}[[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\npolicy = \"peak_ewma\"\nbackends = [{}]\n",
        admin_table(),
        backend_list(&[&backends[0], &backends[1]])
    ));
    let proxy = proxy_with_admin(&config, 1);
    let (addr, api) = (proxy.addr(), proxy.admin_addr());

    let running = tokio::spawn(load(addr, "/", &[], 160, 8));
    let deadline = Instant::now() + Duration::from_secs(10);
    let busiest = loop {
        let pool = admin_json(api, "/api/v1/pools/p").await;
        let in_flight: u64 = pool["backends"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["in_flight"].as_u64().unwrap())
            .sum();
        if in_flight > 0 {
            break in_flight;
        }
        assert!(Instant::now() < deadline, "never saw a request in flight");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(busiest <= 8, "{busiest} in flight at concurrency 8");
    let answers = running.await.unwrap();
    assert!(failures(&answers).is_empty(), "{:?}", failures(&answers));

    let pool = admin_json(api, "/api/v1/pools/p").await;
    assert_eq!(pool["policy"], "peak_ewma");
    assert_eq!(pool["requests_total"], 160);
    assert!(pool["latency_p50_ms"].as_f64().unwrap() >= 100.0, "{pool}");
    let mut served = 0;
    for b in pool["backends"].as_array().unwrap() {
        assert_eq!(b["state"], "ready");
        assert_eq!(b["origin"], "config");
        assert_eq!(b["in_flight"], 0);
        let ewma = b["ewma_ms"].as_f64().unwrap();
        assert!(ewma > 50.0, "EWMA of a 100 ms backend: {ewma} ms");
        served += b["requests_total"].as_u64().unwrap();
    }
    assert_eq!(served, 160);
    let missing = admin(Method::GET, api, "/api/v1/pools/nope", "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_backend_takes_traffic_and_a_removed_one_drains() {
    let local = backend(0, Some("eu-west"));
    let slow = backend(1500, Some("us-east"));
    let slow_addr = slow.addr().to_string();
    let config = config_file(&format!(
        "{}[[listener]]\naddress = \"127.0.0.1:0\"\nregion = \"eu-west\"\n\
         [pool.p]\npolicy = \"region_affinity\"\n\
         backends = [{{ address = \"{}\", region = \"eu-west\" }}]\n",
        admin_table(),
        local.addr()
    ));
    let proxy = proxy_with_admin(&config, 1);
    let (addr, api) = (proxy.addr(), proxy.admin_addr());

    let body = format!("{{\"address\":\"{slow_addr}\",\"region\":\"us-east\",\"weight\":1}}");
    let added = admin(Method::POST, api, "/api/v1/pools/p/backends", &body).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let added: Value = serde_json::from_str(&added.body).unwrap();
    assert_eq!(
        (added["origin"].as_str(), added["state"].as_str()),
        (Some("admin"), Some("ready"))
    );
    let again = admin(Method::POST, api, "/api/v1/pools/p/backends", &body).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let bad = admin(
        Method::POST,
        api,
        "/api/v1/pools/p/backends",
        "{\"address\":\"x\"}",
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let nowhere = admin(Method::POST, api, "/api/v1/pools/q/backends", &body).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);

    let in_flight = tokio::spawn(load(addr, "/", &US, 8, 8));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pool = admin_json(api, "/api/v1/pools/p").await;
        if backend_of(&pool, &slow_addr).unwrap()["in_flight"] == 8 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the 8 requests never reached {slow_addr}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let path = format!("/api/v1/pools/p/backends/{slow_addr}");
    let removed = admin(Method::DELETE, api, &path, "").await;
    assert_eq!(removed.status, StatusCode::ACCEPTED, "{}", removed.body);
    let removed: Value = serde_json::from_str(&removed.body).unwrap();
    assert_eq!(removed["state"], "draining");
    assert_eq!(removed["in_flight"], 8);
    let pool = admin_json(api, "/api/v1/pools/p").await;
    assert_eq!(backend_of(&pool, &slow_addr).unwrap()["state"], "draining");

    let later = load(addr, "/", &US, 100, 8).await;
    assert!(failures(&later).is_empty(), "{:?}", failures(&later));
    assert_eq!(
        served_by(&later, slow.addr().port()),
        0,
        "a draining backend got traffic"
    );
    let drained = in_flight.await.unwrap();
    assert!(failures(&drained).is_empty(), "{:?}", failures(&drained));
    assert_eq!(served_by(&drained, slow.addr().port()), 8);

    let deadline = Instant::now() + Duration::from_secs(5);
    while backend_of(&admin_json(api, "/api/v1/pools/p").await, &slow_addr).is_some() {
        assert!(Instant::now() < deadline, "{slow_addr} never left the pool");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let gone = admin(Method::DELETE, api, &path, "").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_reload_names_the_line_and_the_old_config_keeps_serving() {
    let b = backend(0, None);
    let good = format!(
        "{}[[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\npolicy = \"least_conn\"\nbackends = [\"{}\"]\n",
        admin_table(),
        b.addr()
    );
    let config = config_file(&good);
    let proxy = proxy_with_admin(&config, 1);
    let (addr, api) = (proxy.addr(), proxy.admin_addr());

    // Line 7 names a policy that does not exist.
    let bad = good.replace("least_conn", "fastest");
    std::fs::write(&config.path, &bad).unwrap();
    let refused = admin(Method::POST, api, "/api/v1/reload", "").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let error = serde_json::from_str::<Value>(&refused.body).unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.contains("tidegate.toml:7:"), "{error}");
    assert!(
        error.contains("fastest") && error.contains("hint:"),
        "{error}"
    );

    let answers = load(addr, "/", &[], 50, 4).await;
    assert!(failures(&answers).is_empty(), "{:?}", failures(&answers));
    assert_eq!(
        admin_json(api, "/api/v1/pools/p").await["policy"],
        "least_conn"
    );

    std::fs::write(&config.path, good.replace("least_conn", "round_robin")).unwrap();
    let applied = admin_json_post(api, "/api/v1/reload").await;
    assert!(applied["needs_restart"].as_array().unwrap().is_empty());
    assert_eq!(
        admin_json(api, "/api/v1/pools/p").await["policy"],
        "round_robin"
    );
}

/// The JSON of `POST path` on the admin API, asserting 200.
async fn admin_json_post(addr: SocketAddr, path: &str) -> Value {
    let reply = admin(Method::POST, addr, path, "").await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_under_load_lose_no_request() {
    let backends = [backend(1, None), backend(1, None), backend(1, None)];
    let list = backend_list(&[&backends[0], &backends[1], &backends[2]]);
    let text = |policy: &str| {
        format!(
            "{}[[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\npolicy = \"{policy}\"\nbackends = [{list}]\n",
            admin_table()
        )
    };
    let config = config_file(&text("least_conn"));
    let proxy = proxy_with_admin(&config, 1);
    let (addr, api) = (proxy.addr(), proxy.admin_addr());

    let done = Arc::new(AtomicUsize::new(0));
    let running = tokio::spawn(load_counting(addr, "/", &[], 6_000, 16, Arc::clone(&done)));
    for round in 0..20 {
        // Spread the reloads over the run: one every 250 requests.
        while done.load(Ordering::Relaxed) < 250 * (round + 1) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let policy = if round % 2 == 0 {
            "peak_ewma"
        } else {
            "least_conn"
        };
        std::fs::write(&config.path, text(policy)).unwrap();
        let report = admin_json_post(api, "/api/v1/reload").await;
        assert!(
            report["backends_draining"].as_array().unwrap().is_empty(),
            "{report}"
        );
    }
    assert!(
        done.load(Ordering::Relaxed) < 6_000,
        "the load ended before the reloads"
    );
    let answers = running.await.unwrap();
    let errors = answers.iter().filter(|a| a.is_err()).count();
    let failed = failures(&answers);
    println!(
        "6000 requests over 20 reloads: {} failed, {errors} client errors",
        failed.len()
    );
    assert_eq!(errors, 0, "connection errors or resets: {failed:?}");
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(answers.len(), 6_000);
}

#[test]
fn check_refuses_a_public_admin_api_without_a_token() {
    let b = "127.0.0.1:9001";
    let config = config_file(&format!(
        "[admin]\naddress = \"0.0.0.0:9901\"\n[[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\nbackends = [\"{b}\"]\n"
    ));
    let (code, _, stderr) = run_to_end(&["check", "-c", config.path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("token"), "{stderr}");
}

/// Every DESIGN.md metric that the proxy exports today.
const METRICS: [&str; 7] = [
    "tidegate_requests_total",
    "tidegate_request_duration_seconds",
    "tidegate_backend_in_flight",
    "tidegate_backend_healthy",
    "tidegate_backend_ewma_seconds",
    "tidegate_pool_instances",
    "tidegate_config_reloads_total",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_under_load_pass_promtool() {
    let backends = [backend(20, None), backend(20, None)];
    let config = config_file(&format!(
        "{}[[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\nbackends = [{}]\n",
        admin_table(),
        backend_list(&[&backends[0], &backends[1]])
    ));
    let proxy = proxy_with_admin(&config, 1);
    let (addr, api) = (proxy.addr(), proxy.admin_addr());
    let fresh = admin(Method::GET, api, "/metrics", "").await.body;
    for result in ["success", "failure"] {
        assert!(
            fresh.contains(&format!(
                "tidegate_config_reloads_total{{result=\"{result}\"}} 0"
            )),
            "{fresh}"
        );
    }
    admin_json_post(api, "/api/v1/reload").await;

    let running = tokio::spawn(load(addr, "/", &[], 400, 8));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let scraped = admin(Method::GET, api, "/metrics", "").await;
    assert_eq!(scraped.status, StatusCode::OK, "{}", scraped.body);
    assert!(scraped.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let answers = running.await.unwrap();
    assert!(failures(&answers).is_empty(), "{:?}", failures(&answers));
    promtool_check(&scraped.body);
    let after = admin(Method::GET, api, "/metrics", "").await.body;
    promtool_check(&after);
    for name in METRICS {
        assert!(
            after.contains(name),
            "{name} is missing from /metrics:\n{after}"
        );
    }
    assert!(
        after.contains("tidegate_config_reloads_total{result=\"success\"} 1"),
        "{after}"
    );
    assert!(
        after.contains("tidegate_config_reloads_total{result=\"failure\"} 0"),
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_design_metric_is_there_from_the_start_for_a_forecasting_pool() {
    let b = backend(0, None);
    let config = config_file(&format!(
        "{}[[listener]]\naddress = \"127.0.0.1:0\"\n\
         [pool.s]\nbackends = [{}]\n\
         [pool.s.scaler]\ndriver = \"fixed\"\nmin = 1\nmax = 1\npredictive = {{}}\n\
         [driver.fixed]\nkind = \"static\"\n",
        admin_table(),
        backend_list(&[&b])
    ));
    let proxy = proxy_with_admin(&config, 1);
    let answers = load(proxy.addr(), "/", &[], 20, 2).await;
    assert!(failures(&answers).is_empty(), "{:?}", failures(&answers));
    let api = proxy.admin_addr();
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = admin(Method::GET, api, "/metrics", "").await.body;
        if text.contains("tidegate_scaler_desired_instances") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    promtool_check(&text);
    for name in METRICS.iter().chain(&[
        "tidegate_scaler_desired_instances",
        "tidegate_scaler_decisions_total",
        "tidegate_cost_per_hour",
        "tidegate_driver_errors_total",
    ]) {
        assert!(
            text.contains(name),
            "{name} is missing from /metrics:\n{text}"
        );
    }
    // A forecast needs days of history; until the first fit the series says NaN.
    assert!(
        text.contains("tidegate_forecast_requests_per_second{pool=\"s\"} NaN"),
        "{text}"
    );
}

/// Runs `promtool check metrics` on `text`; fails when promtool is missing.
fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is missing: install Debian's prometheus package (make test does)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
