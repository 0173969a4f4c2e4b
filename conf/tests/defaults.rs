//! What a configuration means when it leaves keys out, and how the parts fit together.

use std::time::Duration;

use tidegate_conf::{
    parse, BackendSpec, Config, Forecast, ForecastDevice, HostMatch, Listener, LogFormat,
    PolicyKind, Retry, Route, Server, Simulate, Timeouts, UpstreamProtocol,
};

fn valid(text: &str) -> Config {
    match parse(text, "test.toml") {
        Ok(config) => config,
        Err(error) => panic!("{error}"),
    }
}

const MINIMAL: &str = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]
"#;

#[test]
fn server_defaults() {
    let config = valid(MINIMAL);
    assert_eq!(
        config.server,
        Server {
            threads: 1,
            grace_period: Duration::from_secs(30),
            log_format: LogFormat::Text,
            access_log: false,
        }
    );
    assert_eq!(config.server, Server::default());
}

#[test]
fn server_values_are_read() {
    let config = valid(&format!(
        "[server]\nthreads = 4\ngrace_period = \"5m\"\nlog_format = \"json\"\naccess_log = true\n\n{MINIMAL}"
    ));
    assert_eq!(config.server.threads, 4);
    assert_eq!(config.server.grace_period, Duration::from_secs(300));
    assert_eq!(config.server.log_format, LogFormat::Json);
    assert!(config.server.access_log);
}

#[test]
fn optional_top_level_tables_default() {
    let config = valid(MINIMAL);
    assert_eq!(config.admin, None);
    assert!(config.drivers.is_empty());
    assert_eq!(
        config.forecast,
        Forecast {
            device: ForecastDevice::Auto
        }
    );
    assert_eq!(
        config.simulate,
        Simulate {
            instance_capacity_rps: 50.0,
            service_time: Duration::from_millis(200),
            tick: Duration::from_secs(10),
        }
    );
    assert_eq!(config.listeners[0].tls, None);
}

#[test]
fn pool_upstream_defaults() {
    let config = valid(MINIMAL);
    let pool = &config.pools[0];
    assert_eq!(pool.protocol, UpstreamProtocol::Http1);
    assert!(!pool.tls);
    assert!(pool.tls_verify);
    assert_eq!(pool.sni, None);
    assert_eq!(pool.health, None);
    assert_eq!(pool.outlier, None);
    assert_eq!(
        pool.retry,
        Retry {
            attempts: 2,
            budget_percent: 20,
        }
    );
    assert_eq!(
        pool.timeout,
        Timeouts {
            connect: Duration::from_secs(1),
            read: Duration::from_secs(60),
            idle: Duration::from_secs(60),
        }
    );
    assert_eq!(pool.scaler, None);
}

#[test]
fn upstream_protocols_are_read_and_shown_as_written() {
    let config = valid(
        r#"[[listener]]
address = "127.0.0.1:8080"

[[route]]
path_prefix = "/grpc.health.v1.Health/"
pool = "grpc"

[[route]]
pool = "web"

[pool.grpc]
protocol = "h2"
backends = ["127.0.0.1:50051"]

[pool.secure]
protocol = "h2"
tls = true
backends = ["127.0.0.1:50052"]

[pool.web]
protocol = "http1"
backends = ["127.0.0.1:9001"]
"#,
    );
    let protocols: Vec<_> = config.pools.iter().map(|p| p.protocol).collect();
    assert_eq!(
        protocols,
        [
            UpstreamProtocol::H2,
            UpstreamProtocol::H2,
            UpstreamProtocol::Http1
        ]
    );
    assert_eq!(UpstreamProtocol::H2.to_string(), "h2");
    let summary = config.summary();
    assert!(
        summary.contains("  grpc: least_conn, 1 backend(s)\n    no region: 1\n    upstream: h2\n"),
        "{summary}"
    );
    assert!(summary.contains("    upstream: h2 over TLS"), "{summary}");
    assert!(!summary.contains("upstream: http1"), "{summary}");
}

#[test]
fn listeners_are_named_by_position_by_default() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[[listener]]
name = "internal"
address = "127.0.0.1:8081"
region = "eu-west"

[[listener]]
address = "[::1]:8082"

[pool.web]
backends = ["127.0.0.1:9001"]
"#;
    let config = valid(text);
    let names: Vec<&str> = config.listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["listener-1", "internal", "listener-3"]);
    assert_eq!(
        config.listeners[1],
        Listener {
            name: "internal".to_owned(),
            address: "127.0.0.1:8081".parse().unwrap(),
            region: Some("eu-west".to_owned()),
            tls: None,
        }
    );
}

#[test]
fn pool_defaults() {
    let config = valid(MINIMAL);
    let pool = config.pool("web").unwrap();
    assert_eq!(pool.name, "web");
    assert_eq!(pool.policy, PolicyKind::LeastConn);
    assert_eq!(pool.within, PolicyKind::LeastConn);
    assert!(pool.fallback.is_empty());
    assert_eq!(pool.spill_in_flight, 32);
    assert_eq!(pool.region_header, "x-tidegate-region");
    assert_eq!(pool.max_in_flight, 10_000);
    assert_eq!(pool.slow_start, None);
    assert_eq!(pool.decay, Duration::from_secs(10));
    assert_eq!(pool.default_rtt, Duration::from_millis(30));
    assert_eq!(
        pool.backends,
        [BackendSpec {
            address: "127.0.0.1:9001".parse().unwrap(),
            region: None,
            weight: 1,
        }]
    );
    assert!(config.pool("nope").is_none());
}

#[test]
fn a_single_pool_without_routes_gets_a_catch_all_route() {
    assert_eq!(
        valid(MINIMAL).routes,
        [Route {
            host: None,
            path_prefix: "/".to_owned(),
            pool: "web".to_owned(),
        }]
    );
}

#[test]
fn routes_keep_file_order_and_default_their_prefix() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[[route]]
host = "API.Example.com"
pool = "api"

[[route]]
host = "*.example.com"
path_prefix = "/static"
pool = "web"

[[route]]
path_prefix = "/"
pool = "web"

[pool.web]
backends = ["127.0.0.1:9001"]

[pool.api]
backends = ["127.0.0.1:9002"]
"#;
    let config = valid(text);
    let routes: Vec<(Option<HostMatch>, &str, &str)> = config
        .routes
        .iter()
        .map(|r| (r.host.clone(), r.path_prefix.as_str(), r.pool.as_str()))
        .collect();
    assert_eq!(
        routes,
        [
            (
                Some(HostMatch::Exact("api.example.com".to_owned())),
                "/",
                "api"
            ),
            (
                Some(HostMatch::Wildcard(".example.com".to_owned())),
                "/static",
                "web"
            ),
            (None, "/", "web"),
        ]
    );
    let pools: Vec<&str> = config.pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pools, ["web", "api"], "pools keep file order");
}

#[test]
fn host_matching() {
    let exact = HostMatch::Exact("api.example.com".to_owned());
    assert!(exact.matches("api.example.com"));
    assert!(!exact.matches("example.com"));
    assert!(!exact.matches("x.api.example.com"));

    let wildcard = HostMatch::Wildcard(".example.com".to_owned());
    assert!(wildcard.matches("api.example.com"));
    assert!(wildcard.matches("a.b.example.com"));
    assert!(!wildcard.matches("example.com"));
    assert!(!wildcard.matches("notexample.com"));
    assert!(!wildcard.matches("api.example.org"));
}

#[test]
fn region_affinity_pool_is_read() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.agents]
policy = "region_affinity"
within = "round_robin"
fallback = ["us-east", "eu-west"]
spill_in_flight = 8
region_header = "X-Caller-Region"
backends = [
  { address = "127.0.0.1:9001", region = "eu-west", weight = 3 },
  { address = "127.0.0.1:9002", region = "us-east" },
]
"#;
    let config = valid(text);
    let pool = &config.pools[0];
    assert_eq!(pool.policy, PolicyKind::RegionAffinity);
    assert_eq!(pool.within, PolicyKind::RoundRobin);
    assert_eq!(pool.fallback, ["us-east", "eu-west"]);
    assert_eq!(pool.spill_in_flight, 8);
    assert_eq!(pool.region_header, "x-caller-region");
    assert_eq!(pool.backends[0].weight, 3);
    assert_eq!(pool.backends[1].region.as_deref(), Some("us-east"));
}

#[test]
fn zero_grace_period_is_allowed() {
    let config = valid(&format!("[server]\ngrace_period = \"0s\"\n\n{MINIMAL}"));
    assert_eq!(config.server.grace_period, Duration::ZERO);
}

#[test]
fn policies_display_their_toml_names() {
    let names: Vec<String> = [
        PolicyKind::RoundRobin,
        PolicyKind::Weighted,
        PolicyKind::LeastConn,
        PolicyKind::PeakEwma,
        PolicyKind::RegionAffinity,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        names,
        [
            "round_robin",
            "weighted",
            "least_conn",
            "peak_ewma",
            "region_affinity"
        ]
    );
}

#[test]
fn summary_lists_listeners_routes_and_pools() {
    let text = r#"[[listener]]
name = "public"
address = "127.0.0.1:8080"
region = "eu-west"

[[route]]
host = "api.example.com"
path_prefix = "/agents"
pool = "agents"

[[route]]
pool = "web"

[pool.agents]
policy = "region_affinity"
within = "peak_ewma"
fallback = ["eu-west", "us-east"]
backends = [
  { address = "127.0.0.1:9001", region = "eu-west" },
  { address = "127.0.0.1:9002", region = "eu-west" },
  { address = "127.0.0.1:9003", region = "us-east" },
]

[pool.web]
policy = "round_robin"
backends = ["127.0.0.1:9004"]
"#;
    assert_eq!(
        valid(text).summary(),
        "server: 1 thread(s), grace period 30s, text logs
listeners:
  public on 127.0.0.1:8080 (region eu-west)
routes:
  api.example.com/agents -> agents
  */ -> web
pools:
  agents: region_affinity (within peak_ewma, fallback eu-west, us-east), 3 backend(s)
    eu-west: 2
    us-east: 1
  web: round_robin, 1 backend(s)
    no region: 1"
    );
}

#[test]
fn listeners_on_port_zero_never_clash() {
    let text = "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:0\"\n\
                [[listener]]\nname = \"b\"\naddress = \"127.0.0.1:0\"\n\
                [pool.p]\nbackends = [\"127.0.0.1:9001\"]\n";
    let config = parse(text, "t.toml").unwrap();
    assert_eq!(config.listeners.len(), 2);
}

#[test]
fn an_admin_api_on_port_zero_never_clashes_with_a_listener() {
    let text = "[admin]\naddress = \"127.0.0.1:0\"\n\
                [[listener]]\naddress = \"127.0.0.1:0\"\n\
                [pool.p]\nbackends = [\"127.0.0.1:9001\"]\n";
    assert!(parse(text, "t.toml").is_ok());
}
