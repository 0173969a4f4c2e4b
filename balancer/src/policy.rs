//! The balancing policies a pool can be configured with, as plain data.
//!
//! A `Policy` says what to build; [`crate::Selector::new`] turns it into the runtime state
//! (cursors, precomputed sequences, region groups) that picks are made from.

/// How a pool chooses a backend for each request.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// In turn over the usable backends.
    RoundRobin,
    /// Smooth weighted round robin (nginx's sequence) on each backend's weight.
    Weighted,
    /// Power of two choices on requests in flight.
    LeastConn,
    /// Power of two choices on peak-EWMA time to first byte x (in flight + 1).
    PeakEwma,
    /// Prefer the request's region, spilling to `fallback` regions in order when it is saturated.
    RegionAffinity {
        /// Policy used inside a region; a nested `RegionAffinity` is treated as `LeastConn`.
        within: Box<Policy>,
        /// Regions to spill to, in order, after the request's own region.
        fallback: Vec<String>,
        /// A backend with this many requests in flight or more counts as saturated.
        spill_in_flight: u32,
    },
}
