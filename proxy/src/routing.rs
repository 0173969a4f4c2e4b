//! The routing snapshot: the router plus the pools it points at.
//!
//! One [`Routing`] is built from a validated configuration and published through
//! an `ArcSwap`; each request loads the current snapshot once, without a lock.

use std::sync::Arc;

use tidegate_conf::Config;

use crate::pool::Pool;
use crate::router::Router;

/// Routes and pools of one configuration.
#[derive(Debug)]
pub struct Routing {
    router: Router,
    pools: Vec<Arc<Pool>>,
}

impl Routing {
    /// Builds the snapshot for `config`.
    pub fn new(config: &Config) -> Self {
        let pools: Vec<Arc<Pool>> = config
            .pools
            .iter()
            .map(|p| Arc::new(Pool::from_config(p)))
            .collect();
        let routes = config.routes.iter().filter_map(|route| {
            let index = config.pools.iter().position(|p| p.name == route.pool)?;
            Some((route, index))
        });
        Self {
            router: Router::new(routes),
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
}
