//! The simulated driver: instances that become ready `lead_time` after launch.
//!
//! Launch order is ready order (the lead time is constant), so the fleet is a deque of
//! ready times with a cursor marking how many are ready: O(1) amortized per tick.
//! Scale-down removes the newest instance first, which is also the loop's victim rule
//! (pending ones are idle; ready ones share the load evenly, so the newest goes).
//! Draining is instantaneous: it takes one service time, far below a tick.

use std::collections::VecDeque;

/// Simulated instances, oldest first.
#[derive(Debug)]
pub(crate) struct Fleet {
    ready_at_ms: VecDeque<u64>,
    ready: usize,
}

impl Fleet {
    /// `initial` instances, ready from the start (a warm pool).
    pub(crate) fn new(initial: u32) -> Self {
        let ready_at_ms: VecDeque<u64> = (0..initial).map(|_| 0).collect();
        Self {
            ready: ready_at_ms.len(),
            ready_at_ms,
        }
    }

    /// Marks the instances whose lead time has passed at `now_ms` as ready.
    pub(crate) fn advance(&mut self, now_ms: u64) {
        while self
            .ready_at_ms
            .get(self.ready)
            .is_some_and(|&t| t <= now_ms)
        {
            self.ready += 1;
        }
    }

    /// Launches (ready at `ready_at_ms`) or removes instances until there are `target`.
    pub(crate) fn scale_to(&mut self, target: u32, ready_at_ms: u64) {
        let target = usize::try_from(target).unwrap_or(usize::MAX);
        while self.ready_at_ms.len() < target {
            self.ready_at_ms.push_back(ready_at_ms);
        }
        self.ready_at_ms.truncate(target);
        self.ready = self.ready.min(self.ready_at_ms.len());
    }

    /// Instances taking traffic.
    pub(crate) fn ready(&self) -> u32 {
        u32::try_from(self.ready).unwrap_or(u32::MAX)
    }

    /// Every instance, pending included.
    pub(crate) fn len(&self) -> u32 {
        u32::try_from(self.ready_at_ms.len()).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_become_ready_after_the_lead_time_and_newest_leave_first() {
        let mut fleet = Fleet::new(2);
        fleet.scale_to(4, 30_000);
        fleet.advance(29_999);
        assert_eq!((fleet.ready(), fleet.len()), (2, 4));
        fleet.advance(30_000);
        assert_eq!(fleet.ready(), 4);
        fleet.scale_to(6, 60_000);
        fleet.scale_to(3, 60_000);
        assert_eq!((fleet.ready(), fleet.len()), (3, 3));
    }
}
