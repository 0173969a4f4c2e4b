//! Replays a whole trace column through every simulator policy and reports the run time.
//!
//! ```text
//! cargo run --release -p tidegate-scaler --example simulate_trace -- \
//!     shared/traces/nycflights_hourly_departures_by_origin.csv JFK 2000 10 /tmp/sim
//! ```
//! Arguments: trace file, column, peak requests/s, tick seconds, output directory.
//! The instance model is DESIGN.md's `[simulate]` example: 50 rps per instance, 200 ms.

use std::error::Error;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tidegate_scaler::simulate::{
    read_trace, simulate_all, write_outputs, Progress, SimPolicy, SimulationInput,
};
use tidegate_scaler::{CostModel, Policy};

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

    let trace = read_trace(&path, Some(&column))?.scaled_to_peak(peak)?;
    let step = trace.step.unwrap_or(Duration::from_secs(3600));
    let input = SimulationInput {
        policy: Policy {
            min: 1,
            max: 100,
            cost: Some(CostModel {
                per_instance_hour: 0.10,
                budget_per_hour: Some(10.0),
            }),
            ..Policy::default()
        },
        instance_capacity_rps: 50.0,
        service_time: Duration::from_millis(200),
        tick,
        step,
        start: trace.start,
        demand: trace.values,
    };
    let started = Instant::now();
    let reports = simulate_all(&input, &SimPolicy::ALL, Progress::Stderr)?;
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
            "{:>8}: unserved {:.5}, slo violation {:.0} s, {:.0} instance-hours, cost {:.2}, ups {}, downs {}, max {}",
            s.policy.as_str(),
            s.unserved_request_fraction,
            s.slo_violation_seconds,
            s.instance_hours,
            s.cost,
            s.scale_ups,
            s.scale_downs,
            s.max_instances
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
