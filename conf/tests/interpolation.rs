//! `${NAME}` interpolation through the public API, against the real environment.
//! Variable names carry a test-specific prefix so no two tests share one.

use std::time::Duration;

use tidegate_conf::{parse, ConfigError, HostMatch, LogFormat, PolicyKind};

#[test]
fn every_string_value_is_interpolated() {
    for (name, value) in [
        ("TGCONF_ALL_GRACE", "45s"),
        ("TGCONF_ALL_FORMAT", "json"),
        ("TGCONF_ALL_NAME", "edge"),
        ("TGCONF_ALL_IP", "127.0.0.1"),
        ("TGCONF_ALL_REGION", "eu-west"),
        ("TGCONF_ALL_OTHER_REGION", "us-east"),
        ("TGCONF_ALL_DOMAIN", "example.com"),
        ("TGCONF_ALL_PREFIX", "agents"),
        ("TGCONF_ALL_POOL", "agents"),
        ("TGCONF_ALL_POLICY", "region_affinity"),
        ("TGCONF_ALL_WITHIN", "peak_ewma"),
        ("TGCONF_ALL_HEADER", "X-Region"),
        ("TGCONF_ALL_DURATION", "250ms"),
    ] {
        std::env::set_var(name, value);
    }
    let text = r#"[server]
grace_period = "${TGCONF_ALL_GRACE}"
log_format = "${TGCONF_ALL_FORMAT}"

[[listener]]
name = "${TGCONF_ALL_NAME}"
address = "${TGCONF_ALL_IP}:8080"
region = "${TGCONF_ALL_REGION}"

[[route]]
host = "*.${TGCONF_ALL_DOMAIN}"
path_prefix = "/${TGCONF_ALL_PREFIX}"
pool = "${TGCONF_ALL_POOL}"

[pool.agents]
policy = "${TGCONF_ALL_POLICY}"
within = "${TGCONF_ALL_WITHIN}"
fallback = ["${TGCONF_ALL_OTHER_REGION}"]
region_header = "${TGCONF_ALL_HEADER}"
slow_start = "${TGCONF_ALL_DURATION}"
decay = "${TGCONF_ALL_DURATION}"
default_rtt = "${TGCONF_ALL_DURATION}"
backends = [
  { address = "${TGCONF_ALL_IP}:9001", region = "${TGCONF_ALL_REGION}" },
  { address = "${TGCONF_ALL_IP}:9002", region = "${TGCONF_ALL_REGION}" },
  { address = "${TGCONF_ALL_IP}:9003", region = "${TGCONF_ALL_OTHER_REGION}" },
]
"#;
    let config = parse(text, "env.toml").unwrap();

    assert_eq!(config.server.grace_period, Duration::from_secs(45));
    assert_eq!(config.server.log_format, LogFormat::Json);
    let listener = &config.listeners[0];
    assert_eq!(listener.name, "edge");
    assert_eq!(listener.address.to_string(), "127.0.0.1:8080");
    assert_eq!(listener.region.as_deref(), Some("eu-west"));
    let route = &config.routes[0];
    assert_eq!(
        route.host,
        Some(HostMatch::Wildcard(".example.com".to_owned()))
    );
    assert_eq!(route.path_prefix, "/agents");
    assert_eq!(route.pool, "agents");
    let pool = config.pool("agents").unwrap();
    assert_eq!(pool.policy, PolicyKind::RegionAffinity);
    assert_eq!(pool.within, PolicyKind::PeakEwma);
    assert_eq!(pool.fallback, ["us-east"]);
    assert_eq!(pool.region_header, "x-region");
    assert_eq!(pool.slow_start, Some(Duration::from_millis(250)));
    assert_eq!(pool.decay, Duration::from_millis(250));
    assert_eq!(pool.default_rtt, Duration::from_millis(250));
    let ports: Vec<u16> = pool.backends.iter().map(|b| b.address.port()).collect();
    assert_eq!(ports, [9001, 9002, 9003]);
    assert_eq!(pool.backends[2].region.as_deref(), Some("us-east"));
}

#[test]
fn bare_string_backends_are_interpolated() {
    std::env::set_var("TGCONF_BARE_PORT", "9004");
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:${TGCONF_BARE_PORT}"]
"#;
    let config = parse(text, "env.toml").unwrap();
    assert_eq!(config.pools[0].backends[0].address.port(), 9004);
}

#[test]
fn double_dollar_is_a_literal() {
    let text = r#"[[listener]]
name = "$${TGCONF_LITERAL} costs $5"
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]
"#;
    let config = parse(text, "env.toml").unwrap();
    assert_eq!(config.listeners[0].name, "${TGCONF_LITERAL} costs $5");
}

#[test]
fn unset_variable_is_an_error_at_its_string() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = [
  "127.0.0.1:9001",
  { address = "127.0.0.1:9002", region = "${TGCONF_SURELY_UNSET_REGION}" },
]
"#;
    match parse(text, "env.toml") {
        Err(ConfigError::Invalid {
            line,
            col,
            message,
            hint,
            ..
        }) => {
            assert_eq!((line, col), (7, 42));
            assert_eq!(
                message,
                "environment variable `TGCONF_SURELY_UNSET_REGION` is not set"
            );
            assert!(hint.contains("export TGCONF_SURELY_UNSET_REGION"), "{hint}");
            assert!(hint.contains("remove"), "{hint}");
        }
        other => panic!("expected an unset-variable error, got {other:?}"),
    }
}

#[test]
fn unterminated_reference_is_an_error() {
    let text = r#"[server]
grace_period = "${TGCONF_OPEN"
"#;
    let error = parse(text, "env.toml").unwrap_err().to_string();
    assert!(
        error.starts_with("env.toml:2:16: `${` without a closing `}`"),
        "{error}"
    );
    assert!(error.contains("hint: "), "{error}");
}

#[test]
fn admin_token_is_interpolated() {
    std::env::set_var("TGCONF_ADMIN_TOKEN", "t0ken");
    let text = r#"[admin]
address = "0.0.0.0:9901"
token = "${TGCONF_ADMIN_TOKEN}"

[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]
"#;
    let config = parse(text, "t.toml").unwrap();
    let admin = config.admin.unwrap();
    assert_eq!(admin.token.as_deref(), Some("t0ken"));
}

#[test]
fn admin_token_from_an_empty_variable_is_an_error_at_the_token() {
    std::env::set_var("TGCONF_EMPTY_ADMIN_TOKEN", "");
    let text = r#"[admin]
token = "${TGCONF_EMPTY_ADMIN_TOKEN}"

[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]
"#;
    let error = parse(text, "t.toml").unwrap_err().to_string();
    assert!(
        error.starts_with("t.toml:2:9: admin token is empty\n  hint: set token to a secret"),
        "{error}"
    );
}

#[test]
fn admin_token_from_an_unset_variable_is_an_error_at_the_token() {
    let text = r#"[admin]
address = "0.0.0.0:9901"
token = "${TGCONF_UNSET_ADMIN_TOKEN}"
"#;
    let error = parse(text, "t.toml").unwrap_err().to_string();
    assert!(
        error.starts_with("t.toml:3:9: environment variable `TGCONF_UNSET_ADMIN_TOKEN` is not set"),
        "{error}"
    );
}
