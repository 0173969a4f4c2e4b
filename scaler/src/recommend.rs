//! Recommendations: how many instances one source of advice asks for.
//!
//! The reactive policy, the schedules and every extra [`Recommender`] (the predictive
//! policy, when it arrives) each produce a [`Recommendation`]; the decision takes their
//! maximum and records all of them in the audit event.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use crate::signals::Signals;
use crate::time::Timestamp;

/// One source's advice: run this many instances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recommendation {
    /// Who advises, e.g. `reactive`, `panic`, `schedule`, `predictive`.
    pub source: Cow<'static, str>,
    /// How many instances it asks for.
    pub instances: u32,
}

impl Recommendation {
    /// Advice from `source` to run `instances` instances.
    pub fn new(source: impl Into<Cow<'static, str>>, instances: u32) -> Self {
        Self {
            source: source.into(),
            instances,
        }
    }
}

/// An extra source of recommendations that the control loop combines with max().
pub trait Recommender: Send + Sync + fmt::Debug {
    /// Advice for `pool` at `now` given this tick's signals, or `None` to abstain.
    fn recommend(&self, pool: &str, signals: &Signals, now: Timestamp) -> Option<Recommendation>;
}
