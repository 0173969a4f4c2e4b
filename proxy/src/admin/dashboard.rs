//! The dashboard: one self-contained HTML page at `/` (and `/dashboard`) that
//! reads the JSON API from the browser every two seconds and shows each pool,
//! its backends and the scaler's latest decisions. The page carries no data,
//! so it is served without the token; its requests to the API send the token,
//! which it asks for once when the API answers 401.

use axum::http::header;
use axum::response::IntoResponse;

/// The page, compiled into the binary.
const PAGE: &str = include_str!("dashboard.html");

/// Serves the dashboard page.
#[utoipa::path(
    get,
    path = "/dashboard",
    tag = "probes",
    responses(
        (status = 200, description = "The dashboard, an HTML page reading this API", body = String,
            content_type = "text/html; charset=utf-8"),
    ),
)]
pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
}

/// Serves the dashboard page at the admin address's root.
#[utoipa::path(
    get,
    path = "/",
    tag = "probes",
    responses(
        (status = 200, description = "The dashboard, as at /dashboard", body = String,
            content_type = "text/html; charset=utf-8"),
    ),
)]
pub async fn root() -> impl IntoResponse {
    page().await
}
