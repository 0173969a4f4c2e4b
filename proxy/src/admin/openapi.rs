//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the admin API,
//! generated from the handlers' annotations, so it cannot drift from the code.
//! Without a configured token the routes are open, and the document says so: the
//! bearer scheme and the 401 answers are left out.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

use super::address::BackendAddress;
use super::errors::{ApiError, ErrorBody};
use super::{backends, control, dashboard, pools, probes, scaler, AdminContext};

/// The name of the bearer security scheme.
const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tidegate admin API",
        description = "Pools, backends, the autoscaler, reloads and metrics of a running Tidegate. \
            Every error is {\"error\": \"message\"}."
    ),
    paths(
        pools::list,
        pools::show,
        backends::add,
        backends::remove,
        control::reload,
        control::config,
        scaler::show,
        scaler::update,
        scaler::events,
        scaler::forecast,
        probes::healthz,
        probes::readyz,
        probes::metrics,
        dashboard::root,
        dashboard::page,
        spec,
    ),
    components(schemas(BackendAddress)),
    modifiers(&BearerScheme),
)]
struct AdminApi;

/// Declares the `bearer` scheme the secured operations name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                BEARER,
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI description of this API", body = Object),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
    ),
    security(("bearer" = [])),
)]
pub async fn spec(State(context): State<Arc<AdminContext>>) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(&document(context.token.is_some()))
        .map_err(|e| ApiError::Internal(format!("cannot write the OpenAPI document: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The description of the API; `secured` when a token guards it.
pub fn document(secured: bool) -> Document {
    let mut document = AdminApi::openapi();
    if !secured {
        open_up(&mut document);
    }
    document
}

/// Drops the security requirements and 401 answers of every operation.
fn open_up(document: &mut Document) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation.security = None;
            operation.responses.responses.remove("401");
        }
    }
    if let Some(components) = document.components.as_mut() {
        components.security_schemes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(secured: bool) -> serde_json::Value {
        serde_json::to_value(document(secured)).unwrap()
    }

    #[test]
    fn every_route_is_described() {
        let doc = json(true);
        for (path, method) in [
            ("/api/v1/pools", "get"),
            ("/api/v1/pools/{pool}", "get"),
            ("/api/v1/pools/{pool}/backends", "post"),
            ("/api/v1/pools/{pool}/backends/{address}", "delete"),
            ("/api/v1/reload", "post"),
            ("/api/v1/config", "get"),
            ("/api/v1/pools/{pool}/scaler", "get"),
            ("/api/v1/pools/{pool}/scaler", "put"),
            ("/api/v1/pools/{pool}/forecast", "get"),
            ("/api/v1/scaler/events", "get"),
            ("/api/v1/openapi.json", "get"),
            ("/healthz", "get"),
            ("/readyz", "get"),
            ("/metrics", "get"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        }
    }

    #[test]
    fn secured_operations_name_the_bearer_scheme_and_probes_do_not() {
        let doc = json(true);
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let pools = &doc["paths"]["/api/v1/pools"]["get"];
        assert!(pools["security"][0]["bearer"].is_array());
        assert!(pools["responses"]["401"].is_object());
        assert!(doc["paths"]["/healthz"]["get"]["security"].is_null());
    }

    #[test]
    fn the_address_pattern_is_in_the_document() {
        let doc = json(true);
        let pattern = doc["components"]["schemas"]["BackendAddress"]["pattern"].as_str();
        assert!(pattern.is_some_and(|p| p.starts_with('^')), "{doc}");
    }

    #[test]
    fn without_a_token_nothing_asks_for_one() {
        let doc = json(false);
        let pools = &doc["paths"]["/api/v1/pools"]["get"];
        assert!(pools["security"].is_null());
        assert!(pools["responses"]["401"].is_null());
        assert!(doc["components"]["securitySchemes"].is_null());
    }
}
