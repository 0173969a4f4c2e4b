//! Semantic validation: [`RawConfig`] in, [`Config`] out. Each submodule checks one
//! part of the file, fills in its defaults and reports the first problem at the
//! offending key or value. Cross-references (routes to pools, scalers to drivers,
//! fallback regions to backends) are resolved here, so the runtime types never hold a
//! dangling name. Relative file paths are joined to `base_dir`.

mod admin;
mod backend;
mod driver;
mod forecast;
mod health;
mod listener;
mod pool;
mod predictive;
mod route;
mod scaler;
mod schedule;
mod server;
mod simulate;
mod tls;
mod upstream;
mod value;

use std::path::Path;

use crate::raw::RawConfig;
use crate::source::Source;
use crate::{Config, ConfigError};

/// Checks `raw` and builds the runtime configuration from it.
pub(crate) fn config(
    raw: &RawConfig,
    source: &Source<'_>,
    base_dir: &Path,
) -> Result<Config, ConfigError> {
    let server = server::server(raw.server.as_ref(), source)?;
    let listeners = listener::listeners(&raw.listener, base_dir, source)?;
    let admin = admin::admin(raw.admin.as_ref(), &listeners, source)?;
    let drivers = driver::drivers(&raw.driver, source)?;
    let pools = pool::pools(&raw.pool, &drivers, base_dir, source)?;
    let routes = route::routes(&raw.route, &raw.pool, &pools, source)?;
    Ok(Config {
        server,
        admin,
        listeners,
        routes,
        pools,
        drivers,
        forecast: forecast::forecast(raw.forecast.as_ref(), source)?,
        simulate: simulate::simulate(raw.simulate.as_ref(), source)?,
    })
}
