//! The human summary `tidegate check` prints: what will listen where (TLS and the
//! admin API included), which requests go to which pool, how each pool balances over
//! which backends, how it talks to them, and how it is health-checked and scaled.
//! Secrets are never shown.

use crate::{
    Config, HealthCheck, HealthProbe, Listener, PolicyKind, Pool, Route, ScalerSpec,
    UpstreamProtocol,
};

impl Config {
    /// A multi-line summary of the effective configuration.
    pub fn summary(&self) -> String {
        let server = &self.server;
        let access_log = if server.access_log {
            ", access log"
        } else {
            ""
        };
        let mut lines = vec![format!(
            "server: {} thread(s), grace period {}, {} logs{access_log}",
            server.threads,
            humantime::format_duration(server.grace_period),
            server.log_format
        )];
        if let Some(admin) = &self.admin {
            let token = if admin.token.is_some() {
                "bearer token required"
            } else {
                "no token"
            };
            lines.push(format!("admin: {} ({token})", admin.address));
        }
        lines.push("listeners:".to_owned());
        lines.extend(self.listeners.iter().flat_map(listener_lines));
        lines.push("routes:".to_owned());
        lines.extend(self.routes.iter().map(route_line));
        lines.push("pools:".to_owned());
        for pool in &self.pools {
            lines.extend(pool_lines(pool, self));
        }
        lines.join("\n")
    }
}

fn listener_lines(listener: &Listener) -> Vec<String> {
    let region = listener
        .region
        .as_deref()
        .map_or(String::new(), |region| format!(" (region {region})"));
    let mut lines = vec![format!(
        "  {} on {}{region}",
        listener.name, listener.address
    )];
    if let Some(tls) = &listener.tls {
        let certs: Vec<String> = tls
            .certs
            .iter()
            .map(|pair| pair.cert.display().to_string())
            .collect();
        lines.push(format!("    tls: {}", certs.join(", ")));
    }
    lines
}

fn route_line(route: &Route) -> String {
    let host = route
        .host
        .as_ref()
        .map_or("*".to_owned(), ToString::to_string);
    format!("  {host}{} -> {}", route.path_prefix, route.pool)
}

fn pool_lines(pool: &Pool, config: &Config) -> Vec<String> {
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
    if pool.protocol != UpstreamProtocol::Http1 || pool.tls {
        let tls = if pool.tls { " over TLS" } else { "" };
        lines.push(format!("    upstream: {}{tls}", pool.protocol));
    }
    if let Some(health) = &pool.health {
        lines.push(format!("    health: {}", health_line(health)));
    }
    if let Some(scaler) = &pool.scaler {
        lines.push(format!("    scaler: {}", scaler_line(scaler, config)));
    }
    lines
}

fn health_line(health: &HealthCheck) -> String {
    let probe = match &health.probe {
        HealthProbe::Http { path } => format!("GET {path}"),
        HealthProbe::Tcp => "TCP connect".to_owned(),
    };
    format!(
        "{probe} every {}, timeout {}",
        humantime::format_duration(health.interval),
        humantime::format_duration(health.timeout)
    )
}

fn scaler_line(scaler: &ScalerSpec, config: &Config) -> String {
    let kind = config
        .driver(&scaler.driver)
        .map_or(String::new(), |driver| format!(" ({})", driver.kind));
    let mut line = format!(
        "{}..{} instance(s) via driver {}{kind}, target {} in flight each",
        scaler.min, scaler.max, scaler.driver, scaler.target_in_flight
    );
    if scaler.predictive.as_ref().is_some_and(|p| p.enabled) {
        line.push_str(", predictive");
    }
    if let Some(budget) = scaler.cost.and_then(|cost| cost.budget_per_hour) {
        line.push_str(&format!(", budget {budget}/h"));
    }
    if !scaler.schedule.is_empty() {
        line.push_str(&format!(", {} schedule(s)", scaler.schedule.len()));
    }
    line
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
