//! `POST /api/v1/reload` and `GET /api/v1/config`: reload the configuration
//! file, and show the configuration in force with its secrets redacted.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::errors::{ApiError, ErrorBody};
use super::AdminContext;
use crate::reload::Reloaded;

/// What a reload changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadSummary {
    /// Pools that did not exist before.
    pub pools_added: Vec<String>,
    /// Pools that are gone.
    pub pools_removed: Vec<String>,
    /// Backends that joined, as `pool/address`.
    pub backends_added: Vec<String>,
    /// Backends no longer listed, now draining out, as `pool/address`.
    pub backends_draining: Vec<String>,
    /// Changed settings that only take effect after a restart.
    pub needs_restart: Vec<String>,
}

impl From<Reloaded> for ReloadSummary {
    fn from(reloaded: Reloaded) -> Self {
        let report = reloaded.report;
        Self {
            pools_added: report.pools_added,
            pools_removed: report.pools_removed,
            backends_added: report.backends_added,
            backends_draining: report.backends_draining,
            needs_restart: reloaded.needs_restart,
        }
    }
}

/// Reads, validates and applies the configuration file; an invalid file changes
/// nothing.
#[utoipa::path(
    post,
    path = "/api/v1/reload",
    tag = "control",
    responses(
        (status = 200, description = "The file was applied", body = ReloadSummary),
        (status = 400, description = "The file is invalid (FILE:LINE:COL: message hint: fix); the running configuration stays", body = ErrorBody),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 409, description = "The process was not started from a file", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn reload(
    State(context): State<Arc<AdminContext>>,
) -> Result<Json<ReloadSummary>, ApiError> {
    let reloader = Arc::clone(&context.reloader);
    // Reading and validating the file touch the disk: keep them off the runtime.
    let reloaded = tokio::task::spawn_blocking(move || reloader.reload())
        .await
        .map_err(|e| ApiError::Internal(format!("the reload task failed: {e}")))??;
    Ok(Json(reloaded.into()))
}

/// The configuration in force, as JSON; tokens show as `"***"`.
#[utoipa::path(
    get,
    path = "/api/v1/config",
    tag = "control",
    responses(
        (status = 200, description = "The effective configuration, defaults filled in, secrets redacted", body = Object),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
    ),
    security(("bearer" = [])),
)]
pub async fn config(State(context): State<Arc<AdminContext>>) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(&context.plane.config())
        .map_err(|e| ApiError::Internal(format!("cannot write the configuration: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
