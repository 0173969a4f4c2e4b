//! Scalers, drivers, `[forecast]` and `[simulate]` as read: defaults for every key
//! left out, values for every key written, and pools whose driver provides backends.

use std::path::Path;
use std::time::Duration;

use tidegate_conf::{
    parse, parse_in, Config, Cost, DriverKind, DriverSpec, FitLoss, ForecastDevice, Predictive,
    ScalerSpec, ScheduleEntry, Simulate,
};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn valid(text: &str) -> Config {
    match parse(text, "test.toml") {
        Ok(config) => config,
        Err(error) => panic!("{error}"),
    }
}

/// A file with one pool scaled by a process driver; `scaler` is appended to its scaler table.
fn scaled(scaler: &str) -> ScalerSpec {
    let text = format!(
        r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]

[pool.web.scaler]
driver = "local"
max = 4
{scaler}

[driver.local]
kind = "process"
command = ["tidegate", "backend", "--port", "{{port}}"]
ports = "9100-9199"
"#
    );
    match valid(&text).pools.remove(0).scaler {
        Some(scaler) => scaler,
        None => panic!("the pool has a scaler"),
    }
}

#[test]
fn scaler_defaults() {
    assert_eq!(
        scaled(""),
        ScalerSpec {
            driver: "local".to_owned(),
            min: 1,
            max: 4,
            target_in_flight: 8.0,
            tick: Duration::from_secs(1),
            stable_window: Duration::from_secs(60),
            panic_window: Duration::from_secs(6),
            panic_threshold: 2.0,
            scale_down_delay: Duration::from_secs(300),
            lead_time: Duration::from_secs(30),
            max_scale_up_rate: 2.0,
            predictive: None,
            cost: None,
            schedule: Vec::new(),
            audit_log: None,
        }
    );
}

#[test]
fn scaler_values_are_read() {
    let scaler = scaled(
        r#"min = 0
target_in_flight = 2.5
tick = "500ms"
stable_window = "2m"
panic_window = "2m"
panic_threshold = 1.5
scale_down_delay = "0s"
lead_time = "1m"
max_scale_up_rate = 1
audit_log = "/var/log/tidegate/audit.jsonl"
"#,
    );
    assert_eq!(scaler.min, 0);
    assert_eq!(scaler.target_in_flight, 2.5);
    assert_eq!(scaler.tick, Duration::from_millis(500));
    assert_eq!(scaler.stable_window, Duration::from_secs(120));
    assert_eq!(scaler.panic_window, Duration::from_secs(120));
    assert_eq!(scaler.panic_threshold, 1.5);
    assert_eq!(scaler.scale_down_delay, Duration::ZERO);
    assert_eq!(scaler.lead_time, Duration::from_secs(60));
    assert_eq!(scaler.max_scale_up_rate, 1.0);
    assert_eq!(
        scaler.audit_log.as_deref(),
        Some(Path::new("/var/log/tidegate/audit.jsonl"))
    );
}

#[test]
fn integer_and_float_targets_are_both_accepted() {
    assert_eq!(scaled("target_in_flight = 4").target_in_flight, 4.0);
    assert_eq!(scaled("target_in_flight = 0.5").target_in_flight, 0.5);
}

#[test]
fn relative_audit_log_resolves_against_the_base_directory() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]

[pool.web.scaler]
driver = "local"
max = 4
audit_log = "logs/audit.jsonl"

[driver.local]
kind = "exec"
list = ["./list"]
launch = ["./launch"]
remove = ["./remove"]
"#;
    let config = match parse_in(text, "test.toml", Path::new("/etc/tidegate")) {
        Ok(config) => config,
        Err(error) => panic!("{error}"),
    };
    let audit_log = config.pools[0]
        .scaler
        .as_ref()
        .and_then(|scaler| scaler.audit_log.clone());
    assert_eq!(
        audit_log.as_deref(),
        Some(Path::new("/etc/tidegate/logs/audit.jsonl"))
    );
}

#[test]
fn predictive_defaults() {
    let expected = Predictive {
        enabled: true,
        seasons: vec![DAY, 7 * DAY],
        history: 14 * DAY,
        quantile: 0.9,
        refit_every: Duration::from_secs(600),
        damped: false,
        loss: FitLoss::Absolute,
        half_lives: None,
        seasonal_copy: true,
    };
    assert_eq!(scaled("predictive = {}").predictive, Some(expected.clone()));
    assert_eq!(Predictive::default(), expected);
}

#[test]
fn predictive_values_are_read() {
    let scaler = scaled(
        r#"predictive = { enabled = false, seasons = ["1h"], history = "2h", quantile = 0.5, refit_every = "1m", damped = true, loss = "squared", seasonal_copy = false }"#,
    );
    assert_eq!(
        scaler.predictive,
        Some(Predictive {
            enabled: false,
            seasons: vec![Duration::from_secs(3600)],
            history: Duration::from_secs(7200),
            quantile: 0.5,
            refit_every: Duration::from_secs(60),
            damped: true,
            loss: FitLoss::Squared,
            half_lives: None,
            seasonal_copy: false,
        })
    );
    let half_lives = |list: &str| {
        scaled(&format!("predictive = {{ half_lives = {list} }}"))
            .predictive
            .and_then(|p| p.half_lives)
    };
    assert_eq!(
        half_lives(r#"["3d 12h", "7d"]"#),
        Some(vec![Duration::from_secs(84 * 3600), 7 * DAY])
    );
    assert_eq!(half_lives("[]"), Some(vec![]));
}

#[test]
fn cost_is_read_with_an_optional_budget() {
    assert_eq!(
        scaled("cost = { per_instance_hour = 0.10, budget_per_hour = 5.0 }").cost,
        Some(Cost {
            per_instance_hour: 0.10,
            budget_per_hour: Some(5.0),
        })
    );
    assert_eq!(
        scaled("cost = { per_instance_hour = 0 }").cost,
        Some(Cost {
            per_instance_hour: 0.0,
            budget_per_hour: None,
        })
    );
    // Exactly enough for min = 3 instances, despite 3 x 0.1 rounding above 0.3.
    let scaler = scaled("min = 3\ncost = { per_instance_hour = 0.1, budget_per_hour = 0.3 }");
    assert_eq!(scaler.cost.and_then(|cost| cost.budget_per_hour), Some(0.3));
}

#[test]
fn schedule_entries_keep_file_order() {
    let scaler = scaled(
        r#"schedule = [
  { cron = "* 8-17 * * MON-FRI", min = 3, max = 4 },
  { cron = "*/15 0-5 * * *", max = 2 },
  { cron = "0 12 * * SUN", min = 4, duration = "1h 30m" },
]"#,
    );
    assert_eq!(
        scaler.schedule,
        [
            ScheduleEntry {
                cron: "* 8-17 * * MON-FRI".to_owned(),
                duration: None,
                min: Some(3),
                max: Some(4),
            },
            ScheduleEntry {
                cron: "*/15 0-5 * * *".to_owned(),
                duration: None,
                min: None,
                max: Some(2),
            },
            ScheduleEntry {
                cron: "0 12 * * SUN".to_owned(),
                duration: Some(Duration::from_secs(5_400)),
                min: Some(4),
                max: None,
            },
        ]
    );
}

const DRIVERS: &str = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]

[driver.local]
kind = "process"
command = ["tidegate", "backend", "--port={port}"]
ports = "9100-9101"
regions = ["eu-west", "us-east"]
env = { RUST_LOG = "debug", MODE = "demo" }

[driver.bare]
kind = "process"
command = ["./serve", "{port}"]
ports = "7000"

[driver.scripts]
kind = "exec"
list = ["./list.sh", "--json"]
launch = ["./launch.sh"]
remove = ["./remove.sh"]

[driver.hook]
kind = "http"
url = "https://scaler.example.com/pools"
token = "s3cret"
timeout = "2s"

[driver.plain-hook]
kind = "http"
url = "http://127.0.0.1:7000/pools"

[driver.fixed]
kind = "static"

[driver.slow-scripts]
kind = "exec"
list = ["l"]
launch = ["a"]
remove = ["r"]
timeout = "2m"
"#;

#[test]
fn drivers_are_read_in_file_order_with_defaults() {
    let owned = |args: &[&str]| -> Vec<String> { args.iter().map(|&a| a.to_owned()).collect() };
    let config = valid(DRIVERS);
    assert_eq!(
        config.drivers,
        [
            DriverSpec {
                name: "local".to_owned(),
                kind: DriverKind::Process {
                    command: owned(&["tidegate", "backend", "--port={port}"]),
                    ports: 9100..=9101,
                    regions: owned(&["eu-west", "us-east"]),
                    env: vec![
                        ("RUST_LOG".to_owned(), "debug".to_owned()),
                        ("MODE".to_owned(), "demo".to_owned()),
                    ],
                },
            },
            DriverSpec {
                name: "bare".to_owned(),
                kind: DriverKind::Process {
                    command: owned(&["./serve", "{port}"]),
                    ports: 7000..=7000,
                    regions: Vec::new(),
                    env: Vec::new(),
                },
            },
            DriverSpec {
                name: "scripts".to_owned(),
                kind: DriverKind::Exec {
                    list: owned(&["./list.sh", "--json"]),
                    launch: owned(&["./launch.sh"]),
                    remove: owned(&["./remove.sh"]),
                    timeout: Duration::from_secs(30),
                },
            },
            DriverSpec {
                name: "hook".to_owned(),
                kind: DriverKind::Http {
                    url: "https://scaler.example.com/pools".to_owned(),
                    token: Some("s3cret".to_owned()),
                    timeout: Duration::from_secs(2),
                },
            },
            DriverSpec {
                name: "plain-hook".to_owned(),
                kind: DriverKind::Http {
                    url: "http://127.0.0.1:7000/pools".to_owned(),
                    token: None,
                    timeout: Duration::from_secs(5),
                },
            },
            DriverSpec {
                name: "fixed".to_owned(),
                kind: DriverKind::Static,
            },
            DriverSpec {
                name: "slow-scripts".to_owned(),
                kind: DriverKind::Exec {
                    list: owned(&["l"]),
                    launch: owned(&["a"]),
                    remove: owned(&["r"]),
                    timeout: Duration::from_secs(120),
                },
            },
        ]
    );
    assert_eq!(
        config.driver("hook").map(|driver| driver.kind.name()),
        Some("http")
    );
    assert!(config.driver("nope").is_none());
}

#[test]
fn aws_asg_driver_is_read_with_its_defaults() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
policy = "region_affinity"
fallback = ["eu-west-1"]
scaler = { driver = "cloud", max = 8 }

[driver.cloud]
kind = "aws_asg"
region = "eu-west-1"
port = 8080

[driver.local-cloud]
kind = "aws_asg"
region = "us-east-1"
group = "prod-{pool}"
port = 9000
endpoint = "http://127.0.0.1:5000"
ec2_endpoint = "http://127.0.0.1:5001"
timeout = "3s"
"#;
    let config = valid(text);
    assert_eq!(
        config
            .drivers
            .iter()
            .map(|d| d.kind.clone())
            .collect::<Vec<_>>(),
        [
            DriverKind::AwsAsg {
                region: "eu-west-1".to_owned(),
                group: "{pool}".to_owned(),
                port: 8080,
                endpoint: None,
                ec2_endpoint: None,
                timeout: Duration::from_secs(10),
            },
            DriverKind::AwsAsg {
                region: "us-east-1".to_owned(),
                group: "prod-{pool}".to_owned(),
                port: 9000,
                endpoint: Some("http://127.0.0.1:5000".to_owned()),
                ec2_endpoint: Some("http://127.0.0.1:5001".to_owned()),
                timeout: Duration::from_secs(3),
            },
        ]
    );
    // Its instances are in its region: a fallback to it is no warning.
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
}

#[test]
fn static_driver_scales_over_the_configured_backends() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001", "127.0.0.1:9002"]
scaler = { driver = "fixed", max = 2 }

[driver.fixed]
kind = "static"
"#;
    let config = valid(text);
    assert_eq!(config.pools[0].backends.len(), 2);
    assert_eq!(
        config.pools[0].scaler.as_ref().map(|s| s.driver.as_str()),
        Some("fixed")
    );
}

#[test]
fn region_affinity_pool_may_fall_back_to_regions_its_driver_launches_in() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.agents]
policy = "region_affinity"
fallback = ["us-east", "eu-west", "ap-south"]
backends = [{ address = "127.0.0.1:9001", region = "ap-south" }]

[pool.agents.scaler]
driver = "local"
max = 6

[driver.local]
kind = "process"
command = ["tidegate", "backend", "--port", "{port}"]
ports = "9100-9199"
regions = ["eu-west", "us-east"]
"#;
    let pool = &valid(text).pools[0];
    assert_eq!(pool.fallback, ["us-east", "eu-west", "ap-south"]);
    assert_eq!(pool.backends.len(), 1);
}

#[test]
fn forecast_and_simulate_values_are_read() {
    let config = valid(&format!(
        "{DRIVERS}\n[forecast]\ndevice = \"gpu\"\n\n[simulate]\ninstance_capacity_rps = 120.5\nservice_time = \"50ms\"\ntick = \"1s\"\n"
    ));
    assert_eq!(config.forecast.device, ForecastDevice::Gpu);
    assert_eq!(
        config.simulate,
        Simulate {
            instance_capacity_rps: 120.5,
            service_time: Duration::from_millis(50),
            tick: Duration::from_secs(1),
        }
    );
    let cpu = valid(&format!("{DRIVERS}\n[forecast]\ndevice = \"cpu\"\n"));
    assert_eq!(cpu.forecast.device, ForecastDevice::Cpu);
    let partial = valid(&format!("{DRIVERS}\n[simulate]\ntick = \"30s\"\n"));
    assert_eq!(
        partial.simulate,
        Simulate {
            tick: Duration::from_secs(30),
            ..Simulate::default()
        }
    );
    assert_eq!(ForecastDevice::Auto.to_string(), "auto");
}

#[test]
fn summary_mentions_admin_health_and_scalers() {
    let text = r#"[server]
access_log = true

[admin]
address = "127.0.0.1:9901"

[[listener]]
address = "127.0.0.1:8080"

[pool.web]
health = { path = "/healthz" }

[pool.web.scaler]
driver = "local"
min = 1
max = 6
target_in_flight = 4
predictive = {}
cost = { per_instance_hour = 0.1, budget_per_hour = 5.0 }
schedule = [{ cron = "* 8-17 * * MON-FRI", min = 3 }]

[driver.local]
kind = "process"
command = ["tidegate", "backend", "--port", "{port}"]
ports = "9100-9199"
"#;
    assert_eq!(
        valid(text).summary(),
        "server: 1 thread(s), grace period 30s, text logs, access log
admin: 127.0.0.1:9901 (no token)
listeners:
  listener-1 on 127.0.0.1:8080
routes:
  */ -> web
pools:
  web: least_conn, 0 backend(s)
    health: GET /healthz every 2s, timeout 500ms
    scaler: 1..6 instance(s) via driver local (process), target 4 in flight each, predictive, budget 5/h, 1 schedule(s)"
    );
}
