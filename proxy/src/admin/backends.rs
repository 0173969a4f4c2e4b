//! `POST /api/v1/pools/{pool}/backends` and `DELETE .../backends/{address}`:
//! backends join and leave through the data plane. A removed backend drains
//! first: it takes no new request, finishes those in flight, and the data
//! plane's sweep removes it once they are done (or `grace_period` passes).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tidegate_conf::{BackendSpec, PolicyKind};
use utoipa::ToSchema;

use super::address::{self, BackendAddress};
use super::errors::{ApiError, ErrorBody};
use super::views::{BackendState, BackendView};
use super::AdminContext;
use crate::member::Origin;
use crate::plane::PlaneError;

/// The weights a backend may have, as in the configuration file.
const WEIGHTS: std::ops::RangeInclusive<u32> = 1..=1000;

/// A backend to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBackend {
    /// Where it listens.
    pub address: BackendAddress,
    /// The region it runs in; required in `region_affinity` pools. Not blank.
    #[schema(example = "eu-west", pattern = "[^\\t\\n\\f\\r ]")]
    pub region: Option<String>,
    /// Its share under `weighted`; default 1.
    #[schema(minimum = 1, maximum = 1000, example = 1)]
    pub weight: Option<u32>,
}

/// A backend that started draining.
#[derive(Debug, Serialize, ToSchema)]
pub struct Draining {
    /// The pool it is leaving.
    pub pool: String,
    /// Its address.
    pub address: String,
    /// Always `draining`.
    pub state: BackendState,
    /// Requests it still has to finish.
    pub in_flight: u32,
}

/// Adds a backend to a pool; it takes traffic at once (after its first passing
/// check when the pool has health checks).
#[utoipa::path(
    post,
    path = "/api/v1/pools/{pool}/backends",
    tag = "pools",
    params(("pool" = String, Path, description = "The pool's name")),
    request_body(content = NewBackend, content_type = "application/json"),
    responses(
        (status = 201, description = "The backend joined the pool", body = BackendView),
        (status = 400, description = "The body or the address is invalid, or the pool balances by region and the backend has none", body = ErrorBody),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No pool has that name", body = ErrorBody),
        (status = 409, description = "The backend is already a member", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn add(
    State(context): State<Arc<AdminContext>>,
    Path(pool): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<BackendView>), ApiError> {
    let plane = &context.plane;
    let config = plane.config();
    let spec = config
        .pool(&pool)
        .ok_or_else(|| PlaneError::NoSuchPool(pool.clone()))?;
    let backend = parse(&body, spec.policy == PolicyKind::RegionAffinity)?;
    let address = backend.address;
    plane.add_backend(&pool, backend, Origin::Admin)?;
    let now = plane.clock().now();
    let member = plane
        .members(&pool)
        .into_iter()
        .find(|m| m.addr() == address && m.draining_since().is_none())
        .ok_or_else(|| ApiError::Internal(format!("{address} left \"{pool}\" as it joined")))?;
    Ok((StatusCode::CREATED, Json(BackendView::of(&member, now))))
}

/// Drains a backend out of a pool: it gets no new requests and leaves once
/// those in flight finish.
#[utoipa::path(
    delete,
    path = "/api/v1/pools/{pool}/backends/{address}",
    tag = "pools",
    params(
        ("pool" = String, Path, description = "The pool's name"),
        ("address" = BackendAddress, Path, description = "The backend's IP:PORT"),
    ),
    responses(
        (status = 202, description = "The backend is draining; it leaves when its requests finish", body = Draining),
        (status = 400, description = "The address is not IP:PORT", body = ErrorBody),
        (status = 401, description = "The admin token is missing or wrong", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No such pool, or no such backend in it", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn remove(
    State(context): State<Arc<AdminContext>>,
    Path((pool, address)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Draining>), ApiError> {
    let address = address::parse(&address)?;
    let plane = &context.plane;
    plane.drain_backend(&pool, address)?;
    let in_flight = plane
        .members(&pool)
        .iter()
        .filter(|m| m.addr() == address)
        .map(|m| m.backend().in_flight())
        .sum();
    let draining = Draining {
        pool,
        address: address.to_string(),
        state: BackendState::Draining,
        in_flight,
    };
    Ok((StatusCode::ACCEPTED, Json(draining)))
}

/// The backend a request body describes; `needs_region` in `region_affinity` pools.
fn parse(body: &[u8], needs_region: bool) -> Result<BackendSpec, ApiError> {
    let new: NewBackend = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid backend: {e}")))?;
    let address = new.address.parse()?;
    let weight = new.weight.unwrap_or(1);
    if !WEIGHTS.contains(&weight) {
        return Err(ApiError::BadRequest(format!(
            "weight {weight} is out of range; use a weight from 1 to 1000"
        )));
    }
    if new
        .region
        .as_ref()
        .is_some_and(|r| r.trim_ascii().is_empty())
    {
        return Err(ApiError::BadRequest("region is blank".to_string()));
    }
    let region = new.region;
    if needs_region && region.is_none() {
        return Err(ApiError::BadRequest(
            "this pool balances by region: give the backend a region".to_string(),
        ));
    }
    Ok(BackendSpec {
        address,
        region,
        weight,
    })
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    #[test]
    fn a_body_becomes_a_backend_with_defaults() {
        let backend = parse(br#"{"address":"127.0.0.1:9005"}"#, false).unwrap();
        assert_eq!(backend.address, SocketAddr::from(([127, 0, 0, 1], 9005)));
        assert_eq!((backend.weight, backend.region), (1, None));
        let backend = parse(
            br#"{"address":"[::1]:9005","region":"eu-west","weight":5}"#,
            true,
        )
        .unwrap();
        assert_eq!(backend.region.as_deref(), Some("eu-west"));
        assert_eq!(backend.weight, 5);
    }

    #[test]
    fn bad_bodies_are_rejected_with_the_reason() {
        let reason = |body: &[u8], needs_region| match parse(body, needs_region) {
            Err(ApiError::BadRequest(reason)) => reason,
            other => panic!("expected a bad request, got {other:?}"),
        };
        assert!(reason(b"{", false).contains("invalid backend"));
        assert!(reason(br#"{"address":"localhost:80"}"#, false).contains("IP:PORT"));
        assert!(reason(br#"{"address":"127.0.0.1:0"}"#, false).contains("IP:PORT"));
        assert!(reason(br#"{"address":"127.0.0.1:1","region":" "}"#, false).contains("blank"));
        assert!(reason(br#"{"address":"127.0.0.1:1","weight":0}"#, false).contains("weight"));
        assert!(reason(br#"{"address":"127.0.0.1:1","port":2}"#, false).contains("port"));
        assert!(reason(br#"{"address":"127.0.0.1:1"}"#, true).contains("region"));
    }
}
