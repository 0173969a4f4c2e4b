//! The admin API: JSON under `/api/v1`, Prometheus text at `/metrics`, and the
//! `/healthz` and `/readyz` probes, served by axum on the control runtime so it
//! never shares a thread with the data plane's workers.
//!
//! A request passes two layers before its handler: [`errors`] turns every error
//! answer (axum's own 404, 405 and extractor rejections included) into
//! `{"error": "..."}`, and [`auth`] checks the bearer token when one is
//! configured. Handlers read the published routing snapshot and the members'
//! atomics ([`pools`], [`views`]), change membership through
//! [`DataPlane`](crate::plane::DataPlane) ([`backends`]), reload through the
//! [`Reloader`] ([`control`]), steer the autoscaler and read its audit trail and
//! forecasts ([`scaler`]), and [`openapi`] describes all of it.

mod address;
mod auth;
mod backends;
mod control;
mod dashboard;
mod errors;
mod openapi;
mod pools;
mod probes;
mod scaler;
mod views;

use std::future::Future;
use std::sync::Arc;

use axum::routing::{delete, get, post};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::autoscale::Autoscaler;
use crate::plane::DataPlane;
use crate::reload::Reloader;

/// What the admin API reads and steers.
#[derive(Debug)]
pub struct AdminContext {
    /// The data plane.
    pub plane: Arc<DataPlane>,
    /// Reloads the configuration file.
    pub reloader: Arc<Reloader>,
    /// The control loops of the scaled pools.
    pub autoscaler: Arc<Autoscaler>,
    /// Renders `/metrics`; `None` when no recorder is installed.
    pub metrics: Option<PrometheusHandle>,
    /// The bearer token every route but `/healthz` and `/readyz` requires.
    pub token: Option<String>,
}

/// Serves the admin API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    context: Arc<AdminContext>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let app = router(context);
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "the admin API stopped");
    }
}

/// Every route of the admin API, behind the error and token layers.
fn router(context: Arc<AdminContext>) -> Router {
    Router::new()
        .route("/", get(dashboard::root))
        .route("/dashboard", get(dashboard::page))
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics))
        .route("/api/v1/openapi.json", get(openapi::spec))
        .route("/api/v1/pools", get(pools::list))
        .route("/api/v1/pools/{pool}", get(pools::show))
        .route("/api/v1/pools/{pool}/backends", post(backends::add))
        .route(
            "/api/v1/pools/{pool}/backends/{address}",
            delete(backends::remove),
        )
        .route(
            "/api/v1/pools/{pool}/scaler",
            get(scaler::show).put(scaler::update),
        )
        .route("/api/v1/pools/{pool}/forecast", get(scaler::forecast))
        .route("/api/v1/scaler/events", get(scaler::events))
        .route("/api/v1/reload", post(control::reload))
        .route("/api/v1/config", get(control::config))
        .fallback(errors::no_route)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&context),
            auth::require_token,
        ))
        .layer(axum::middleware::map_response(errors::as_json))
        .with_state(context)
}

#[cfg(test)]
mod tests;
