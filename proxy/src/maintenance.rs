//! The data plane's background work: health probes and the housekeeping sweep.
//!
//! One supervisor task runs on the control runtime. Every [`SWEEP_EVERY`] it
//! sweeps the data plane (ejections, drains, panic mode) and makes sure each pool
//! with a `health` check has a prober: a task that probes all of the pool's
//! current members at once every `interval`, starting at once so checked
//! backends take traffic as soon as they pass. A reload that changes a check
//! replaces its prober.

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

/// Probes every member of `pool` each `interval`, forever.
async fn prober(plane: Arc<DataPlane>, pool: String, check: HealthCheck) {
    let mut ticker = tokio::time::interval(check.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let members = plane.members(&pool);
        let probes = members
            .iter()
            .map(|m| probe(m.addr(), &check.probe, check.timeout));
        let results = futures::future::join_all(probes).await;
        let now = plane.clock().now();
        for (member, passed) in members.iter().zip(results) {
            match member.record_probe(passed, check.healthy_threshold, check.unhealthy_threshold) {
                Some(true) => {
                    tracing::info!(pool = %pool, backend = %member.addr(), "health check passing")
                }
                Some(false) => {
                    tracing::warn!(pool = %pool, backend = %member.addr(), "health check failing")
                }
                None => {}
            }
            member.refresh(now);
        }
    }
}
