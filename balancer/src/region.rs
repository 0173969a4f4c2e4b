//! `region_affinity`: keep requests in their own region, spill in a configured order.
//!
//! At build time the snapshot is split into groups, one per region, each with its own
//! instance of the `within` policy. They are tried in this order: the request's region,
//! the `fallback` regions as listed (repeats skipped), every other region by name, and
//! last the backends with no region. A pick first goes to the first group with an
//! admitted backend under `spill_in_flight`, chosen by `within` among those under it. When
//! every group is saturated the same order is walked without the threshold, so the
//! request's own region serves it if it can. A request with no known region and an empty
//! `fallback` is placed by `within` over all backends at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use fastrand::Rng;

use crate::backend::Backend;
use crate::policy::Policy;
use crate::select::{self, Admission, Select};

/// One region's backends and its own `within` policy over them.
#[derive(Debug)]
struct Group {
    /// Index in the full snapshot of each backend in `backends`.
    members: Vec<usize>,
    backends: Vec<Arc<Backend>>,
    policy: Box<dyn Select>,
}

impl Group {
    fn new(members: Vec<usize>, all: &[Arc<Backend>], within: &Policy) -> Self {
        let backends: Vec<_> = members
            .iter()
            .filter_map(|&i| all.get(i).cloned())
            .collect();
        Self {
            policy: select::build(within, &backends),
            members,
            backends,
        }
    }

    /// Snapshot index of the backend `within` picks here, if any is admitted.
    fn select(&self, admission: &Admission<'_>, rng: &mut Rng) -> Option<usize> {
        select::select_ramped(self.policy.as_ref(), &self.backends, admission, rng)
            .and_then(|i| self.members.get(i).copied())
    }
}

/// Region groups in spill order plus the lookup of a request's own region.
#[derive(Debug)]
pub(crate) struct RegionAffinity {
    /// Listed fallback regions, then other regions by name, then backends with no region.
    groups: Vec<Group>,
    /// Region name and its index in `groups`, sorted by name.
    by_name: Vec<(Box<str>, usize)>,
    /// All backends as one group, for requests with no known region when `fallback` is empty.
    everywhere: Option<Group>,
    spill_in_flight: u32,
}

impl RegionAffinity {
    /// Groups `backends` by region; a nested `RegionAffinity` as `within` acts as `LeastConn`.
    pub(crate) fn new(
        within: &Policy,
        fallback: &[String],
        spill_in_flight: u32,
        backends: &[Arc<Backend>],
    ) -> Self {
        let within = match within {
            Policy::RegionAffinity { .. } => &Policy::LeastConn,
            flat => flat,
        };
        let mut regions: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut unregioned = Vec::new();
        for (i, backend) in backends.iter().enumerate() {
            match backend.region() {
                Some(region) => regions.entry(region).or_default().push(i),
                None => unregioned.push(i),
            }
        }
        // Removing each listed region from the map skips repeats and leaves the unlisted.
        let listed: Vec<_> = fallback
            .iter()
            .filter_map(|name| Some((name.as_str(), regions.remove(name.as_str())?)))
            .collect();
        let mut groups = Vec::new();
        let mut by_name = Vec::new();
        for (name, members) in listed.into_iter().chain(regions) {
            by_name.push((Box::from(name), groups.len()));
            groups.push(Group::new(members, backends, within));
        }
        if !unregioned.is_empty() {
            groups.push(Group::new(unregioned, backends, within));
        }
        by_name.sort();
        let everywhere = fallback
            .is_empty()
            .then(|| Group::new((0..backends.len()).collect(), backends, within));
        Self {
            groups,
            by_name,
            everywhere,
            spill_in_flight,
        }
    }

    /// Index in `groups` of `region`, if any backend runs there.
    fn home(&self, region: Option<&str>) -> Option<usize> {
        let region = region?;
        let at = self
            .by_name
            .binary_search_by(|(name, _)| (**name).cmp(region))
            .ok()?;
        self.by_name.get(at).map(|&(_, group)| group)
    }

    /// The groups in the order a request from `home` tries them.
    fn spill_order(&self, home: Option<usize>) -> impl Iterator<Item = &Group> + '_ {
        let rest = (0..self.groups.len()).filter(move |&g| Some(g) != home);
        home.into_iter()
            .chain(rest)
            .filter_map(|g| self.groups.get(g))
    }
}

impl Select for RegionAffinity {
    fn select(
        &self,
        _backends: &[Arc<Backend>],
        admission: &Admission<'_>,
        rng: &mut Rng,
    ) -> Option<usize> {
        // The groups hold their own slices of the snapshot, so `_backends` is not needed.
        let under_spill = admission.in_flight_below(self.spill_in_flight);
        let home = self.home(admission.region());
        if let (None, Some(all)) = (home, &self.everywhere) {
            return all
                .select(&under_spill, rng)
                .or_else(|| all.select(admission, rng));
        }
        if let Some(i) = self
            .spill_order(home)
            .find_map(|g| g.select(&under_spill, rng))
        {
            return Some(i);
        }
        self.spill_order(home)
            .find_map(|g| g.select(admission, rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ewma::EwmaConfig;
    use crate::selector::PickRequest;
    use crate::InFlightGuard;

    const SPILL: u32 = 2;

    /// Backends 0,1 in "a", 2 in "b", 3 in "c", 4 in "d", 5 with no region.
    fn backends() -> Vec<Arc<Backend>> {
        [Some("a"), Some("a"), Some("b"), Some("c"), Some("d"), None]
            .into_iter()
            .zip(9000u16..)
            .map(|(region, port)| {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                Arc::new(Backend::new(addr, region, 1, EwmaConfig::default(), 0))
            })
            .collect()
    }

    fn affinity(fallback: &[&str], backends: &[Arc<Backend>]) -> RegionAffinity {
        let fallback: Vec<String> = fallback.iter().map(|s| s.to_string()).collect();
        RegionAffinity::new(&Policy::LeastConn, &fallback, SPILL, backends)
    }

    fn saturate(backend: &Arc<Backend>, held: &mut Vec<InFlightGuard>) {
        held.extend((0..SPILL).map(|_| backend.start_request()));
    }

    /// Snapshot indices picked over 50 requests from `region`.
    fn picked(ra: &RegionAffinity, b: &[Arc<Backend>], region: Option<&str>) -> Vec<usize> {
        let req = PickRequest {
            now: 0,
            region,
            exclude: &[],
        };
        let admission = Admission::new(&req, None);
        let mut rng = Rng::with_seed(8);
        let mut got: Vec<usize> = (0..50)
            .filter_map(|_| ra.select(b, &admission, &mut rng))
            .collect();
        got.sort_unstable();
        got.dedup();
        got
    }

    #[test]
    fn spills_in_order_home_fallback_unlisted_unregioned_then_home_again() {
        let b = backends();
        let ra = affinity(&["c", "b", "c"], &b);
        let mut held = Vec::new();
        assert_eq!(picked(&ra, &b, Some("a")), [0, 1]);
        saturate(&b[0], &mut held);
        assert_eq!(
            picked(&ra, &b, Some("a")),
            [1],
            "stays home while one is under"
        );
        saturate(&b[1], &mut held);
        assert_eq!(picked(&ra, &b, Some("a")), [3], "first fallback");
        saturate(&b[3], &mut held);
        assert_eq!(picked(&ra, &b, Some("a")), [2], "second fallback");
        saturate(&b[2], &mut held);
        assert_eq!(picked(&ra, &b, Some("a")), [4], "unlisted region");
        saturate(&b[4], &mut held);
        assert_eq!(picked(&ra, &b, Some("a")), [5], "no region");
        saturate(&b[5], &mut held);
        assert_eq!(picked(&ra, &b, Some("a")), [0, 1], "all saturated: home");
        b[0].set_healthy(false);
        b[1].set_draining(true);
        assert_eq!(
            picked(&ra, &b, Some("a")),
            [3],
            "home down: first in spill order"
        );
    }

    #[test]
    fn an_unhealthy_home_spills_even_when_not_saturated() {
        let b = backends();
        let ra = affinity(&["b"], &b);
        b[0].set_healthy(false);
        b[1].set_healthy(false);
        assert_eq!(picked(&ra, &b, Some("a")), [2]);
    }

    #[test]
    fn without_a_request_region_starts_from_the_fallback() {
        let b = backends();
        let ra = affinity(&["d", "a"], &b);
        assert_eq!(picked(&ra, &b, None), [4]);
        assert_eq!(picked(&ra, &b, Some("nowhere")), [4]);
    }

    #[test]
    fn without_region_or_fallback_uses_every_backend() {
        let b = backends();
        let ra = affinity(&[], &b);
        assert_eq!(picked(&ra, &b, None), [0, 1, 2, 3, 4, 5]);
        assert_eq!(
            picked(&ra, &b, Some("c")),
            [3],
            "a known region still stays home"
        );
        let mut held = Vec::new();
        b.iter()
            .take(5)
            .for_each(|backend| saturate(backend, &mut held));
        assert_eq!(
            picked(&ra, &b, None),
            [5],
            "prefers the one under the threshold"
        );
    }

    #[test]
    fn nested_region_affinity_acts_as_least_conn() {
        let b = backends();
        let nested = Policy::RegionAffinity {
            within: Box::new(Policy::RoundRobin),
            fallback: Vec::new(),
            spill_in_flight: 1,
        };
        let ra = RegionAffinity::new(&nested, &[], SPILL, &b);
        let shown = format!("{ra:?}");
        assert!(
            shown.contains("InFlight") && !shown.contains("RoundRobin"),
            "{shown}"
        );
        assert_eq!(picked(&ra, &b, Some("a")), [0, 1]);
    }
}
