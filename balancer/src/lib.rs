//! Backend selection for Tidegate: per-backend load state and the balancing policies.
//!
//! Data flows one way. The proxy builds a [`Selector`] from a [`Policy`] and a snapshot of
//! [`Backend`]s off the request path and publishes it; each request then calls
//! [`Selector::pick`] with a [`PickRequest`] (its clock reading, region and already-tried
//! backends) and its own random source. Policies are pure: they read the backends' live
//! atomics (in-flight, peak-EWMA, health) and return a choice; they never block, lock,
//! read a clock or do I/O. The caller holds the returned backend's [`InFlightGuard`] for
//! the request and reports time to first byte with [`Backend::observe_rtt`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backend;
mod ewma;
mod p2c;
mod policy;
mod region;
mod round_robin;
mod select;
mod selector;
mod slow_start;
mod weighted;

pub use backend::{Backend, InFlightGuard};
pub use ewma::EwmaConfig;
pub use policy::Policy;
pub use selector::{PickRequest, Selector};

/// Monotonic nanoseconds from an origin the caller chooses (the proxy: process start; tests: 0).
pub type Nanos = u64;
