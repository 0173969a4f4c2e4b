//! `loadgen`: an HTTP/1.1 keep-alive load generator for benchmarking proxies.
//!
//! Open loop with `--rate` (latency from each request's planned send time, so a
//! stall shows up instead of hiding), closed loop without it, or
//! `--idle-connections N` to open and hold many idle connections. Prints a
//! summary, or one JSON object with `--json`.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tidegate_bench::error::SetupError;
use tidegate_bench::idle::{run_idle, IdlePlan};
use tidegate_bench::run::{run, Mode, Plan};
use tidegate_bench::target::Target;

/// HTTP/1.1 load generator: open loop (--rate), closed loop, or idle connections.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about)]
struct Args {
    /// Target URL, http://HOST:PORT/PATH.
    #[arg(long)]
    url: String,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Measured time, e.g. "10s".
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    duration: Duration,
    /// Requests per second in all (open loop); without it, closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// Unmeasured load before the measured time, e.g. "2s".
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    warmup: Duration,
    /// Closed loop: stop after this many requests in all (--duration still caps the run).
    #[arg(long)]
    requests: Option<u64>,
    /// Extra request header, NAME:VALUE (repeatable).
    #[arg(long = "header", value_name = "NAME:VALUE")]
    headers: Vec<String>,
    /// Load threads, each a current-thread runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Longest wait for one response.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    timeout: Duration,
    /// Also report the share of responses slower than this, e.g. "10ms".
    #[arg(long, value_parser = humantime::parse_duration)]
    count_over: Option<Duration>,
    /// Label copied into the JSON report, KEY=VALUE (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Idle mode: open this many connections, one request each, then hold them.
    #[arg(long)]
    idle_connections: Option<usize>,
    /// Idle mode: how long to hold the connections.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    hold: Duration,
    /// Report this process's CPU time (user + system, all threads) over the
    /// measured window, and per response (repeatable).
    #[arg(long = "cpu-pid", value_name = "PID")]
    cpu_pids: Vec<u32>,
    /// Idle mode: report the summed VmRSS of this process (repeatable).
    #[arg(long = "rss-pid", value_name = "PID")]
    rss_pids: Vec<u32>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match execute(&args) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn execute(args: &Args) -> Result<String, SetupError> {
    let target = Target::new(&args.url, &args.headers)?;
    let tags = parse_tags(&args.tags)?;
    if let Some(connections) = args.idle_connections {
        let plan = IdlePlan {
            target,
            connections,
            concurrency: 64,
            hold: args.hold,
            timeout: args.timeout,
            rss_pids: args.rss_pids.clone(),
            tags,
        };
        let report = run_idle(&plan, |open| {
            eprintln!(
                "loadgen: holding {open} connections for {}",
                humantime::format_duration(args.hold)
            );
        })?;
        return if args.json {
            to_json(&report)
        } else {
            Ok(format!("{report:#?}"))
        };
    }
    let plan = Plan {
        target,
        mode: args.rate.map_or(Mode::Closed, |rate| Mode::Open { rate }),
        connections: args.connections,
        threads: args.threads,
        duration: args.duration,
        warmup: args.warmup,
        requests: args.requests,
        timeout: args.timeout,
        count_over: args.count_over,
        cpu_pids: args.cpu_pids.clone(),
        tags,
    };
    let report = run(&plan)?;
    if args.json {
        to_json(&report)
    } else {
        Ok(report.to_string())
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<String, SetupError> {
    serde_json::to_string(value).map_err(|e| SetupError::Thread(format!("cannot encode JSON: {e}")))
}

fn parse_tags(tags: &[String]) -> Result<BTreeMap<String, String>, SetupError> {
    tags.iter()
        .map(|t| match t.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(SetupError::Option {
                option: "--tag",
                reason: format!("{t:?} is not KEY=VALUE"),
            }),
        })
        .collect()
}
