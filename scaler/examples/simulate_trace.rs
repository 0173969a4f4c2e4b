//! Replays a whole trace column through every simulator policy and reports the run time.
//!
//! ```text
//! cargo run --release -p tidegate-scaler --example simulate_trace -- \
//!     shared/traces/nycflights_hourly_departures_by_origin.csv JFK 2000 10 /tmp/sim \
//!     --seasons 24,168 --history 672 --refit 24
//! ```
//! Positional arguments: trace file, column, peak requests/s, tick seconds, output
//! directory. Options for the predictive policy, in trace rows: `--seasons N[,M]`
//! (default 1 d and 7 d), `--history ROWS` (default 14 d), `--refit ROWS` (default 24);
//! and `--quantile Q` (default 0.9), `--lead SECONDS` (default 30), `--policy P`
//! (reactive, predictive, oracle or all; default all), `--device auto|cpu|gpu`
//! (default cpu). The instance model is DESIGN.md's `[simulate]` example: 50 rps per
//! instance, 200 ms.

use std::error::Error;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tidegate_scaler::simulate::{
    read_trace, simulate_all, write_outputs, Progress, SimPolicy, SimulationInput,
};
use tidegate_scaler::{CostModel, ForecastDevice, Policy, PredictiveConfig};

/// The `--name value` options, as given.
#[derive(Default)]
struct Options {
    seasons: Option<Vec<u32>>,
    history: Option<u32>,
    refit: u32,
    quantile: Option<f64>,
    lead_s: Option<u64>,
    policy: String,
    device: ForecastDevice,
}

fn options(raw: &[String]) -> Result<Options, Box<dyn Error>> {
    let mut o = Options {
        refit: 24,
        policy: "all".to_owned(),
        device: ForecastDevice::Cpu,
        ..Options::default()
    };
    for pair in raw.chunks(2) {
        let [name, value] = pair else {
            return Err(format!("{} needs a value", pair[0]).into());
        };
        match name.as_str() {
            "--seasons" => {
                o.seasons = Some(value.split(',').map(str::parse).collect::<Result<_, _>>()?)
            }
            "--history" => o.history = Some(value.parse()?),
            "--refit" => o.refit = value.parse()?,
            "--quantile" => o.quantile = Some(value.parse()?),
            "--lead" => o.lead_s = Some(value.parse()?),
            "--policy" => o.policy = value.clone(),
            "--device" => o.device = value.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(o)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_owned());
    let path = PathBuf::from(arg(
        0,
        "../shared/traces/nycflights_hourly_departures_by_origin.csv",
    ));
    let column = arg(1, "JFK");
    let peak: f64 = arg(2, "2000").parse()?;
    let tick = Duration::from_secs(arg(3, "10").parse()?);
    let out = PathBuf::from(arg(4, "simulate-out"));
    let opts = options(args.get(5..).unwrap_or_default())?;

    let trace = read_trace(&path, Some(&column))?.scaled_to_peak(peak)?;
    let step = trace.step.unwrap_or(Duration::from_secs(3600));
    let mut policy = Policy {
        min: 1,
        max: 100,
        cost: Some(CostModel {
            per_instance_hour: 0.10,
            budget_per_hour: Some(10.0),
        }),
        ..Policy::default()
    };
    if let Some(lead) = opts.lead_s {
        policy.lead_time = Duration::from_secs(lead);
    }
    let mut input = SimulationInput {
        policy,
        instance_capacity_rps: 50.0,
        service_time: Duration::from_millis(200),
        tick,
        step,
        start: trace.start,
        demand: trace.values,
        predictive: PredictiveConfig::default(),
        forecast_device: opts.device,
    };
    if let Some(seasons) = &opts.seasons {
        input.predictive.seasons = seasons.iter().map(|&rows| input.rows(rows)).collect();
    }
    if let Some(rows) = opts.history {
        input.predictive.history = input.rows(rows);
    }
    if let Some(q) = opts.quantile {
        input.predictive.quantile = q;
    }
    input.predictive.refit_every = input.rows(opts.refit);
    let policies = SimPolicy::parse_choice(&opts.policy)?;

    let started = Instant::now();
    let reports = simulate_all(&input, &policies, Progress::Stderr)?;
    let elapsed = started.elapsed();
    let files = write_outputs(&out, &input, &reports)?;
    let ticks: u64 = reports.iter().map(|r| r.summary.ticks).sum();
    println!(
        "{} column {column}, peak {peak} rps, {} rows of {:?}, tick {:?}",
        path.display(),
        input.demand.len(),
        step,
        tick
    );
    for r in &reports {
        let s = &r.summary;
        println!(
            "{:>10}: unserved {:.5}, slo violation {:.0} s, {:.0} instance-hours, cost {:.2}, ups {}, downs {}, max {}, fits {}",
            s.policy.as_str(),
            s.unserved_request_fraction,
            s.slo_violation_seconds,
            s.instance_hours,
            s.cost,
            s.scale_ups,
            s.scale_downs,
            s.max_instances,
            s.forecast_fits
        );
    }
    println!(
        "simulated {ticks} ticks in {:.2} s ({:.0} ns/tick); wrote {}",
        elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / ticks as f64,
        files
            .timeline_svg
            .parent()
            .map_or_else(String::new, |p| p.display().to_string())
    );
    Ok(())
}
