//! `tidegate forecast`: a rolling-origin backtest of the forecaster on a demand trace.
//!
//! The trace column is cut into K origins (rows `n-H, n-H-S, ...`); each origin's model
//! is fitted on at most the `--history` rows before it and forecasts the H rows from it
//! (`tidegate_gpu::backtest`). Every (origin, step) goes to `--out` as
//! `origin,step,actual,forecast`, and the mean MASE is printed.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

use tidegate_gpu::{
    backtest, BacktestSpec, Device, ForecastError, Forecaster, Grid, Loss, Seasons, Trace,
};

/// What `tidegate forecast` was asked to do (its command-line arguments).
#[derive(Debug, Clone, clap::Args)]
pub struct ForecastRequest {
    /// CSV trace: a timestamp column, then value columns.
    #[arg(long, value_name = "CSV")]
    pub trace: PathBuf,
    /// The trace column (default: the first value column).
    #[arg(long)]
    pub column: Option<String>,
    /// Seasonal period in rows, or two (short first), e.g. 24,168.
    #[arg(long = "season", value_name = "N[,M]", value_parser = parse_seasons)]
    pub seasons: Seasons,
    /// Rows forecast from each origin.
    #[arg(long, value_name = "H")]
    pub horizon: usize,
    /// Number of origins.
    #[arg(long, value_name = "K")]
    pub origins: usize,
    /// Rows between consecutive origins.
    #[arg(long, value_name = "S")]
    pub spacing: usize,
    /// Most rows before an origin its fit may use (default: all of them).
    #[arg(long, value_name = "W")]
    pub history: Option<usize>,
    /// Where the fits run: auto (a hardware GPU, else the CPU), cpu or gpu.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    pub device: Device,
    /// Damp the trend.
    #[arg(long)]
    pub damped: bool,
    /// What the fit minimizes over the history: the sum of absolute or of squared
    /// one-step errors.
    #[arg(long, default_value = "absolute", value_parser = parse_loss)]
    pub loss: Loss,
    /// Fit the model once per half-life (in rows), each fit weighing a row's error half
    /// as much as that of the row a half-life later, and average the fits' forecasts;
    /// `none` fits once with every row weighing the same. Default: 0.5, 1, 2, 4, 8 and
    /// 16 times the longest season.
    #[arg(long, value_name = "ROWS,...|none", value_parser = parse_half_lives)]
    pub half_lives: Option<HalfLives>,
    /// Forecast with the models' average alone, without combining it with the seasonal
    /// copy of the longest season (last week's value, for 24,168).
    #[arg(long)]
    pub no_seasonal_copy: bool,
    /// Where the `origin,step,actual,forecast` CSV goes.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

fn parse_seasons(text: &str) -> Result<Seasons, String> {
    let periods = text
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format!("{text:?} is not one or two whole periods, e.g. 24 or 24,168"))?;
    Seasons::from_periods(&periods).map_err(|e| e.to_string())
}

/// `--half-lives`: rows per half-life, or one undiscounted fit.
#[derive(Debug, Clone, PartialEq)]
pub struct HalfLives(Vec<f32>);

fn parse_half_lives(text: &str) -> Result<HalfLives, String> {
    if text.trim() == "none" {
        return Ok(HalfLives(vec![f32::INFINITY]));
    }
    let rows = text
        .split(',')
        .map(|h| h.trim().parse::<f32>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format!("{text:?} is not a list of rows, e.g. 84,168,336, or none"))?;
    match rows.iter().find(|h| !(h.is_finite() && **h > 0.0)) {
        Some(bad) => Err(format!("half-life {bad} must be a positive number of rows")),
        None => Ok(HalfLives(rows)),
    }
}

fn parse_loss(text: &str) -> Result<Loss, String> {
    text.parse().map_err(|e: ForecastError| e.to_string())
}

fn parse_device(text: &str) -> Result<Device, String> {
    text.parse().map_err(|e: ForecastError| e.to_string())
}

/// Why a backtest could not run.
#[derive(Debug, thiserror::Error)]
pub enum ForecastCliError {
    /// The trace, the column or the backtest's shape is wrong.
    #[error(transparent)]
    Forecast(#[from] ForecastError),
    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// The half-lives as the summary line prints them.
fn describe(half_lives: &[f32]) -> String {
    if half_lives.iter().all(|h| h.is_infinite()) {
        return "none".to_owned();
    }
    let rows: Vec<String> = half_lives
        .iter()
        .map(|h| {
            if h.is_finite() {
                h.to_string()
            } else {
                "none".to_owned()
            }
        })
        .collect();
    rows.join(",")
}

/// Runs the backtest, writes the CSV and prints the summary and the MASE.
pub fn run(request: &ForecastRequest) -> Result<(), ForecastCliError> {
    let trace = Trace::read(&request.trace)?;
    let (name, values) = trace.select(request.column.as_deref())?;
    let spec = BacktestSpec {
        seasons: request.seasons,
        horizon: request.horizon,
        origins: request.origins,
        spacing: request.spacing,
        window: request.history.unwrap_or(values.len()),
        seasonal_copy: !request.no_seasonal_copy,
    };
    let origins = spec.origins_for(values.len())?;
    let forecaster = Forecaster::new(request.device);
    let half_lives = match &request.half_lives {
        Some(HalfLives(rows)) => rows.clone(),
        None => Grid::standard_half_lives(spec.seasons),
    };
    let grid = Grid::standard(spec.seasons, request.damped)
        .with_loss(request.loss)
        .with_half_lives(&half_lives)?;
    let started = Instant::now();
    let result = backtest(&forecaster, values, &spec, &grid)?;
    let elapsed = started.elapsed();

    let path = request.out.display().to_string();
    let write_error = |source| ForecastCliError::Write {
        path: path.clone(),
        source,
    };
    let file = File::create(&request.out).map_err(write_error)?;
    result
        .write_csv(BufWriter::new(file))
        .map_err(write_error)?;

    println!(
        "{} column {name}: {} rows, seasons {}, horizon {}, {} origins (rows {}..={}, spacing {}), \
         history {}, half-lives {}, seasonal copy {}, backend {}, {:.2} s; wrote {} rows \
         to {path}",
        request.trace.display(),
        values.len(),
        spec.seasons,
        spec.horizon,
        origins.len(),
        origins.first().copied().unwrap_or_default(),
        origins.last().copied().unwrap_or_default(),
        spec.spacing,
        spec.window,
        describe(&half_lives),
        if spec.seasonal_copy { "on" } else { "off" },
        result.backend,
        elapsed.as_secs_f64(),
        result.rows.len(),
    );
    let period = spec.seasons.short().max(1);
    match (result.mase, result.naive_mase) {
        (Some(mase), Some(naive)) => println!(
            "MASE {mase:.4} (scaled by the in-sample seasonal naive of period {period}; \
             the seasonal naive forecast scores {naive:.4})"
        ),
        _ => println!(
            "MASE undefined: the seasonal naive of period {period} is exact in every window"
        ),
    }
    Ok(())
}
