//! Tidegate: a load-balancing reverse proxy on Pingora with an autoscaler inside.
//!
//! Data flows one way: a TOML file becomes a validated [`tidegate_conf::Config`];
//! [`routing::Routing`] turns it into routes and pools of live
//! [`tidegate_balancer::Backend`]s; [`gateway::Gateway`] is the Pingora proxy logic
//! that routes each request, asks the pool's selector for a backend and keeps its
//! load state; [`server`] owns the listening sockets, worker threads and graceful
//! shutdown. [`backend_server`] is the small real HTTP backend behind
//! `tidegate backend`, and [`demo`] wires everything together on one machine.

#![forbid(unsafe_code)]

pub mod backend_server;
pub mod clock;
pub mod demo;
pub mod error;
pub mod gateway;
pub mod pool;
pub mod respond;
pub mod router;
pub mod routing;
pub mod server;

pub use error::StartError;
