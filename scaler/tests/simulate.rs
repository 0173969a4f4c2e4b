//! The simulator on a synthetic step trace and on a real trace (nycflights13).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure, like tests

use std::path::PathBuf;
use std::time::Duration;

use tidegate_scaler::simulate::{
    read_trace, simulate, simulate_all, write_outputs, Progress, SimPolicy, SimulationInput,
};
use tidegate_scaler::{CostModel, ForecastDevice, Policy, PredictiveConfig, Timestamp};

fn input(demand: Vec<f64>, step: Duration, tick: Duration, start: Timestamp) -> SimulationInput {
    SimulationInput {
        policy: Policy {
            min: 1,
            max: 200,
            lead_time: Duration::from_secs(30),
            cost: Some(CostModel {
                per_instance_hour: 0.10,
                budget_per_hour: None,
            }),
            ..Policy::default()
        },
        instance_capacity_rps: 50.0,
        service_time: Duration::from_millis(200),
        tick,
        step,
        start,
        demand,
        predictive: PredictiveConfig::default(),
        forecast_device: ForecastDevice::Cpu,
    }
}

/// 20 minutes at 100 rps, 20 at 1,000 rps, 20 at 100 rps; one row a minute.
fn step_trace() -> Vec<f64> {
    [100.0, 1000.0, 100.0]
        .iter()
        .flat_map(|&v| std::iter::repeat_n(v, 20))
        .collect()
}

#[test]
fn on_a_step_the_oracle_serves_everything_and_reactive_does_not() {
    let input = input(
        step_trace(),
        Duration::from_secs(60),
        Duration::from_secs(1),
        Timestamp::from_unix_secs(0),
    );
    let oracle = simulate(&input, SimPolicy::Oracle, Progress::Hidden)
        .unwrap()
        .summary;
    let reactive = simulate(&input, SimPolicy::Reactive, Progress::Hidden)
        .unwrap()
        .summary;

    assert_eq!(oracle.unserved_request_fraction, 0.0, "{oracle:?}");
    assert_eq!(oracle.slo_violation_seconds, 0.0);
    assert!(reactive.unserved_request_fraction > 0.0, "{reactive:?}");
    assert!(reactive.slo_violation_seconds > 0.0);
    assert!(
        reactive.slo_violation_seconds < 20.0 * 60.0,
        "reactive catches up: {reactive:?}"
    );

    // The oracle runs 20 instances at the peak and 2 outside it.
    assert_eq!(oracle.max_instances, 20);
    assert!(oracle.scale_ups >= 1 && oracle.scale_downs >= 1);
    assert!(
        reactive.max_instances >= 20,
        "reactive aims at 80% utilisation: {reactive:?}"
    );
    assert!(reactive.scale_ups >= 1 && reactive.scale_downs >= 1);
    assert!((oracle.total_requests - 20.0 * 60.0 * 1200.0).abs() < 1e-6);
    assert!((oracle.cost - oracle.instance_hours * 0.10).abs() < 1e-9);
    assert!(
        oracle.instance_hours < reactive.instance_hours,
        "the oracle pays less"
    );
}

/// Three weeks of hourly rows with the same daily shape: steep jumps at fixed hours
/// (a morning rush, an evening peak) and a 3% day-to-day wobble.
fn daily_trace() -> Vec<f64> {
    const SHAPE: [f64; 24] = [
        100.0, 80.0, 80.0, 80.0, 100.0, 150.0, 400.0, 1200.0, 1400.0, 1000.0, 900.0, 950.0, 1100.0,
        1000.0, 900.0, 950.0, 1300.0, 1800.0, 1600.0, 900.0, 600.0, 400.0, 250.0, 150.0,
    ];
    (0..21 * 24)
        .map(|row| {
            let day = row / 24;
            SHAPE[row % 24] * (1.0 + 0.03 * ((day * 7 % 5) as f64 - 2.0) / 2.0)
        })
        .collect()
}

#[test]
fn predictive_anticipates_a_daily_pattern_that_reactive_chases() {
    let mut input = input(
        daily_trace(),
        Duration::from_secs(3600),
        Duration::from_secs(10),
        Timestamp::from_unix_secs(0),
    );
    // Instances take 2 minutes to become ready: 12 ticks of the control loop.
    input.policy.lead_time = Duration::from_secs(120);
    input.predictive.seasons = vec![input.rows(24)];
    input.predictive.history = input.rows(7 * 24);
    input.predictive.refit_every = input.rows(24);
    let reports = simulate_all(&input, &SimPolicy::ALL, Progress::Hidden).unwrap();
    let [reactive, predictive, oracle] = [0, 1, 2].map(|i| reports[i].summary.clone());
    assert_eq!(predictive.policy, SimPolicy::Predictive);
    assert!(predictive.forecast_fits >= 19, "{predictive:?}");
    assert!(reactive.unserved_requests > 0.0, "{reactive:?}");
    assert!(
        predictive.unserved_requests < 0.5 * reactive.unserved_requests,
        "predictive {predictive:?} vs reactive {reactive:?}"
    );
    assert!(
        predictive.instance_hours <= 1.1 * reactive.instance_hours,
        "predictive {predictive:?} vs reactive {reactive:?}"
    );
    assert!(oracle.instance_hours < predictive.instance_hours);
}

#[test]
fn the_timeline_has_one_point_per_row() {
    let input = input(
        step_trace(),
        Duration::from_secs(60),
        Duration::from_secs(10),
        Timestamp::from_unix_secs(0),
    );
    let report = simulate(&input, SimPolicy::Oracle, Progress::Hidden).unwrap();
    assert_eq!(report.timeline.len(), 60);
    assert_eq!(report.timeline[25].demand_rps, 1000.0);
    assert_eq!(report.timeline[25].time_s, 1500.0);
    assert!(report.timeline.iter().all(|p| p.unserved_rps == 0.0));
}

#[test]
fn bad_input_is_rejected() {
    let mut bad = input(
        vec![],
        Duration::from_secs(60),
        Duration::from_secs(1),
        Timestamp::default(),
    );
    assert!(simulate(&bad, SimPolicy::Oracle, Progress::Hidden).is_err());
    bad.demand = vec![1.0];
    bad.instance_capacity_rps = 0.0;
    assert!(simulate(&bad, SimPolicy::Oracle, Progress::Hidden).is_err());
    assert_eq!(SimPolicy::parse_choice("all").unwrap(), SimPolicy::ALL);
    assert!(SimPolicy::parse_choice("psychic").is_err());
}

#[test]
fn replays_two_weeks_of_nycflights_and_writes_the_three_files() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/traces/nycflights_hourly_departures_by_origin.csv");
    if !path.exists() {
        eprintln!("skipping: {} is absent", path.display());
        return;
    }
    let trace = read_trace(&path, Some("JFK"))
        .unwrap()
        .scaled_to_peak(2000.0)
        .unwrap();
    assert_eq!(trace.values.len(), 8760);
    assert_eq!(trace.step, Some(Duration::from_secs(3600)));
    // Two weeks keep a debug-build test quick; the full year is in examples/simulate_trace.rs.
    let demand = trace.values[..14 * 24].to_vec();
    let input = input(
        demand,
        trace.step.unwrap(),
        Duration::from_secs(10),
        trace.start,
    );
    let reports = simulate_all(&input, &SimPolicy::ALL, Progress::Hidden).unwrap();
    assert_eq!(reports.len(), 3);
    for r in &reports {
        assert_eq!(r.timeline.len(), 14 * 24);
        assert!(r.summary.instance_hours > 0.0);
    }
    assert_eq!(reports[2].summary.unserved_request_fraction, 0.0);

    let dir = tempfile::tempdir().unwrap();
    let files = write_outputs(dir.path(), &input, &reports).unwrap();
    let csv = std::fs::read_to_string(&files.timeline_csv).unwrap();
    assert!(csv.starts_with(
        "policy,time_s,timestamp,demand_rps,ready_capacity_rps,instances,unserved_rps\n"
    ));
    assert_eq!(csv.lines().count(), 1 + 3 * 14 * 24);
    assert!(csv.contains("reactive,0,2013-01-01T00:00:00.000Z,"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files.summary_json).unwrap()).unwrap();
    assert_eq!(summary["policies"][0]["policy"], "reactive");
    assert_eq!(summary["policies"][1]["policy"], "predictive");
    assert_eq!(summary["policies"][2]["policy"], "oracle");
    let peak = summary["input"]["peak_demand_rps"].as_f64().unwrap();
    assert!(
        peak > 1000.0 && peak <= 2000.0,
        "the year's peak is 2000 rps: {peak}"
    );
    let svg = std::fs::read_to_string(&files.timeline_svg).unwrap();
    assert!(
        svg.starts_with("<svg")
            && svg.contains("polyline")
            && svg.contains("ready capacity, oracle")
    );
}
