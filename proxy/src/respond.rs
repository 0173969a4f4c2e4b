//! Responses Tidegate writes itself: unknown route, full pool, no usable backend.
//!
//! Each is a short `text/plain` body that says what happened and names the pool,
//! so an operator reading a client's error knows where to look.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use pingora::Result;

/// Seconds a client is told to wait before retrying a 503.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// Writes `status` with a plain-text `body`, and `Retry-After` when given.
pub async fn plain(
    session: &mut Session,
    status: u16,
    body: Bytes,
    retry_after: Option<&'static str>,
) -> Result<()> {
    let mut header = ResponseHeader::build(status, Some(4))?;
    header.insert_header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")?;
    header.insert_header(http::header::CONTENT_LENGTH, body.len())?;
    header.insert_header(http::header::CACHE_CONTROL, "no-store")?;
    if let Some(seconds) = retry_after {
        header.insert_header(http::header::RETRY_AFTER, seconds)?;
    }
    // The answer to HEAD is the head alone; over HTTP/2 a body after it is a
    // protocol error that resets the stream.
    let body = if session.req_header().method == http::Method::HEAD {
        Bytes::new()
    } else {
        body
    };
    session.write_error_response(header, body).await
}

/// The head of a response Tidegate writes on its own HTTP/1.1 path: `status`
/// with a plain-text body of `body_len` bytes, `Retry-After` when given, and
/// `Connection: close` when `close`. The same fields as [`plain`] writes.
pub fn head(status: u16, body_len: usize, retry_after: Option<&str>, close: bool) -> Vec<u8> {
    use std::fmt::Write;
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut head = String::with_capacity(160);
    let _ = write!(
        head,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {body_len}\r\ncache-control: no-store\r\n"
    );
    if let Some(seconds) = retry_after {
        let _ = write!(head, "retry-after: {seconds}\r\n");
    }
    if close {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// A whole answer of Tidegate's own for the own HTTP/1.1 path: [`head`] and
/// `body`, closing the connection.
pub fn closing(status: u16, body: &[u8]) -> Vec<u8> {
    let mut answer = head(status, body.len(), None, true);
    answer.extend_from_slice(body);
    answer
}

/// The body of the 431 for a request head over the limit.
pub const HEAD_TOO_LARGE: &[u8] = b"tidegate: the request's header fields are too large\n";

/// The body of the 404 for a request no route matches.
pub fn no_route(host: Option<&str>, path: &str) -> Bytes {
    Bytes::from(format!(
        "tidegate: no route for host \"{}\" and path \"{}\"\n",
        host.unwrap_or(""),
        path
    ))
}
