//! `tidegate simulate`: replays a demand trace through the real scaler decisions.
//!
//! The pool's `[pool.NAME.scaler]` gives the policy and `[simulate]` the model
//! (what one instance serves, the service time, the virtual tick). The trace
//! column is scaled so its peak is `--peak-rps`, each row lasts `--step` of
//! virtual time, and each policy's run is written to `DIR/summary.json`,
//! `DIR/timeline.csv` and `DIR/timeline.svg`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tidegate_scaler::simulate::{
    read_trace, simulate_all, write_outputs, Progress, SimPolicy, SimulationInput,
};
use tidegate_scaler::ScalerError;

/// What `tidegate simulate` was asked to do (its command-line arguments).
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateRequest {
    /// The TOML configuration file with the pool's scaler.
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// The pool to simulate.
    #[arg(long)]
    pub pool: String,
    /// CSV trace: a timestamp column, then value columns.
    #[arg(long, value_name = "CSV")]
    pub trace: PathBuf,
    /// The trace column (default: the first value column).
    #[arg(long)]
    pub column: Option<String>,
    /// Scale the trace so its maximum is this many requests per second.
    #[arg(long, value_name = "R")]
    pub peak_rps: f64,
    /// Virtual time per trace row, e.g. "1h".
    #[arg(long, value_parser = humantime::parse_duration, value_name = "D")]
    pub step: Duration,
    /// reactive, predictive, oracle (bound from the true future), or all.
    #[arg(long, default_value = "all")]
    pub policy: String,
    /// Where summary.json, timeline.csv and timeline.svg go.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The configuration file is invalid.
    #[error(transparent)]
    Config(#[from] tidegate_conf::ConfigError),
    /// The pool does not exist or has no scaler.
    #[error("{0}")]
    Pool(String),
    /// The trace, the policy or the output failed.
    #[error(transparent)]
    Scaler(#[from] ScalerError),
}

/// Runs the simulation and prints one summary line per policy.
pub fn run(request: &SimulateRequest) -> Result<(), SimulateError> {
    let config = tidegate_conf::load(&request.config)?;
    let pool = config.pool(&request.pool).ok_or_else(|| {
        SimulateError::Pool(format!(
            "no pool named \"{}\" in {}",
            request.pool,
            request.config.display()
        ))
    })?;
    let spec = pool.scaler.as_ref().ok_or_else(|| {
        SimulateError::Pool(format!(
            "pool \"{}\" has no [pool.{}.scaler] table to simulate",
            request.pool, request.pool
        ))
    })?;
    let trace =
        read_trace(&request.trace, request.column.as_deref())?.scaled_to_peak(request.peak_rps)?;
    let input = SimulationInput {
        policy: crate::autoscale::policy(spec)?,
        instance_capacity_rps: config.simulate.instance_capacity_rps,
        service_time: config.simulate.service_time,
        tick: config.simulate.tick,
        step: request.step,
        start: trace.start,
        demand: trace.values,
        predictive: crate::autoscale::predictive(spec, Some(config.simulate.service_time)),
        forecast_device: crate::autoscale::forecast_device(config.forecast.device),
    };
    let policies = SimPolicy::parse_choice(&request.policy)?;
    let reports = simulate_all(&input, &policies, Progress::Stderr)?;
    write_outputs(&request.out, &input, &reports)?;
    println!(
        "{} rows of {:?} scaled to a {} req/s peak, tick {:?}; files in {}",
        input.demand.len(),
        request.step,
        request.peak_rps,
        input.tick,
        display(&request.out)
    );
    for report in &reports {
        let s = &report.summary;
        println!(
            "{:>10}: unserved {:.4}%, SLO violated {:.0} s, {:.1} instance-hours, cost {:.2}, {} ups, {} downs, max {} instances",
            s.policy.as_str(),
            s.unserved_request_fraction * 100.0,
            s.slo_violation_seconds,
            s.instance_hours,
            s.cost,
            s.scale_ups,
            s.scale_downs,
            s.max_instances
        );
    }
    Ok(())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
