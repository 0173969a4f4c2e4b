//! The pool's request-rate history, downsampled to the plan's step.
//!
//! Each tick adds one sample to the current step (aligned to the Unix epoch, so hourly
//! steps start on the hour); when a tick lands in a later step, the current one is closed
//! with the mean of its samples. Steps no tick landed in (a stalled loop) repeat the last
//! mean. At most `capacity` closed steps are kept, oldest dropped first.

use std::collections::VecDeque;

/// The step being filled: its index and the running sum of its samples.
#[derive(Clone, Copy, Debug)]
struct Open {
    index: u64,
    sum: f64,
    count: u32,
}

impl Open {
    fn mean(&self) -> f64 {
        self.sum / f64::from(self.count.max(1))
    }
}

/// Closed step means plus the open step.
#[derive(Debug)]
pub(crate) struct History {
    step_ms: u64,
    capacity: usize,
    closed: VecDeque<f32>,
    /// Step index of `closed[0]`.
    first: u64,
    open: Option<Open>,
}

impl History {
    /// An empty history of `capacity` steps of `step_ms` each.
    pub(crate) fn new(step_ms: u64, capacity: usize) -> Self {
        Self {
            step_ms: step_ms.max(1),
            capacity: capacity.max(1),
            closed: VecDeque::with_capacity(capacity.min(1 << 16)),
            first: 0,
            open: None,
        }
    }

    /// The step index an instant (milliseconds since the epoch) falls in.
    pub(crate) fn step_of(&self, unix_ms: u64) -> u64 {
        unix_ms / self.step_ms
    }

    /// Adds one sample taken at `unix_ms`; samples earlier than the open step are ignored.
    pub(crate) fn push(&mut self, unix_ms: u64, rate: f64) {
        if !rate.is_finite() {
            return;
        }
        let index = self.step_of(unix_ms);
        match &mut self.open {
            Some(open) if open.index == index => {
                open.sum += rate;
                open.count += 1;
            }
            Some(open) if open.index > index => {}
            _ => {
                if let Some(done) = self.open.take() {
                    let mean = done.mean() as f32;
                    let gap = (index - done.index).min(self.capacity as u64 + 1);
                    // The closed step, then a repeat for each step no tick landed in.
                    self.close(index - gap, mean, gap);
                }
                self.open = Some(Open {
                    index,
                    sum: rate,
                    count: 1,
                });
            }
        }
    }

    /// Appends `count` copies of `mean` as steps `first_index..first_index + count`.
    fn close(&mut self, first_index: u64, mean: f32, count: u64) {
        for _ in 0..count {
            self.closed.push_back(mean);
        }
        while self.closed.len() > self.capacity {
            self.closed.pop_front();
        }
        // The kept steps always end just before the new open step.
        self.first = first_index + count - self.closed.len() as u64;
    }

    /// Closed step means, oldest first.
    pub(crate) fn closed(&self) -> &VecDeque<f32> {
        &self.closed
    }

    /// Number of closed steps kept.
    pub(crate) fn len(&self) -> usize {
        self.closed.len()
    }

    /// Index of the step after the last closed one (the open step, once there is one).
    pub(crate) fn next_index(&self) -> u64 {
        self.first + self.closed.len() as u64
    }

    /// The mean of closed step `index`, if it is still kept.
    pub(crate) fn get(&self, index: u64) -> Option<f32> {
        let offset = usize::try_from(index.checked_sub(self.first)?).ok()?;
        self.closed.get(offset).copied()
    }

    /// The open step's index and the mean of its samples so far.
    pub(crate) fn open(&self) -> Option<(u64, f64)> {
        self.open.map(|o| (o.index, o.mean()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_ticks_per_step_and_fills_gaps() {
        let mut h = History::new(1_000, 3);
        h.push(0, 1.0);
        h.push(500, 3.0);
        assert_eq!(h.len(), 0);
        assert_eq!(h.open(), Some((0, 2.0)));
        h.push(1_200, 10.0);
        assert_eq!(h.closed().iter().copied().collect::<Vec<_>>(), [2.0]);
        // Steps 2 and 3 had no tick: they repeat step 1's mean.
        h.push(4_000, 7.0);
        assert_eq!(
            h.closed().iter().copied().collect::<Vec<_>>(),
            [10.0, 10.0, 10.0]
        );
        assert_eq!(h.next_index(), 4);
        assert_eq!(h.get(1), Some(10.0));
        assert_eq!(h.get(0), None);
        // A sample from the past is ignored.
        h.push(3_500, 100.0);
        assert_eq!(h.open(), Some((4, 7.0)));
        // A gap far longer than the capacity keeps only the last steps before the open one.
        h.push(100_000, 1.0);
        assert_eq!(h.len(), 3);
        assert_eq!(h.next_index(), 100);
        assert_eq!(h.get(99), Some(7.0));
    }
}
