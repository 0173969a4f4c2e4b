//! The summary `loadgen` prints: JSON with `--json` (one object, one line), or a
//! few lines of text. Latencies are in microseconds.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::cpu::CpuUse;
use crate::stats::{Percentiles, Recorder};

/// The summary of an open- or closed-loop run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `open` (constant arrival rate) or `closed` (back to back).
    pub mode: &'static str,
    /// The target URL.
    pub url: String,
    /// Keep-alive connections used.
    pub connections: usize,
    /// Load threads, each a current-thread runtime.
    pub threads: usize,
    /// Length of the measured window, in seconds.
    pub duration_s: f64,
    /// Unmeasured time before the window, in seconds.
    pub warmup_s: f64,
    /// Planned requests per second (open loop only).
    pub target_rate: Option<f64>,
    /// Requests planned in the window and sent.
    pub requests: u64,
    /// Full responses to those, whatever the status.
    pub responses: u64,
    /// Responses with a 2xx or 3xx status.
    pub ok: u64,
    /// Failed requests by kind, and non-2xx/3xx responses as `status_4xx`,
    /// `status_5xx` or `status_other`.
    pub errors: BTreeMap<String, u64>,
    /// Sum of `errors`.
    pub error_total: u64,
    /// Responses by status code.
    pub statuses: BTreeMap<String, u64>,
    /// Planned sends in the window that never left: the generator fell behind.
    pub unsent: u64,
    /// Responses per second over the window, or until the last response when
    /// an overloaded target answered its backlog after the window.
    pub achieved_rate: f64,
    /// Latency of the responses, from the planned send time (open loop) or the
    /// actual one (closed loop).
    pub latency_us: Percentiles,
    /// How late requests left after their planned time (open loop only).
    pub send_lag_us: Option<Percentiles>,
    /// Share of responses slower than a threshold (with `--count-over`).
    pub over: Option<Over>,
    /// CPU time of the `--cpu-pid` processes over the measured window.
    pub cpu: Option<CpuUse>,
    /// Labels from `--tag KEY=VALUE`, for scripts that collect many runs.
    pub tags: BTreeMap<String, String>,
}

/// The share of responses slower than a threshold.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Over {
    /// The threshold in microseconds.
    pub threshold_us: f64,
    /// Fraction of responses slower than it, 0 to 1.
    pub fraction: f64,
}

impl Report {
    /// Builds the report's counters from what the threads recorded.
    pub fn counts(recorder: &Recorder) -> Counts {
        let mut errors: BTreeMap<String, u64> = recorder
            .errors()
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect();
        let mut ok = 0;
        for (status, n) in recorder.statuses() {
            match status {
                200..=399 => ok += n,
                400..=499 => *errors.entry("status_4xx".into()).or_default() += n,
                500..=599 => *errors.entry("status_5xx".into()).or_default() += n,
                _ => *errors.entry("status_other".into()).or_default() += n,
            }
        }
        Counts {
            ok,
            error_total: errors.values().sum(),
            errors,
            statuses: recorder
                .statuses()
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
        }
    }
}

/// Response and error counters of a run.
#[derive(Debug, Clone)]
pub struct Counts {
    /// Responses with a 2xx or 3xx status.
    pub ok: u64,
    /// Failures and bad statuses by kind.
    pub errors: BTreeMap<String, u64>,
    /// Sum of `errors`.
    pub error_total: u64,
    /// Responses by status code.
    pub statuses: BTreeMap<String, u64>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = self
            .target_rate
            .map(|r| format!(" at {r:.0} req/s planned"))
            .unwrap_or_default();
        writeln!(
            f,
            "{} loop{rate}, {} connections, {} thread(s), {:.1}s (+{:.1}s warmup) against {}",
            self.mode, self.connections, self.threads, self.duration_s, self.warmup_s, self.url
        )?;
        writeln!(
            f,
            "  {} requests, {} responses ({} ok), {:.1} req/s achieved, {} unsent",
            self.requests, self.responses, self.ok, self.achieved_rate, self.unsent
        )?;
        let l = &self.latency_us;
        writeln!(
            f,
            "  latency us: p50 {} p90 {} p99 {} p99.9 {} max {} (mean {})",
            l.p50, l.p90, l.p99, l.p99_9, l.max, l.mean
        )?;
        if let Some(lag) = &self.send_lag_us {
            writeln!(
                f,
                "  send lag us: p50 {} p99 {} max {}",
                lag.p50, lag.p99, lag.max
            )?;
        }
        if let Some(over) = &self.over {
            writeln!(
                f,
                "  slower than {} us: {:.2}%",
                over.threshold_us,
                over.fraction * 100.0
            )?;
        }
        if let Some(cpu) = &self.cpu {
            let per = cpu
                .per_response_us
                .map(|us| format!(", {us:.1} us per response"))
                .unwrap_or_default();
            writeln!(
                f,
                "  --cpu-pid processes: {:.2} CPU seconds over {:.2}s{per}",
                cpu.seconds, cpu.window_s
            )?;
        }
        if self.error_total > 0 {
            writeln!(f, "  errors: {:?}", self.errors)?;
        }
        Ok(())
    }
}
