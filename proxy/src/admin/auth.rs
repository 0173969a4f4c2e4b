//! The bearer token: when `[admin] token` is set, every route but the probes
//! (`/healthz`, `/readyz`) and the dashboard's page (which holds no data)
//! needs `Authorization: Bearer <token>`, compared in constant time so the
//! answer's timing says nothing about how much matched.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::errors::json_error;
use super::AdminContext;

/// Routes load balancers and orchestrators probe without credentials, and the
/// dashboard's page, whose data comes from the token-guarded API.
const OPEN_PATHS: [&str; 4] = ["/healthz", "/readyz", "/", "/dashboard"];

/// The `WWW-Authenticate` challenge of a 401.
const CHALLENGE: &str = "Bearer realm=\"tidegate\"";

/// Lets a request through when no token is configured, it goes to a probe, or it
/// carries the token; answers 401 otherwise.
pub async fn require_token(
    State(context): State<Arc<AdminContext>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = context.token.as_deref() else {
        return next.run(request).await;
    };
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(bearer);
    match presented {
        Some(presented) if matches(presented, token) => next.run(request).await,
        _ => {
            let mut response = json_error(
                StatusCode::UNAUTHORIZED,
                "this route needs the admin token: send Authorization: Bearer <token>",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(CHALLENGE),
            );
            response
        }
    }
}

/// The credentials of a `Bearer` authorization header (the scheme is case-insensitive).
fn bearer(value: &HeaderValue) -> Option<&[u8]> {
    let value = value.as_bytes();
    let scheme = value.get(..7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let credentials = value.get(7..)?.trim_ascii();
    (!credentials.is_empty()).then_some(credentials)
}

/// Whether `presented` is `token`, in time that depends only on their lengths.
fn matches(presented: &[u8], token: &str) -> bool {
    presented.ct_eq(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_needs_credentials() {
        let value = |v: &'static str| HeaderValue::from_static(v);
        assert_eq!(bearer(&value("Bearer s3cret")), Some(&b"s3cret"[..]));
        assert_eq!(bearer(&value("bearer  s3cret ")), Some(&b"s3cret"[..]));
        assert_eq!(bearer(&value("Basic czNjcmV0")), None);
        assert_eq!(bearer(&value("Bearer ")), None);
        assert_eq!(bearer(&value("Bear")), None);
    }

    #[test]
    fn only_the_exact_token_matches() {
        assert!(matches(b"s3cret", "s3cret"));
        assert!(!matches(b"s3cre", "s3cret"));
        assert!(!matches(b"s3cret!", "s3cret"));
        assert!(!matches(b"S3CRET", "s3cret"));
    }
}
