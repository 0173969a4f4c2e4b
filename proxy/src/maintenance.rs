//! The data plane's background work: health probes and the housekeeping sweep.
//!
//! One supervisor task runs on the control runtime. Every [`SWEEP_EVERY`] it
//! sweeps the data plane (ejections, drains, panic mode) and makes sure each pool
//! with a `health` check has a prober: a task that probes the pool's current
//! members at once, healthy ones every `interval` and failing ones twice as
//! often (Envoy's `unhealthy_interval`), so a backend that comes back is back
//! within about `healthy_threshold` half-intervals. [`first_round`] runs before
//! the proxy announces itself, so checked backends that pass take traffic from
//! the first request. A reload that changes a check replaces its prober.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tidegate_conf::HealthCheck;
use tokio::task::JoinHandle;

use crate::plane::DataPlane;
use crate::probe::probe;

/// How often expired ejections, finished drains and panic mode are looked at.
pub const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// Runs until aborted: probes and sweeps `plane`.
pub async fn run(plane: Arc<DataPlane>) {
    let mut probers: HashMap<String, (HealthCheck, JoinHandle<()>)> = HashMap::new();
    let mut ticker = tokio::time::interval(SWEEP_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let wanted = plane.health_checks();
        probers.retain(|pool, (check, task)| {
            let keep = wanted.iter().any(|(p, c)| p == pool && c == check);
            if !keep {
                task.abort();
            }
            keep
        });
        for (pool, check) in wanted {
            if let std::collections::hash_map::Entry::Vacant(slot) = probers.entry(pool) {
                let task = tokio::spawn(prober(
                    Arc::clone(&plane),
                    slot.key().clone(),
                    check.clone(),
                ));
                slot.insert((check, task));
            }
        }
        plane.sweep();
    }
}

/// Probes once every member of every pool that has a check, then sweeps.
pub async fn first_round(plane: &DataPlane) {
    let rounds = plane
        .health_checks()
        .into_iter()
        .map(|(pool, check)| async move { probe_round(plane, &pool, &check, true).await });
    futures::future::join_all(rounds).await;
    plane.sweep();
}

/// Probes the members of `pool` forever: failing ones every half interval,
/// healthy ones every interval.
async fn prober(plane: Arc<DataPlane>, pool: String, check: HealthCheck) {
    let mut ticker = tokio::time::interval(check.interval / 2);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut full_round = true;
    loop {
        ticker.tick().await;
        probe_round(&plane, &pool, &check, full_round).await;
        full_round = !full_round;
    }
}

/// Probes the members of `pool`: all of them, or only those failing their checks.
async fn probe_round(plane: &DataPlane, pool: &str, check: &HealthCheck, all: bool) {
    let members: Vec<_> = plane
        .members(pool)
        .into_iter()
        .filter(|m| all || !m.active_ok())
        .collect();
    let tls = plane
        .routing()
        .load()
        .pool(pool)
        .and_then(|p| p.upstream_tls().cloned());
    let probes = members
        .iter()
        .map(|m| probe(m.addr(), &check.probe, tls.as_ref(), check.timeout));
    let results = futures::future::join_all(probes).await;
    let now = plane.clock().now();
    let mut joined = false;
    let mut flipped = Vec::new();
    for (member, passed) in members.iter().zip(results) {
        let was_pending = member.is_pending();
        if let Some(verdict) =
            member.record_probe(passed, check.healthy_threshold, check.unhealthy_threshold)
        {
            flipped.push((member.addr(), verdict));
        }
        member.refresh(now);
        joined |= was_pending && !member.is_pending();
    }
    if joined {
        plane.republish();
    }
    // Logged once the change is published, so whoever reads the line sees it in effect.
    for (backend, passing) in flipped {
        if passing {
            tracing::info!(pool, %backend, "health check passing");
        } else {
            tracing::warn!(pool, %backend, "health check failing");
        }
    }
}
