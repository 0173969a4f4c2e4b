//! `[[route]]`: valid host patterns and path prefixes, pools that exist, no two
//! routes for the same host and prefix; and the catch-all route of a one-pool file.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use crate::raw::{RawPools, RawRoute};
use crate::source::Source;
use crate::{ConfigError, HostMatch, Pool, Route};

/// The routes in file order, or the implicit catch-all when the file has none.
pub(super) fn routes(
    raw: &[Spanned<RawRoute>],
    raw_pools: &RawPools,
    pools: &[Pool],
    source: &Source<'_>,
) -> Result<Vec<Route>, ConfigError> {
    if raw.is_empty() {
        return implicit_route(raw_pools, pools, source);
    }
    let mut seen: HashMap<(Option<HostMatch>, String), Range<usize>> = HashMap::new();
    let mut routes = Vec::with_capacity(raw.len());
    for entry in raw {
        let route = route(entry.get_ref(), pools, source)?;
        let key = (route.host.clone(), route.path_prefix.clone());
        if let Some(first) = seen.get(&key) {
            let (line, _) = source.line_col(first.start);
            let host = route
                .host
                .as_ref()
                .map_or("any host".to_owned(), |host| format!("host \"{host}\""));
            return Err(source.error(
                entry.span(),
                format!(
                    "a route for {host} and path_prefix \"{}\" is already defined at line {line}",
                    route.path_prefix
                ),
                "remove one of the two routes, or change its host or path_prefix",
            ));
        }
        seen.insert(key, entry.span());
        routes.push(route);
    }
    Ok(routes)
}

fn route(raw: &RawRoute, pools: &[Pool], source: &Source<'_>) -> Result<Route, ConfigError> {
    let host = raw
        .host
        .as_ref()
        .map(|host| {
            HostMatch::parse(host.get_ref()).map_err(|problem| {
                source.error(
                    host.span(),
                    format!("host \"{}\" {problem}", host.get_ref()),
                    "write an exact host like \"api.example.com\" or a wildcard like \"*.example.com\", without port or path",
                )
            })
        })
        .transpose()?;
    let path_prefix = match &raw.path_prefix {
        Some(prefix) if !prefix.get_ref().starts_with('/') => {
            return Err(source.error(
                prefix.span(),
                format!(
                    "path_prefix \"{}\" does not start with '/'",
                    prefix.get_ref()
                ),
                format!("write it as \"/{}\"", prefix.get_ref()),
            ));
        }
        Some(prefix) => prefix.get_ref().clone(),
        None => "/".to_owned(),
    };
    let pool = raw.pool.get_ref();
    if !pools.iter().any(|defined| &defined.name == pool) {
        let hint = if pools.is_empty() {
            format!("no pools are defined; add a [pool.{pool}] table with backends")
        } else {
            let names: Vec<&str> = pools.iter().map(|defined| defined.name.as_str()).collect();
            format!("defined pools: {}", names.join(", "))
        };
        return Err(source.error(
            raw.pool.span(),
            format!("route sends requests to pool \"{pool}\", which is not defined"),
            hint,
        ));
    }
    Ok(Route {
        host,
        path_prefix,
        pool: pool.clone(),
    })
}

/// Without `[[route]]`s, a single pool gets every request; more pools are ambiguous.
fn implicit_route(
    raw_pools: &RawPools,
    pools: &[Pool],
    source: &Source<'_>,
) -> Result<Vec<Route>, ConfigError> {
    match (pools, raw_pools.0.get(1)) {
        ([only], _) => Ok(vec![Route {
            host: None,
            path_prefix: "/".to_owned(),
            pool: only.name.clone(),
        }]),
        ([], _) => Err(source.error(
            0..0,
            "no [pool.NAME] is defined, so there is nowhere to send requests",
            "add a [pool.NAME] table with backends = [\"127.0.0.1:9001\"]",
        )),
        (_, second) => Err(source.error(
            second.map_or(0..0, |(name, _)| name.span()),
            format!(
                "{} pools are defined but no [[route]] says which requests go to which",
                pools.len()
            ),
            "add [[route]] tables with pool = \"...\" (a file with a single pool and no routes sends everything to it)",
        )),
    }
}
