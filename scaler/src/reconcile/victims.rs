//! Which instances a scale-down removes: fewest in-flight requests first, then newest.
//!
//! Idle instances cost nothing to drain, and the newest ones are the least proven (and
//! pending ones, which never took traffic, are both idle and new).

use crate::instance::InstanceId;
use crate::time::Timestamp;

/// An instance that could be removed.
#[derive(Clone, Debug)]
pub(crate) struct Candidate<'a> {
    pub(crate) id: &'a InstanceId,
    pub(crate) in_flight: u64,
    pub(crate) first_seen: Timestamp,
}

/// The `count` instances to remove, in removal order.
pub(crate) fn choose_victims(mut candidates: Vec<Candidate<'_>>, count: usize) -> Vec<InstanceId> {
    candidates.sort_by(|a, b| {
        a.in_flight
            .cmp(&b.in_flight)
            .then(b.first_seen.cmp(&a.first_seen))
            .then(b.id.cmp(a.id))
    });
    candidates
        .into_iter()
        .take(count)
        .map(|c| c.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fewest_in_flight_then_newest() {
        let ids: Vec<InstanceId> = ["old-idle", "new-idle", "busy", "newest-busy"]
            .into_iter()
            .map(InstanceId::new)
            .collect();
        let candidates = vec![
            Candidate {
                id: &ids[0],
                in_flight: 0,
                first_seen: Timestamp::from_unix_secs(1),
            },
            Candidate {
                id: &ids[1],
                in_flight: 0,
                first_seen: Timestamp::from_unix_secs(5),
            },
            Candidate {
                id: &ids[2],
                in_flight: 3,
                first_seen: Timestamp::from_unix_secs(2),
            },
            Candidate {
                id: &ids[3],
                in_flight: 7,
                first_seen: Timestamp::from_unix_secs(9),
            },
        ];
        let got = choose_victims(candidates.clone(), 3);
        assert_eq!(got, [ids[1].clone(), ids[0].clone(), ids[2].clone()]);
        assert!(choose_victims(candidates, 0).is_empty());
    }
}
