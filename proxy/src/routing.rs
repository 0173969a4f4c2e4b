//! The routing snapshot: the router plus the pools it points at.
//!
//! One [`Routing`] is built by [`crate::plane::DataPlane`] and published through
//! an `ArcSwap`; each request loads the current snapshot once, without a lock.

use std::sync::Arc;

use tidegate_conf::Route;

use crate::pool::Pool;
use crate::router::Router;

/// Routes and pools of one configuration and membership.
#[derive(Debug)]
pub struct Routing {
    router: Router,
    pools: Vec<Arc<Pool>>,
}

impl Routing {
    /// Routes `routes` to `pools` by pool name; routes naming no pool are dropped.
    pub fn new(routes: &[Route], pools: Vec<Arc<Pool>>) -> Self {
        let targets = routes.iter().filter_map(|route| {
            let index = pools.iter().position(|p| p.name() == route.pool)?;
            Some((route, index))
        });
        Self {
            router: Router::new(targets),
            pools,
        }
    }

    /// The pool serving a request to `host` and `path`.
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<&Arc<Pool>> {
        self.router
            .find(host, path)
            .and_then(|index| self.pools.get(index))
    }

    /// Every pool, in configuration order.
    pub fn pools(&self) -> &[Arc<Pool>] {
        &self.pools
    }

    /// The pool named `name`.
    pub fn pool(&self, name: &str) -> Option<&Arc<Pool>> {
        self.pools.iter().find(|p| p.name() == name)
    }
}
