//! One test per kind of configuration error: each asserts the exact line and column
//! the error points at, the message, and that a hint with the fix is present.

mod support;

use support::assert_invalid;
use tidegate_conf::{parse, ConfigError};

#[test]
fn errors_print_file_line_col_and_a_hint_line() {
    let error = parse("[server]\nthreads = 0\n", "conf/tidegate.toml").unwrap_err();
    assert_eq!(
        error.to_string(),
        "conf/tidegate.toml:2:11: threads must be at least 1, found 0\n  hint: set threads to 1 or more"
    );
}

#[test]
fn unreadable_file_names_the_path() {
    let path = std::path::Path::new("/nonexistent/tidegate.toml");
    let error = tidegate_conf::load(path).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(error
        .to_string()
        .starts_with("/nonexistent/tidegate.toml: cannot read: "));
}

#[test]
fn toml_syntax_error() {
    let text = r#"[[listener]
address = "127.0.0.1:8080"
"#;
    assert_invalid(text, 1, 12, "invalid TOML", "TOML syntax");
}

#[test]
fn duplicate_toml_key() {
    let text = r#"[server]
threads = 1
threads = 2
"#;
    assert_invalid(text, 3, 1, "duplicate key", "remove or rename");
}

#[test]
fn unknown_top_level_table() {
    let text = r#"[metrics]
address = "127.0.0.1:9901"
"#;
    assert_invalid(
        text,
        1,
        2,
        "unknown key `metrics`",
        "valid keys here: server, admin, listener, route, pool, driver, forecast, simulate",
    );
}

#[test]
fn unknown_server_key() {
    let text = r#"[server]
threads = 2
workers = 4
"#;
    assert_invalid(
        text,
        3,
        1,
        "unknown key `workers`",
        "threads, grace_period, log_format",
    );
}

#[test]
fn unknown_listener_key() {
    let text = r#"[[listener]]
adress = "127.0.0.1:8080"
"#;
    assert_invalid(
        text,
        2,
        1,
        "unknown key `adress`",
        "check the spelling; valid keys here: name, address, region",
    );
}

#[test]
fn unknown_pool_key() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]
healthcheck = { path = "/healthz" }
"#;
    assert_invalid(text, 6, 1, "unknown key `healthcheck`", "backends");
}

#[test]
fn unknown_pool_subtable() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web.autoscaler]
min = 1
"#;
    assert_invalid(text, 4, 11, "unknown key `autoscaler`", "valid keys here");
}

#[test]
fn unknown_backend_key() {
    let text = r#"[pool.web]
backends = [{ address = "127.0.0.1:9001", wieght = 2 }]
"#;
    assert_invalid(
        text,
        2,
        43,
        "unknown key `wieght`",
        "address, region, weight",
    );
}

#[test]
fn missing_required_key() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[[route]]
path_prefix = "/api"
"#;
    assert_invalid(text, 4, 1, "missing key `pool`", "add `pool = ...`");
}

#[test]
fn wrong_value_type() {
    let text = r#"[server]
threads = "4"
"#;
    assert_invalid(
        text,
        2,
        11,
        "expected an integer, found string \"4\"",
        "without quotes",
    );
}

#[test]
fn backend_of_wrong_type() {
    let text = r#"[pool.web]
backends = [9001]
"#;
    assert_invalid(text, 2, 13, "found integer `9001`", "IP:PORT");
}

#[test]
fn bad_duration() {
    let text = r#"[server]
grace_period = "30"
"#;
    assert_invalid(
        text,
        2,
        16,
        "grace_period = \"30\" is not a duration",
        "use a number with a unit, like \"500ms\", \"2s\" or \"5m\"",
    );
}

#[test]
fn zero_duration_where_a_positive_one_is_needed() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]
decay = "0s"
"#;
    assert_invalid(
        text,
        6,
        9,
        "decay must be greater than zero",
        "positive duration",
    );
}

#[test]
fn zero_slow_start() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]
slow_start = "0ms"
"#;
    assert_invalid(
        text,
        6,
        14,
        "slow_start must be greater than zero",
        "remove slow_start",
    );
}

#[test]
fn bad_listener_address() {
    let text = r#"[[listener]]
address = "localhost:8080"
"#;
    assert_invalid(
        text,
        2,
        11,
        "\"localhost:8080\" is not an IP:PORT address",
        "write IP:PORT, e.g. 127.0.0.1:9001",
    );
}

#[test]
fn bad_backend_address() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001", "127.0.0.1"]
"#;
    assert_invalid(
        text,
        5,
        31,
        "\"127.0.0.1\" is not an IP:PORT address",
        "IP:PORT",
    );
}

#[test]
fn bad_backend_table_address() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = [{ address = "127.0.0.1:99999" }]
"#;
    assert_invalid(text, 5, 25, "is not an IP:PORT address", "IP:PORT");
}

#[test]
fn unknown_log_format() {
    let text = r#"[server]
log_format = "yaml"
"#;
    assert_invalid(text, 2, 14, "unknown log_format \"yaml\"", "\"json\"");
}

#[test]
fn unknown_policy() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
policy = "random"
backends = ["127.0.0.1:9001"]
"#;
    assert_invalid(
        text,
        5,
        10,
        "unknown policy \"random\"",
        "round_robin, weighted, least_conn, peak_ewma, region_affinity",
    );
}

#[test]
fn route_to_undefined_pool() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[[route]]
path_prefix = "/api"
pool = "apii"

[pool.api]
backends = ["127.0.0.1:9001"]

[pool.web]
backends = ["127.0.0.1:9002"]
"#;
    assert_invalid(
        text,
        6,
        8,
        "pool \"apii\", which is not defined",
        "defined pools: api, web",
    );
}

#[test]
fn route_without_any_pool() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[[route]]
pool = "web"
"#;
    assert_invalid(text, 5, 8, "not defined", "add a [pool.web] table");
}

#[test]
fn duplicate_listener_address() {
    let text = r#"[[listener]]
name = "a"
address = "127.0.0.1:8080"

[[listener]]
name = "b"
address = "127.0.0.1:8080"
"#;
    assert_invalid(
        text,
        7,
        11,
        "already used by listener \"a\"",
        "its own address",
    );
}

#[test]
fn duplicate_listener_name() {
    let text = r#"[[listener]]
name = "public"
address = "127.0.0.1:8080"

[[listener]]
name = "public"
address = "127.0.0.1:8081"
"#;
    assert_invalid(
        text,
        6,
        8,
        "two listeners are named \"public\"",
        "its own name",
    );
}

#[test]
fn pool_without_backends_key() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
policy = "round_robin"
"#;
    assert_invalid(text, 4, 7, "pool \"web\" has no backends", "add backends");
}

#[test]
fn pool_with_empty_backends() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = []
"#;
    assert_invalid(text, 5, 12, "pool \"web\" has no backends", "add backends");
}

#[test]
fn no_listener() {
    let text = r#"[pool.web]
backends = ["127.0.0.1:9001"]
"#;
    assert_invalid(text, 1, 1, "no [[listener]]", "add a [[listener]]");
}

#[test]
fn no_pool_at_all() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"
"#;
    assert_invalid(text, 1, 1, "no [pool.NAME]", "add a [pool.NAME]");
}

#[test]
fn several_pools_without_routes() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]

[pool.api]
backends = ["127.0.0.1:9002"]
"#;
    assert_invalid(
        text,
        7,
        7,
        "2 pools are defined but no [[route]]",
        "add [[route]] tables",
    );
}

#[test]
fn duplicate_backend_in_a_pool() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = [
  "127.0.0.1:9001",
  { address = "127.0.0.1:9001", weight = 2 },
]
"#;
    assert_invalid(
        text,
        7,
        15,
        "backend 127.0.0.1:9001 appears twice in pool \"web\"",
        "remove the duplicate",
    );
}

#[test]
fn weight_zero() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
policy = "weighted"
backends = [{ address = "127.0.0.1:9001", weight = 0 }]
"#;
    assert_invalid(
        text,
        6,
        52,
        "weight must be at least 1, found 0",
        "from 1 to 1000",
    );
}

#[test]
fn weight_too_large() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
policy = "weighted"
backends = [{ address = "127.0.0.1:9001", weight = 1001 }]
"#;
    assert_invalid(
        text,
        6,
        52,
        "weight must be at most 1000, found 1001",
        "from 1 to 1000",
    );
}

#[test]
fn zero_threads() {
    let text = r#"[server]
threads = 0
"#;
    assert_invalid(text, 2, 11, "threads must be at least 1", "1 or more");
}

#[test]
fn zero_max_in_flight() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]
max_in_flight = 0
"#;
    assert_invalid(text, 6, 17, "max_in_flight must be at least 1", "1 or more");
}

#[test]
fn within_without_region_affinity() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
policy = "least_conn"
within = "peak_ewma"
backends = ["127.0.0.1:9001"]
"#;
    assert_invalid(
        text,
        6,
        10,
        "within applies only to region_affinity pools, and pool \"web\" uses least_conn",
        "remove it or set policy = \"region_affinity\"",
    );
}

#[test]
fn fallback_without_region_affinity() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]
fallback = ["eu-west"]
"#;
    assert_invalid(
        text,
        6,
        12,
        "fallback applies only to region_affinity pools",
        "set policy = \"region_affinity\"",
    );
}

#[test]
fn spill_in_flight_without_region_affinity() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
policy = "peak_ewma"
backends = ["127.0.0.1:9001"]
spill_in_flight = 8
"#;
    assert_invalid(
        text,
        7,
        19,
        "spill_in_flight applies only to region_affinity pools",
        "remove it",
    );
}

#[test]
fn within_region_affinity() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
policy = "region_affinity"
within = "region_affinity"
backends = [{ address = "127.0.0.1:9001", region = "eu-west" }]
"#;
    assert_invalid(
        text,
        6,
        10,
        "within cannot be region_affinity",
        "round_robin, weighted, least_conn, peak_ewma",
    );
}

#[test]
fn region_affinity_backend_without_region_is_a_warning() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
policy = "region_affinity"
backends = [
  { address = "127.0.0.1:9001", region = "eu-west" },
  { address = "127.0.0.1:9002" },
]
"#;
    let config = parse(text, "tidegate.toml").unwrap();
    assert_eq!(config.pools[0].backends[1].region, None);
    assert_eq!(
        config.warnings(),
        [
            "pool \"web\": backend 127.0.0.1:9002 has no region; region_affinity tries it \
          only after the backends of every region"
        ]
    );
}

#[test]
fn fallback_region_without_backends_is_a_warning() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
policy = "region_affinity"
fallback = ["eu-west", "ap-south"]
backends = [
  { address = "127.0.0.1:9001", region = "eu-west" },
  { address = "127.0.0.1:9002", region = "us-east" },
]
"#;
    let config = parse(text, "tidegate.toml").unwrap();
    assert_eq!(config.pools[0].fallback, ["eu-west", "ap-south"]);
    assert_eq!(
        config.warnings(),
        [
            "pool \"web\": fallback region \"ap-south\" has no backend yet; requests spill \
          past it until backends of that region join"
        ]
    );
}

#[test]
fn fallback_region_listed_twice() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
policy = "region_affinity"
fallback = ["eu-west", "eu-west"]
backends = [{ address = "127.0.0.1:9001", region = "eu-west" }]
"#;
    assert_invalid(
        text,
        6,
        24,
        "fallback region \"eu-west\" is listed twice",
        "list each region once",
    );
}

#[test]
fn a_file_without_region_affinity_has_no_warnings() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]
"#;
    assert!(parse(text, "tidegate.toml").unwrap().warnings().is_empty());
}

#[test]
fn bad_region_header() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
region_header = "x region"
backends = ["127.0.0.1:9001"]
"#;
    assert_invalid(
        text,
        5,
        17,
        "not a valid HTTP header name",
        "x-tidegate-region",
    );
}

#[test]
fn duplicate_route() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[[route]]
host = "api.example.com"
pool = "web"

[[route]]
host = "API.example.com"
path_prefix = "/"
pool = "web"

[pool.web]
backends = ["127.0.0.1:9001"]
"#;
    assert_invalid(
        text,
        8,
        1,
        "already defined at line 4",
        "remove one of the two routes",
    );
}

#[test]
fn path_prefix_without_leading_slash() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[[route]]
path_prefix = "api"
pool = "web"

[pool.web]
backends = ["127.0.0.1:9001"]
"#;
    assert_invalid(
        text,
        5,
        15,
        "path_prefix \"api\" does not start with '/'",
        "\"/api\"",
    );
}

#[test]
fn bad_host_patterns() {
    for (host, problem) in [
        ("", "is empty"),
        ("example.com/api", "contains '/'"),
        ("example.com:8080", "contains ':'"),
        ("api example.com", "whitespace"),
        ("api.*.com", "'*'"),
        ("*example.com", "'*'"),
    ] {
        let text = format!(
            "[[listener]]\naddress = \"127.0.0.1:8080\"\n\n[[route]]\nhost = \"{host}\"\npool = \"web\"\n\n[pool.web]\nbackends = [\"127.0.0.1:9001\"]\n"
        );
        assert_invalid(&text, 5, 8, problem, "\"*.example.com\"");
    }
}
