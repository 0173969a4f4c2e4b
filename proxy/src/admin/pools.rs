//! `GET /api/v1/pools` and `GET /api/v1/pools/{pool}`: every pool's counters and
//! backends, read from the published snapshot without taking a lock the request
//! path uses.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::errors::{ApiError, ErrorBody};
use super::views::PoolView;
use super::AdminContext;
use crate::plane::{DataPlane, PlaneError};

/// Every pool.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolList {
    /// The pools, in configuration order.
    pub pools: Vec<PoolView>,
}

/// Lists every pool with its backends.
#[utoipa::path(
    get,
    path = "/api/v1/pools",
    tag = "pools",
    responses(
        (status = 200, description = "Every pool, in configuration order", body = PoolList),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
    ),
    security(("bearer" = [])),
)]
pub async fn list(State(context): State<Arc<AdminContext>>) -> Json<PoolList> {
    Json(PoolList {
        pools: views(&context.plane, None),
    })
}

/// One pool with its backends.
#[utoipa::path(
    get,
    path = "/api/v1/pools/{pool}",
    tag = "pools",
    params(("pool" = String, Path, description = "The pool's name")),
    responses(
        (status = 200, description = "The pool", body = PoolView),
        (status = 400, description = "The pool's name is not valid UTF-8 once decoded", body = ErrorBody),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No pool has that name", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn show(
    State(context): State<Arc<AdminContext>>,
    Path(pool): Path<String>,
) -> Result<Json<PoolView>, ApiError> {
    views(&context.plane, Some(&pool))
        .pop()
        .map(Json)
        .ok_or_else(|| PlaneError::NoSuchPool(pool).into())
}

/// The pools of the current snapshot (only `name` when given), as configured.
fn views(plane: &DataPlane, name: Option<&str>) -> Vec<PoolView> {
    let now = plane.clock().now();
    let config = plane.config();
    let routing = plane.routing().load();
    config
        .pools
        .iter()
        .filter(|spec| name.is_none_or(|name| spec.name == name))
        .filter_map(|spec| {
            let pool = routing.pool(&spec.name)?;
            Some(PoolView::of(pool, spec, now))
        })
        .collect()
}
