//! Tidegate's own HTTP/1.1 forwarding, for HTTP/1.1 requests (in plain text,
//! or over TLS) to plain-text HTTP/1.1 pools.
//!
//! Most requests a reverse proxy sees are small: a head, perhaps a short body.
//! [`Forwarder::serve`] takes such a request off a client connection, parses
//! its head in place, routes, admits and balances it exactly as
//! [`crate::gateway`] does (the same pools, selector, in-flight guards,
//! peak-EWMA samples, outlier detection, retries and retry budget, counters and
//! access log), writes it to a kept-alive connection of the worker thread
//! ([`upstream`]) in one system call, and relays the response as it arrives,
//! following its framing (length, chunked, or until close).
//!
//! An HTTP/1.0 client's request goes upstream in HTTP/1.1 like any other; its
//! answer keeps the connection only when the client asked with `Connection:
//! keep-alive` and the answer has a length, says so in a `Connection:
//! keep-alive` field, has no 1xx heads before it, and comes without chunk
//! framing (the body alone, the connection closing at its end).
//!
//! Whatever this path does not take is put back unread, and the caller hands
//! the connection to Pingora's proxy for that request: a chunked or large
//! request body, `Expect`, an upgrade (WebSocket), an HTTP/1.0 request without
//! `Host`, an absolute-form target, a head too large or malformed, a request no
//! route matches, a full pool, and pools that speak HTTP/2 or TLS to their
//! backends.

mod chunked;
mod response;
pub mod upstream;

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures::FutureExt;
use tidegate_balancer::Backend;
use tidegate_conf::UpstreamProtocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use self::chunked::Malformed;
use self::response::{content_length, is_hop_by_hop, Body, Persist, ResponseHead};
use crate::clock::Clock;
use crate::downstream::Client;
use crate::member::{Failure, Member};
use crate::outlier;
use crate::pool::{Pool, Retries};
use crate::request::{self, Finished, IP_TEXT_MAX};
use crate::respond;
use crate::routing::Routing;

/// Header fields a request or response head may have on this path.
const MAX_HEADERS: usize = 64;

/// The largest request head taken here; a larger one goes to Pingora.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// The largest request head at all: a larger one is answered 431 (here, and
/// by the gateway for HTTP/2). Heads between this and [`MAX_REQUEST_HEAD`] are
/// read whole here, within the request's deadline, and then handed to Pingora.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// The largest request body taken here (it is read whole, so a failed
/// attempt can be retried); a larger one goes to Pingora.
const MAX_REQUEST_BODY: usize = 64 * 1024;

/// The largest response head accepted from a backend.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// The first allocation for reading a request or a response.
const FIRST_READ: usize = 4 * 1024;

/// What one read of a response body may take at most.
const RELAY_READ: usize = 16 * 1024;

/// How long a client may take to send the rest of a request once it began.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a connection closed with an error answer keeps reading what the
/// client still sends (nginx's `lingering_time` is 30 s, its timeout 5 s).
const LINGER: Duration = Duration::from_secs(2);

/// How long a backend may work on an answer before the proxy starts watching
/// for the client to give up on it.
const WATCH_CLIENT_AFTER: Duration = Duration::from_secs(1);

/// What the connection does after [`Forwarder::serve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Wait for the next request.
    KeepAlive,
    /// Close the connection.
    Close,
    /// The request was put back unread: Pingora serves it.
    Pingora,
}

/// The forwarding logic of one plain-text listener.
#[derive(Debug)]
pub struct Forwarder {
    routing: Arc<ArcSwap<Routing>>,
    region: Option<Arc<str>>,
    /// The last field of every head sent upstream: `X-Forwarded-Proto`, and
    /// the blank line.
    proto_field: &'static [u8],
    clock: Clock,
    access_log: bool,
}

/// A request head taken for this path, with what forwarding it needs.
#[derive(Debug)]
struct Request {
    pool: Arc<Pool>,
    head_len: usize,
    body_len: usize,
    method: Range<usize>,
    /// The path, without the query.
    path: Range<usize>,
    host: Option<Range<usize>>,
    region: Option<Range<usize>>,
    idempotent: bool,
    head: bool,
    /// The client asked to close after this request (an HTTP/1.0 client, by
    /// not asking to keep the connection).
    close: bool,
    /// The client speaks HTTP/1.0: no 1xx heads, no chunks, and a kept
    /// connection is said so.
    http10: bool,
    /// The head to send upstream, the body appended once read.
    upstream: Vec<u8>,
}

/// Why a request head is not taken here.
#[derive(Debug)]
enum Parse {
    /// More bytes are needed.
    Partial,
    /// Pingora serves it.
    Elsewhere,
}

/// How a request ended, for its counters and access log line.
#[derive(Debug)]
struct Outcome {
    status: u16,
    member: Option<Arc<Member>>,
    answered: bool,
    retries: u32,
    error: &'static str,
    next: Next,
}

impl Forwarder {
    /// Forwarding for a listener with an optional default region; `tls`
    /// when the listener terminates TLS (for `X-Forwarded-Proto`).
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
            proto_field: if tls {
                b"\r\nx-forwarded-proto: https\r\n\r\n"
            } else {
                b"\r\nx-forwarded-proto: http\r\n\r\n"
            },
            clock,
            access_log,
        }
    }

    /// Serves the next request on `conn`, or puts it back for Pingora;
    /// `closing` when the proxy is shutting down (the connection closes after).
    pub async fn serve<C: Client>(&self, conn: &mut C, closing: bool) -> Next {
        let mut buf = Vec::with_capacity(FIRST_READ);
        let client = conn.peer();
        // The whole request, head and body, must arrive within REQUEST_TIMEOUT
        // of its first read: a client trickling bytes cannot hold the
        // connection longer.
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        let mut req = loop {
            match self.parse(&buf, client) {
                Ok(req) => break req,
                Err(Parse::Partial) if buf.len() < MAX_REQUEST_HEAD => {}
                Err(Parse::Partial) => return hand_over_whole_head(conn, buf, deadline).await,
                Err(Parse::Elsewhere) => {
                    conn.rewind(&buf);
                    return Next::Pingora;
                }
            }
            let first = buf.is_empty();
            match read_more(conn, &mut buf, first, deadline).await {
                Ok(0) | Err(_) if first => return Next::Close,
                Ok(0) => return Next::Close,
                Err(e) => return timed_out(conn, &e).await,
                Ok(_) => {}
            }
        };
        let started = self.clock.now();
        let Some(admission) = req.pool.admit() else {
            // Pingora answers the 503, counted like every other.
            conn.rewind(&buf);
            return Next::Pingora;
        };
        let whole = req.head_len + req.body_len;
        while buf.len() < whole {
            match read_more(conn, &mut buf, false, deadline).await {
                Ok(0) => return Next::Close,
                Err(e) => return timed_out(conn, &e).await,
                Ok(_) => {}
            }
        }
        req.upstream.extend_from_slice(&buf[req.head_len..whole]);
        if buf.len() > whole {
            // The client sent its next request already (pipelining).
            conn.rewind(&buf[whole..]);
        }

        let region = req
            .region
            .as_ref()
            .and_then(|r| std::str::from_utf8(&buf[r.clone()]).ok())
            .or(self.region.as_deref());
        let mut outcome = self
            .exchange(conn, &req, region, closing || req.close)
            .await;
        drop(admission);
        if closing || req.close {
            outcome.next = Next::Close;
        }
        let text = |r: &Range<usize>| std::str::from_utf8(&buf[r.clone()]).unwrap_or("");
        Finished {
            client: Some(client),
            method: text(&req.method),
            host: req.host.as_ref().map_or("", text),
            path: text(&req.path),
            status: outcome.status,
            pool: Some(&req.pool),
            member: outcome.member.as_deref(),
            answered: outcome.answered,
            retries: outcome.retries,
            duration: self.clock.now().saturating_sub(started),
            error: outcome.error,
        }
        .record(self.access_log);
        outcome.next
    }

    /// Parses the request head at the start of `buf`, routes it, and builds the
    /// head to send upstream; `Elsewhere` for anything this path does not take.
    fn parse(&self, buf: &[u8], client: SocketAddr) -> Result<Request, Parse> {
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut fields);
        let head_len = match parsed.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Err(Parse::Partial),
            // More fields than parsed here: the rest of the head is read first.
            Err(httparse::Error::TooManyHeaders)
                if memchr::memmem::find(buf, b"\r\n\r\n").is_none() =>
            {
                return Err(Parse::Partial)
            }
            Err(_) => return Err(Parse::Elsewhere),
        };
        let (Some(method), Some(target), Some(version @ (0 | 1))) =
            (parsed.method, parsed.path, parsed.version)
        else {
            return Err(Parse::Elsewhere);
        };
        let http10 = version == 0;
        if !target.starts_with('/') || method == "CONNECT" {
            return Err(Parse::Elsewhere);
        }
        let at = |s: &[u8]| {
            let start = s.as_ptr() as usize - buf.as_ptr() as usize;
            start..start + s.len()
        };
        let mut host = None;
        let mut body_len = None;
        let mut close = false;
        let mut keep_alive = false;
        for field in parsed.headers.iter() {
            let name = field.name.as_bytes();
            if name.eq_ignore_ascii_case(b"host") {
                if host.is_some() {
                    return Err(Parse::Elsewhere);
                }
                host = Some(field.value);
            } else if name.eq_ignore_ascii_case(b"content-length") {
                let len = content_length(field.value);
                match (body_len, len) {
                    (None, Some(len)) if len <= MAX_REQUEST_BODY as u64 => {
                        body_len = Some(len as usize);
                    }
                    _ => return Err(Parse::Elsewhere),
                }
            } else if name.eq_ignore_ascii_case(b"connection") {
                for token in field.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        keep_alive = true;
                    } else if !token.is_empty() {
                        // Upgrades, and other fields named hop-by-hop.
                        return Err(Parse::Elsewhere);
                    }
                }
            } else if name.eq_ignore_ascii_case(b"transfer-encoding")
                || name.eq_ignore_ascii_case(b"upgrade")
                || name.eq_ignore_ascii_case(b"expect")
            {
                return Err(Parse::Elsewhere);
            }
        }
        match host {
            // An HTTP/1.0 request's HTTP/1.1 copy upstream needs a Host field
            // (Pingora's path gives it one); an HTTP/1.1 request without one,
            // or with one that is no host, is answered 400 there.
            None => return Err(Parse::Elsewhere),
            Some(host) if !request::valid_host(host) => return Err(Parse::Elsewhere),
            Some(_) => {}
        }
        let host_text = match host {
            Some(h) => Some(std::str::from_utf8(h).map_err(|_| Parse::Elsewhere)?),
            None => None,
        };
        let path = target.split_once('?').map_or(target, |(path, _)| path);
        if request::without_dot_segments(path).is_some() {
            // Routed, and sent upstream, without them on Pingora's path.
            return Err(Parse::Elsewhere);
        }
        let pool = {
            let routing = self.routing.load();
            let pool = routing.route(host_text, path).ok_or(Parse::Elsewhere)?;
            Arc::clone(pool)
        };
        if pool.protocol() != UpstreamProtocol::Http1 || pool.upstream_tls().is_some() {
            return Err(Parse::Elsewhere);
        }

        // The head sent upstream: the same fields in the same order, without
        // the hop-by-hop ones, with the client appended to X-Forwarded-For.
        let body_len = body_len.unwrap_or(0);
        let mut upstream = Vec::with_capacity(head_len + 96 + body_len);
        upstream.extend_from_slice(method.as_bytes());
        upstream.push(b' ');
        upstream.extend_from_slice(target.as_bytes());
        upstream.extend_from_slice(b" HTTP/1.1\r\n");
        let region_header = pool.region_header().as_str().as_bytes();
        let mut region = None;
        let mut forwarded_for: Vec<&[u8]> = Vec::new();
        for field in parsed.headers.iter() {
            let name = field.name.as_bytes();
            if name.eq_ignore_ascii_case(b"x-forwarded-for") {
                forwarded_for.push(field.value);
                continue;
            }
            if is_hop_by_hop(name) || name.eq_ignore_ascii_case(b"x-forwarded-proto") {
                continue;
            }
            if name.eq_ignore_ascii_case(region_header) && region.is_none() {
                region = Some(at(field.value));
            }
            upstream.extend_from_slice(name);
            upstream.extend_from_slice(b": ");
            upstream.extend_from_slice(field.value);
            upstream.extend_from_slice(b"\r\n");
        }
        upstream.extend_from_slice(b"x-forwarded-for: ");
        for prior in forwarded_for {
            upstream.extend_from_slice(prior);
            upstream.extend_from_slice(b", ");
        }
        let mut ip = [0u8; IP_TEXT_MAX];
        upstream.extend_from_slice(request::ip_text(client.ip(), &mut ip));
        upstream.extend_from_slice(self.proto_field);

        Ok(Request {
            head_len,
            body_len,
            method: at(method.as_bytes()),
            path: at(path.as_bytes()),
            host: host.map(at),
            region,
            idempotent: matches!(
                method,
                "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE"
            ),
            head: method == "HEAD",
            close: close || (http10 && !keep_alive),
            http10,
            upstream,
            pool,
        })
    }

    /// Sends `req` to a backend of its pool, retrying as the pool allows, and
    /// relays the answer to `conn`; `close` adds `Connection: close` to it.
    async fn exchange<C: Client>(
        &self,
        conn: &mut C,
        req: &Request,
        region: Option<&str>,
        close: bool,
    ) -> Outcome {
        let pool = &*req.pool;
        let mut tried: Vec<Arc<Backend>> = Vec::new();
        let mut retries = Retries::default();
        // The backend of the last kept-alive connection found closed: tried
        // again, on a new connection, when no other backend is left.
        let mut stale: Option<Arc<Member>> = None;
        // The backend that last failed to connect, and how: what the client is
        // told when no backend is left after it.
        let mut last_failure: Option<(SocketAddr, &'static str)> = None;
        loop {
            let (member, fresh) = match pool.pick(self.clock.now(), region, &tried) {
                Some(member) => (Arc::clone(member), false),
                None => match stale.take() {
                    Some(member) => (member, true),
                    None => {
                        let (body, error) = match last_failure {
                            Some((addr, kind)) => {
                                (request::failure_body(pool, Some(addr), 502, kind), kind)
                            }
                            None => (pool.no_backend_body(), "HTTPStatus"),
                        };
                        return self
                            .answer(
                                conn,
                                502,
                                &body,
                                req.head,
                                close || req.http10,
                                None,
                                retries.count(),
                                error,
                            )
                            .await;
                    }
                },
            };
            let backend = Arc::clone(member.backend());
            let _in_flight = backend.start_request();
            let attempt = self
                .attempt(conn, req, &member, fresh, close, &mut retries)
                .await;
            // Read only where a failure is recorded: an answered request has
            // no use for it.
            let now = || self.clock.now();
            let (code, kind) = match attempt {
                Attempt::Done(mut outcome) => {
                    outcome.retries = retries.count();
                    outcome.member = Some(member);
                    return outcome;
                }
                Attempt::RetryableStatus => {
                    tried.push(backend);
                    continue;
                }
                // The backend could not be reached, or dropped a new connection
                // before any answer: another backend, within the budget.
                Attempt::ConnectFailed(kind) | Attempt::Unanswered(kind) => {
                    last_failure = Some((backend.addr(), kind));
                    outlier::record_failure(pool, &member, Failure::Connect, now());
                    tried.push(Arc::clone(&backend));
                    if retries.take(pool) {
                        continue;
                    }
                    (502, kind)
                }
                Attempt::TimedOut => {
                    outlier::record_failure(pool, &member, Failure::Response, now());
                    (504, "ReadTimedout")
                }
                Attempt::Stale => {
                    // Closed while idle, or the backend just died with all of its
                    // connections: another backend, as Pingora's proxy does, without
                    // spending the retry budget.
                    tried.push(backend);
                    stale = Some(member);
                    continue;
                }
                Attempt::Broken(kind) => (502, kind),
                Attempt::ClientGone(error) => {
                    // The upstream connection is dropped half-way: the backend
                    // sees the request abandoned.
                    return Outcome {
                        status: 0,
                        member: Some(member),
                        answered: false,
                        retries: retries.count(),
                        error,
                        next: Next::Close,
                    };
                }
            };
            let body = request::failure_body(pool, Some(backend.addr()), code, kind);
            return self
                .answer(
                    conn,
                    code,
                    &body,
                    req.head,
                    // An HTTP/1.0 client would need `Connection: keep-alive`.
                    close || req.http10,
                    Some(member),
                    retries.count(),
                    kind,
                )
                .await;
        }
    }

    /// One try of `req` on `member`: on a kept-alive connection unless `fresh`.
    async fn attempt<C: Client>(
        &self,
        conn: &mut C,
        req: &Request,
        member: &Member,
        fresh: bool,
        close: bool,
        retries: &mut Retries,
    ) -> Attempt {
        let pool = &*req.pool;
        let addr = member.addr();
        let reused = if fresh { None } else { reusable(addr) };
        let (mut tcp, reused) = match reused {
            Some(tcp) => (tcp, true),
            None => match upstream::connect(addr, pool.connect_timeout()).await {
                Ok(tcp) => (tcp, false),
                Err(e) => return Attempt::ConnectFailed(upstream::connect_failure(&e)),
            },
        };
        let sent_at = self.clock.now();
        // Before any byte of an answer, a broken kept-alive connection is one
        // the backend closed while it sat idle.
        let broken = |kind| match (reused, req.idempotent) {
            (true, true) => Attempt::Stale,
            (false, true) => Attempt::Unanswered(kind),
            (_, false) => Attempt::Broken(kind),
        };
        if write_request(&mut tcp, &req.upstream, pool.read_timeout())
            .await
            .is_err()
        {
            return broken("WriteError");
        }

        let mut buf = Vec::with_capacity(FIRST_READ);
        let mut answered = false;
        let response = loop {
            match await_answer(&mut tcp, &mut buf, pool.read_timeout(), conn).await {
                Err(Wait::TimedOut) => return Attempt::TimedOut,
                Err(Wait::ClientGone) => return Attempt::ClientGone("ConnectionClosed"),
                Err(Wait::Failed) if buf.is_empty() && !answered => return broken("ReadError"),
                Ok(0) if buf.is_empty() && !answered => return broken("ConnectionClosed"),
                Err(Wait::Failed) | Ok(0) => return Attempt::Broken("ConnectionClosed"),
                Ok(_) => {}
            }
            let head = loop {
                match ResponseHead::parse(&buf, req.head) {
                    Ok(Some(head)) if head.informational => {
                        // 100 Continue, 103 Early Hints: passed on as they are,
                        // but never to an HTTP/1.0 client (RFC 9110, 15.2).
                        if !req.http10 {
                            let sent = conn.write_all(&buf[..head.len]).await;
                            if sent.is_err() || conn.flush().await.is_err() {
                                return Attempt::ClientGone("WriteError");
                            }
                        }
                        buf.drain(..head.len);
                        answered = true;
                    }
                    Ok(Some(head)) => break Some(head),
                    Ok(None) if buf.len() < MAX_RESPONSE_HEAD => break None,
                    // Bytes that are no answer, on a kept-alive connection, are
                    // most likely left over from the backend's previous answer.
                    Ok(None) | Err(()) if !answered => return broken("InvalidHTTPHeader"),
                    Ok(None) | Err(()) => return Attempt::Broken("InvalidHTTPHeader"),
                }
            };
            if let Some(head) = head {
                break head;
            }
        };

        let now = self.clock.now();
        member
            .backend()
            .observe_rtt(now, now.saturating_sub(sent_at));
        let status = response.status;
        if status < 500 {
            outlier::record_success(member);
        } else {
            outlier::record_failure(pool, member, Failure::Response, now);
            if matches!(status, 502..=504) && req.idempotent && retries.take(pool) {
                return Attempt::RetryableStatus;
            }
        }
        Attempt::Done(
            self.relay(conn, tcp, buf, response, addr, pool, close, req.http10)
                .await,
        )
    }

    /// Relays a response whose head is at the start of `buf` from `tcp` to
    /// `conn`, to an HTTP/1.0 client when `http10`; keeps `tcp` for reuse
    /// when the response ended cleanly.
    #[allow(clippy::too_many_arguments)]
    async fn relay<C: Client>(
        &self,
        conn: &mut C,
        mut tcp: TcpStream,
        mut buf: Vec<u8>,
        mut response: ResponseHead,
        addr: SocketAddr,
        pool: &Pool,
        close: bool,
        http10: bool,
    ) -> Outcome {
        let mut outcome = Outcome {
            status: response.status,
            member: None,
            answered: true,
            retries: 0,
            error: "",
            next: Next::KeepAlive,
        };
        let until_close = matches!(response.body, Body::UntilClose);
        // An HTTP/1.0 client gets a chunked body's data alone, delimited by
        // the end of the connection.
        let dechunk = http10 && matches!(response.body, Body::Chunked(_));
        let close = close || until_close || dechunk;
        let persist = match (close, http10) {
            (true, _) => Persist::Close,
            (false, true) => Persist::KeepAlive,
            (false, false) => Persist::Implied,
        };
        let mut decoded = Vec::new();
        let written = if response.needs_rewrite(persist, dechunk) {
            let head = response.rewritten(&buf, persist, dechunk);
            conn.write_all(&head).await
        } else {
            conn.write_all(&buf[..response.len]).await
        };
        if written.is_err() {
            outcome.error = "WriteError";
            outcome.next = Next::Close;
            return outcome;
        }
        let mut start = response.len;
        let mut clean = true;
        loop {
            let data = &buf[start..];
            let taken = if dechunk {
                decoded.clear();
                response.body.decode(data, &mut decoded)
            } else {
                response.body.advance(data)
            };
            let taken = match taken {
                Ok(taken) => taken,
                Err(Malformed) => {
                    outcome.error = "InvalidHTTPHeader";
                    outcome.next = Next::Close;
                    return outcome;
                }
            };
            if taken < data.len() {
                // Bytes past the end of the response: the connection is not
                // trusted with another request.
                clean = false;
            }
            let out = if dechunk {
                &decoded[..]
            } else {
                &data[..taken]
            };
            if conn.write_all(out).await.is_err() {
                outcome.error = "WriteError";
                outcome.next = Next::Close;
                return outcome;
            }
            if response.body.is_done() {
                break;
            }
            // What came so far goes out before waiting for more: a streamed
            // answer (server-sent events, tokens) reaches the client as it is
            // produced.
            if conn.flush().await.is_err() {
                outcome.error = "WriteError";
                outcome.next = Next::Close;
                return outcome;
            }
            buf.clear();
            if buf.capacity() < RELAY_READ {
                buf.reserve(RELAY_READ);
            }
            start = 0;
            match read_timed(&mut tcp, &mut buf, pool.read_timeout()).await {
                Ok(0) if until_close => break,
                Ok(0) | Err(_) => {
                    // The client cannot be told the body is cut short but by
                    // closing its connection.
                    outcome.error = "ReadError";
                    outcome.next = Next::Close;
                    let _ = conn.flush().await;
                    return outcome;
                }
                Ok(_) => {}
            }
        }
        if conn.flush().await.is_err() {
            outcome.error = "WriteError";
            outcome.next = Next::Close;
        }
        if clean && response.keep_alive && !until_close {
            upstream::put(addr, tcp, pool.idle_timeout());
        }
        if close {
            outcome.next = Next::Close;
        }
        outcome
    }

    /// Answers the request with Tidegate's own plain-text response; to a HEAD
    /// request, its head alone.
    #[allow(clippy::too_many_arguments)]
    async fn answer<C: Client>(
        &self,
        conn: &mut C,
        status: u16,
        body: &[u8],
        head_only: bool,
        close: bool,
        member: Option<Arc<Member>>,
        retries: u32,
        error: &'static str,
    ) -> Outcome {
        let mut response = respond::head(status, body.len(), None, close);
        if !head_only {
            response.extend_from_slice(body);
        }
        let sent = conn.write_all(&response).await.is_ok() && conn.flush().await.is_ok();
        Outcome {
            status: if sent { status } else { 0 },
            member,
            answered: false,
            retries,
            error,
            next: if sent && !close {
                Next::KeepAlive
            } else {
                Next::Close
            },
        }
    }
}

/// How one try on one backend ended.
#[derive(Debug)]
enum Attempt {
    /// The backend answered and the answer was relayed (or the client left).
    Done(Outcome),
    /// The backend answered 502, 503 or 504 to an idempotent request, and the
    /// pool allows a retry elsewhere.
    RetryableStatus,
    /// No connection could be made; the kind of failure.
    ConnectFailed(&'static str),
    /// The backend took longer than the pool's read timeout to answer.
    TimedOut,
    /// A reused connection failed before any answer to an idempotent request.
    Stale,
    /// A new connection failed before any answer to an idempotent request;
    /// the kind of failure.
    Unanswered(&'static str),
    /// The exchange broke before an answer could be relayed.
    Broken(&'static str),
    /// The client closed its connection before the answer; what failed.
    ClientGone(&'static str),
}

/// An idle connection to `addr` that is still open, if one is kept.
fn reusable(addr: SocketAddr) -> Option<TcpStream> {
    loop {
        let tcp = upstream::take(addr)?;
        if upstream::is_open(&tcp) {
            return Some(tcp);
        }
    }
}

/// Makes room in `buf` for the next read, doubling it when less than 1 KiB is left.
fn make_room(buf: &mut Vec<u8>) {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(buf.len().max(FIRST_READ));
    }
}

/// Reads more of a request from the client into `buf`, failing with
/// `TimedOut` at `deadline`. The first read of a request comes once the socket
/// is readable, so it goes without a timer.
async fn read_more<C: Client>(
    conn: &mut C,
    buf: &mut Vec<u8>,
    first: bool,
    deadline: tokio::time::Instant,
) -> io::Result<usize> {
    make_room(buf);
    if first {
        if let Some(read) = conn.read_buf(buf).now_or_never() {
            return read;
        }
    }
    match tokio::time::timeout_at(deadline, conn.read_buf(buf)).await {
        Ok(read) => read,
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// Reads the rest of a head too large to parse here, within `deadline`, and
/// hands the connection to Pingora with all of it buffered; a head over
/// [`MAX_HEAD`] is answered 431. So the whole head of every request arrives
/// within the deadline, whichever path serves it.
async fn hand_over_whole_head<C: Client>(
    conn: &mut C,
    mut buf: Vec<u8>,
    deadline: tokio::time::Instant,
) -> Next {
    let mut searched = 0;
    loop {
        if memchr::memmem::find(&buf[searched..], b"\r\n\r\n").is_some() {
            conn.rewind(&buf);
            return Next::Pingora;
        }
        searched = buf.len().saturating_sub(3);
        if buf.len() >= MAX_HEAD {
            let response = respond::closing(431, respond::HEAD_TOO_LARGE);
            if conn.write_all(&response).await.is_ok() && conn.flush().await.is_ok() {
                linger(conn).await;
            }
            return Next::Close;
        }
        match read_more(conn, &mut buf, false, deadline).await {
            Ok(0) => return Next::Close,
            Err(e) => return timed_out(conn, &e).await,
            Ok(_) => {}
        }
    }
}

/// Closes the sending side and reads (and drops) what the client still sends
/// for a little while: closing with unread bytes would reset the connection,
/// and the reset can destroy the answer before the client reads it.
async fn linger<C: Client>(conn: &mut C) {
    if AsyncWriteExt::shutdown(conn).await.is_err() {
        return;
    }
    let drain = async {
        let mut sink = vec![0u8; RELAY_READ];
        let mut left = MAX_HEAD * 16;
        while left > 0 {
            match conn.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// Ends a connection whose request failed to arrive: with a 408 when it was
/// too slow (RFC 9110, 15.5.9), silently when the read failed.
async fn timed_out<C: Client>(conn: &mut C, error: &io::Error) -> Next {
    if error.kind() == io::ErrorKind::TimedOut {
        let response = respond::closing(408, b"tidegate: the request did not arrive in time\n");
        if conn.write_all(&response).await.is_ok() {
            let _ = conn.flush().await;
        }
    }
    Next::Close
}

/// Why no bytes of an answer came.
#[derive(Debug)]
enum Wait {
    TimedOut,
    ClientGone,
    Failed,
}

/// Reads the next bytes of an answer's head from a backend into `buf`, waiting
/// at most `timeout`. A client that closes its connection while the backend is
/// still working (checked once the wait passes [`WATCH_CLIENT_AFTER`], so a
/// quick answer costs no extra system call) abandons the request.
async fn await_answer<C: Client>(
    tcp: &mut TcpStream,
    buf: &mut Vec<u8>,
    timeout: Duration,
    client: &mut C,
) -> Result<usize, Wait> {
    make_room(buf);
    if let Some(read) = tcp.read_buf(buf).now_or_never() {
        return read.map_err(|_| Wait::Failed);
    }
    let now = tokio::time::Instant::now();
    let deadline = now + timeout;
    let timer = tokio::time::sleep_until(deadline.min(now + WATCH_CLIENT_AFTER));
    tokio::pin!(timer);
    let mut watching = false;
    loop {
        tokio::select! {
            biased;
            read = tcp.read_buf(buf) => return read.map_err(|_| Wait::Failed),
            closed = std::future::poll_fn(|cx| client.poll_closed(cx)), if watching => {
                if closed {
                    return Err(Wait::ClientGone);
                }
                // The client sent more (a pipelined request): its closing
                // cannot be seen before that is read.
                watching = false;
            }
            () = &mut timer => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(Wait::TimedOut);
                }
                watching = true;
                timer.as_mut().reset(deadline);
            }
        }
    }
}

/// Reads from a backend into `buf`, waiting at most `timeout`; a timer is set
/// only when the data is not there yet.
async fn read_timed(
    tcp: &mut TcpStream,
    buf: &mut Vec<u8>,
    timeout: Duration,
) -> io::Result<usize> {
    make_room(buf);
    if let Some(read) = tcp.read_buf(buf).now_or_never() {
        return read;
    }
    match tokio::time::timeout(timeout, tcp.read_buf(buf)).await {
        Ok(read) => read,
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// Writes a request to a backend; a timer is set only when the socket's
/// buffer cannot take it all at once.
///
/// The write waits one turn of the worker's scheduler first, so the other
/// connections that are ready read their requests before any of them is sent.
/// A send on loopback wakes the backend, and the kernel often runs it on this
/// thread's CPU at once, preempting the proxy between two reads; after the
/// turn the sends go out together. In closed-loop runs against HAProxy on two
/// cores this took Tidegate's rate from 0.88-0.98x HAProxy's to 0.96-1.06x
/// (benches/RESULTS.md, "Where the CPU goes").
async fn write_request(tcp: &mut TcpStream, data: &[u8], timeout: Duration) -> io::Result<()> {
    tokio::task::yield_now().await;
    let sent = match tcp.try_write(data) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    if sent == data.len() {
        return Ok(());
    }
    match tokio::time::timeout(timeout, tcp.write_all(&data[sent..])).await {
        Ok(written) => written,
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}
