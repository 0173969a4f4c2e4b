//! The autoscaler's routes: `GET/PUT /api/v1/pools/{pool}/scaler` (status,
//! pause, resume, min, max, manual desired), `GET /api/v1/scaler/events` (the
//! audit ring) and `GET /api/v1/pools/{pool}/forecast` (the predictive
//! recommender's latest forecast and fit).
//!
//! An update is a partial one: a field left out keeps its value, `null` clears
//! an override back to the configured value. The loop applies it on its next tick.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Deserializer, Serialize};
use tidegate_scaler::{AuditEvent, ForecastReport, Overrides, PoolStatus};
use utoipa::ToSchema;

use super::errors::{ApiError, ErrorBody};
use super::AdminContext;
use crate::autoscale::ScaledPool;
use crate::plane::PlaneError;

/// Events a query returns when it names no `limit`.
const DEFAULT_EVENTS: u32 = 100;

/// The largest count the API takes (the schema's `int32`).
const LARGEST: u32 = i32::MAX as u32;

/// A pool's scaler: what the configuration sets and what the loop decided last.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScalerView {
    /// The `[driver.NAME]` the pool scales through.
    pub driver: String,
    /// The configured floor (an override may replace it).
    pub min: u32,
    /// The configured ceiling (an override may replace it).
    pub max: u32,
    /// In-flight requests per ready instance the loop aims at.
    pub target_in_flight: f64,
    /// Whether the predictive recommendation takes part.
    pub predictive: bool,
    /// The loop's state after its last tick, with the overrides in force.
    #[serde(flatten)]
    pub status: PoolStatus,
}

impl ScalerView {
    fn of(pool: &ScaledPool) -> Self {
        Self {
            driver: pool.driver.clone(),
            min: pool.min,
            max: pool.max,
            target_in_flight: pool.target_in_flight,
            predictive: pool.forecast.is_some(),
            status: pool.handle.status(),
        }
    }
}

/// A change to a pool's scaler; fields left out keep their value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalerUpdate {
    /// `true` holds the desired count where it is; `false` lets the scaler decide again.
    #[serde(default)]
    pub paused: Option<bool>,
    /// Replaces the configured `min`; `null` restores it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 2147483647)]
    pub min: Option<Option<u32>>,
    /// Replaces the configured `max`; `null` restores it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 2147483647)]
    pub max: Option<Option<u32>>,
    /// Runs exactly this many instances (within the bounds); `null` hands the count back to the scaler.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 2147483647)]
    pub desired: Option<Option<u32>>,
}

impl ScalerUpdate {
    /// `overrides` with this update applied.
    fn apply(&self, mut overrides: Overrides) -> Overrides {
        if let Some(paused) = self.paused {
            overrides.paused = paused;
        }
        if let Some(min) = self.min {
            overrides.min = min;
        }
        if let Some(max) = self.max {
            overrides.max = max;
        }
        if let Some(desired) = self.desired {
            overrides.desired = desired;
        }
        overrides
    }
}

/// A field that is present, even as `null`, is `Some`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<u32>>, D::Error> {
    let count = Option::<u32>::deserialize(deserializer)?;
    if count.is_some_and(|n| n > LARGEST) {
        return Err(serde::de::Error::custom(format!(
            "a count must be at most {LARGEST}"
        )));
    }
    Ok(Some(count))
}

/// Which audit events to return.
#[derive(Debug, Deserialize)]
pub struct EventQuery {
    /// Only this pool's events; left empty (`?pool=`), every pool's.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub pool: Option<String>,
    /// At most this many, newest first (default 100).
    pub limit: Option<u32>,
}

/// A query parameter, or `None` when it is empty.
fn empty_as_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.filter(|text| !text.is_empty()))
}

/// Audit events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// The decisions, each with its inputs, recommendations, reason and actions.
    pub events: Vec<AuditEvent>,
}

/// A pool's scaler status and settings.
#[utoipa::path(
    get,
    path = "/api/v1/pools/{pool}/scaler",
    tag = "scaler",
    params(("pool" = String, Path, description = "The pool's name")),
    responses(
        (status = 200, description = "The pool's scaler", body = ScalerView),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No pool has that name, or it has no scaler", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn show(
    State(context): State<Arc<AdminContext>>,
    Path(pool): Path<String>,
) -> Result<Json<ScalerView>, ApiError> {
    Ok(Json(ScalerView::of(scaled(&context, &pool)?)))
}

/// Pauses or resumes a pool's scaler, overrides its bounds, or sets the count by hand.
#[utoipa::path(
    put,
    path = "/api/v1/pools/{pool}/scaler",
    tag = "scaler",
    params(("pool" = String, Path, description = "The pool's name")),
    request_body(content = ScalerUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The overrides are stored; the loop applies them on its next tick", body = ScalerView),
        (status = 400, description = "The body is invalid, or the overrides contradict each other or the budget", body = ErrorBody),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No pool has that name, or it has no scaler", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn update(
    State(context): State<Arc<AdminContext>>,
    Path(pool): Path<String>,
    body: Bytes,
) -> Result<Json<ScalerView>, ApiError> {
    let scaled = scaled(&context, &pool)?;
    let update: ScalerUpdate = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid scaler update: {e}")))?;
    let overrides = update.apply(scaled.handle.overrides());
    scaled
        .handle
        .set_overrides(overrides)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    tracing::info!(pool = %pool, ?overrides, "scaler overrides changed");
    Ok(Json(ScalerView::of(scaled)))
}

/// The autoscaler's recent decisions, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/scaler/events",
    tag = "scaler",
    params(
        ("pool" = Option<String>, Query, description = "Only this pool's events"),
        ("limit" = Option<u32>, Query, minimum = 0, maximum = 2147483647, description = "At most this many, newest first (default 100)"),
    ),
    responses(
        (status = 200, description = "Recent decisions, newest first", body = EventList),
        (status = 400, description = "The query is invalid", body = ErrorBody),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No pool has that name, or it has no scaler", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn events(
    State(context): State<Arc<AdminContext>>,
    Query(query): Query<EventQuery>,
) -> Result<Json<EventList>, ApiError> {
    if let Some(pool) = &query.pool {
        scaled(&context, pool)?;
    }
    let limit = query.limit.unwrap_or(DEFAULT_EVENTS);
    if limit > LARGEST {
        return Err(ApiError::BadRequest(format!(
            "limit {limit} is too large; at most {LARGEST}"
        )));
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let events = context
        .autoscaler
        .audit()
        .query(query.pool.as_deref(), limit);
    Ok(Json(EventList { events }))
}

/// A pool's demand forecast at now + `lead_time` and the fit behind it.
#[utoipa::path(
    get,
    path = "/api/v1/pools/{pool}/forecast",
    tag = "scaler",
    params(("pool" = String, Path, description = "The pool's name")),
    responses(
        (status = 200, description = "The latest forecast; `forecast` is null until enough history is recorded", body = ForecastReport),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No pool has that name, or it does not forecast", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn forecast(
    State(context): State<Arc<AdminContext>>,
    Path(pool): Path<String>,
) -> Result<Json<ForecastReport>, ApiError> {
    let recommender = scaled(&context, &pool)?.forecast.as_ref().ok_or_else(|| {
        ApiError::NotFound(format!(
            "pool \"{pool}\" does not forecast; set predictive = {{ enabled = true }} in [pool.{pool}.scaler]"
        ))
    })?;
    Ok(Json(recommender.report()))
}

/// `pool`'s scaler, or why there is none.
fn scaled<'a>(context: &'a AdminContext, pool: &str) -> Result<&'a ScaledPool, ApiError> {
    if let Some(scaled) = context.autoscaler.pool(pool) {
        return Ok(scaled);
    }
    if context.plane.config().pool(pool).is_none() {
        return Err(PlaneError::NoSuchPool(pool.to_string()).into());
    }
    Err(ApiError::NotFound(format!(
        "pool \"{pool}\" has no scaler; add [pool.{pool}.scaler] to the configuration"
    )))
}
