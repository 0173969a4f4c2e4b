//! Prometheus metrics, through the `metrics` facade.
//!
//! Handles are registered when a pool or member is built, so the request path
//! only increments counters and records into a histogram: no label is formatted
//! and no map is searched per request. Gauges (in flight, health, EWMA, pool
//! instances) are read from the data plane's atomics when `/metrics` is scraped.
//! Names and labels are the contract of DESIGN.md.

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics::{Counter, Histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::autoscale::Autoscaler;
use crate::plane::DataPlane;

/// Upper bounds of the request duration histogram's buckets, in seconds.
const DURATION_BUCKETS: [f64; 16] = [
    0.000_25, 0.0005, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0,
];

/// Status classes in label form, 1xx to 5xx.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Installs the Prometheus recorder; call before building the data plane.
pub fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("tidegate_request_duration_seconds".into()),
            &DURATION_BUCKETS,
        )
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())?;
    describe();
    // Both reload series exist from the start at 0, so that `increase()` and
    // alerts on failures see the first reload rather than a series appearing.
    for ok in [true, false] {
        reload_counter(ok).absolute(0);
    }
    Ok(handle)
}

fn describe() {
    describe_counter!(
        "tidegate_requests_total",
        "Requests answered, by pool, backend and status class"
    );
    describe_histogram!(
        "tidegate_request_duration_seconds",
        Unit::Seconds,
        "Time from request headers to the end of the response, by pool"
    );
    describe_gauge!(
        "tidegate_backend_in_flight",
        "Requests in flight to a backend"
    );
    describe_gauge!(
        "tidegate_backend_healthy",
        "1 when a backend takes traffic, 0 when it is failing checks or ejected"
    );
    describe_gauge!(
        "tidegate_backend_ewma_seconds",
        Unit::Seconds,
        "Peak-EWMA time to first byte of a backend"
    );
    describe_gauge!(
        "tidegate_pool_instances",
        "Backends of a pool by state: ready, pending, draining"
    );
    describe_gauge!(
        "tidegate_pool_panic",
        "1 when fewer than half a pool's backends are usable"
    );
    describe_counter!(
        "tidegate_config_reloads_total",
        "Configuration reloads by result"
    );
    describe_gauge!(
        "tidegate_scaler_desired_instances",
        "Instances the autoscaler wants for a pool"
    );
    describe_counter!(
        "tidegate_scaler_decisions_total",
        "Autoscaler decisions by pool and direction: up, down, none"
    );
    describe_gauge!(
        "tidegate_cost_per_hour",
        "What a scaled pool's instances cost per hour, in the cost model's currency"
    );
    describe_counter!(
        "tidegate_driver_errors_total",
        "Failed calls to a scaler driver"
    );
    describe_gauge!(
        "tidegate_forecast_requests_per_second",
        "Forecast demand of a pool at now + lead_time, upper quantile"
    );
}

/// The `tidegate_requests_total` handles of one backend, by status class.
pub fn status_counters(pool: &str, backend: &str) -> [Counter; 5] {
    CLASSES.map(|class| {
        counter!(
            "tidegate_requests_total",
            "pool" => pool.to_string(),
            "backend" => backend.to_string(),
            "status_class" => class
        )
    })
}

/// Counts `status` on the matching class handle.
pub fn count_status(counters: &[Counter; 5], status: u16) {
    let class = usize::from((status / 100).clamp(1, 5)) - 1;
    counters[class].increment(1);
}

/// The `tidegate_request_duration_seconds` handle of a pool.
pub fn duration_histogram(pool: &str) -> Histogram {
    histogram!("tidegate_request_duration_seconds", "pool" => pool.to_string())
}

/// Counts a configuration reload.
pub fn count_reload(ok: bool) {
    reload_counter(ok).increment(1);
}

fn reload_counter(ok: bool) -> Counter {
    counter!("tidegate_config_reloads_total", "result" => if ok { "success" } else { "failure" })
}

/// The Prometheus text exposition, with gauges refreshed from `plane` and the
/// scaler's figures from `autoscaler`.
pub fn render(handle: &PrometheusHandle, plane: &DataPlane, autoscaler: &Autoscaler) -> String {
    let now = plane.clock().now();
    let routing = plane.routing().load();
    for pool in routing.pools() {
        let name = pool.name().to_string();
        let (mut ready, mut pending, mut draining) = (0u32, 0u32, 0u32);
        for member in plane.members(&name) {
            let backend = member.backend();
            let labels = [
                ("pool", name.clone()),
                ("backend", member.addr().to_string()),
            ];
            gauge!("tidegate_backend_in_flight", &labels).set(f64::from(backend.in_flight()));
            gauge!("tidegate_backend_healthy", &labels).set(if backend.is_usable() {
                1.0
            } else {
                0.0
            });
            gauge!("tidegate_backend_ewma_seconds", &labels).set(backend.rtt_estimate(now) / 1e9);
            if member.draining_since().is_some() {
                draining += 1;
            } else if member.is_pending() {
                pending += 1;
            } else {
                ready += 1;
            }
        }
        for (state, count) in [
            ("ready", ready),
            ("pending", pending),
            ("draining", draining),
        ] {
            gauge!("tidegate_pool_instances", "pool" => name.clone(), "state" => state)
                .set(f64::from(count));
        }
        gauge!("tidegate_pool_panic", "pool" => name.clone()).set(if pool.state().in_panic() {
            1.0
        } else {
            0.0
        });
    }
    scaler_figures(autoscaler);
    handle.render()
}

/// Copies the autoscaler's counters and gauges into the registry.
fn scaler_figures(autoscaler: &Autoscaler) {
    let snapshot = autoscaler.metrics().snapshot();
    for (name, pool) in autoscaler.pools() {
        let counters = snapshot.pools.get(name).cloned().unwrap_or_default();
        let pool_label = name.to_string();
        gauge!("tidegate_scaler_desired_instances", "pool" => pool_label.clone())
            .set(f64::from(counters.desired));
        gauge!("tidegate_cost_per_hour", "pool" => pool_label.clone()).set(counters.cost_per_hour);
        for (direction, count) in [
            ("up", counters.decisions_up),
            ("down", counters.decisions_down),
            ("none", counters.decisions_none),
        ] {
            counter!("tidegate_scaler_decisions_total", "pool" => pool_label.clone(), "direction" => direction)
                .absolute(count);
        }
        if let Some(forecast) = pool.forecast.as_ref() {
            // NaN until the first fit: the series is there from the start for
            // every pool that forecasts, and says it has no value yet.
            let rps = forecast.forecast_rps().unwrap_or(f64::NAN);
            gauge!("tidegate_forecast_requests_per_second", "pool" => pool_label).set(rps);
        }
    }
    for driver in autoscaler.driver_names() {
        let errors = snapshot.driver_errors.get(driver).copied().unwrap_or(0);
        counter!("tidegate_driver_errors_total", "driver" => driver.to_string()).absolute(errors);
    }
}
