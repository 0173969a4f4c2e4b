//! A pool's upstream settings as read: TLS to the backends, health checks, outlier
//! ejection, retries and timeouts, each with its defaults.

use std::time::Duration;

use tidegate_conf::{parse, HealthCheck, HealthProbe, Outlier, Pool, Retry, Timeouts};

/// The single pool of a file whose `[pool.web]` table ends with `keys`.
fn pool_with(keys: &str) -> Pool {
    let text = format!(
        "[[listener]]\naddress = \"127.0.0.1:8080\"\n\n[pool.web]\nbackends = [\"127.0.0.1:9001\"]\n{keys}\n"
    );
    match parse(&text, "test.toml") {
        Ok(mut config) => config.pools.remove(0),
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn upstream_tls_is_read() {
    let pool = pool_with("tls = true\ntls_verify = false\nsni = \"api.internal\"");
    assert!(pool.tls);
    assert!(!pool.tls_verify);
    assert_eq!(pool.sni.as_deref(), Some("api.internal"));

    let pool = pool_with("tls = true");
    assert!(pool.tls);
    assert!(pool.tls_verify, "verification is on by default");
    assert_eq!(pool.sni, None);
}

#[test]
fn health_defaults_around_an_http_path() {
    let pool = pool_with("health = { path = \"/healthz\" }");
    assert_eq!(
        pool.health,
        Some(HealthCheck {
            probe: HealthProbe::Http {
                path: "/healthz".to_owned()
            },
            interval: Duration::from_secs(2),
            timeout: Duration::from_millis(500),
            healthy_threshold: 2,
            unhealthy_threshold: 3,
        })
    );
}

#[test]
fn health_values_and_tcp_probes_are_read() {
    let pool = pool_with(
        "health = { tcp = true, interval = \"5s\", timeout = \"1s\", healthy_threshold = 1, unhealthy_threshold = 4 }",
    );
    assert_eq!(
        pool.health,
        Some(HealthCheck {
            probe: HealthProbe::Tcp,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            healthy_threshold: 1,
            unhealthy_threshold: 4,
        })
    );
    let pool = pool_with("health = { path = \"/ready\", tcp = false }");
    let probe = pool.health.map(|health| health.probe);
    assert_eq!(
        probe,
        Some(HealthProbe::Http {
            path: "/ready".to_owned()
        })
    );
}

#[test]
fn outlier_defaults_and_values() {
    let defaults = Outlier {
        consecutive_failures: 5,
        base_ejection: Duration::from_secs(30),
        max_ejection_percent: 50,
    };
    assert_eq!(pool_with("outlier = {}").outlier, Some(defaults));
    assert_eq!(Outlier::default(), defaults);
    let pool = pool_with(
        "outlier = { consecutive_failures = 1, base_ejection = \"10s\", max_ejection_percent = 100 }",
    );
    assert_eq!(
        pool.outlier,
        Some(Outlier {
            consecutive_failures: 1,
            base_ejection: Duration::from_secs(10),
            max_ejection_percent: 100,
        })
    );
}

#[test]
fn retry_keys_default_one_by_one() {
    assert_eq!(
        pool_with("retry = { attempts = 0 }").retry,
        Retry {
            attempts: 0,
            budget_percent: 20,
        }
    );
    assert_eq!(
        pool_with("retry = { budget_percent = 100 }").retry,
        Retry {
            attempts: 2,
            budget_percent: 100,
        }
    );
    assert_eq!(pool_with("retry = {}").retry, Retry::default());
}

#[test]
fn timeout_keys_default_one_by_one() {
    assert_eq!(
        pool_with("timeout = { read = \"5s\" }").timeout,
        Timeouts {
            connect: Duration::from_secs(1),
            read: Duration::from_secs(5),
            idle: Duration::from_secs(60),
        }
    );
    assert_eq!(
        pool_with("timeout = { connect = \"250ms\", read = \"1m\", idle = \"90s\" }").timeout,
        Timeouts {
            connect: Duration::from_millis(250),
            read: Duration::from_secs(60),
            idle: Duration::from_secs(90),
        }
    );
    assert_eq!(Timeouts::default(), pool_with("").timeout);
}
