//! Tidegate: a load-balancing reverse proxy on Pingora with an autoscaler inside.
//!
//! Data flows one way: a TOML file becomes a validated [`tidegate_conf::Config`];
//! [`plane::DataPlane`] turns it into a published [`routing::Routing`] of routes
//! and pools of live [`tidegate_balancer::Backend`]s and keeps their membership
//! and health ([`maintenance`], [`outlier`]); [`forward::Forwarder`] forwards plain
//! HTTP/1.1 requests to plain HTTP/1.1 pools on Tidegate's own path, and
//! [`gateway::Gateway`] is the Pingora proxy logic for every other request; both route
//! each request, ask the pool's selector for a backend and keep its load state
//! ([`request`] holds what they share); [`server`] owns the listening sockets, worker threads and graceful
//! shutdown. [`backend_server`] is the small real HTTP backend behind
//! `tidegate backend`, and [`demo`] wires everything together on one machine.

#![forbid(unsafe_code)]
// The admin context holds the forecaster, whose wgpu types nest deeply enough that
// proving it `Send + Sync` needs more than the default recursion limit.
#![recursion_limit = "256"]

pub mod admin;
pub mod autoscale;
pub mod backend_server;
pub mod clock;
pub mod demo;
pub mod downstream;
pub mod error;
pub mod forecast;
pub mod forward;
pub mod gateway;
pub mod maintenance;
pub mod member;
pub mod metrics;
pub mod outlier;
pub mod plane;
pub mod pool;
pub mod probe;
pub mod reload;
pub mod request;
pub mod respond;
pub mod router;
pub mod routing;
pub mod server;
pub mod simulate;
pub mod stats;
pub mod tls;
pub mod tls_client;

pub use error::StartError;
