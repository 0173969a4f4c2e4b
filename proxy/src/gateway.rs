//! The proxy logic Pingora runs for every request.
//!
//! `request_filter` routes the request and admits it into its pool;
//! `upstream_peer` asks the pool's selector for a backend and starts an in-flight
//! guard on it; `upstream_response_filter` feeds the time to first byte into the
//! backend's peak-EWMA; a failed connect is retried on a backend not tried yet;
//! `fail_to_proxy` answers with a short body that names the pool. The guards
//! live in the request context, so every counter is released when the request
//! ends, whichever way it ends.

use std::cell::RefCell;
use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::Bytes;
use http::header::{HeaderValue, HOST};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::HttpPeer;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::{Error, ErrorSource, ErrorType, Result};
use tidegate_balancer::{Backend, InFlightGuard, Nanos, PickRequest};

use crate::clock::Clock;
use crate::pool::{Admission, Pool};
use crate::respond;
use crate::routing::Routing;

const X_FORWARDED_FOR: &str = "x-forwarded-for";
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

thread_local! {
    /// Each worker thread's random source for power-of-two choices.
    static RNG: RefCell<fastrand::Rng> = RefCell::new(fastrand::Rng::new());
}

/// The proxy logic of one listener.
#[derive(Debug)]
pub struct Gateway {
    routing: Arc<ArcSwap<Routing>>,
    region: Option<Arc<str>>,
    scheme: HeaderValue,
    clock: Clock,
}

impl Gateway {
    /// Proxy logic for a listener with an optional default region.
    pub fn new(routing: Arc<ArcSwap<Routing>>, region: Option<&str>, clock: Clock) -> Self {
        Self {
            routing,
            region: region.map(Arc::from),
            scheme: HeaderValue::from_static("http"),
            clock,
        }
    }
}

/// What one request carries between the phases.
#[derive(Debug, Default)]
pub struct RequestCtx {
    pool: Option<Arc<Pool>>,
    admission: Option<Admission>,
    upstream: Option<InFlightGuard>,
    /// Backends whose connect failed, not to be picked again by this request.
    tried: Vec<Arc<Backend>>,
    sent_at: Nanos,
    ttfb_recorded: bool,
    no_backend: bool,
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::default()
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        let pool = {
            let routing = self.routing.load();
            let req = session.req_header();
            let host = request_host(req);
            match routing.route(host, req.uri.path()) {
                Some(pool) => Arc::clone(pool),
                None => {
                    let body = respond::no_route(host, req.uri.path());
                    drop(routing);
                    respond::plain(session, 404, body, None).await?;
                    return Ok(true);
                }
            }
        };
        match pool.admit() {
            Some(admission) => ctx.admission = Some(admission),
            None => {
                let body = pool.overload_body();
                respond::plain(session, 503, body, Some(respond::RETRY_AFTER_SECONDS)).await?;
                return Ok(true);
            }
        }
        ctx.pool = Some(pool);
        Ok(false)
    }

    async fn upstream_peer(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        let Some(pool) = ctx.pool.as_ref() else {
            return Err(Error::explain(
                ErrorType::InternalError,
                "request has no pool",
            ));
        };
        let now = self.clock.now();
        let region = session
            .req_header()
            .headers
            .get(pool.region_header())
            .and_then(|v| v.to_str().ok())
            .or(self.region.as_deref());
        let request = PickRequest {
            now,
            region,
            exclude: &ctx.tried,
        };
        let picked = RNG.with(|rng| {
            pool.selector()
                .pick(&request, &mut rng.borrow_mut())
                .map(Backend::start_request)
        });
        let Some(guard) = picked else {
            ctx.no_backend = true;
            return Err(Error::explain(
                ErrorType::HTTPStatus(502),
                "no usable backend in pool",
            ));
        };
        let peer = HttpPeer::new(guard.backend().addr(), false, String::new());
        ctx.upstream = Some(guard);
        ctx.sent_at = now;
        ctx.ttfb_recorded = false;
        Ok(Box::new(peer))
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        _ctx: &mut RequestCtx,
    ) -> Result<()> {
        if let Some(client) = session.client_addr().and_then(|a| a.as_inet()) {
            let forwarded = match upstream_request.headers.get(X_FORWARDED_FOR) {
                Some(prior) => format!(
                    "{}, {}",
                    String::from_utf8_lossy(prior.as_bytes()),
                    client.ip()
                ),
                None => client.ip().to_string(),
            };
            upstream_request.insert_header(X_FORWARDED_FOR, forwarded)?;
        }
        upstream_request.insert_header(X_FORWARDED_PROTO, self.scheme.clone())?;
        Ok(())
    }

    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        _upstream_response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if !ctx.ttfb_recorded {
            if let Some(guard) = &ctx.upstream {
                let now = self.clock.now();
                guard
                    .backend()
                    .observe_rtt(now, now.saturating_sub(ctx.sent_at));
                ctx.ttfb_recorded = true;
            }
        }
        Ok(())
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        if let Some(guard) = ctx.upstream.take() {
            ctx.tried.push(Arc::clone(guard.backend()));
        }
        let attempts = ctx.pool.as_ref().map_or(0, |p| p.connect_attempts());
        if ctx.tried.len() < attempts {
            e.set_retry(true);
        }
        e
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let code = status_for(e);
        if code > 0 {
            let body = failure_body(e, ctx, code);
            if let Err(write) = respond::plain(session, code, body, None).await {
                tracing::debug!(error = %write, "could not send the error response");
            }
        }
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }
}

/// The request's host: the URI authority (HTTP/2, absolute form) or `Host`.
fn request_host(req: &RequestHeader) -> Option<&str> {
    req.uri
        .host()
        .or_else(|| req.headers.get(HOST).and_then(|v| v.to_str().ok()))
}

/// The status a failed request is answered with; 0 when the client is gone.
fn status_for(e: &Error) -> u16 {
    match e.etype() {
        ErrorType::HTTPStatus(code) => *code,
        ErrorType::ConnectTimedout
        | ErrorType::ConnectRefused
        | ErrorType::ConnectNoRoute
        | ErrorType::ConnectError
        | ErrorType::TLSHandshakeFailure
        | ErrorType::TLSHandshakeTimedout
        | ErrorType::InvalidCert
        | ErrorType::HandshakeError => 502,
        ErrorType::ReadTimedout | ErrorType::WriteTimedout
            if e.esource() == &ErrorSource::Upstream =>
        {
            504
        }
        _ => match e.esource() {
            ErrorSource::Upstream => 502,
            ErrorSource::Downstream => match e.etype() {
                ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed => 0,
                _ => 400,
            },
            ErrorSource::Internal | ErrorSource::Unset => 500,
        },
    }
}

fn failure_body(e: &Error, ctx: &RequestCtx, code: u16) -> Bytes {
    let Some(pool) = ctx.pool.as_ref() else {
        return Bytes::from(format!("tidegate: {}\n", e.etype().as_str()));
    };
    if ctx.no_backend {
        return pool.no_backend_body();
    }
    let backend = ctx
        .upstream
        .as_ref()
        .map(|g| g.backend().addr().to_string())
        .or_else(|| ctx.tried.last().map(|b| b.addr().to_string()))
        .unwrap_or_default();
    let what = match code {
        504 => "timed out waiting for",
        _ => "failed at",
    };
    Bytes::from(format!(
        "tidegate: pool \"{}\" {what} backend {backend} ({})\n",
        pool.name(),
        e.etype().as_str()
    ))
}
