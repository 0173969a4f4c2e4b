//! Rolling-origin backtest of one trace column, as the future `tidegate forecast` runs it.
//!
//! ```text
//! cargo run --release -p tidegate-gpu --example backtest -- \
//!     --trace ../shared/traces/taylor_halfhourly.csv --season 48,336 --horizon 12 \
//!     --origins 48 --spacing 37 --history 2016 --device cpu --out /tmp/taylor-h12.csv
//! ```
//! Writes `origin,step,actual,forecast` (origin = 0-based row of the first step forecast)
//! to `--out` and prints the MASE of the model and of the seasonal naive forecast (scaled
//! by the in-sample seasonal naive error with the short period). Without `--history`
//! every fit uses all rows before its origin; without `--column`, the first value column.

use std::error::Error;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use tidegate_gpu::{backtest, BacktestSpec, Device, Forecaster, Grid, Seasons, Trace};

/// The command line, parsed.
struct Args {
    trace: String,
    column: Option<String>,
    seasons: Seasons,
    horizon: usize,
    origins: usize,
    spacing: usize,
    history: Option<usize>,
    device: Device,
    damped: bool,
    out: String,
}

const USAGE: &str = "usage: backtest --trace CSV [--column C] --season N[,M] --horizon H \
--origins K --spacing S [--history W] [--device auto|cpu|gpu] [--damped] --out FILE";

fn parse(mut raw: impl Iterator<Item = String>) -> Result<Args, Box<dyn Error>> {
    let (mut trace, mut column, mut seasons, mut out) = (None, None, None, None);
    let (mut horizon, mut origins, mut spacing, mut history) = (None, None, None, None);
    let (mut device, mut damped) = (Device::Auto, false);
    while let Some(flag) = raw.next() {
        if flag == "--damped" {
            damped = true;
            continue;
        }
        let value = raw
            .next()
            .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))?;
        match flag.as_str() {
            "--trace" => trace = Some(value),
            "--column" => column = Some(value),
            "--season" => {
                let periods = value
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<Vec<u32>, _>>()?;
                seasons = Some(Seasons::from_periods(&periods)?);
            }
            "--horizon" => horizon = Some(value.parse()?),
            "--origins" => origins = Some(value.parse()?),
            "--spacing" => spacing = Some(value.parse()?),
            "--history" => history = Some(value.parse()?),
            "--device" => device = value.parse()?,
            "--out" => out = Some(value),
            other => return Err(format!("unknown flag {other}; {USAGE}").into()),
        }
    }
    let missing = |name: &str| format!("{name} is required; {USAGE}");
    Ok(Args {
        trace: trace.ok_or_else(|| missing("--trace"))?,
        column,
        seasons: seasons.ok_or_else(|| missing("--season"))?,
        horizon: horizon.ok_or_else(|| missing("--horizon"))?,
        origins: origins.ok_or_else(|| missing("--origins"))?,
        spacing: spacing.ok_or_else(|| missing("--spacing"))?,
        history,
        device,
        damped,
        out: out.ok_or_else(|| missing("--out"))?,
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse(std::env::args().skip(1))?;
    let trace = Trace::read(&args.trace)?;
    let (name, values) = match &args.column {
        Some(name) => (
            name.as_str(),
            trace
                .column(name)
                .ok_or_else(|| format!("no column {name:?} in {}", args.trace))?,
        ),
        None => trace
            .columns()
            .next()
            .ok_or_else(|| format!("{} has no value column", args.trace))?,
    };
    let spec = BacktestSpec {
        seasons: args.seasons,
        horizon: args.horizon,
        origins: args.origins,
        spacing: args.spacing,
        window: args.history.unwrap_or(values.len()),
    };
    let forecaster = Forecaster::new(args.device);
    let grid = Grid::standard(spec.seasons, args.damped);
    let started = Instant::now();
    let result = backtest(&forecaster, values, &spec, &grid)?;
    let elapsed = started.elapsed();

    let mut out = BufWriter::new(File::create(&args.out)?);
    writeln!(out, "origin,step,actual,forecast")?;
    for row in &result.rows {
        writeln!(
            out,
            "{},{},{},{}",
            row.origin, row.step, row.actual, row.forecast
        )?;
    }
    out.flush()?;
    let show = |m: Option<f64>| m.map_or_else(|| "n/a".to_owned(), |m| format!("{m:.4}"));
    println!(
        "{} column {name}: seasons {}, horizon {}, {} origins spaced {}, history {}, backend {}, {:.2} s",
        args.trace,
        spec.seasons,
        spec.horizon,
        spec.origins,
        spec.spacing,
        spec.window,
        result.backend,
        elapsed.as_secs_f64()
    );
    println!(
        "MASE {} seasonal-naive {}",
        show(result.mase),
        show(result.naive_mase)
    );
    Ok(())
}
