//! The proxy logic Pingora runs for every request.
//!
//! `request_filter` routes the request and admits it into its pool;
//! `upstream_peer` asks the pool's selector for a backend (over every backend
//! when the pool is in panic mode), builds the peer in the pool's protocol
//! (HTTP/1.1 or HTTP/2) and starts an in-flight guard on it;
//! `upstream_response_filter` feeds the time to first byte into the backend's
//! peak-EWMA and the status into outlier detection, and turns a 502/503/504 of an
//! idempotent request into a retry on another backend; a failed connect is
//! retried on a backend not tried yet; both kinds of retry spend the pool's retry
//! budget. `fail_to_proxy` answers with a short body naming the pool. Guards live
//! in the request context, so every counter is released however a request ends.

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, HOST};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::modules::http::HttpModules;
use pingora::prelude::HttpPeer;
use pingora::proxy::{FailToProxy, ProxyHttp, ProxyWarnLogContext, Session};
use pingora::{Error, ErrorSource, ErrorType, Result};
use tidegate_balancer::{Backend, InFlightGuard, Nanos};
use tidegate_conf::UpstreamProtocol;

use crate::clock::Clock;
use crate::forward::{Forwarder, MAX_HEAD};
use crate::member::{Failure, Member};
use crate::outlier;
use crate::pool::{Admission, Pool, Retries};
use crate::request::{self, Finished, IP_TEXT_MAX};
use crate::respond;
use crate::routing::Routing;

const X_FORWARDED_FOR: &str = "x-forwarded-for";
/// The same name parsed once: a lookup by `&str` parses the name every time.
static X_FORWARDED_FOR_NAME: HeaderName = HeaderName::from_static(X_FORWARDED_FOR);
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

/// Requests one upstream HTTP/2 connection carries at once before another is opened
/// (the backend's own SETTINGS_MAX_CONCURRENT_STREAMS lowers it further).
const H2_STREAMS_PER_CONNECTION: usize = 100;

/// The error type of a response turned into a retry.
const RETRYABLE_STATUS: ErrorType = ErrorType::Custom("retryable upstream status");

/// The proxy logic of one listener.
#[derive(Debug)]
pub struct Gateway {
    routing: Arc<ArcSwap<Routing>>,
    region: Option<Arc<str>>,
    scheme: HeaderValue,
    clock: Clock,
    access_log: bool,
}

impl Gateway {
    /// Proxy logic for a listener with an optional default region; `tls` says
    /// whether the listener terminates TLS (for `X-Forwarded-Proto`), and
    /// `access_log` whether each request is logged.
    pub fn new(
        routing: Arc<ArcSwap<Routing>>,
        region: Option<&str>,
        tls: bool,
        clock: Clock,
        access_log: bool,
    ) -> Self {
        Self {
            routing,
            region: region.map(Arc::from),
            scheme: HeaderValue::from_static(if tls { "https" } else { "http" }),
            clock,
            access_log,
        }
    }

    /// Tidegate's own HTTP/1.1 forwarding with this listener's routing,
    /// region, scheme, clock and access log.
    pub fn forwarder(&self) -> Forwarder {
        Forwarder::new(
            Arc::clone(&self.routing),
            self.region.as_deref(),
            self.scheme == "https",
            self.clock,
            self.access_log,
        )
    }
}

/// What one request carries between the phases.
#[derive(Debug, Default)]
pub struct RequestCtx {
    pool: Option<Arc<Pool>>,
    admission: Option<Admission>,
    member: Option<Arc<Member>>,
    upstream: Option<InFlightGuard>,
    /// Backends that failed this request, not to be picked again by it.
    tried: Vec<Arc<Backend>>,
    retries: Retries,
    started: Nanos,
    sent_at: Nanos,
    answered: bool,
    no_backend: bool,
    /// The backend that last failed to connect, the kind of failure and its
    /// cause: what a client is told when no backend is left after it.
    last_failure: Option<(std::net::SocketAddr, &'static str, String)>,
}

impl RequestCtx {
    /// Gives up the current backend after a failure, remembering not to pick it again.
    fn leave_backend(&mut self) {
        self.member = None;
        if let Some(guard) = self.upstream.take() {
            self.tried.push(Arc::clone(guard.backend()));
        }
    }

    /// Whether one more retry is allowed; takes it from the pool's budget if so.
    fn take_retry(&mut self) -> bool {
        match self.pool.as_ref() {
            Some(pool) => self.retries.take(pool),
            None => false,
        }
    }

    fn record_failure(&self, why: Failure, now: Nanos) {
        if let (Some(pool), Some(member)) = (&self.pool, &self.member) {
            outlier::record_failure(pool, member, why, now);
        }
    }
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::default()
    }

    /// No modules: Tidegate does not compress responses, and Pingora's default
    /// (a compression module that is switched off) still costs every request.
    fn init_downstream_modules(&self, _modules: &mut HttpModules) {}

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        ctx.started = self.clock.now();
        if head_size(session.req_header()) > MAX_HEAD {
            let body = Bytes::from_static(respond::HEAD_TOO_LARGE);
            session.set_keepalive(None);
            respond::plain(session, 431, body, None).await?;
            return Ok(true);
        }
        if let Some(problem) = host_problem(session.req_header()) {
            let body = Bytes::from(format!("tidegate: bad request: {problem}\n"));
            session.set_keepalive(None);
            respond::plain(session, 400, body, None).await?;
            return Ok(true);
        }
        if unsupported_coding(session.req_header()) {
            // A coding besides chunked would be lost on the way upstream: the
            // body is relayed dechunked and chunked again (RFC 9112, 6.1).
            let body = Bytes::from_static(
                b"tidegate: only Transfer-Encoding: chunked is supported on requests\n",
            );
            session.set_keepalive(None);
            respond::plain(session, 501, body, None).await?;
            return Ok(true);
        }
        remove_dot_segments(session.req_header_mut());
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
        // Set before the admission, so a request refused for a full pool is
        // counted in the pool's metrics like any other.
        ctx.pool = Some(Arc::clone(&pool));
        match pool.admit() {
            Some(admission) => ctx.admission = Some(admission),
            None => {
                let body = pool.overload_body();
                respond::plain(session, 503, body, Some(respond::RETRY_AFTER_SECONDS)).await?;
                return Ok(true);
            }
        }
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
        let Some(member) = pool.pick(now, region, &ctx.tried) else {
            ctx.no_backend = true;
            return Err(Error::explain(
                ErrorType::HTTPStatus(502),
                "no usable backend in pool",
            ));
        };
        let peer = peer_for(pool, member.backend());
        ctx.upstream = Some(member.backend().start_request());
        ctx.member = Some(Arc::clone(member));
        ctx.sent_at = now;
        ctx.answered = false;
        Ok(Box::new(peer))
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if let Some(client) = session.client_addr().and_then(|a| a.as_inet()) {
            let forwarded = forwarded_for(
                upstream_request.headers.get(&X_FORWARDED_FOR_NAME),
                client.ip(),
            )?;
            upstream_request.insert_header(X_FORWARDED_FOR, forwarded)?;
        }
        upstream_request.insert_header(X_FORWARDED_PROTO, self.scheme.clone())?;
        let http1_client = session.req_header().version < http::Version::HTTP_2;
        let http1_pool = ctx
            .pool
            .as_ref()
            .is_some_and(|pool| pool.protocol() == UpstreamProtocol::Http1);
        if http1_client && http1_pool {
            to_origin_form(upstream_request)?;
        }
        if upstream_request.headers.get(HOST).is_none() && upstream_request.uri.host().is_none() {
            // An HTTP/1.0 client may leave Host out; its request goes upstream in
            // HTTP/1.1, which needs one: the backend's address, as nginx sends.
            if let Some(member) = &ctx.member {
                upstream_request.insert_header(HOST, member.addr().to_string())?;
            }
        }
        Ok(())
    }

    async fn upstream_response_filter(
        &self,
        session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let status = upstream_response.status.as_u16();
        if ctx.answered || upstream_response.status.is_informational() {
            return Ok(());
        }
        ctx.answered = true;
        let now = self.clock.now();
        if let Some(guard) = &ctx.upstream {
            guard
                .backend()
                .observe_rtt(now, now.saturating_sub(ctx.sent_at));
        }
        if status < 500 {
            if let Some(member) = &ctx.member {
                outlier::record_success(member);
            }
            return Ok(());
        }
        ctx.record_failure(Failure::Response, now);
        let retryable = matches!(status, 502..=504)
            && session.req_header().method.is_idempotent()
            && !session.as_ref().retry_buffer_truncated();
        if retryable && ctx.take_retry() {
            ctx.leave_backend();
            let mut e = Error::explain(RETRYABLE_STATUS, format!("backend answered {status}"));
            e.set_retry(true);
            return Err(e);
        }
        Ok(())
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        let status = session
            .as_ref()
            .response_written()
            .map_or(0, |r| r.status.as_u16());
        let req = session.req_header();
        Finished {
            client: session.client_addr().and_then(|a| a.as_inet()).copied(),
            method: req.method.as_str(),
            host: request_host(req).unwrap_or(""),
            path: req.uri.path(),
            status,
            pool: ctx.pool.as_deref(),
            member: ctx.member.as_deref(),
            answered: ctx.answered,
            retries: ctx.retries.count(),
            duration: self.clock.now().saturating_sub(ctx.started),
            error: match (&ctx.last_failure, ctx.no_backend) {
                (Some((_, kind, _)), true) => kind,
                _ => e.map_or("", |e| e.etype().as_str()),
            },
        }
        .record(self.access_log);
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        ctx.record_failure(Failure::Connect, self.clock.now());
        if let Some(guard) = &ctx.upstream {
            let cause = e
                .cause
                .as_ref()
                .map(|cause| cause.to_string().replace('\n', " "))
                .unwrap_or_default();
            ctx.last_failure = Some((guard.backend().addr(), e.etype().as_str(), cause));
        }
        ctx.leave_backend();
        e.set_retry(ctx.take_retry());
        e
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut RequestCtx,
        client_reused: bool,
    ) -> Box<Error> {
        if e.etype() == &RETRYABLE_STATUS {
            return e;
        }
        let mut e = e.more_context(format!("backend {peer}"));
        if matches!(
            e.etype(),
            ErrorType::ReadTimedout | ErrorType::WriteTimedout
        ) && e.esource() == &ErrorSource::Upstream
        {
            // The backend accepted but did not answer in time: a 504, no retry.
            ctx.record_failure(Failure::Response, self.clock.now());
            e.set_retry(false);
        } else if !session.req_header().method.is_idempotent()
            || session.as_ref().retry_buffer_truncated()
        {
            e.set_retry(false);
        } else {
            // The connection broke before an answer: retry a kept-alive connection
            // the backend may have closed, on another backend when there is one
            // (a backend that just died breaks all of its connections at once).
            e.retry.decide_reuse(client_reused);
            if e.retry() {
                ctx.leave_backend();
            }
        }
        e
    }

    fn suppress_proxy_warn_log(
        &self,
        _session: &Session,
        _ctx: &RequestCtx,
        error: &Error,
        _context: ProxyWarnLogContext,
    ) -> bool {
        error.etype() == &RETRYABLE_STATUS
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

/// The peer for `backend` with the pool's protocol, timeouts and TLS settings.
fn peer_for(pool: &Pool, backend: &Backend) -> HttpPeer {
    let addr = backend.addr();
    let mut peer = match pool.upstream_tls() {
        Some(tls) => {
            let sni = if tls.sni.is_empty() {
                addr.ip().to_string()
            } else {
                tls.sni.clone()
            };
            let mut peer = HttpPeer::new(addr, true, sni);
            peer.options.verify_cert = tls.verify;
            peer.options.verify_hostname = tls.verify;
            peer
        }
        None => HttpPeer::new(addr, false, String::new()),
    };
    peer.options.connection_timeout = Some(pool.connect_timeout());
    peer.options.read_timeout = Some(pool.read_timeout());
    peer.options.idle_timeout = Some(pool.idle_timeout());
    if pool.protocol() == UpstreamProtocol::H2 {
        // HTTP/2 only: ALPN offers just "h2" over TLS, and plain TCP speaks it with
        // prior knowledge (h2c). Trailers, which carry gRPC's status, need HTTP/2.
        peer.options.set_http_version(2, 2);
        peer.options.max_h2_streams = H2_STREAMS_PER_CONNECTION;
    }
    peer
}

/// `X-Forwarded-For` with `client` appended to what the client sent, if anything.
fn forwarded_for(prior: Option<&HeaderValue>, client: IpAddr) -> Result<HeaderValue> {
    let mut text = [0u8; IP_TEXT_MAX];
    let ip = request::ip_text(client, &mut text);
    let value = match prior {
        None => HeaderValue::from_bytes(ip),
        Some(prior) => {
            let mut joined = Vec::with_capacity(prior.len() + 2 + ip.len());
            joined.extend_from_slice(prior.as_bytes());
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(ip);
            HeaderValue::try_from(joined)
        }
    };
    value.map_err(|_| Error::explain(ErrorType::InvalidHTTPHeader, "invalid X-Forwarded-For"))
}

/// The request's host: the URI authority (HTTP/2, absolute form) or `Host`.
/// An absolute-form target (`GET http://host/path`) in origin form, its
/// authority as Host (RFC 9112, 3.2.1-3.2.2): a backend behind a reverse
/// proxy expects what a client would send it directly.
fn to_origin_form(req: &mut RequestHeader) -> Result<()> {
    let raw = req.raw_path();
    let absolute = raw.len() > 7
        && (raw[..7].eq_ignore_ascii_case(b"http://")
            || raw.len() > 8 && raw[..8].eq_ignore_ascii_case(b"https://"));
    if !absolute {
        return Ok(());
    }
    let Ok(uri) = http::Uri::try_from(raw) else {
        return Ok(());
    };
    // "http://host?q" has an empty path: "/?q" in origin form.
    let path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    let target = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let (Some(authority), Ok(origin)) = (uri.authority().cloned(), target.parse::<http::Uri>())
    else {
        return Ok(());
    };
    req.set_uri(origin);
    req.insert_header(HOST, authority.as_str())?;
    Ok(())
}

/// About how many bytes `req`'s head took on the wire.
fn head_size(req: &RequestHeader) -> usize {
    let fields: usize = req
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    req.raw_path().len() + req.method.as_str().len() + fields + 12
}

/// Whether a request's `Transfer-Encoding` names a coding other than chunked.
fn unsupported_coding(req: &RequestHeader) -> bool {
    req.headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case(b"chunked"))
}

/// Rewrites the request's path without its dot segments, so it is routed, and
/// sent upstream, as the backend will resolve it.
fn remove_dot_segments(req: &mut RequestHeader) {
    let Some(path) = request::without_dot_segments(req.uri.path()) else {
        return;
    };
    let path_and_query = match req.uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut parts = req.uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    if let Ok(uri) = http::Uri::from_parts(parts) {
        req.set_uri(uri);
    }
}

/// What makes a request's Host field a bad request (RFC 9112, 3.2): missing
/// from an HTTP/1.1 request that names no authority in its target, or not a
/// valid host and port.
fn host_problem(req: &RequestHeader) -> Option<&'static str> {
    match req.headers.get(HOST) {
        Some(host) if !request::valid_host(host.as_bytes()) => Some("invalid Host field"),
        Some(_) => None,
        None if req.version == http::Version::HTTP_11 && req.uri.host().is_none() => {
            Some("HTTP/1.1 request without a Host field")
        }
        None => None,
    }
}

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
        return match &ctx.last_failure {
            // Every backend it could try failed: say how the last one did.
            Some((backend, kind, cause)) if cause.is_empty() => {
                request::failure_body(pool, Some(*backend), code, kind)
            }
            Some((backend, kind, cause)) => {
                request::failure_body(pool, Some(*backend), code, &format!("{kind}: {cause}"))
            }
            None => pool.no_backend_body(),
        };
    }
    let backend = ctx
        .upstream
        .as_ref()
        .map(|g| g.backend().addr())
        .or_else(|| ctx.tried.last().map(|b| b.addr()));
    request::failure_body(pool, backend, code, e.etype().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_appends_the_client() {
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(forwarded_for(None, client).unwrap(), "192.0.2.7");
        let prior = HeaderValue::from_static("198.51.100.1");
        assert_eq!(
            forwarded_for(Some(&prior), client).unwrap(),
            "198.51.100.1, 192.0.2.7"
        );
    }
}
