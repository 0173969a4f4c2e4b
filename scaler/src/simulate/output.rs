//! Writes a simulation's results: `timeline.csv`, `summary.json` and `timeline.svg`.
//!
//! With several policies, the CSV has one block of rows per policy (column `policy`),
//! the JSON one summary per policy, and the SVG one line per policy in each panel.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use tidegate_gpu::Device;

use crate::error::ScalerError;
use crate::simulate::{plot, SimSummary, SimulationInput, SimulationReport};

/// Where the three files were written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFiles {
    /// Per-bucket timeline of every policy.
    pub timeline_csv: PathBuf,
    /// Inputs and one summary per policy.
    pub summary_json: PathBuf,
    /// Demand, ready capacity and instances over time.
    pub timeline_svg: PathBuf,
}

#[derive(Serialize)]
struct Summary<'a> {
    input: InputSummary,
    policies: Vec<&'a SimSummary>,
}

/// The inputs that decide the result, so a reader can reproduce it.
#[derive(Serialize)]
struct InputSummary {
    start: String,
    rows: usize,
    step_s: f64,
    tick_s: f64,
    peak_demand_rps: f64,
    instance_capacity_rps: f64,
    service_time_s: f64,
    lead_time_s: f64,
    min: u32,
    max: u32,
    target_in_flight: f64,
    stable_window_s: f64,
    panic_window_s: f64,
    panic_threshold: f64,
    scale_down_delay_s: f64,
    max_scale_up_rate: f64,
    per_instance_hour: Option<f64>,
    budget_per_hour: Option<f64>,
    schedules: Vec<String>,
    predictive: PredictiveSummary,
}

/// The predictive policy's forecasting settings as the simulator ran them.
#[derive(Serialize)]
struct PredictiveSummary {
    seasons_s: Vec<f64>,
    step_s: Option<f64>,
    history_s: f64,
    quantile: f64,
    refit_every_s: f64,
    damped: bool,
    loss: &'static str,
    /// Null: the default, 0.5 to 16 longest seasons.
    half_lives_s: Option<Vec<f64>>,
    seasonal_copy: bool,
    forecast_device: &'static str,
}

impl InputSummary {
    fn new(input: &SimulationInput) -> Self {
        let p = &input.policy;
        let secs = Duration::as_secs_f64;
        Self {
            start: input.start.to_rfc3339(),
            rows: input.demand.len(),
            step_s: secs(&input.step),
            tick_s: secs(&input.tick),
            peak_demand_rps: input.demand.iter().copied().fold(0.0, f64::max),
            instance_capacity_rps: input.instance_capacity_rps,
            service_time_s: secs(&input.service_time),
            lead_time_s: secs(&p.lead_time),
            min: p.min,
            max: p.max,
            target_in_flight: p.target_in_flight,
            stable_window_s: secs(&p.stable_window),
            panic_window_s: secs(&p.panic_window),
            panic_threshold: p.panic_threshold,
            scale_down_delay_s: secs(&p.scale_down_delay),
            max_scale_up_rate: p.max_scale_up_rate,
            per_instance_hour: p.cost.map(|c| c.per_instance_hour),
            budget_per_hour: p.cost.and_then(|c| c.budget_per_hour),
            schedules: p
                .schedule
                .iter()
                .map(|s| s.expression().to_owned())
                .collect(),
            predictive: {
                let c = input.predictive_config();
                PredictiveSummary {
                    seasons_s: c.seasons.iter().map(Duration::as_secs_f64).collect(),
                    step_s: c.step.as_ref().map(Duration::as_secs_f64),
                    history_s: secs(&c.history),
                    quantile: c.quantile,
                    refit_every_s: secs(&c.refit_every),
                    damped: c.damped,
                    loss: c.loss.name(),
                    half_lives_s: c
                        .half_lives
                        .as_ref()
                        .map(|h| h.iter().map(Duration::as_secs_f64).collect()),
                    seasonal_copy: c.seasonal_copy,
                    forecast_device: match input.forecast_device {
                        Device::Auto => "auto",
                        Device::Cpu => "cpu",
                        Device::Gpu => "gpu",
                    },
                }
            },
        }
    }
}

/// Writes the three result files into `dir` (created if missing).
pub fn write_outputs(
    dir: &Path,
    input: &SimulationInput,
    reports: &[SimulationReport],
) -> Result<OutputFiles, ScalerError> {
    std::fs::create_dir_all(dir).map_err(|e| ScalerError::io(dir, e))?;
    let files = OutputFiles {
        timeline_csv: dir.join("timeline.csv"),
        summary_json: dir.join("summary.json"),
        timeline_svg: dir.join("timeline.svg"),
    };
    write_csv(&files.timeline_csv, input, reports)
        .map_err(|e| ScalerError::io(&files.timeline_csv, e))?;
    let summary = Summary {
        input: InputSummary::new(input),
        policies: reports.iter().map(|r| &r.summary).collect(),
    };
    let json = serde_json::to_vec_pretty(&summary).map_err(|source| ScalerError::Json {
        what: "summary.json",
        source,
    })?;
    std::fs::write(&files.summary_json, json)
        .map_err(|e| ScalerError::io(&files.summary_json, e))?;
    plot::draw(&files.timeline_svg, input.start, reports)?;
    Ok(files)
}

fn write_csv(
    path: &Path,
    input: &SimulationInput,
    reports: &[SimulationReport],
) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    writeln!(
        out,
        "policy,time_s,timestamp,demand_rps,ready_capacity_rps,instances,unserved_rps"
    )?;
    for report in reports {
        let policy = report.summary.policy.as_str();
        for p in &report.timeline {
            let at = input.start + Duration::from_secs_f64(p.time_s);
            writeln!(
                out,
                "{policy},{},{at},{:.3},{:.3},{:.3},{:.3}",
                p.time_s, p.demand_rps, p.ready_capacity_rps, p.instances, p.unserved_rps
            )?;
        }
    }
    out.flush()
}
