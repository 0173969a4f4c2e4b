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
    session.write_error_response(header, body).await
}

/// The body of the 404 for a request no route matches.
pub fn no_route(host: Option<&str>, path: &str) -> Bytes {
    Bytes::from(format!(
        "tidegate: no route for host \"{}\" and path \"{}\"\n",
        host.unwrap_or(""),
        path
    ))
}
