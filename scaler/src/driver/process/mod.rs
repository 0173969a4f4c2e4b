//! The `process` driver: each instance is a local child process from a command template.
//!
//! `{port}` in the command is replaced by a free port from `ports` (checked by binding it),
//! `{region}` by the next of `regions` in turn, `{pool}` and `{id}` by the pool and the
//! instance id. Children that exit on their own are reaped on the next `instances` or
//! `set_target` call, which launches a replacement while the target says so. `remove`
//! and `shutdown` stop children with SIGTERM, then SIGKILL after `grace_period`.

mod child;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::ops::RangeInclusive;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::driver::{Driver, DriverError, OpId};
use crate::error::ScalerError;
use crate::instance::{Instance, InstanceId};

use child::{terminate, Backend, Launch};

/// How the `process` driver launches backends (`[driver.NAME]` with `kind = "process"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessDriverConfig {
    /// argv template; `{port}`, `{region}`, `{pool}` and `{id}` are filled in.
    pub command: Vec<String>,
    /// Ports handed out to children.
    pub ports: RangeInclusive<u16>,
    /// Address the children listen on.
    pub host: IpAddr,
    /// Regions assigned to new children in turn; empty: no region.
    pub regions: Vec<String>,
    /// Extra environment variables for every child.
    pub env: Vec<(String, String)>,
    /// How long a child may take to exit after SIGTERM before SIGKILL.
    pub grace_period: Duration,
}

impl ProcessDriverConfig {
    /// A config for `command` over `ports` on 127.0.0.1 with a 10 s grace period.
    pub fn new(command: Vec<String>, ports: RangeInclusive<u16>) -> Self {
        Self {
            command,
            ports,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            regions: Vec::new(),
            env: Vec::new(),
            grace_period: Duration::from_secs(10),
        }
    }

    /// Parses a `ports` value such as `"9100-9199"` (or a single port).
    pub fn parse_ports(text: &str) -> Result<RangeInclusive<u16>, ScalerError> {
        let bad = || ScalerError::invalid("ports", text, "write a port range like \"9100-9199\"");
        let (lo, hi) = text.split_once('-').unwrap_or((text, text));
        let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
        let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
        if lo == 0 || lo > hi {
            return Err(bad());
        }
        Ok(lo..=hi)
    }

    /// Checks the command and port range.
    pub fn validate(&self) -> Result<(), ScalerError> {
        if self.command.is_empty() {
            return Err(ScalerError::invalid(
                "command",
                "[]",
                "give the backend's argv, e.g. [\"tidegate\", \"backend\", \"--port\", \"{port}\"]",
            ));
        }
        if !self.command.iter().any(|a| a.contains("{port}")) {
            return Err(ScalerError::invalid(
                "command",
                self.command.join(" "),
                "put \"{port}\" where the backend takes its port",
            ));
        }
        if self.ports.is_empty() || *self.ports.start() == 0 {
            return Err(ScalerError::invalid(
                "ports",
                format!("{:?}", self.ports),
                "use a range like \"9100-9199\"",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct ProcessPool {
    target: u32,
    backends: Vec<Backend>,
    launched: u64,
}

impl ProcessPool {
    /// Forgets children that exited on their own; they are replaced while below target.
    fn reap(&mut self, pool: &str) {
        self.backends.retain_mut(|b| match b.exit_status() {
            Some(status) => {
                tracing::warn!(pool, id = %b.id, address = %b.address, %status, "backend process exited; it will be replaced");
                false
            }
            None => true,
        });
    }
}

/// Runs each instance as a local child process.
///
/// Call [`Driver::shutdown`] before the process exits: it stops every child
/// gracefully. Dropping the driver kills any child left (SIGKILL), but an exit that
/// skips destructors would leave them running.
#[derive(Debug)]
pub struct ProcessDriver {
    name: String,
    config: ProcessDriverConfig,
    pools: Mutex<BTreeMap<String, ProcessPool>>,
}

impl ProcessDriver {
    /// A process driver named `name`; validates the config.
    pub fn new(name: impl Into<String>, config: ProcessDriverConfig) -> Result<Self, ScalerError> {
        config.validate()?;
        Ok(Self {
            name: name.into(),
            config,
            pools: Mutex::new(BTreeMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ProcessPool>> {
        self.pools.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn free_port(&self, used: &BTreeSet<u16>) -> Option<u16> {
        self.config
            .ports
            .clone()
            .filter(|p| !used.contains(p))
            .find(|&p| TcpListener::bind(SocketAddr::new(self.config.host, p)).is_ok())
    }

    /// Reaps, records the target, launches up to it; returns the children beyond it.
    fn reconcile(&self, pool: &str, desired: u32) -> Result<Vec<Backend>, DriverError> {
        let mut pools = self.lock();
        let mut used: BTreeSet<u16> = pools
            .values()
            .flat_map(|p| p.backends.iter().map(|b| b.address.port()))
            .collect();
        let state = pools.entry(pool.to_owned()).or_default();
        state.reap(pool);
        state.target = desired;
        let want = usize::try_from(desired).unwrap_or(usize::MAX);
        while state.backends.len() < want {
            let port = self.free_port(&used).ok_or_else(|| {
                DriverError::OutOfCapacity(format!(
                    "process driver {:?}: no free port left in {:?}",
                    self.name, self.config.ports
                ))
            })?;
            state.launched += 1;
            let region = region_for(&self.config.regions, state.launched);
            let backend = Backend::spawn(Launch {
                command: &self.config.command,
                env: &self.config.env,
                pool,
                id: InstanceId::new(format!("{pool}-{}", state.launched)),
                address: SocketAddr::new(self.config.host, port),
                region,
            })?;
            tracing::info!(pool, id = %backend.id, address = %backend.address, "backend process started");
            used.insert(port);
            state.backends.push(backend);
        }
        Ok(state.backends.split_off(want.min(state.backends.len())))
    }
}

fn region_for(regions: &[String], launched: u64) -> Option<String> {
    let n = u64::try_from(regions.len()).ok().filter(|&n| n > 0)?;
    let index = usize::try_from((launched - 1) % n).ok()?;
    regions.get(index).cloned()
}

#[async_trait]
impl Driver for ProcessDriver {
    fn name(&self) -> &str {
        &self.name
    }

    async fn instances(&self, pool: &str) -> Result<Vec<Instance>, DriverError> {
        let mut pools = self.lock();
        let Some(state) = pools.get_mut(pool) else {
            return Ok(Vec::new());
        };
        state.reap(pool);
        Ok(state.backends.iter().map(Backend::instance).collect())
    }

    async fn set_target(&self, pool: &str, desired: u32, _op: &OpId) -> Result<(), DriverError> {
        let extra = self.reconcile(pool, desired)?;
        terminate(extra, self.config.grace_period).await;
        Ok(())
    }

    async fn remove(&self, pool: &str, ids: &[InstanceId], _op: &OpId) -> Result<(), DriverError> {
        let removed: Vec<Backend> = {
            let mut pools = self.lock();
            let Some(state) = pools.get_mut(pool) else {
                return Ok(());
            };
            let (removed, kept) = std::mem::take(&mut state.backends)
                .into_iter()
                .partition(|b| ids.contains(&b.id));
            state.backends = kept;
            let removed: Vec<Backend> = removed;
            state.target = state
                .target
                .saturating_sub(u32::try_from(removed.len()).unwrap_or(u32::MAX));
            removed
        };
        terminate(removed, self.config.grace_period).await;
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), DriverError> {
        let all: Vec<Backend> = {
            let mut pools = self.lock();
            pools
                .values_mut()
                .flat_map(|p| {
                    p.target = 0;
                    std::mem::take(&mut p.backends)
                })
                .collect()
        };
        terminate(all, self.config.grace_period).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_parse_and_reject_nonsense() {
        assert_eq!(
            ProcessDriverConfig::parse_ports("9100-9199").unwrap(),
            9100..=9199
        );
        assert_eq!(
            ProcessDriverConfig::parse_ports("9100").unwrap(),
            9100..=9100
        );
        assert!(ProcessDriverConfig::parse_ports("9199-9100").is_err());
        assert!(ProcessDriverConfig::parse_ports("x").is_err());
    }

    #[test]
    fn regions_are_assigned_in_turn() {
        let regions = vec!["eu".to_owned(), "us".to_owned()];
        let got: Vec<_> = (1..=3).map(|n| region_for(&regions, n)).collect();
        assert_eq!(
            got,
            [Some("eu".into()), Some("us".into()), Some("eu".into())]
        );
        assert_eq!(region_for(&[], 1), None);
    }
}
