//! The `http` driver: a webhook that scales instances somewhere else.
//!
//! | call | request | success response |
//! |---|---|---|
//! | instances | `GET {url}/{pool}/instances` | `[{"id":..,"address":"IP:PORT","region":..}]` |
//! | set_target | `POST {url}/{pool}/target` `{"desired":n,"op_id":".."}` | any 2xx |
//! | remove | `POST {url}/{pool}/remove` `{"ids":[..],"op_id":".."}` | any 2xx |
//!
//! An optional bearer token goes in `Authorization`. Each call, body included, has a
//! timeout. 429 is `RateLimited` (its `Retry-After` seconds, else 1 s), 5xx, timeouts and
//! connection failures `Transient`, other statuses and undecodable bodies `Permanent`.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;

use crate::driver::{Driver, DriverError, OpId};
use crate::error::ScalerError;
use crate::instance::{Instance, InstanceId};

/// Where the webhook is and how to call it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpDriverConfig {
    /// Base URL, `http://host:port/prefix`; calls go to `{url}/{pool}/...`.
    pub url: String,
    /// Bearer token sent with every call.
    pub token: Option<String>,
    /// Longest one call may take.
    pub timeout: Duration,
}

impl HttpDriverConfig {
    /// A config for `url` with no token and a 10 s timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            token: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Scales instances through a webhook.
#[derive(Debug)]
pub struct HttpDriver {
    name: String,
    base: String,
    token: Option<String>,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

#[derive(Serialize)]
struct TargetBody<'a> {
    desired: u32,
    op_id: &'a str,
}

#[derive(Serialize)]
struct RemoveBody<'a> {
    ids: &'a [InstanceId],
    op_id: &'a str,
}

impl HttpDriver {
    /// An http driver named `name`; the URL must be `http://...`.
    pub fn new(name: impl Into<String>, config: HttpDriverConfig) -> Result<Self, ScalerError> {
        let uri: Uri = config.url.parse().map_err(|e| {
            ScalerError::invalid(
                "url",
                &config.url,
                format!("not a URL ({e}); write e.g. \"http://127.0.0.1:8000/scaler\""),
            )
        })?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(ScalerError::invalid(
                "url",
                &config.url,
                "use an http:// URL with a host",
            ));
        }
        if config.timeout.is_zero() {
            return Err(ScalerError::invalid(
                "timeout",
                "0s",
                "give the webhook time to answer, e.g. \"10s\"",
            ));
        }
        Ok(Self {
            name: name.into(),
            base: config.url.trim_end_matches('/').to_owned(),
            token: config.token,
            timeout: config.timeout,
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// Sends one request and returns the body of a 2xx response.
    async fn call(
        &self,
        method: Method,
        pool: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, DriverError> {
        if pool.is_empty()
            || !pool
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(DriverError::Permanent(format!(
                "http driver: pool name {pool:?} cannot go in a URL path; use letters, digits, '-', '_', '.'"
            )));
        }
        let uri = format!("{}/{pool}/{path}", self.base);
        let mut request = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header(ACCEPT, "application/json");
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| {
                DriverError::Permanent(format!("http driver: building {method} {uri}: {e}"))
            })?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, retry_after, body))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => Err(DriverError::Transient(format!(
                "http driver: {method} {uri} timed out after {}",
                humantime::format_duration(self.timeout)
            ))),
            Ok(Err(e)) => Err(DriverError::Transient(format!(
                "http driver: {method} {uri}: {e}"
            ))),
            Ok(Ok((status, retry_after, body))) => {
                classify(status, retry_after, body, &method, &uri)
            }
        }
    }
}

/// Maps a response status to success or a classified error (see the module docs).
fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Bytes,
    method: &Method,
    uri: &str,
) -> Result<Bytes, DriverError> {
    if status.is_success() {
        return Ok(body);
    }
    let text = String::from_utf8_lossy(&body);
    let message = format!(
        "http driver: {method} {uri} answered {status}: {}",
        text.chars().take(300).collect::<String>()
    );
    Err(if status == StatusCode::TOO_MANY_REQUESTS {
        DriverError::RateLimited {
            retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
            message,
        }
    } else if status.is_server_error() {
        DriverError::Transient(message)
    } else {
        DriverError::Permanent(message)
    })
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, DriverError> {
    serde_json::to_vec(value)
        .map_err(|e| DriverError::Permanent(format!("http driver: encoding a request: {e}")))
}

#[async_trait]
impl Driver for HttpDriver {
    fn name(&self) -> &str {
        &self.name
    }

    async fn instances(&self, pool: &str) -> Result<Vec<Instance>, DriverError> {
        let body = self.call(Method::GET, pool, "instances", None).await?;
        serde_json::from_slice(&body).map_err(|e| {
            DriverError::Permanent(format!(
                "http driver: GET {}/{pool}/instances must return [{{\"id\":..,\"address\":\"IP:PORT\"}}, ..]: {e}",
                self.base
            ))
        })
    }

    async fn set_target(&self, pool: &str, desired: u32, op: &OpId) -> Result<(), DriverError> {
        let body = encode(&TargetBody {
            desired,
            op_id: op.as_str(),
        })?;
        self.call(Method::POST, pool, "target", Some(body))
            .await
            .map(drop)
    }

    async fn remove(&self, pool: &str, ids: &[InstanceId], op: &OpId) -> Result<(), DriverError> {
        let body = encode(&RemoveBody {
            ids,
            op_id: op.as_str(),
        })?;
        self.call(Method::POST, pool, "remove", Some(body))
            .await
            .map(drop)
    }
}
