//! A minimal HTTP/1.x response reader for the load generator.
//!
//! [`parse_head`] reads the status line and headers with httparse and decides
//! how the body is framed (Content-Length, chunked, none, or up to the end of
//! the connection); [`ChunkedBody`] walks chunked framing incrementally so the
//! body can be discarded as it arrives. Bodies are skipped, never kept.

use crate::error::RequestError;

/// Headers beyond this many make the response unparseable.
const MAX_HEADERS: usize = 64;

/// How the body after a response head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body (1xx, 204, 304).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// Bytes of the head, up to and including the empty line.
    pub len: usize,
    /// How the body is delimited.
    pub body: Body,
    /// Whether the connection cannot be reused after this response.
    pub close: bool,
}

impl Head {
    /// An interim `1xx` answer that a final response will follow.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }
}

/// Parses a response head at the start of `buf`; `None` when more bytes are needed.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, RequestError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(RequestError::Parse(parse_error(e))),
    };
    let status = response.code.unwrap_or_default();
    let mut close = response.version == Some(0);
    let mut length = None;
    let mut chunked = false;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or(RequestError::Parse("invalid Content-Length"))?;
            length = Some(value);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = last_token_is(header.value, b"chunked");
        } else if header.name.eq_ignore_ascii_case("connection") {
            if has_token(header.value, b"close") {
                close = true;
            } else if has_token(header.value, b"keep-alive") {
                close = false;
            }
        }
    }
    let body = if (100..200).contains(&status) || status == 204 || status == 304 {
        Body::Empty
    } else if chunked {
        Body::Chunked
    } else if let Some(n) = length {
        Body::Length(n)
    } else {
        close = true;
        Body::UntilClose
    };
    Ok(Some(Head {
        status,
        len,
        body,
        close,
    }))
}

fn parse_error(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::TooManyHeaders => "more than 64 headers",
        httparse::Error::Status => "invalid status line",
        httparse::Error::Version => "not HTTP/1.x",
        _ => "invalid response head",
    }
}

fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(|t| t.trim_ascii())
}

fn has_token(value: &[u8], token: &[u8]) -> bool {
    tokens(value).any(|t| t.eq_ignore_ascii_case(token))
}

fn last_token_is(value: &[u8], token: &[u8]) -> bool {
    tokens(value)
        .last()
        .is_some_and(|t| t.eq_ignore_ascii_case(token))
}

/// Where a [`ChunkedBody`] is in the chunked framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Chunk {
    /// Reading the hexadecimal chunk size.
    #[default]
    Size,
    /// Skipping a chunk extension up to the end of the size line.
    Extension,
    /// Expecting the LF after the size line's CR.
    SizeLf,
    /// Skipping this many bytes of chunk data.
    Data(u64),
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer line.
    Trailer,
    /// Expecting the final LF.
    FinalLf,
}

/// Walks a chunked body incrementally, fed the bytes as they arrive.
#[derive(Debug, Default)]
pub struct ChunkedBody {
    state: Chunk,
    size: u64,
    digits: u8,
}

impl ChunkedBody {
    /// Consumes `bytes`; `Some(n)` when the body ended after the first `n` of them.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<usize>, RequestError> {
        let invalid = || RequestError::Parse("invalid chunked framing");
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match self.state {
                Chunk::Size => match b {
                    b'\r' => self.state = Chunk::SizeLf,
                    b'\n' => self.end_size_line().map_err(|()| invalid())?,
                    b';' | b' ' | b'\t' => self.state = Chunk::Extension,
                    _ => {
                        let digit = (b as char).to_digit(16).ok_or_else(invalid)?;
                        self.size = self
                            .size
                            .checked_mul(16)
                            .and_then(|s| s.checked_add(u64::from(digit)))
                            .ok_or_else(invalid)?;
                        self.digits = self.digits.saturating_add(1);
                    }
                },
                Chunk::Extension => match b {
                    b'\r' => self.state = Chunk::SizeLf,
                    b'\n' => self.end_size_line().map_err(|()| invalid())?,
                    _ => {}
                },
                Chunk::SizeLf if b == b'\n' => self.end_size_line().map_err(|()| invalid())?,
                Chunk::Data(left) => {
                    let take = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len() - i);
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        Chunk::DataCr
                    } else {
                        Chunk::Data(left)
                    };
                    i += take;
                    continue;
                }
                Chunk::DataCr if b == b'\r' => self.state = Chunk::DataLf,
                Chunk::DataCr | Chunk::DataLf if b == b'\n' => self.state = Chunk::Size,
                Chunk::TrailerStart => match b {
                    b'\r' => self.state = Chunk::FinalLf,
                    b'\n' => return Ok(Some(i + 1)),
                    _ => self.state = Chunk::Trailer,
                },
                Chunk::Trailer if b == b'\n' => self.state = Chunk::TrailerStart,
                Chunk::Trailer => {}
                Chunk::FinalLf if b == b'\n' => return Ok(Some(i + 1)),
                Chunk::SizeLf | Chunk::DataCr | Chunk::DataLf | Chunk::FinalLf => {
                    return Err(invalid())
                }
            }
            i += 1;
        }
        Ok(None)
    }

    fn end_size_line(&mut self) -> Result<(), ()> {
        if self.digits == 0 {
            return Err(());
        }
        self.state = if self.size == 0 {
            Chunk::TrailerStart
        } else {
            Chunk::Data(self.size)
        };
        self.size = 0;
        self.digits = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        parse_head(text.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn content_length_and_keep_alive() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assert_eq!(
            h,
            Head {
                status: 200,
                len: 38,
                body: Body::Length(2),
                close: false
            }
        );
    }

    #[test]
    fn partial_heads_ask_for_more() {
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap(), None);
    }

    #[test]
    fn framing_rules() {
        let h = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n",
        );
        assert_eq!(h.body, Body::Chunked);
        let h = head("HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(h.body, Body::Empty);
        let h = head("HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!((h.body, h.close), (Body::UntilClose, true));
        let h = head("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n");
        assert!(h.close);
        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(h.close);
        let h = head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
        assert!(!h.close);
        assert!(head("HTTP/1.1 100 Continue\r\n\r\n").is_interim());
    }

    #[test]
    fn rejects_bad_heads() {
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }

    #[test]
    fn chunked_body_in_one_piece() {
        let body = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        let mut c = ChunkedBody::default();
        assert_eq!(c.feed(body).unwrap(), Some(body.len() - 4));
    }

    #[test]
    fn chunked_body_byte_by_byte() {
        let body = b"a\r\n0123456789\r\n0\r\n\r\n";
        let mut c = ChunkedBody::default();
        for (i, b) in body.iter().enumerate() {
            let done = c.feed(std::slice::from_ref(b)).unwrap();
            assert_eq!(done.is_some(), i == body.len() - 1, "at byte {i}");
        }
    }

    #[test]
    fn chunked_body_errors() {
        for bad in [&b"\r\n"[..], b"zz\r\n", b"2\r\nabXY", b"0\r\n\rX"] {
            assert!(ChunkedBody::default().feed(bad).is_err(), "{bad:?}");
        }
    }
}
