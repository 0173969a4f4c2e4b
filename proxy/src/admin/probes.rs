//! What orchestrators and monitoring read: `/healthz` (the process answers),
//! `/readyz` (every pool can serve) and `/metrics` (Prometheus text).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::errors::{ApiError, ErrorBody};
use super::AdminContext;
use crate::plane::DataPlane;

/// The Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A probe that passed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProbeOk {
    /// `ok` for `/healthz`, `ready` for `/readyz`.
    #[schema(example = "ok")]
    pub status: String,
}

/// Why the proxy is not ready.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotReady {
    /// What is wrong.
    pub error: String,
    /// The pools with no usable backend.
    pub pools: Vec<String>,
}

/// Answers 200 while the process runs; needs no token.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "probes",
    responses((status = 200, description = "The process is up", body = ProbeOk)),
)]
pub async fn healthz() -> Json<ProbeOk> {
    Json(ProbeOk {
        status: "ok".to_string(),
    })
}

/// Answers 200 when every pool has a usable backend, else 503 naming the pools
/// that have none; needs no token.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "probes",
    responses(
        (status = 200, description = "Every pool has at least one usable backend", body = ProbeOk),
        (status = 503, description = "Some pools have no usable backend", body = NotReady),
    ),
)]
pub async fn readyz(State(context): State<Arc<AdminContext>>) -> Response {
    let unready = unready_pools(&context.plane);
    if unready.is_empty() {
        let ready = ProbeOk {
            status: "ready".to_string(),
        };
        return Json(ready).into_response();
    }
    let body = NotReady {
        error: format!("no usable backend in pool {}", unready.join(", ")),
        pools: unready,
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// Every metric in the Prometheus text format, gauges read at this instant.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "probes",
    responses(
        (status = 200, description = "Prometheus text exposition", body = String,
            content_type = "text/plain; version=0.0.4; charset=utf-8"),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 503, description = "No metrics recorder is installed", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn metrics(State(context): State<Arc<AdminContext>>) -> Result<Response, ApiError> {
    let handle = context.metrics.as_ref().ok_or(ApiError::MetricsDisabled)?;
    let text = crate::metrics::render(handle, &context.plane, &context.autoscaler);
    Ok(([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], text).into_response())
}

/// The pools in which no backend may take a new request.
fn unready_pools(plane: &DataPlane) -> Vec<String> {
    let routing = plane.routing().load();
    routing
        .pools()
        .iter()
        .filter(|pool| !pool.members().iter().any(|m| m.backend().is_usable()))
        .map(|pool| pool.name().to_string())
        .collect()
}
