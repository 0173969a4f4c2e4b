//! The data plane's control side: membership, reloads and housekeeping.
//!
//! [`DataPlane`] owns what the request path reads — the published [`Routing`] —
//! and everything that changes it: a reloaded configuration, a backend added or
//! drained through the admin API or by the autoscaler, and the periodic sweep
//! that lifts expired ejections, finishes drains and sets panic mode. Every
//! change rebuilds the affected snapshots under one mutex (never held by a
//! request) and publishes them; members and pool counters carry over, so a
//! backend that stays keeps its EWMA, health and in-flight count.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use tidegate_balancer::{Backend, EwmaConfig, Nanos};
use tidegate_conf::{BackendSpec, Config, HealthCheck};

use crate::clock::{nanos, Clock};
use crate::member::{Member, Origin};
use crate::pool::{Pool, PoolSettings, PoolState};
use crate::routing::Routing;

/// Why a membership change was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlaneError {
    /// No pool has that name.
    #[error("no pool named \"{0}\"")]
    NoSuchPool(String),
    /// The pool has no such backend.
    #[error("pool \"{pool}\" has no backend {address}")]
    NoSuchBackend {
        /// The pool.
        pool: String,
        /// The address asked for.
        address: SocketAddr,
    },
    /// The backend is already a member (and not draining).
    #[error("pool \"{pool}\" already has backend {address}")]
    AlreadyMember {
        /// The pool.
        pool: String,
        /// The address given.
        address: SocketAddr,
    },
}

/// What a reload changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    /// Pools that did not exist before.
    pub pools_added: Vec<String>,
    /// Pools that are gone.
    pub pools_removed: Vec<String>,
    /// Backends that joined, as `pool/address`.
    pub backends_added: Vec<String>,
    /// Backends now draining, as `pool/address`.
    pub backends_draining: Vec<String>,
}

/// One pool's control-side record.
#[derive(Debug)]
struct PoolEntry {
    spec: tidegate_conf::Pool,
    settings: Arc<PoolSettings>,
    members: Vec<Arc<Member>>,
    state: Arc<PoolState>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    pools: Vec<PoolEntry>,
}

/// Owns the published routing snapshot and every change to it.
#[derive(Debug)]
pub struct DataPlane {
    routing: Arc<ArcSwap<Routing>>,
    inner: Mutex<Inner>,
    clock: Clock,
}

impl DataPlane {
    /// The data plane for `config`; backends present now count as warmed up.
    pub fn new(config: Config, clock: Clock) -> Self {
        let pools = config
            .pools
            .iter()
            .map(|spec| {
                let members = spec
                    .backends
                    .iter()
                    .map(|b| new_member(spec, b, Origin::Config, Clock::startup(), clock.now()))
                    .collect();
                PoolEntry {
                    settings: Arc::new(PoolSettings::from_config(spec)),
                    spec: spec.clone(),
                    members,
                    state: Arc::new(PoolState::new(&spec.name)),
                }
            })
            .collect();
        let inner = Inner { config, pools };
        let routing = Arc::new(ArcSwap::from_pointee(build_routing(&inner)));
        Self {
            routing,
            inner: Mutex::new(inner),
            clock,
        }
    }

    /// The snapshot the request path reads.
    pub fn routing(&self) -> &Arc<ArcSwap<Routing>> {
        &self.routing
    }

    /// The clock every snapshot and member is stamped with.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The configuration in force.
    pub fn config(&self) -> Config {
        self.lock().config.clone()
    }

    /// Applies a new, already validated configuration to routes and pools.
    ///
    /// Backends that stay keep their state; backends no longer listed drain; new
    /// ones join (ramping up when `slow_start` is set). Listener and `[server]`
    /// changes need a restart and are left as they are.
    pub fn apply(&self, config: Config) -> ReloadReport {
        let now = self.clock.now();
        let mut inner = self.lock();
        let mut report = ReloadReport::default();
        let mut old = std::mem::take(&mut inner.pools);
        let mut pools = Vec::with_capacity(config.pools.len());
        for spec in &config.pools {
            let previous = old
                .iter()
                .position(|e| e.spec.name == spec.name)
                .map(|i| old.swap_remove(i));
            let (state, mut members) = match previous {
                Some(entry) => (entry.state, entry.members),
                None => {
                    report.pools_added.push(spec.name.clone());
                    (Arc::new(PoolState::new(&spec.name)), Vec::new())
                }
            };
            let mut kept = Vec::with_capacity(spec.backends.len());
            for backend in &spec.backends {
                let same = members.iter().position(|m| {
                    m.draining_since().is_none()
                        && m.addr() == backend.address
                        && m.backend().region() == backend.region.as_deref()
                        && m.backend().weight() == backend.weight
                });
                match same {
                    Some(i) => kept.push(members.swap_remove(i)),
                    None => {
                        report
                            .backends_added
                            .push(format!("{}/{}", spec.name, backend.address));
                        kept.push(new_member(spec, backend, Origin::Config, now, now));
                    }
                }
            }
            for member in members {
                let leaving =
                    member.origin() == Origin::Config || member.draining_since().is_some();
                if leaving && member.start_draining(now) {
                    report
                        .backends_draining
                        .push(format!("{}/{}", spec.name, member.addr()));
                }
                kept.push(member);
            }
            pools.push(PoolEntry {
                settings: Arc::new(PoolSettings::from_config(spec)),
                spec: spec.clone(),
                members: kept,
                state,
            });
        }
        report.pools_removed = old.into_iter().map(|e| e.spec.name).collect();
        inner.pools = pools;
        inner.config = config;
        self.publish(&inner);
        report
    }

    /// Adds a backend to `pool`; it joins now (ramping up when `slow_start` is set)
    /// and, when the pool has health checks, takes traffic after its first pass.
    pub fn add_backend(
        &self,
        pool: &str,
        backend: BackendSpec,
        origin: Origin,
    ) -> Result<(), PlaneError> {
        let now = self.clock.now();
        let mut inner = self.lock();
        let entry = find(&mut inner, pool)?;
        if entry
            .members
            .iter()
            .any(|m| m.addr() == backend.address && m.draining_since().is_none())
        {
            return Err(PlaneError::AlreadyMember {
                pool: pool.to_string(),
                address: backend.address,
            });
        }
        let member = new_member(&entry.spec, &backend, origin, now, now);
        entry.members.push(member);
        tracing::info!(pool, backend = %backend.address, origin = origin.as_str(), "backend added");
        self.publish(&inner);
        Ok(())
    }

    /// Starts draining `address` in `pool`: it takes no new requests and leaves the
    /// pool when its requests in flight finish or `grace_period` passes.
    pub fn drain_backend(&self, pool: &str, address: SocketAddr) -> Result<(), PlaneError> {
        let now = self.clock.now();
        let mut inner = self.lock();
        let entry = find(&mut inner, pool)?;
        let member = entry
            .members
            .iter()
            .filter(|m| m.addr() == address)
            .min_by_key(|m| m.draining_since().is_some())
            .ok_or_else(|| PlaneError::NoSuchBackend {
                pool: pool.to_string(),
                address,
            })?;
        if member.start_draining(now) {
            tracing::info!(
                pool,
                backend = %address,
                in_flight = member.backend().in_flight(),
                "backend draining"
            );
        }
        Ok(())
    }

    /// Whether `address` has left `pool` (drained and removed, or never there).
    pub fn is_gone(&self, pool: &str, address: SocketAddr) -> bool {
        let inner = self.lock();
        inner
            .pools
            .iter()
            .find(|e| e.spec.name == pool)
            .is_none_or(|e| e.members.iter().all(|m| m.addr() != address))
    }

    /// The pools that have health checks, with their checks.
    pub fn health_checks(&self) -> Vec<(String, HealthCheck)> {
        let inner = self.lock();
        inner
            .pools
            .iter()
            .filter_map(|e| Some((e.spec.name.clone(), effective_health(&e.spec)?)))
            .collect()
    }

    /// Publishes a new snapshot now (a pending member passed its first check).
    pub fn republish(&self) {
        let inner = self.lock();
        self.publish(&inner);
    }

    /// Removes `address` from `pool` at once, drained or not.
    pub fn remove_backend(&self, pool: &str, address: SocketAddr) {
        let mut inner = self.lock();
        let Ok(entry) = find(&mut inner, pool) else {
            return;
        };
        let before = entry.members.len();
        entry.members.retain(|m| m.addr() != address);
        if entry.members.len() != before {
            tracing::info!(pool, backend = %address, "backend removed");
            self.publish(&inner);
        }
    }

    /// The members of `pool` (none when there is no such pool).
    pub fn members(&self, pool: &str) -> Vec<Arc<Member>> {
        let inner = self.lock();
        inner
            .pools
            .iter()
            .find(|e| e.spec.name == pool)
            .map(|e| e.members.clone())
            .unwrap_or_default()
    }

    /// Housekeeping at `now`: lifts expired ejections, publishes health changes,
    /// removes drained backends, and sets each pool's panic mode.
    pub fn sweep(&self) {
        let now = self.clock.now();
        let mut inner = self.lock();
        let grace = inner.config.server.grace_period;
        let mut changed = false;
        for entry in &mut inner.pools {
            for member in &entry.members {
                if member.lift_expired_ejection(now) {
                    entry.state.ejection_ended();
                    tracing::info!(pool = %entry.spec.name, backend = %member.addr(), "ejection over");
                }
                member.refresh(now);
            }
            let before = entry.members.len();
            entry
                .members
                .retain(|m| !drained(m, now, grace, &entry.spec.name));
            changed |= entry.members.len() != before;
            set_panic(entry);
        }
        if changed {
            self.publish(&inner);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data: recover it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn publish(&self, inner: &Inner) {
        self.routing.store(Arc::new(build_routing(inner)));
    }
}

fn find<'a>(inner: &'a mut Inner, pool: &str) -> Result<&'a mut PoolEntry, PlaneError> {
    inner
        .pools
        .iter_mut()
        .find(|e| e.spec.name == pool)
        .ok_or_else(|| PlaneError::NoSuchPool(pool.to_string()))
}

/// The routing snapshot; members still waiting for their first passing check
/// stay out of it, so not even panic mode sends them a request.
fn build_routing(inner: &Inner) -> Routing {
    let pools = inner
        .pools
        .iter()
        .map(|e| {
            let serving = e
                .members
                .iter()
                .filter(|m| !m.is_pending())
                .cloned()
                .collect();
            Arc::new(Pool::new(
                &e.spec,
                Arc::clone(&e.settings),
                serving,
                Arc::clone(&e.state),
            ))
        })
        .collect();
    Routing::new(&inner.config.routes, pools)
}

/// A member that joined at `joined_at`, its RTT estimate starting at the pool's
/// `default_rtt` as of `now`.
fn new_member(
    spec: &tidegate_conf::Pool,
    backend: &BackendSpec,
    origin: Origin,
    joined_at: Nanos,
    now: Nanos,
) -> Arc<Member> {
    let ewma = EwmaConfig {
        decay: nanos(spec.decay),
        default_rtt: nanos(spec.default_rtt),
    };
    let backend = Backend::joined_before(
        backend.address,
        backend.region.as_deref(),
        backend.weight,
        ewma,
        joined_at,
        now,
    );
    Arc::new(Member::new(
        &spec.name,
        Arc::new(backend),
        origin,
        effective_health(spec).is_some(),
    ))
}

/// The health check a pool runs: its `health` table, or for a pool the
/// autoscaler grows, a TCP connect every second (a launched process must be
/// listening before it takes a request).
pub fn effective_health(spec: &tidegate_conf::Pool) -> Option<HealthCheck> {
    spec.health.clone().or_else(|| {
        spec.scaler.as_ref().map(|_| HealthCheck {
            probe: tidegate_conf::HealthProbe::Tcp,
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            healthy_threshold: 1,
            unhealthy_threshold: 3,
        })
    })
}

/// Whether a draining member is done: nothing in flight, or out of time.
fn drained(member: &Member, now: Nanos, grace: Duration, pool: &str) -> bool {
    let Some(since) = member.draining_since() else {
        return false;
    };
    let in_flight = member.backend().in_flight();
    let out_of_time = now.saturating_sub(since) >= nanos(grace);
    if in_flight == 0 || out_of_time {
        tracing::info!(
            pool,
            backend = %member.addr(),
            abandoned_requests = in_flight,
            "backend drained and removed"
        );
        return true;
    }
    false
}

/// Panic mode: fewer than half the members that are not draining are usable.
fn set_panic(entry: &PoolEntry) {
    let active = entry
        .members
        .iter()
        .filter(|m| m.draining_since().is_none() && !m.is_pending());
    let (total, usable) = active.fold((0usize, 0usize), |(t, u), m| {
        (t + 1, u + usize::from(m.backend().is_healthy()))
    });
    let panic = total > 0 && usable * 2 < total;
    if entry.state.set_panic(panic) {
        if panic {
            tracing::warn!(pool = %entry.spec.name, usable, total, "panic mode: balancing over every backend");
        } else {
            tracing::info!(pool = %entry.spec.name, usable, total, "panic mode over");
        }
    }
}
