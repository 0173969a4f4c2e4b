//! `compare-report`: the data side of `benches/compare.sh`.
//!
//! `capacity` derives the heterogeneous test's arrival rate from the measured
//! backend latencies and records how; `render` writes the tables of a run's
//! `runs.jsonl` into the generated section of `RESULTS.md`.

#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tidegate_bench::compare::capacity::Capacity;
use tidegate_bench::compare::markers::write_results;
use tidegate_bench::compare::records::load;
use tidegate_bench::compare::tables::{capacity_record, render};
use tidegate_bench::compare::CompareError;

/// Tables and derived numbers for benches/compare.sh.
#[derive(Debug, Parser)]
#[command(name = "compare-report", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the heterogeneous test's rate and append how it was derived to the runs file.
    Capacity {
        /// The runs file (JSON lines) holding the hetero-probe runs.
        #[arg(long)]
        runs: PathBuf,
        /// Client connections of the test.
        #[arg(long)]
        connections: u32,
        /// Fraction of capacity to run at.
        #[arg(long, default_value_t = 0.7)]
        load: f64,
        /// Fast backends in the pool.
        #[arg(long, default_value_t = 3)]
        fast_backends: u32,
        /// Slow backends in the pool.
        #[arg(long, default_value_t = 1)]
        slow_backends: u32,
    },
    /// Write the tables of a runs file into the generated section of a results file.
    Render {
        /// The runs file (JSON lines).
        #[arg(long)]
        runs: PathBuf,
        /// Markdown put above the tables: machine, versions, command, settings.
        #[arg(long)]
        context: PathBuf,
        /// The results file whose marked section is replaced.
        #[arg(long)]
        results: PathBuf,
    },
}

fn main() -> ExitCode {
    match execute(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compare-report: {e}");
            ExitCode::FAILURE
        }
    }
}

fn execute(command: Command) -> Result<(), CompareError> {
    match command {
        Command::Capacity {
            runs,
            connections,
            load: fraction,
            fast_backends,
            slow_backends,
        } => {
            let capacity = Capacity::from_runs(
                &load(&runs)?,
                fast_backends,
                slow_backends,
                connections,
                fraction,
            )?;
            let io = |source| CompareError::Io {
                path: runs.clone(),
                source,
            };
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(&runs)
                .map_err(io)?;
            writeln!(file, "{}", capacity_record(&capacity)).map_err(io)?;
            println!("{:.0}", capacity.rate_rps);
            Ok(())
        }
        Command::Render {
            runs,
            context,
            results,
        } => {
            let context_text =
                std::fs::read_to_string(&context).map_err(|source| CompareError::Io {
                    path: context.clone(),
                    source,
                })?;
            write_results(&results, &render(&load(&runs)?, &context_text))
        }
    }
}
