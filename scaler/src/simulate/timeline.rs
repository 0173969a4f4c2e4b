//! The simulator's timeline: per-tick values averaged into one point per bucket.
//!
//! A bucket is one trace row (or one tick, when ticks are longer than rows), so a year
//! of hourly data at 10 s ticks yields 8,760 points, not 3 million.

use serde::Serialize;

/// One bucket of the timeline, averaged over its ticks.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TimelinePoint {
    /// Seconds since the trace's start.
    pub time_s: f64,
    /// Requests per second arriving.
    pub demand_rps: f64,
    /// Requests per second the ready instances can serve.
    pub ready_capacity_rps: f64,
    /// Instances running (pending included).
    pub instances: f64,
    /// Requests per second not served.
    pub unserved_rps: f64,
}

/// Accumulates ticks into buckets.
#[derive(Debug)]
pub(crate) struct TimelineBuilder {
    bucket_ms: u64,
    current: Option<u64>,
    weight: f64,
    sum: TimelinePoint,
    points: Vec<TimelinePoint>,
}

impl TimelineBuilder {
    pub(crate) fn new(bucket_ms: u64, expected_points: usize) -> Self {
        Self {
            bucket_ms: bucket_ms.max(1),
            current: None,
            weight: 0.0,
            sum: zero(0.0),
            points: Vec::with_capacity(expected_points),
        }
    }

    /// Adds a tick starting at `t_ms` lasting `dt_s` seconds.
    pub(crate) fn add(&mut self, t_ms: u64, dt_s: f64, tick: TimelinePoint) {
        let bucket = t_ms / self.bucket_ms;
        if self.current != Some(bucket) {
            self.flush();
            self.current = Some(bucket);
            self.sum = zero((bucket * self.bucket_ms) as f64 / 1000.0);
        }
        self.weight += dt_s;
        self.sum.demand_rps += tick.demand_rps * dt_s;
        self.sum.ready_capacity_rps += tick.ready_capacity_rps * dt_s;
        self.sum.instances += tick.instances * dt_s;
        self.sum.unserved_rps += tick.unserved_rps * dt_s;
    }

    fn flush(&mut self) {
        if self.weight > 0.0 {
            let w = self.weight;
            self.points.push(TimelinePoint {
                time_s: self.sum.time_s,
                demand_rps: self.sum.demand_rps / w,
                ready_capacity_rps: self.sum.ready_capacity_rps / w,
                instances: self.sum.instances / w,
                unserved_rps: self.sum.unserved_rps / w,
            });
        }
        self.weight = 0.0;
    }

    pub(crate) fn finish(mut self) -> Vec<TimelinePoint> {
        self.flush();
        self.points
    }
}

fn zero(time_s: f64) -> TimelinePoint {
    TimelinePoint {
        time_s,
        demand_rps: 0.0,
        ready_capacity_rps: 0.0,
        instances: 0.0,
        unserved_rps: 0.0,
    }
}
