//! The loop's view of a pool's instances: the driver's list joined with the data plane's.
//!
//! The driver says which instances exist; the data plane says which are ready; the loop
//! itself knows which it is draining. [`Membership::sync`] joins the three each tick,
//! announcing new instances to the data plane and forgetting vanished ones.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use crate::data_plane::DataPlane;
use crate::instance::{Instance, InstanceId, InstanceState};
use crate::reconcile::victims::{choose_victims, Candidate};
use crate::signals::PoolSample;
use crate::time::Timestamp;

/// One instance as the loop tracks it.
#[derive(Clone, Debug)]
struct Member {
    address: SocketAddr,
    region: Option<String>,
    first_seen: Timestamp,
    draining_since: Option<Timestamp>,
    state: InstanceState,
    in_flight: u64,
}

/// Instance counts by effective state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) ready: u32,
    pub(crate) pending: u32,
    pub(crate) draining: u32,
}

impl Counts {
    /// Instances that are not draining.
    pub(crate) fn active(&self) -> u32 {
        self.ready + self.pending
    }

    /// Every instance.
    pub(crate) fn total(&self) -> u32 {
        self.active() + self.draining
    }
}

/// What a sync changed.
#[derive(Debug, Default)]
pub(crate) struct SyncChanges {
    pub(crate) joined: Vec<InstanceId>,
    pub(crate) left: Vec<InstanceId>,
}

/// The instances of one pool.
#[derive(Debug, Default)]
pub(crate) struct Membership {
    members: BTreeMap<InstanceId, Member>,
}

impl Membership {
    /// Joins the driver's `listed` instances with the data plane's `sample`.
    pub(crate) fn sync(
        &mut self,
        pool: &str,
        listed: &[Instance],
        sample: &PoolSample,
        data_plane: &dyn DataPlane,
        now: Timestamp,
    ) -> SyncChanges {
        let mut changes = SyncChanges::default();
        let seen: HashMap<&InstanceId, &Instance> = listed.iter().map(|i| (&i.id, i)).collect();
        self.members.retain(|id, m| {
            let keep = seen.get(id).is_some_and(|i| i.address == m.address);
            if !keep {
                data_plane.remove_backend(pool, m.address);
                changes.left.push(id.clone());
            }
            keep
        });
        for instance in listed {
            if !self.members.contains_key(&instance.id) {
                data_plane.add_backend(pool, instance.address, instance.region.as_deref());
                changes.joined.push(instance.id.clone());
                self.members.insert(
                    instance.id.clone(),
                    Member {
                        address: instance.address,
                        region: instance.region.clone(),
                        first_seen: now,
                        draining_since: None,
                        state: InstanceState::Pending,
                        in_flight: 0,
                    },
                );
            }
        }
        let backends: HashMap<SocketAddr, (InstanceState, u64)> = sample
            .backends
            .iter()
            .map(|b| (b.address, (b.state, b.in_flight)))
            .collect();
        for member in self.members.values_mut() {
            let (seen_state, in_flight) = backends
                .get(&member.address)
                .copied()
                .unwrap_or((InstanceState::Pending, 0));
            member.in_flight = in_flight;
            member.state = if member.draining_since.is_some() {
                InstanceState::Draining
            } else {
                seen_state
            };
        }
        changes
    }

    /// Counts by effective state.
    pub(crate) fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for m in self.members.values() {
            match m.state {
                InstanceState::Ready => counts.ready += 1,
                InstanceState::Pending => counts.pending += 1,
                InstanceState::Draining => counts.draining += 1,
            }
        }
        counts
    }

    /// Picks `count` victims among the instances not draining and starts draining them.
    pub(crate) fn drain(
        &mut self,
        pool: &str,
        count: usize,
        data_plane: &dyn DataPlane,
        now: Timestamp,
    ) -> Vec<InstanceId> {
        let candidates = self
            .members
            .iter()
            .filter(|(_, m)| m.state != InstanceState::Draining)
            .map(|(id, m)| Candidate {
                id,
                in_flight: m.in_flight,
                first_seen: m.first_seen,
            })
            .collect();
        let victims = choose_victims(candidates, count);
        for id in &victims {
            if let Some(m) = self.members.get_mut(id) {
                data_plane.drain(pool, m.address);
                m.draining_since = Some(now);
                m.state = InstanceState::Draining;
            }
        }
        victims
    }

    /// Takes up to `count` instances the loop is draining back into service, newest drains first.
    pub(crate) fn undrain(
        &mut self,
        pool: &str,
        count: usize,
        data_plane: &dyn DataPlane,
    ) -> Vec<InstanceId> {
        let mut draining: Vec<(&InstanceId, Timestamp)> = self
            .members
            .iter()
            .filter_map(|(id, m)| m.draining_since.map(|t| (id, t)))
            .collect();
        draining.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(a.0)));
        let ids: Vec<InstanceId> = draining
            .into_iter()
            .take(count)
            .map(|(id, _)| id.clone())
            .collect();
        self.restore(pool, &ids, data_plane);
        ids
    }

    /// Puts the named draining instances back into service.
    pub(crate) fn restore(&mut self, pool: &str, ids: &[InstanceId], data_plane: &dyn DataPlane) {
        for id in ids {
            if let Some(m) = self.members.get_mut(id) {
                data_plane.add_backend(pool, m.address, m.region.as_deref());
                m.draining_since = None;
                m.state = InstanceState::Pending;
            }
        }
    }

    /// Draining instances that finished their requests or outlived `grace`.
    pub(crate) fn drained(
        &self,
        pool: &str,
        data_plane: &dyn DataPlane,
        grace: Duration,
        now: Timestamp,
    ) -> Vec<InstanceId> {
        self.members
            .iter()
            .filter(|(_, m)| {
                m.draining_since.is_some_and(|since| {
                    now.saturating_since(since) >= grace || data_plane.is_drained(pool, m.address)
                })
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Forgets removed instances and tells the data plane.
    pub(crate) fn forget(&mut self, pool: &str, ids: &[InstanceId], data_plane: &dyn DataPlane) {
        for id in ids {
            if let Some(m) = self.members.remove(id) {
                data_plane.remove_backend(pool, m.address);
            }
        }
    }
}
