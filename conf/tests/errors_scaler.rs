//! Errors in `[pool.NAME.scaler]` (bounds, windows, predictive, cost, schedule, the
//! driver it names) and in `[forecast]` and `[simulate]`.

mod support;

use support::assert_invalid;

/// Lines 1-9 of a valid file: a listener, a process driver and `[pool.web]`.
const HEAD: &str = r#"[[listener]]
address = "127.0.0.1:8080"

[driver.local]
kind = "process"
command = ["tidegate", "backend", "--port", "{port}"]
ports = "9100-9199"

[pool.web]
"#;

/// A file whose `[pool.web.scaler]` (line 10) names driver "local" with max = 4, then
/// holds `lines` from line 13 on.
fn scaler_with(lines: &str) -> String {
    format!("{HEAD}[pool.web.scaler]\ndriver = \"local\"\nmax = 4\n{lines}\n")
}

#[test]
fn scaler_names_an_undefined_driver() {
    let text = format!("{HEAD}[pool.web.scaler]\ndriver = \"cloud\"\nmax = 4\n");
    assert_invalid(
        &text,
        11,
        10,
        "scaler uses driver \"cloud\", which is not defined",
        "defined drivers: local",
    );
}

#[test]
fn scaler_names_a_driver_when_none_is_defined() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[pool.web]
scaler = { driver = "local", max = 2 }
"#;
    assert_invalid(
        text,
        5,
        21,
        "scaler uses driver \"local\", which is not defined",
        "no drivers are defined; add a [driver.local] table",
    );
}

#[test]
fn scaler_without_driver_or_max() {
    let text = format!("{HEAD}[pool.web.scaler]\nmax = 4\n");
    assert_invalid(&text, 10, 1, "missing key `driver`", "add `driver = ...`");
    let text = format!("{HEAD}[pool.web.scaler]\ndriver = \"local\"\n");
    assert_invalid(&text, 10, 1, "missing key `max`", "add `max = ...`");
}

#[test]
fn scaler_max_zero() {
    let text = format!("{HEAD}[pool.web.scaler]\ndriver = \"local\"\nmax = 0\n");
    assert_invalid(
        &text,
        12,
        7,
        "max must be at least 1, found 0",
        "set max to 1 or more",
    );
}

#[test]
fn scaler_min_above_max() {
    let text = format!("{HEAD}[pool.web.scaler]\ndriver = \"local\"\nmin = 5\nmax = 3\n");
    assert_invalid(
        &text,
        13,
        7,
        "max = 3 is below min = 5",
        "raise max to 5 or more, or lower min",
    );
}

#[test]
fn scaler_target_zero() {
    assert_invalid(
        &scaler_with("target_in_flight = 0"),
        13,
        20,
        "target_in_flight must be greater than 0, found 0",
        "e.g. target_in_flight = 8",
    );
}

#[test]
fn scaler_target_as_a_string() {
    assert_invalid(
        &scaler_with("target_in_flight = \"8\""),
        13,
        20,
        "expected a number, found string \"8\"",
        "write a number without quotes",
    );
}

#[test]
fn scaler_zero_tick() {
    assert_invalid(
        &scaler_with("tick = \"0s\""),
        13,
        8,
        "tick must be greater than zero",
        "use a positive duration, like \"1s\"",
    );
}

#[test]
fn panic_window_longer_than_stable_window() {
    assert_invalid(
        &scaler_with("stable_window = \"30s\"\npanic_window = \"1m\""),
        14,
        16,
        "panic_window (1m) is longer than stable_window (30s)",
        "make panic_window at most stable_window",
    );
}

#[test]
fn stable_window_shorter_than_the_default_panic_window() {
    assert_invalid(
        &scaler_with("stable_window = \"5s\""),
        13,
        17,
        "panic_window (6s) is longer than stable_window (5s)",
        "at most stable_window",
    );
}

#[test]
fn panic_threshold_not_above_one() {
    assert_invalid(
        &scaler_with("panic_threshold = 1"),
        13,
        19,
        "panic_threshold must be greater than 1, found 1",
        "e.g. 2.0",
    );
}

#[test]
fn scale_up_rate_below_one() {
    assert_invalid(
        &scaler_with("max_scale_up_rate = 0.5"),
        13,
        21,
        "max_scale_up_rate must be at least 1, found 0.5",
        "ceil(ready x rate)",
    );
}

#[test]
fn empty_audit_log() {
    assert_invalid(
        &scaler_with("audit_log = \"\""),
        13,
        13,
        "audit_log must not be empty",
        "give audit_log a value",
    );
}

#[test]
fn unknown_scaler_key() {
    assert_invalid(
        &scaler_with("mni = 1"),
        13,
        1,
        "unknown key `mni`",
        "valid keys here: driver, min, max, target_in_flight",
    );
}

#[test]
fn three_seasons() {
    assert_invalid(
        &scaler_with(r#"predictive = { seasons = ["1h", "1d", "7d"] }"#),
        13,
        26,
        "seasons lists 3 periods; one or two are supported",
        "[\"1d\", \"7d\"]",
    );
}

#[test]
fn second_season_not_a_multiple_of_the_first() {
    assert_invalid(
        &scaler_with(r#"predictive = { seasons = ["1d", "36h"] }"#),
        13,
        33,
        "season 36h is not a longer multiple of the first season, 1d",
        "a whole number of first seasons",
    );
}

#[test]
fn history_shorter_than_two_seasons() {
    assert_invalid(
        &scaler_with(r#"predictive = { seasons = ["1d", "7d"], history = "10d" }"#),
        13,
        50,
        "history (10d) is shorter than two of the longest season (7d)",
        "set history = \"14d\" or more",
    );
}

#[test]
fn unknown_fit_loss() {
    assert_invalid(
        &scaler_with(r#"predictive = { loss = "huber" }"#),
        13,
        23,
        "unknown loss \"huber\"",
        "\"absolute\"",
    );
}

#[test]
fn long_season_with_the_default_history() {
    assert_invalid(
        &scaler_with(r#"predictive = { seasons = ["30d"] }"#),
        13,
        26,
        "history (14d) is shorter than two of the longest season (30d)",
        "set history = \"60d\" or more",
    );
}

#[test]
fn quantile_of_one() {
    assert_invalid(
        &scaler_with("predictive = { quantile = 1.0 }"),
        13,
        27,
        "quantile must be from 0.5 up to but not including 1, found 1",
        "e.g. quantile = 0.9",
    );
}

#[test]
fn budget_below_the_minimum() {
    let text = format!(
        "{HEAD}[pool.web.scaler]\ndriver = \"local\"\nmin = 6\nmax = 10\ncost = {{ per_instance_hour = 0.10, budget_per_hour = 0.5 }}\n"
    );
    assert_invalid(
        &text,
        14,
        54,
        "budget_per_hour = 0.5 cannot pay for min = 6 instances at 0.1 per instance hour",
        "raise budget_per_hour to at least 0.6, or lower min",
    );
}

#[test]
fn negative_price_and_zero_budget() {
    assert_invalid(
        &scaler_with("cost = { per_instance_hour = -0.1 }"),
        13,
        30,
        "per_instance_hour must be at least 0, found -0.1",
        "per_instance_hour = 0.10",
    );
    assert_invalid(
        &scaler_with("cost = { per_instance_hour = 0.1, budget_per_hour = 0 }"),
        13,
        53,
        "budget_per_hour must be greater than 0, found 0",
        "remove it for no budget",
    );
}

#[test]
fn cost_without_a_price() {
    assert_invalid(
        &scaler_with("cost = { budget_per_hour = 1.0 }"),
        13,
        8,
        "missing key `per_instance_hour`",
        "add `per_instance_hour = ...`",
    );
}

#[test]
fn invalid_cron_expression() {
    let (line, col, message, hint) = support::invalid(&scaler_with(
        r#"schedule = [{ cron = "* 25 * * *", min = 2 }]"#,
    ));
    assert_eq!((line, col), (13, 22));
    assert!(
        message.starts_with("cron \"* 25 * * *\" is not a valid cron expression: "),
        "{message}"
    );
    assert!(
        message.len() > "cron \"* 25 * * *\" is not a valid cron expression: ".len(),
        "the parser's reason follows: {message}"
    );
    assert!(hint.contains("minute hour day-of-month month day-of-week"));
}

#[test]
fn six_field_cron_expression() {
    assert_invalid(
        &scaler_with(r#"schedule = [{ cron = "0 * 8-17 * * MON-FRI", max = 4 }]"#),
        13,
        22,
        "is not a valid cron expression: ",
        "write five fields",
    );
}

#[test]
fn schedule_entry_without_bounds() {
    assert_invalid(
        &scaler_with(r#"schedule = [{ cron = "* * * * *" }]"#),
        13,
        13,
        "schedule entry overrides neither min nor max",
        "add min = N and/or max = N",
    );
}

#[test]
fn schedule_min_above_its_max() {
    assert_invalid(
        &scaler_with(r#"schedule = [{ cron = "* * * * *", min = 5, max = 2 }]"#),
        13,
        50,
        "schedule max = 2 is below min = 5",
        "raise this max to 5 or more",
    );
}

#[test]
fn schedule_min_above_the_scalers_max() {
    assert_invalid(
        &scaler_with(r#"schedule = [{ cron = "* * * * *", min = 5 }]"#),
        13,
        41,
        "schedule min = 5 is above the scaler's max = 4",
        "add max = 5 or more to this entry",
    );
}

#[test]
fn region_affinity_pool_of_a_process_driver_without_regions_is_a_warning() {
    let text = format!(
        "{HEAD}policy = \"region_affinity\"\n\n[pool.web.scaler]\ndriver = \"local\"\nmax = 4\n"
    );
    let config = tidegate_conf::parse(&text, "tidegate.toml").unwrap();
    assert_eq!(
        config.warnings(),
        [
            "pool \"web\": driver \"local\" launches instances without a region; region_affinity \
          tries them only after the backends of every region (set regions = [...] on the driver)"
        ]
    );
}

#[test]
fn fallback_region_a_driver_launches_in_is_no_warning_and_others_are() {
    let text = r#"[[listener]]
address = "127.0.0.1:8080"

[driver.local]
kind = "process"
command = ["tidegate", "backend", "--port", "{port}"]
ports = "9100-9199"
regions = ["eu-west"]

[pool.web]
policy = "region_affinity"
fallback = ["eu-west", "us-east"]
scaler = { driver = "local", max = 4 }
"#;
    let config = tidegate_conf::parse(text, "tidegate.toml").unwrap();
    assert_eq!(
        config.warnings(),
        [
            "pool \"web\": fallback region \"us-east\" has no backend yet; requests spill \
          past it until backends of that region join"
        ]
    );
}

/// A valid file that ends with `tail`, starting at line 6.
fn ending_with(tail: &str) -> String {
    format!("[[listener]]\naddress = \"127.0.0.1:8080\"\n\n[pool.web]\nbackends = [\"127.0.0.1:9001\"]\n{tail}\n")
}

#[test]
fn unknown_forecast_device() {
    assert_invalid(
        &ending_with("[forecast]\ndevice = \"tpu\""),
        7,
        10,
        "unknown forecast device \"tpu\"",
        "\"auto\"",
    );
}

#[test]
fn simulate_values_must_be_positive() {
    assert_invalid(
        &ending_with("[simulate]\ninstance_capacity_rps = 0"),
        7,
        25,
        "instance_capacity_rps must be greater than 0, found 0",
        "instance_capacity_rps = 50",
    );
    assert_invalid(
        &ending_with("[simulate]\nservice_time = \"0ms\""),
        7,
        16,
        "service_time must be greater than zero",
        "positive duration",
    );
    assert_invalid(
        &ending_with("[simulate]\ntick = \"0s\""),
        7,
        8,
        "tick must be greater than zero",
        "like \"10s\"",
    );
}

#[test]
fn zero_half_life() {
    assert_invalid(
        &scaler_with(r#"predictive = { half_lives = ["7d", "0s"] }"#),
        13,
        36,
        "half-life must be greater than zero",
        "or [] for one fit",
    );
}
