//! A backend's answer head as the HTTP/1.1 path relays it: its status, how
//! its body is delimited (RFC 9112, section 6.3), whether the connection can
//! carry another request, and its hop-by-hop fields, left out of the copy the
//! client gets.

use std::borrow::Cow;
use std::ops::Range;

use super::chunked::{Chunked, Malformed};
use super::MAX_HEADERS;

/// Header fields that concern one connection, not the message.
pub(super) fn is_hop_by_hop(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"connection")
        || name.eq_ignore_ascii_case(b"keep-alive")
        || name.eq_ignore_ascii_case(b"proxy-connection")
        || name.eq_ignore_ascii_case(b"te")
        || name.eq_ignore_ascii_case(b"upgrade")
}

/// A `Content-Length` value: digits only (RFC 9110, section 8.6), so no
/// sign or other text that a peer might read differently.
pub(super) fn content_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The whole line of `field` in the head `buf[..len]`, up to and with its line feed.
fn field_line(buf: &[u8], len: usize, field: &httparse::Header<'_>) -> Range<usize> {
    let start = field.name.as_ptr() as usize - buf.as_ptr() as usize;
    let value_end = field.value.as_ptr() as usize - buf.as_ptr() as usize + field.value.len();
    let end = buf[value_end..len]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(len, |at| value_end + at + 1);
    start..end
}

/// What the relayed head tells the client about its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Persist {
    /// Nothing: an HTTP/1.1 client keeps its connection unless told otherwise.
    Implied,
    /// `Connection: close`: the proxy closes the connection after the answer.
    Close,
    /// `Connection: keep-alive`: what an HTTP/1.0 client must hear to keep it.
    KeepAlive,
}

/// A backend's response head, parsed.
#[derive(Debug)]
pub(super) struct ResponseHead {
    pub len: usize,
    pub status: u16,
    pub informational: bool,
    pub body: Body,
    /// The backend keeps the connection open after this response.
    pub keep_alive: bool,
    /// Where the head's hop-by-hop field lines are, to be left out.
    pub hop_by_hop: Vec<Range<usize>>,
    /// The backend answered in HTTP/1.0: the relayed head says HTTP/1.1, as a
    /// proxy sends its own version (RFC 9110, section 6.2), so an HTTP/1.1
    /// client keeps its connection.
    pub http10: bool,
}

impl ResponseHead {
    /// The head at the start of `buf`, `None` while incomplete; `head` when it
    /// answers a HEAD request (so it has no body, whatever it says).
    pub fn parse(buf: &[u8], head: bool) -> Result<Option<Self>, ()> {
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut fields);
        let len = match parsed.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(()),
        };
        let status = parsed.code.ok_or(())?;
        let mut keep_alive = parsed.version == Some(1);
        let mut hop_by_hop = Vec::new();
        let mut length: Option<u64> = None;
        let mut chunked = None;
        for field in parsed.headers.iter() {
            let name = field.name.as_bytes();
            if name.eq_ignore_ascii_case(b"content-length") {
                let value = content_length(field.value).ok_or(())?;
                if length.is_some_and(|l| l != value) {
                    return Err(());
                }
                length = Some(value);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                let last = field.value.rsplit(|&b| b == b',').next().unwrap_or(b"");
                chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if is_hop_by_hop(name) {
                hop_by_hop.push(field_line(buf, len, field));
                if name.eq_ignore_ascii_case(b"connection") {
                    for token in field.value.split(|&b| b == b',') {
                        let token = token.trim_ascii();
                        if token.eq_ignore_ascii_case(b"close") {
                            keep_alive = false;
                        } else if !token.eq_ignore_ascii_case(b"keep-alive") && !token.is_empty() {
                            // Fields named hop-by-hop are not worth stripping one
                            // by one: the backend's answer is not trusted again.
                            return Err(());
                        }
                    }
                }
            }
        }
        let informational = (100..200).contains(&status);
        if status == 101 {
            // No upgrade was asked for.
            return Err(());
        }
        let body = if head || informational || status == 204 || status == 304 {
            Body::Empty
        } else {
            match (chunked, length) {
                (Some(true), _) => Body::Chunked(Chunked::default()),
                (Some(false), _) | (None, None) => Body::UntilClose,
                (None, Some(length)) => Body::Length(length),
            }
        };
        if chunked.is_some() && length.is_some() {
            keep_alive = false;
        }
        Ok(Some(Self {
            len,
            status,
            informational,
            body,
            keep_alive,
            hop_by_hop,
            http10: parsed.version == Some(0),
        }))
    }

    /// Whether the head must be rewritten to be relayed (telling the client
    /// `persist`, without its chunk framing when `dechunk`), rather than sent
    /// as the backend wrote it.
    pub fn needs_rewrite(&self, persist: Persist, dechunk: bool) -> bool {
        persist != Persist::Implied || dechunk || self.http10 || !self.hop_by_hop.is_empty()
    }

    /// The lines to leave out of `head` for an HTTP/1.0 client that gets the
    /// body without its chunk framing: the hop-by-hop ones and `Transfer-Encoding`
    /// and `Trailer`, in order. Looked up here, on that rare path, rather than
    /// kept for every answer.
    fn without_framing(&self, head: &[u8]) -> Vec<Range<usize>> {
        let mut skipped = self.hop_by_hop.clone();
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut fields);
        if parsed.parse(head).is_ok() {
            skipped.extend(
                parsed
                    .headers
                    .iter()
                    .filter(|f| {
                        f.name.eq_ignore_ascii_case("transfer-encoding")
                            || f.name.eq_ignore_ascii_case("trailer")
                    })
                    .map(|f| field_line(head, self.len, f)),
            );
            skipped.sort_by_key(|r| r.start);
        }
        skipped
    }

    /// The head in `buf` in HTTP/1.1, without its hop-by-hop fields (and its
    /// `Transfer-Encoding` and `Trailer` when `dechunk`), telling the client
    /// `persist`.
    pub fn rewritten(&self, buf: &[u8], persist: Persist, dechunk: bool) -> Vec<u8> {
        // The fields end before the empty line that ends the head.
        let head = &buf[..self.len];
        let fields_end = if head.ends_with(b"\r\n") {
            self.len - 2
        } else {
            self.len - 1
        };
        let skipped = if dechunk {
            Cow::Owned(self.without_framing(head))
        } else {
            Cow::Borrowed(&self.hop_by_hop[..])
        };
        let mut out = Vec::with_capacity(self.len + 24);
        let mut from = 0;
        for skip in skipped.iter() {
            out.extend_from_slice(&head[from..skip.start]);
            from = skip.end;
        }
        out.extend_from_slice(&head[from..fields_end.max(from)]);
        if self.http10 {
            // "HTTP/1.0" starts the status line.
            out[..8].copy_from_slice(b"HTTP/1.1");
        }
        match persist {
            Persist::Implied => {}
            Persist::Close => out.extend_from_slice(b"connection: close\r\n"),
            Persist::KeepAlive => out.extend_from_slice(b"connection: keep-alive\r\n"),
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// How a response body is delimited.
#[derive(Debug)]
pub(super) enum Body {
    Empty,
    /// This many bytes are left.
    Length(u64),
    Chunked(Chunked),
    /// Until the backend closes the connection.
    UntilClose,
}

impl Body {
    /// How many bytes of `data` belong to the body.
    pub fn advance(&mut self, data: &[u8]) -> Result<usize, Malformed> {
        match self {
            Body::Empty => Ok(0),
            Body::Length(left) => {
                let taken = (*left).min(data.len() as u64);
                *left -= taken;
                Ok(taken as usize)
            }
            Body::Chunked(chunked) => chunked.advance(data),
            Body::UntilClose => Ok(data.len()),
        }
    }

    /// As [`Body::advance`] for a chunked body, appending the chunks' data
    /// alone to `out`; any other body is left to `advance`.
    pub fn decode(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<usize, Malformed> {
        match self {
            Body::Chunked(chunked) => chunked.decode(data, out),
            _ => {
                let taken = self.advance(data)?;
                out.extend_from_slice(&data[..taken]);
                Ok(taken)
            }
        }
    }

    /// Whether the whole body has been seen.
    pub fn is_done(&self) -> bool {
        match self {
            Body::Empty | Body::Length(0) => true,
            Body::Length(_) | Body::UntilClose => false,
            Body::Chunked(chunked) => chunked.is_done(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str, head_request: bool) -> ResponseHead {
        ResponseHead::parse(text.as_bytes(), head_request)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn hop_by_hop_fields_are_left_out_of_the_relayed_head() {
        let text = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nx-a: 1\r\n\
                    Keep-Alive: timeout=5\r\ncontent-length: 2\r\n\r\nok";
        let parsed = head(text, false);
        assert!(parsed.keep_alive);
        assert_eq!(
            parsed.rewritten(text.as_bytes(), Persist::Implied, false),
            b"HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 2\r\n\r\n"
        );
        assert_eq!(
            parsed.rewritten(text.as_bytes(), Persist::Close, false),
            b"HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 2\r\nconnection: close\r\n\r\n"
        );
        let bare = "HTTP/1.1 200 OK\nx-a: 1\nconnection: close\n\n";
        let parsed = head(bare, false);
        assert!(!parsed.keep_alive);
        assert_eq!(
            parsed.rewritten(bare.as_bytes(), Persist::Implied, false),
            b"HTTP/1.1 200 OK\nx-a: 1\n\r\n"
        );
    }

    #[test]
    fn an_http10_client_hears_keep_alive_and_no_chunk_framing() {
        let text = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-a: 1\r\n\
                    trailer: x-sum\r\nconnection: keep-alive\r\n\r\n";
        let parsed = head(text, false);
        assert_eq!(
            parsed.rewritten(text.as_bytes(), Persist::Close, true),
            b"HTTP/1.1 200 OK\r\nx-a: 1\r\nconnection: close\r\n\r\n"
        );
        assert_eq!(
            parsed.rewritten(text.as_bytes(), Persist::Implied, false),
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-a: 1\r\ntrailer: x-sum\r\n\r\n",
            "an HTTP/1.1 client gets the framing"
        );
        let sized = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n";
        let parsed = head(sized, false);
        assert!(parsed.needs_rewrite(Persist::KeepAlive, false));
        assert_eq!(
            parsed.rewritten(sized.as_bytes(), Persist::KeepAlive, false),
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn the_body_framing_follows_rfc_9112() {
        let framing = |text: &str, head_request| format!("{:?}", head(text, head_request).body);
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", false),
            "Length(5)"
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", true),
            "Empty"
        );
        assert_eq!(framing("HTTP/1.1 204 No Content\r\n\r\n", false), "Empty");
        assert_eq!(framing("HTTP/1.1 304 Not Modified\r\n\r\n", false), "Empty");
        assert_eq!(framing("HTTP/1.1 200 OK\r\n\r\n", false), "UntilClose");
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n", false),
            "UntilClose"
        );
        let both =
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: gzip, chunked\r\n\r\n";
        let parsed = head(both, false);
        assert!(matches!(parsed.body, Body::Chunked(_)));
        assert!(!parsed.keep_alive, "a head with both is not trusted again");
        let old = "HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n";
        let parsed = head(old, false);
        assert!(!parsed.keep_alive);
        assert!(parsed.needs_rewrite(Persist::Implied, false));
        assert_eq!(
            parsed.rewritten(old.as_bytes(), Persist::Implied, false),
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            "the client hears the proxy's own version"
        );
        assert!(head("HTTP/1.1 103 Early Hints\r\n\r\n", false).informational);
    }

    #[test]
    fn heads_that_cannot_be_relayed_safely_are_refused() {
        for text in [
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: five\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nconnection: x-secret\r\nx-secret: 1\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "NOT HTTP\r\n\r\n",
        ] {
            assert!(
                ResponseHead::parse(text.as_bytes(), false).is_err(),
                "{text}"
            );
        }
        assert!(ResponseHead::parse(b"HTTP/1.1 200 OK\r\ncontent-le", false)
            .unwrap()
            .is_none());
    }
}
