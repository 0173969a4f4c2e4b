//! `[simulate]`: the model of an instance that `tidegate simulate` drives the scaler
//! against in virtual time. The proxy never reads it.

use std::time::Duration;

use serde::Serialize;

/// `[simulate]`: parameters of the scaling simulator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Simulate {
    /// Requests per second one ready instance serves; default 50, greater than 0.
    pub instance_capacity_rps: f64,
    /// Time one request takes, so in-flight = served rate x service time; default 200 ms.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub service_time: Duration,
    /// Virtual time per control-loop tick; default 10 s.
    #[serde(serialize_with = "crate::serialize::duration")]
    pub tick: Duration,
}

impl Default for Simulate {
    fn default() -> Self {
        Self {
            instance_capacity_rps: 50.0,
            service_time: Duration::from_millis(200),
            tick: Duration::from_secs(10),
        }
    }
}
