//! Idle-connection mode: opens many keep-alive connections, sends one request on
//! each, holds them all open for a while, and reports how many made it. With
//! `rss_pids` it reads the processes' resident size (VmRSS in
//! `/proc/PID/status`) before opening and at the end of the hold, which is how
//! `compare.sh` measures a proxy's memory per idle client connection.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::LocalSet;

use crate::connection::Connection;
use crate::error::{RequestError, SetupError};
use crate::target::Target;

/// What an idle-connection run does.
#[derive(Debug, Clone)]
pub struct IdlePlan {
    /// Where the connections go.
    pub target: Target,
    /// How many to open.
    pub connections: usize,
    /// Connections being opened at once (keeps the listen backlog from overflowing).
    pub concurrency: usize,
    /// How long to hold them once all are open.
    pub hold: Duration,
    /// Longest wait for one connect plus its first response.
    pub timeout: Duration,
    /// Processes whose VmRSS is summed and reported.
    pub rss_pids: Vec<u32>,
    /// Labels copied into the report.
    pub tags: BTreeMap<String, String>,
}

/// The summary of an idle-connection run.
#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    /// Always `idle`.
    pub mode: &'static str,
    /// The target URL.
    pub url: String,
    /// Connections asked for.
    pub connections: usize,
    /// Connections opened that got a 2xx/3xx answer to their one request.
    pub ok: usize,
    /// Of those, still open at the end of the hold.
    pub still_open: usize,
    /// Failures by kind (`status_4xx`/`status_5xx` for bad answers).
    pub errors: BTreeMap<String, u64>,
    /// Seconds it took to open all connections and get their answers.
    pub open_s: f64,
    /// Seconds they were held.
    pub hold_s: f64,
    /// Summed VmRSS of `rss_pids`, in KiB, before and while holding.
    pub rss_kib: Option<Rss>,
    /// Labels from `--tag KEY=VALUE`.
    pub tags: BTreeMap<String, String>,
}

/// Resident memory before and with the connections held, in KiB.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rss {
    /// Before any connection was opened.
    pub before: u64,
    /// At the end of the hold, every connection still open.
    pub held: u64,
}

/// Opens the connections, calls `on_held` with how many are open, holds them and reports.
pub fn run_idle(plan: &IdlePlan, on_held: impl FnOnce(usize)) -> Result<IdleReport, SetupError> {
    if plan.connections == 0 || plan.concurrency == 0 {
        return Err(SetupError::Option {
            option: "--idle-connections",
            reason: "must be at least 1".into(),
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| SetupError::System {
            what: "the idle runtime",
            source,
        })?;
    let before = rss_sum(&plan.rss_pids)?;
    let started = Instant::now();
    let local = LocalSet::new();
    let results = local.block_on(&runtime, open_all(plan));
    let open_s = started.elapsed().as_secs_f64();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut held = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(connection) => held.push(connection),
            Err(kind) => *errors.entry(kind.to_owned()).or_default() += 1,
        }
    }
    on_held(held.len());
    runtime.block_on(async { tokio::time::sleep(plan.hold).await });
    let rss = match before {
        Some(before) => rss_sum(&plan.rss_pids)?.map(|held| Rss { before, held }),
        None => None,
    };
    let still_open = held.iter().filter(|c| c.is_open()).count();
    Ok(IdleReport {
        mode: "idle",
        url: plan.target.url.clone(),
        connections: plan.connections,
        ok: held.len(),
        still_open,
        errors,
        open_s,
        hold_s: plan.hold.as_secs_f64(),
        rss_kib: rss,
        tags: plan.tags.clone(),
    })
}

async fn open_all(plan: &IdlePlan) -> Vec<Result<Connection, &'static str>> {
    let permits = Rc::new(Semaphore::new(plan.concurrency));
    let mut tasks = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        let permits = Rc::clone(&permits);
        let target = plan.target.clone();
        let timeout = plan.timeout;
        tasks.push(tokio::task::spawn_local(async move {
            let _permit = permits.acquire().await.map_err(|_| "closed")?;
            tokio::time::timeout(timeout, open_one(&target))
                .await
                .unwrap_or(Err(RequestError::Timeout.kind()))
        }));
    }
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.unwrap_or(Err("task")));
    }
    results
}

async fn open_one(target: &Target) -> Result<Connection, &'static str> {
    let mut connection = Connection::open(target.address)
        .await
        .map_err(|e| e.kind())?;
    let reply = connection
        .exchange(&target.request)
        .await
        .map_err(|e| e.kind())?;
    match reply.status {
        _ if reply.close => Err("closed"),
        200..=399 => Ok(connection),
        400..=499 => Err("status_4xx"),
        _ => Err("status_5xx"),
    }
}

/// Sums VmRSS over `pids`; `None` when no pid was given.
pub fn rss_sum(pids: &[u32]) -> Result<Option<u64>, SetupError> {
    if pids.is_empty() {
        return Ok(None);
    }
    let mut total = 0;
    for &pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| {
            SetupError::Rss {
                pid,
                reason: e.to_string(),
            }
        })?;
        total += vm_rss_kib(&status).ok_or_else(|| SetupError::Rss {
            pid,
            reason: "no VmRSS line".into(),
        })?;
    }
    Ok(Some(total))
}

fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t  1234 kB\nThreads:\t1\n";
        assert_eq!(vm_rss_kib(status), Some(1234));
        assert_eq!(vm_rss_kib("Name: x\n"), None);
        let own = rss_sum(&[std::process::id()]).unwrap().unwrap();
        assert!(own > 0);
    }
}
