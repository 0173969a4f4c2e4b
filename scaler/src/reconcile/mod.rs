//! The async control loop of one pool: sample, decide, reconcile with the driver, audit.
//!
//! Each tick: list the driver's instances (unless backing off), sample the data plane,
//! join the two ([`membership`]), let the [`Controller`] decide, then act: take draining
//! instances back or launch (`set_target`, absolute: active + draining), or drain
//! victims; remove drained ones (`remove`). Failed driver calls back off per pool
//! ([`backoff`]), count an error and appear in the audit event; the loop keeps running.

mod backoff;
mod handle;
mod membership;
mod victims;

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::audit::{Action, ActionRecord, ActionResult, AuditEvent, AuditLog};
use crate::controller::Controller;
use crate::data_plane::DataPlane;
use crate::decision::{Decision, Direction, Reason};
use crate::driver::{Driver, DriverError, OpId};
use crate::error::ScalerError;
use crate::instance::{Instance, InstanceId};
use crate::metrics::{Metrics, PoolGauges};
use crate::policy::Policy;
use crate::recommend::Recommender;
use crate::signals::{Observation, SignalSource};
use crate::time::Timestamp;

use backoff::Backoff;
use handle::Shared;
use membership::{Counts, Membership};

pub use handle::{PoolHandle, PoolStatus};

/// What a pool loop talks to: the driver, the data plane, and where it reports.
#[derive(Clone, Debug)]
pub struct LoopParts {
    /// Launches and removes instances.
    pub driver: Arc<dyn Driver>,
    /// The data plane's signals (the proxy).
    pub signals: Arc<dyn SignalSource>,
    /// The data plane's membership (the proxy).
    pub data_plane: Arc<dyn DataPlane>,
    /// Where decisions are recorded.
    pub audit: Arc<AuditLog>,
    /// Counters for the metrics endpoint.
    pub metrics: Arc<Metrics>,
    /// Extra recommendation sources (the predictive policy), combined with max().
    pub recommenders: Vec<Arc<dyn Recommender>>,
}

/// Timing of the reconcile side of the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopConfig {
    /// Longest a victim drains before it is removed anyway (`[server] grace_period`).
    pub grace_period: Duration,
    /// First wait after a failed driver call.
    pub backoff_base: Duration,
    /// Longest wait between failed driver calls.
    pub backoff_cap: Duration,
    /// How often an unchanged target is sent again while the driver's count differs
    /// (this is how a crashed process gets replaced).
    pub resync_every: Duration,
}

impl Default for LoopConfig {
    fn default() -> Self {
        Self {
            grace_period: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            resync_every: Duration::from_secs(5),
        }
    }
}

/// The last target sent to the driver, kept so retries reuse the op id.
#[derive(Clone, Debug)]
struct SentTarget {
    target: u32,
    op: OpId,
    at: Timestamp,
    acknowledged: bool,
}

/// One pool's control loop.
#[derive(Debug)]
pub struct PoolLoop {
    pool: String,
    controller: Controller,
    parts: LoopParts,
    config: LoopConfig,
    membership: Membership,
    backoff: Backoff,
    listed: Vec<Instance>,
    seeded: bool,
    sent: Option<SentTarget>,
    ops: u64,
    last_error: Option<String>,
    last_audited: Option<(Reason, bool)>,
    shared: Arc<Mutex<Shared>>,
    policy: Arc<Policy>,
}

impl PoolLoop {
    /// A loop for `pool` under `policy`; validates the policy.
    pub fn new(
        pool: impl Into<String>,
        policy: Policy,
        parts: LoopParts,
        config: LoopConfig,
    ) -> Result<Self, ScalerError> {
        let pool = pool.into();
        let controller = Controller::new(pool.clone(), policy.clone(), policy.min)?
            .with_recommenders(parts.recommenders.clone());
        let shared = Arc::new(Mutex::new(Shared {
            status: PoolStatus {
                pool: pool.clone(),
                ..PoolStatus::default()
            },
            ..Shared::default()
        }));
        Ok(Self {
            backoff: Backoff::new(config.backoff_base, config.backoff_cap),
            pool,
            controller,
            parts,
            config,
            membership: Membership::default(),
            listed: Vec::new(),
            seeded: false,
            sent: None,
            ops: 0,
            last_error: None,
            last_audited: None,
            shared,
            policy: Arc::new(policy),
        })
    }

    /// A handle for the admin API: overrides in, status out.
    pub fn handle(&self) -> PoolHandle {
        PoolHandle::new(
            self.pool.clone(),
            Arc::clone(&self.policy),
            Arc::clone(&self.shared),
        )
    }

    /// Ticks every `policy.tick` until `shutdown` completes. Time is `start` plus tokio's
    /// elapsed time, so `#[tokio::test(start_paused = true)]` drives it virtually.
    pub async fn run(mut self, start: Timestamp, shutdown: impl Future<Output = ()> + Send) {
        let origin = tokio::time::Instant::now();
        let mut interval = tokio::time::interval(self.controller.tick());
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = interval.tick() => {
                    let now = start + origin.elapsed();
                    self.tick(now).await;
                }
            }
        }
    }

    /// One tick at `now`: sample, decide, reconcile, audit. Returns the decision.
    pub async fn tick(&mut self, now: Timestamp) -> Decision {
        let mut actions = Vec::new();
        let overrides = self
            .shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .overrides;
        if overrides != self.controller.state().overrides() {
            if let Err(e) = self.controller.set_overrides(overrides) {
                tracing::warn!(pool = %self.pool, error = %e, "ignoring invalid scaler overrides");
            }
        }

        self.refresh_instances(now, &mut actions).await;
        let sample = self.parts.signals.sample(&self.pool);
        let changes = self.membership.sync(
            &self.pool,
            &self.listed,
            &sample,
            self.parts.data_plane.as_ref(),
            now,
        );
        if !changes.joined.is_empty() {
            actions.push(ok(Action::Join {
                ids: changes.joined,
            }));
        }
        if !changes.left.is_empty() {
            actions.push(ok(Action::Leave { ids: changes.left }));
        }
        let counts = self.membership.counts();
        if !self.seeded && self.backoff.allows(now) {
            self.controller.set_desired(counts.active());
            self.seeded = true;
        }

        let observation = Observation {
            in_flight: sample.in_flight,
            request_rate: sample.request_rate,
            p95_latency: sample.p95_latency,
            ready: counts.ready,
            pending: counts.pending,
            draining: counts.draining,
        };
        let decision = self.controller.step(&observation, now);
        self.reconcile(decision.to, now, &mut actions).await;
        self.report(&decision, now, actions);
        decision
    }

    /// Lists the driver's instances, keeping the last list when the call fails.
    async fn refresh_instances(&mut self, now: Timestamp, actions: &mut Vec<ActionRecord>) {
        // While backing off, the last list stands; the status shows until when.
        if !self.backoff.allows(now) {
            return;
        }
        match self.parts.driver.instances(&self.pool).await {
            Ok(listed) => {
                self.backoff.succeed();
                self.listed = listed;
            }
            Err(e) => {
                let result = self.failed(now, &e);
                actions.push(ActionRecord {
                    action: Action::List,
                    result,
                });
            }
        }
    }

    /// Moves the instances toward `desired`: undrain or launch, drain, remove drained.
    async fn reconcile(&mut self, desired: u32, now: Timestamp, actions: &mut Vec<ActionRecord>) {
        let data_plane = Arc::clone(&self.parts.data_plane);
        let mut counts = self.membership.counts();
        if desired > counts.active() && counts.draining > 0 {
            let ids = self.membership.undrain(
                &self.pool,
                to_usize(desired - counts.active()),
                data_plane.as_ref(),
            );
            if !ids.is_empty() {
                actions.push(ok(Action::Undrain { ids }));
            }
            counts = self.membership.counts();
        }
        if desired < counts.active() && self.backoff.allows(now) {
            let ids = self.membership.drain(
                &self.pool,
                to_usize(counts.active() - desired),
                data_plane.as_ref(),
                now,
            );
            if !ids.is_empty() {
                actions.push(ok(Action::Drain { ids }));
            }
        }

        let drained = self.membership.drained(
            &self.pool,
            data_plane.as_ref(),
            self.config.grace_period,
            now,
        );
        if !drained.is_empty() {
            self.remove(drained, now, actions).await;
        }

        let counts = self.membership.counts();
        let target = desired.max(counts.active()) + counts.draining;
        let listed = u32::try_from(self.listed.len()).unwrap_or(u32::MAX);
        let resend = match &self.sent {
            None => true,
            Some(sent) if sent.target != target || !sent.acknowledged => true,
            Some(sent) => {
                listed != target && now.saturating_since(sent.at) >= self.config.resync_every
            }
        };
        if resend && self.backoff.allows(now) {
            self.set_target(target, now, actions).await;
        }
    }

    async fn remove(
        &mut self,
        ids: Vec<InstanceId>,
        now: Timestamp,
        actions: &mut Vec<ActionRecord>,
    ) {
        if !self.backoff.allows(now) {
            return;
        }
        let op = self.next_op(now);
        let action = Action::Remove {
            ids: ids.clone(),
            op_id: op.clone(),
        };
        let result = match self.parts.driver.remove(&self.pool, &ids, &op).await {
            Ok(()) => {
                self.backoff.succeed();
                self.membership
                    .forget(&self.pool, &ids, self.parts.data_plane.as_ref());
                let removed = u32::try_from(ids.len()).unwrap_or(u32::MAX);
                if let Some(sent) = &mut self.sent {
                    sent.target = sent.target.saturating_sub(removed);
                }
                self.listed.retain(|i| !ids.contains(&i.id));
                ActionResult::Ok
            }
            Err(e) => {
                if !e.is_retryable() {
                    // The driver will never remove them: serve with them rather than idle.
                    self.membership
                        .restore(&self.pool, &ids, self.parts.data_plane.as_ref());
                }
                self.failed(now, &e)
            }
        };
        actions.push(ActionRecord { action, result });
    }

    async fn set_target(&mut self, target: u32, now: Timestamp, actions: &mut Vec<ActionRecord>) {
        let op = match &self.sent {
            Some(sent) if sent.target == target => sent.op.clone(),
            _ => self.next_op(now),
        };
        let action = Action::SetTarget {
            target,
            op_id: op.clone(),
        };
        let outcome = self.parts.driver.set_target(&self.pool, target, &op).await;
        self.sent = Some(SentTarget {
            target,
            op,
            at: now,
            acknowledged: outcome.is_ok(),
        });
        let result = match outcome {
            Ok(()) => {
                self.backoff.succeed();
                ActionResult::Ok
            }
            Err(e) => self.failed(now, &e),
        };
        actions.push(ActionRecord { action, result });
    }

    /// Backs off after a failed driver call and counts it.
    fn failed(&mut self, now: Timestamp, error: &DriverError) -> ActionResult {
        let retry_at = self.backoff.fail(now, error);
        self.parts
            .metrics
            .record_driver_error(self.parts.driver.name());
        tracing::warn!(pool = %self.pool, driver = self.parts.driver.name(), error = %error, %retry_at, "driver call failed; backing off");
        self.last_error = Some(error.to_string());
        ActionResult::failed(error, retry_at)
    }

    fn next_op(&mut self, now: Timestamp) -> OpId {
        self.ops += 1;
        OpId::new(format!("{}-{}-{}", self.pool, now.unix_millis(), self.ops))
    }

    /// Updates metrics and status; records the event when something happened.
    fn report(&mut self, decision: &Decision, now: Timestamp, actions: Vec<ActionRecord>) {
        let counts: Counts = self.membership.counts();
        let cost_per_hour = self.policy.cost.map_or(0.0, |c| c.per_hour(counts.total()));
        self.parts.metrics.record_tick(
            &self.pool,
            decision.direction,
            PoolGauges {
                desired: decision.to,
                ready: counts.ready,
                pending: counts.pending,
                draining: counts.draining,
                cost_per_hour,
            },
        );
        {
            let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            shared.status = PoolStatus {
                pool: self.pool.clone(),
                desired: decision.to,
                ready: counts.ready,
                pending: counts.pending,
                draining: counts.draining,
                panicking: decision.panicking,
                overrides: shared.overrides,
                reason: Some(decision.reason.clone()),
                updated_at: Some(now),
                backoff_until: self.backoff.until(now),
                last_error: self.last_error.clone(),
            };
        }
        let key = (decision.reason.clone(), decision.panicking);
        let noteworthy = decision.direction != Direction::None
            || !actions.is_empty()
            || self.last_audited.as_ref() != Some(&key);
        if noteworthy {
            self.parts
                .audit
                .record(AuditEvent::new(&self.pool, now, decision, actions));
            self.last_audited = Some(key);
        }
    }
}

fn ok(action: Action) -> ActionRecord {
    ActionRecord {
        action,
        result: ActionResult::Ok,
    }
}

fn to_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
