//! Semantic validation: [`RawConfig`] in, [`Config`] out. Each submodule checks one
//! part of the file, fills in its defaults and reports the first problem at the
//! offending key or value. Cross-references (routes to pools, fallback regions to
//! backends) are resolved here, so the runtime types never hold a dangling name.

mod backend;
mod listener;
mod pool;
mod route;
mod server;
mod value;

use crate::raw::RawConfig;
use crate::source::Source;
use crate::{Config, ConfigError};

/// Checks `raw` and builds the runtime configuration from it.
pub(crate) fn config(raw: &RawConfig, source: &Source<'_>) -> Result<Config, ConfigError> {
    let server = server::server(raw.server.as_ref(), source)?;
    let listeners = listener::listeners(&raw.listener, source)?;
    let pools = pool::pools(&raw.pool, source)?;
    let routes = route::routes(&raw.route, &raw.pool, &pools, source)?;
    Ok(Config {
        server,
        listeners,
        routes,
        pools,
    })
}
