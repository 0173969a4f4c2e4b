//! Errors in a pool's upstream keys (`protocol`, `tls`, `tls_verify`, `sni`, `health`,
//! `outlier`, `retry`, `timeout`) and in its backends when a scaler is present.

mod support;

use support::assert_invalid;

/// A valid file whose `[pool.web]` continues with `lines`, from line 6 on.
fn pool_with(lines: &str) -> String {
    format!(
        "[[listener]]\naddress = \"127.0.0.1:8080\"\n\n[pool.web]\nbackends = [\"127.0.0.1:9001\"]\n{lines}\n"
    )
}

#[test]
fn unknown_protocol() {
    assert_invalid(
        &pool_with(r#"protocol = "http2""#),
        6,
        12,
        "unknown protocol \"http2\"",
        "\"http1\" (the default) or \"h2\"",
    );
}

#[test]
fn protocol_that_is_not_a_string() {
    assert_invalid(
        &pool_with("protocol = 2"),
        6,
        12,
        "expected a string, found integer `2`",
        "",
    );
}

#[test]
fn tls_verify_without_tls() {
    assert_invalid(
        &pool_with("tls_verify = false"),
        6,
        1,
        "tls_verify applies only to pools with tls = true",
        "add tls = true to talk TLS to the backends, or remove tls_verify",
    );
}

#[test]
fn sni_with_tls_off() {
    assert_invalid(
        &pool_with("tls = false\nsni = \"api.internal\""),
        7,
        1,
        "sni applies only to pools with tls = true",
        "or remove sni",
    );
}

#[test]
fn empty_sni() {
    assert_invalid(
        &pool_with("tls = true\nsni = \"\""),
        7,
        7,
        "sni must not be empty",
        "give sni a value",
    );
}

#[test]
fn health_with_path_and_tcp() {
    assert_invalid(
        &pool_with(r#"health = { path = "/h", tcp = true }"#),
        6,
        25,
        "health has both path and tcp = true",
        "not both",
    );
}

#[test]
fn health_with_neither_path_nor_tcp() {
    assert_invalid(
        &pool_with(r#"health = { interval = "1s", tcp = false }"#),
        6,
        10,
        "health says neither what to request nor to probe by TCP",
        "add path = \"/healthz\" or tcp = true",
    );
}

#[test]
fn health_path_without_leading_slash() {
    assert_invalid(
        &pool_with(r#"health = { path = "healthz" }"#),
        6,
        19,
        "health path \"healthz\" does not start with '/'",
        "write it as \"/healthz\"",
    );
}

#[test]
fn health_timeout_not_shorter_than_interval() {
    assert_invalid(
        &pool_with(r#"health = { path = "/h", interval = "1s", timeout = "1s" }"#),
        6,
        52,
        "health timeout (1s) is not shorter than interval (1s)",
        "make timeout shorter than interval",
    );
}

#[test]
fn health_interval_below_the_default_timeout() {
    assert_invalid(
        &pool_with(r#"health = { path = "/h", interval = "500ms" }"#),
        6,
        36,
        "health timeout (500ms) is not shorter than interval (500ms)",
        "shorter than interval",
    );
}

#[test]
fn health_threshold_zero() {
    assert_invalid(
        &pool_with("health = { tcp = true, healthy_threshold = 0 }"),
        6,
        44,
        "healthy_threshold must be at least 1, found 0",
        "set healthy_threshold to 1 or more",
    );
    assert_invalid(
        &pool_with("health = { tcp = true, unhealthy_threshold = 0 }"),
        6,
        46,
        "unhealthy_threshold must be at least 1, found 0",
        "set unhealthy_threshold to 1 or more",
    );
}

#[test]
fn health_interval_zero() {
    assert_invalid(
        &pool_with(r#"health = { tcp = true, interval = "0s" }"#),
        6,
        35,
        "interval must be greater than zero",
        "use a positive duration, like \"2s\"",
    );
}

#[test]
fn unknown_health_key() {
    assert_invalid(
        &pool_with(r#"health = { url = "/h" }"#),
        6,
        12,
        "unknown key `url`",
        "valid keys here: path, tcp, interval, timeout",
    );
}

#[test]
fn outlier_percent_above_100() {
    assert_invalid(
        &pool_with("outlier = { max_ejection_percent = 101 }"),
        6,
        36,
        "max_ejection_percent must be at most 100, found 101",
        "use a percentage from 0 to 100",
    );
}

#[test]
fn outlier_without_failures() {
    assert_invalid(
        &pool_with("outlier = { consecutive_failures = 0 }"),
        6,
        36,
        "consecutive_failures must be at least 1, found 0",
        "set consecutive_failures to 1 or more",
    );
}

#[test]
fn outlier_zero_ejection() {
    assert_invalid(
        &pool_with(r#"outlier = { base_ejection = "0s" }"#),
        6,
        29,
        "base_ejection must be greater than zero",
        "positive duration",
    );
}

#[test]
fn retry_budget_above_100() {
    assert_invalid(
        &pool_with("retry = { budget_percent = 150 }"),
        6,
        28,
        "budget_percent must be at most 100, found 150",
        "use a percentage from 0 to 100",
    );
}

#[test]
fn negative_retry_attempts() {
    assert_invalid(
        &pool_with("retry = { attempts = -1 }"),
        6,
        22,
        "attempts must be at least 0, found -1",
        "or 0 for none",
    );
}

#[test]
fn zero_timeout() {
    assert_invalid(
        &pool_with(r#"timeout = { connect = "1s", idle = "0s" }"#),
        6,
        36,
        "idle must be greater than zero",
        "use a positive duration, like \"1m\"",
    );
}

#[test]
fn unknown_timeout_key() {
    assert_invalid(
        &pool_with(r#"timeout = { write = "1s" }"#),
        6,
        13,
        "unknown key `write`",
        "valid keys here: connect, read, idle",
    );
}

#[test]
fn scaled_pool_of_a_static_driver_still_needs_backends() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
scaler = { driver = "fixed", max = 2 }

[driver.fixed]
kind = "static"
"#;
    assert_invalid(text, 4, 7, "pool \"web\" has no backends", "add backends");
}
