//! The human summary `tidegate check` prints: what will listen where, which requests
//! go to which pool, and how each pool balances over which backends.

use crate::{Config, PolicyKind, Pool, Route};

impl Config {
    /// A multi-line summary of the effective configuration.
    pub fn summary(&self) -> String {
        let server = &self.server;
        let mut lines = vec![format!(
            "server: {} thread(s), grace period {}, {} logs",
            server.threads,
            humantime::format_duration(server.grace_period),
            server.log_format
        )];
        lines.push("listeners:".to_owned());
        for listener in &self.listeners {
            let region = listener
                .region
                .as_deref()
                .map_or(String::new(), |region| format!(" (region {region})"));
            lines.push(format!(
                "  {} on {}{region}",
                listener.name, listener.address
            ));
        }
        lines.push("routes:".to_owned());
        lines.extend(self.routes.iter().map(route_line));
        lines.push("pools:".to_owned());
        for pool in &self.pools {
            lines.extend(pool_lines(pool));
        }
        lines.join("\n")
    }
}

fn route_line(route: &Route) -> String {
    let host = route
        .host
        .as_ref()
        .map_or("*".to_owned(), ToString::to_string);
    format!("  {host}{} -> {}", route.path_prefix, route.pool)
}

fn pool_lines(pool: &Pool) -> Vec<String> {
    let policy = if pool.policy == PolicyKind::RegionAffinity {
        let fallback = if pool.fallback.is_empty() {
            "none".to_owned()
        } else {
            pool.fallback.join(", ")
        };
        format!(
            "region_affinity (within {}, fallback {fallback})",
            pool.within
        )
    } else {
        pool.policy.to_string()
    };
    let mut lines = vec![format!(
        "  {}: {policy}, {} backend(s)",
        pool.name,
        pool.backends.len()
    )];
    lines.extend(
        backends_per_region(pool)
            .into_iter()
            .map(|(region, count)| format!("    {region}: {count}")),
    );
    lines
}

/// Backend counts per region, regions in order of first appearance.
fn backends_per_region(pool: &Pool) -> Vec<(&str, usize)> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for backend in &pool.backends {
        let region = backend.region.as_deref().unwrap_or("no region");
        match counts.iter_mut().find(|(seen, _)| *seen == region) {
            Some((_, count)) => *count += 1,
            None => counts.push((region, 1)),
        }
    }
    counts
}
