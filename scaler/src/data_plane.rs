//! What the control loop asks of the proxy's data plane when instances join and leave.
//!
//! New instances are announced with [`DataPlane::add_backend`]; the proxy health-checks
//! them and reports them ready through [`crate::SignalSource`] once they pass. A
//! scale-down victim is [`DataPlane::drain`]ed, polled with [`DataPlane::is_drained`],
//! and after the driver removed it, forgotten with [`DataPlane::remove_backend`].

use std::fmt;
use std::net::SocketAddr;

/// The proxy's pool membership, as the control loop changes it; the proxy implements it.
pub trait DataPlane: Send + Sync + fmt::Debug {
    /// Adds a backend (pending its health check), or takes a draining one back into service.
    fn add_backend(&self, pool: &str, address: SocketAddr, region: Option<&str>);

    /// Stops sending new requests to the backend; requests in flight finish.
    fn drain(&self, pool: &str, address: SocketAddr);

    /// Whether a draining backend has no request left in flight.
    fn is_drained(&self, pool: &str, address: SocketAddr) -> bool;

    /// Forgets the backend (its instance is gone).
    fn remove_backend(&self, pool: &str, address: SocketAddr);
}
