//! Every admin API error is `{"error": "message"}` with the fitting status.
//!
//! Handlers return [`ApiError`]; answers axum makes itself (no route, method not
//! allowed, a path that does not decode) pass through [`as_json`], which rewrites
//! any error answer that is not JSON yet, keeping its status and headers (`Allow`).

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Response, StatusCode, Uri};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::plane::PlaneError;
use crate::reload::ReloadError;

/// Largest error body of axum's own that is kept as the message.
const MAX_PLAIN_MESSAGE: usize = 1024;

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, and where it helps, how to fix it.
    pub error: String,
}

/// Why an admin request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request itself is malformed: body, address or value.
    #[error("{0}")]
    BadRequest(String),
    /// Nothing by that name: a pool without a scaler or a forecast.
    #[error("{0}")]
    NotFound(String),
    /// A membership change the data plane refused.
    #[error(transparent)]
    Plane(#[from] PlaneError),
    /// A reload that did not happen.
    #[error(transparent)]
    Reload(#[from] ReloadError),
    /// No recorder is installed, so there is nothing to render.
    #[error("metrics are not enabled in this process")]
    MetricsDisabled,
    /// A failure inside the admin API.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The status code of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::Reload(ReloadError::Invalid(_)) => StatusCode::BAD_REQUEST,
            Self::NotFound(_)
            | Self::Plane(PlaneError::NoSuchPool(_) | PlaneError::NoSuchBackend { .. }) => {
                StatusCode::NOT_FOUND
            }
            Self::Plane(PlaneError::AlreadyMember { .. }) | Self::Reload(ReloadError::NoFile) => {
                StatusCode::CONFLICT
            }
            Self::MetricsDisabled => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        if let Self::Internal(_) = self {
            tracing::error!(error = %self, "admin request failed");
        }
        // Configuration errors span two lines (message, hint): keep JSON readers on one.
        let message = self.to_string().replace("\n  hint:", " hint:");
        json_error(self.status(), message)
    }
}

/// An error answer with `message`.
pub fn json_error(status: StatusCode, message: impl Into<String>) -> axum::response::Response {
    let body = ErrorBody {
        error: message.into(),
    };
    (status, axum::Json(body)).into_response()
}

/// The answer to a path no route matches.
pub async fn no_route(method: Method, uri: Uri) -> axum::response::Response {
    json_error(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {}", uri.path()),
    )
}

/// Rewrites an error answer that is not JSON into `{"error": ...}`, keeping the
/// status and headers; every other answer passes untouched.
pub async fn as_json(response: Response<Body>) -> Response<Body> {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_PLAIN_MESSAGE)
        .await
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .filter(|text| !text.is_empty());
    let message = text.unwrap_or_else(|| default_message(status));
    let body = serde_json::to_vec(&ErrorBody { error: message }).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

/// What an empty error answer says.
fn default_message(status: StatusCode) -> String {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed here; see Allow".to_string(),
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response<Body>) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn plain_error_answers_become_json_and_keep_their_headers() {
        let response = Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET,HEAD")
            .body(Body::empty())
            .unwrap();
        let response = as_json(response).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET,HEAD");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = body_of(response).await;
        assert!(body["error"].as_str().unwrap().contains("method"), "{body}");
    }

    #[tokio::test]
    async fn a_plain_message_is_kept() {
        let response = (StatusCode::BAD_REQUEST, "Invalid URL").into_response();
        let body = body_of(as_json(response).await).await;
        assert_eq!(body["error"], "Invalid URL");
    }

    #[tokio::test]
    async fn success_passes_untouched() {
        let response = (StatusCode::OK, "fine").into_response();
        let response = as_json(response).await;
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn errors_map_to_their_status() {
        let missing = ApiError::from(PlaneError::NoSuchPool("p".into()));
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            ApiError::from(ReloadError::NoFile).status(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            ApiError::BadRequest("x".into()).status(),
            StatusCode::BAD_REQUEST
        );
    }
}
